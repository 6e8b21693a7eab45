"""The bundled example project: what the README's first Quickstart command shows."""

from __future__ import annotations

from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_example_findings(run) -> None:
    # Each is planted; beside each stands a near miss (a scoped query, a guarded route, a bounded
    # page size, an indexed filter, a limited service, a loopback-only port, an exempt admin
    # router) that must stay silent.
    assert run(EXAMPLES) == [
        'app/api/admin.py:14:12 IX003 query on Order filters on status, but no index serves that; add Index("ix_orders_status", "status") to Order.__table_args__',
        'app/api/customers.py:13:12 PG002 query on Customer in route handler list_customers returns every row with no limit; paginate it with .limit() (or list Customer in pagination.bounded-models if the table stays small)',
        'app/api/customers.py:16:1 RT004 GET /customers/export has no authentication guard on the route, its router or its mounts, while 5 routes of this app use one (get_current_user); add a guard or list the path in routes.public',
        'app/api/customers.py:18:12 PG002 query on Customer in route handler export_customers returns every row with no limit; paginate it with .limit() (or list Customer in pagination.bounded-models if the table stays small)',
        'app/api/customers.py:18:12 TN001 query on tenant-scoped model Customer does not filter by tenant_id; filter on Customer.tenant_id',
        'app/api/orders.py:14:5 PG001 page size limit (FastAPI query parameter) has no upper bound, so one request can ask for every row; declare a maximum, e.g. Query(20, ge=1, le=100)',
        'app/api/orders.py:19:9 IX003 query on Order filters on tenant_id, status and sorts by created_at, but no index serves that; add Index("ix_orders_tenant_id_status_created_at", "tenant_id", "status", "created_at") to Order.__table_args__',
        'app/api/orders.py:38:12 TN001 query on tenant-scoped model Order does not filter by tenant_id; filter on Order.tenant_id',
        'app/api/reports.py:9:1 RT001 APIRouter router defines 1 route but is never imported anywhere, so it answers 404; import it and mount it with include_router()',
        'app/api/reports.py:14:23 TN003 text reads tenant-scoped table orders (model Order) without a tenant_id predicate; add orders.tenant_id = <tenant> to the WHERE clause',
        'app/db/models.py:28:5 IX002 tenant-scoped model Order has no index that leads with tenant_id, so every tenant\'s query scans all tenants\' rows; add Index("ix_orders_tenant_id", "tenant_id") to Order.__table_args__',
        'app/db/models.py:29:5 IX001 foreign key customer_id of Order (references customers) has no index that leads with it, and PostgreSQL does not index foreign keys itself; add Index("ix_orders_customer_id", "customer_id") to Order.__table_args__',
        'app/db/session.py:6:10 CP001 pool allows 5 + 0 = 5 connections but 40 requests can use it at once (8 sync FastAPI handlers run in a 40-thread pool); raise pool_size + max_overflow to at least 40 or lower the concurrency',
        'docker-compose.yml:5:5 SV002 uvicorn runs a single worker process (uvicorn\'s default) and service "api" has no replicas; set --workers 4 (or deploy.replicas)',
        'docker-compose.yml:16:3 DC001 service "notifications" has a memory limit but no CPU limit; set deploy.resources.limits.cpus (or cpus)',
        'docker-compose.yml:18:5 SV001 npm run dev runs the development script; build the app and run its production start script',
        'docker-compose.yml:23:3 DC001 service "db" has no memory limit and no CPU limit; set deploy.resources.limits.memory and deploy.resources.limits.cpus',
        'docker-compose.yml:30:9 DC002 PostgreSQL service "db" publishes port 5432 on all network interfaces (host port 5432); publish it as "127.0.0.1:5432:5432" or remove it',
        'nginx/nginx.conf:11:9 NX002 location /api/ passes requests to http://api/ with no rate limit (no limit_req_zone or limit_req in http, server or location); add limit_req zone=... burst=... to this location or its server',
        'nginx/nginx.conf:12:13 NX001 upstream api has no keepalive, so nginx opens a new connection for every request; add keepalive 32; to upstream api and set proxy_http_version 1.1 and proxy_set_header Connection "" here',
        'notifications/prisma/schema.prisma:25:3 IX001 foreign key templateId of Notification (references Template) has no index that leads with it, and PostgreSQL does not index foreign keys itself; add @@index([templateId]) to model Notification',
        'notifications/src/routes/notifications.routes.ts:7:23 PG001 page size limit (req.query.limit) has no upper bound, so one request can ask for every row; clamp it with Math.min(value, MAX_PAGE_SIZE) or validate it with a schema .max()',
        'notifications/src/routes/notifications.routes.ts:17:24 IX003 findMany on Notification filters on status, but no index serves that; add @@index([status]) to model Notification',
        'notifications/src/routes/notifications.routes.ts:17:24 TN001 findMany on tenant-scoped model Notification does not filter by tenantId; add tenantId to the where clause',
        "notifications/src/routes/notifications.routes.ts:24:9 TN002 update on tenant-scoped model Notification does not filter by tenantId, so it can change another tenant's rows; add tenantId to the where clause",
        'notifications/src/routes/templates.routes.ts:4:14 RT001 router templatesRouter defines 1 route but is never imported anywhere, so it answers 404; import it and mount it with use()',
    ]
