"""The bundled example project: what the README's first Quickstart command shows."""

from __future__ import annotations

from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_example_findings(run) -> None:
    # Each is planted; beside each stands a near miss (a scoped query, a guarded route, a limited
    # service, a loopback-only port, an exempt admin router) that must stay silent.
    assert run(EXAMPLES, select="RT,TN,CP,SV,DC,NX") == [
        'app/api/customers.py:16:1 RT004 GET /customers/export has no authentication guard on the route, its router or its mounts, while 5 routes of this app use one (get_current_user); add a guard or list the path in routes.public',
        'app/api/customers.py:18:12 TN001 query on tenant-scoped model Customer does not filter by tenant_id; filter on Customer.tenant_id',
        'app/api/orders.py:38:12 TN001 query on tenant-scoped model Order does not filter by tenant_id; filter on Order.tenant_id',
        'app/api/reports.py:9:1 RT001 APIRouter router defines 1 route but is never imported anywhere, so it answers 404; import it and mount it with include_router()',
        'app/api/reports.py:14:23 TN003 text reads tenant-scoped table orders (model Order) without a tenant_id predicate; add orders.tenant_id = <tenant> to the WHERE clause',
        'app/db/session.py:6:10 CP001 pool allows 5 + 0 = 5 connections but 40 requests can use it at once (8 sync FastAPI handlers run in a 40-thread pool); raise pool_size + max_overflow to at least 40 or lower the concurrency',
        'docker-compose.yml:5:5 SV002 uvicorn runs a single worker process (uvicorn\'s default) and service "api" has no replicas; set --workers 4 (or deploy.replicas)',
        'docker-compose.yml:16:3 DC001 service "notifications" has a memory limit but no CPU limit; set deploy.resources.limits.cpus (or cpus)',
        'docker-compose.yml:18:5 SV001 npm run dev runs the development script; build the app and run its production start script',
        'docker-compose.yml:23:3 DC001 service "db" has no memory limit and no CPU limit; set deploy.resources.limits.memory and deploy.resources.limits.cpus',
        'docker-compose.yml:30:9 DC002 PostgreSQL service "db" publishes port 5432 on all network interfaces (host port 5432); publish it as "127.0.0.1:5432:5432" or remove it',
        'nginx/nginx.conf:11:9 NX002 location /api/ passes requests to http://api/ with no rate limit (no limit_req_zone or limit_req in http, server or location); add limit_req zone=... burst=... to this location or its server',
        'nginx/nginx.conf:12:13 NX001 upstream api has no keepalive, so nginx opens a new connection for every request; add keepalive 32; to upstream api and set proxy_http_version 1.1 and proxy_set_header Connection "" here',
        'notifications/src/routes/notifications.routes.ts:17:24 TN001 findMany on tenant-scoped model Notification does not filter by tenantId; add tenantId to the where clause',
        "notifications/src/routes/notifications.routes.ts:24:9 TN002 update on tenant-scoped model Notification does not filter by tenantId, so it can change another tenant's rows; add tenantId to the where clause",
        'notifications/src/routes/templates.routes.ts:4:14 RT001 router templatesRouter defines 1 route but is never imported anywhere, so it answers 404; import it and mount it with use()',
    ]
