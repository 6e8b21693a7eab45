"""Tenant isolation (TN001-TN003) on a Prisma app and a SQLAlchemy app, with the near misses beside the leaks."""

from __future__ import annotations

import textwrap

from prodlint.config import Config
from prodlint.extract import Source
from prodlint.extract.python import extract_python
from prodlint.extract.typescript import extract_typescript
from prodlint.facts.data import Query, RawSql, ScopedClient
from prodlint.model.data import data_model, normalise_client

# Near misses in prisma_app that must stay silent: a where-variable, AND: [{ tenantId }],
# the compound tenantId_id, an unknown spread, OrderItem (no tenant key), a Tenant lookup,
# a create, an update by id after a scoped findFirst, a guarded optional parameter, a raw
# join with the predicate on the alias, a join to the tenants table by slug, an
# interpolated WHERE fragment, the exempt admin module, forTenant() ($extends) and
# req.prisma (tenant.scoped-clients). Row-level security lives in tenant/rls_app.
PRISMA_FINDINGS = [
    "src/reports.ts:13:10 TN003 $queryRaw reads tenant-scoped table orders (model Order) without a tenant_id predicate; add orders.tenant_id = <tenant> to the WHERE clause",
    "src/reports.ts:17:10 TN003 $executeRawUnsafe writes tenant-scoped table Invoice (model Invoice) without a tenantId predicate; add Invoice.tenantId = <tenant> to the WHERE clause",
    "src/reports.ts:25:10 TN003 $queryRaw reads tenant-scoped table audit_events (model AuditEvent) without a tenant_id predicate; add audit_events.tenant_id = <tenant> to the WHERE clause",
    "src/routes/invoices.ts:7:22 TN001 findMany on tenant-scoped model Invoice does not filter by tenantId: its value may be undefined (req.user?.tenantId), and Prisma ignores an undefined filter; require a defined tenantId before querying",
    "src/routes/invoices.ts:12:22 TN001 findMany on tenant-scoped model Invoice does not filter by tenantId: its value is undefined, and Prisma ignores an undefined filter; require a defined tenantId before querying",
    "src/routes/invoices.ts:31:9 TN002 delete on tenant-scoped model Invoice does not filter by tenantId, so it can change another tenant's rows; add tenantId to the where clause",
    "src/routes/invoices.ts:36:10 TN001 findFirst on tenant-scoped model Invoice does not filter by tenantId: its value may be undefined (optional parameter tenantId), and Prisma ignores an undefined filter; require a defined tenantId before querying",
    "src/routes/invoices.ts:51:18 TN002 update on tenant-scoped model Invoice does not filter by tenantId and its client readsFor() does not inject tenantId into update, so it can change another tenant's rows; add tenantId to the where clause",
    "src/services/order.service.ts:22:12 TN001 findUnique on tenant-scoped model Order does not filter by tenantId; add tenantId to the where clause",
    "src/services/order.service.ts:26:12 TN001 count on tenant-scoped model Order does not filter by tenantId; add tenantId to the where clause",
    "src/services/order.service.ts:30:12 TN001 findFirst on tenant-scoped model Order does not filter by tenantId; add tenantId to the where clause",
    "src/services/order.service.ts:47:13 TN002 update on tenant-scoped model Order does not filter by tenantId, so it can change another tenant's rows; add tenantId to the where clause",
    "src/services/order.service.ts:67:12 TN001 findMany on tenant-scoped model AuditEvent does not filter by tenantId; add tenantId to the where clause",
]

SQLALCHEMY_FINDINGS = [
    "app/reports.py:13:28 TN003 text reads tenant-scoped table tasks (model Task) without a tenant_id predicate; add tasks.tenant_id = <tenant> to the WHERE clause",
    "app/reports.py:37:9 TN003 text reads tenant-scoped table projects (model Project) without a tenant_id predicate; add p.tenant_id = <tenant> to the WHERE clause",
    "app/reports.py:51:22 TN003 text writes tenant-scoped table tasks (model Task) without a tenant_id predicate; add tasks.tenant_id = <tenant> to the WHERE clause",
    "app/reports.py:55:30 TN003 text reads tenant-scoped table tasks (model Task) without a tenant_id predicate; add tasks.tenant_id = <tenant> to the WHERE clause",
    "app/services.py:16:12 TN001 select on tenant-scoped model Task does not filter by tenant_id; filter on Task.tenant_id",
    "app/services.py:23:12 TN001 get on tenant-scoped model Task does not filter by tenant_id; look it up with a filter on Task.tenant_id instead of get",
    "app/services.py:40:12 TN001 query on tenant-scoped model Project does not filter by tenant_id; filter on Project.tenant_id",
    "app/services.py:56:21 TN002 update on tenant-scoped model Project does not filter by tenant_id, so it can change another tenant's rows; filter on Project.tenant_id",
    "app/services.py:64:5 TN002 delete on tenant-scoped model Task does not filter by tenant_id, so it can change another tenant's rows; filter on Task.tenant_id",
    "app/services.py:68:28 TN001 select on tenant-scoped model AuditEvent does not filter by tenant_id; filter on AuditEvent.tenant_id",
    "app/services.py:72:12 TN001 get on tenant-scoped model Project does not filter by tenant_id; look it up with a filter on Project.tenant_id instead of get",
]


def test_prisma_app(run):
    assert run("tenant/prisma_app", select="TN") == PRISMA_FINDINGS


def test_sqlalchemy_app(run):
    assert run("tenant/sqlalchemy_app", select="TN") == SQLALCHEMY_FINDINGS


def test_rules_run_separately(run):
    assert run("tenant/prisma_app", select="TN002") == [f for f in PRISMA_FINDINGS if " TN002 " in f]
    assert run("tenant/sqlalchemy_app", select="TN003") == [f for f in SQLALCHEMY_FINDINGS if " TN003 " in f]


def test_findings_point_at_the_tenant_key(lint):
    analysis = lint("tenant/prisma_app", select="TN001")
    first = analysis.reported[0].finding
    assert [(r.at.path, r.at.line, r.message) for r in first.related] == [
        ("prisma/schema.prisma", 45, "tenant key tenantId of Invoice"),
    ]


def test_exempt_paths_are_checked_when_not_configured(run):
    found = run("tenant/prisma_app", select="TN001", tenant_exempt=())
    assert "src/admin/platform.ts:5:10 TN001 findMany on tenant-scoped model Order does not filter by tenantId; add tenantId to the where clause" in found


def test_configured_scoped_client_is_trusted_only_when_configured(run):
    found = run("tenant/prisma_app", select="TN001", tenant_scoped_clients=())
    assert "src/routes/invoices.ts:27:18 TN001 findMany on tenant-scoped model Invoice does not filter by tenantId; add tenantId to the where clause" in found


def test_database_per_tenant_has_no_tenant_scoped_models(run, lint):
    assert run("tenant/prisma_app", select="TN", tenant_keys=("organizationId",)) == []
    project = lint("tenant/prisma_app", select="TN", tenant_keys=("organizationId",)).project
    assert project.view(data_model).tenant_scoped_models == []


def test_readiness_counts(lint):
    model = lint("tenant/prisma_app", select="TN").project.view(data_model)
    assert [t.name for t in model.tenant_scoped_models] == ["Order", "Invoice", "AuditEvent"]
    statuses = [(q.query.at.line, q.query.operation, q.status) for q in model.tenant_queries() if q.query.at.path == "src/routes/invoices.ts"]
    assert statuses == [
        (7, "findMany", "unscoped"),
        (12, "findMany", "unscoped"),
        (18, "findMany", "scoped-by-filter"),
        (23, "findMany", "scoped-by-extension"),
        (27, "findMany", "scoped-by-extension"),
        (31, "delete", "unscoped"),
        (36, "findFirst", "unscoped"),
        (41, "findFirst", "scoped-by-filter"),
        (46, "findMany", "scoped-by-extension"),
        (51, "update", "unscoped"),
    ]
    assert model.status_counts()["unknown"] == 1  # OrderService.withScope: `...scope` cannot be seen


# --- extraction --------------------------------------------------------------------------


def ts_facts(code: str, kind: type) -> list:
    source = Source("src/x.ts", textwrap.dedent(code))
    return [f for f in extract_typescript(source, Config()) if isinstance(f, kind)]


def py_facts(code: str, kind: type) -> list:
    source = Source("app/x.py", textwrap.dedent(code))
    return [f for f in extract_python(source, Config()) if isinstance(f, kind)]


def test_prisma_query_facts_for_pagination_and_indexes():
    (query,) = ts_facts(
        """
        export class Orders {
          async list(req) {
            const where = { tenantId: req.tenant.id, status: 'OPEN', createdAt: { gte: since } };
            return this.db.order.findMany({ where, orderBy: [{ createdAt: 'desc' }, { id: 'asc' }], take: 20 });
          }
        }
        """,
        Query,
    )
    assert (query.model, query.operation, query.kind, query.client, query.function) == ("order", "findMany", "read", "this.db", "Orders.list")
    assert (query.filter.keys, query.filter.ranges, query.filter.unknown) == (("status", "tenantId"), ("createdAt",), False)
    assert (query.order_by, query.has_limit, query.returns_many) == (("createdAt", "id"), True, True)
    assert (query.at.line, query.at.column, query.function_at.line) == (5, 12, 3)


def test_prisma_filters_read_like_prisma_does():
    queries = ts_facts(
        """
        async function f(id, t, extra, cond) {
          await prisma.order.findFirst({ where: { OR: [{ tenantId: t, id }, { tenantId: t, number: 3 }] } });
          await prisma.order.findMany({ where: { NOT: { tenantId: t }, status: { in: ['A', 'B'] } } });
          await prisma.order.findMany({ where: { customer: { is: { tenantId: t } }, items: { some: { tenantId: t } } } });
          await prisma.order.findMany({ where: { tenantId: { equals: t }, ...extra } });
          await prisma.order.findMany(cond);
          await prisma.order.findMany({ where: { [key]: t } });
          await prisma.order.findMany({ where: { tenantId: flag ? t : undefined } });
          let where = { tenantId: t };
          await prisma.order.findMany({ where });
          let scoped = { tenantId: t };
          if (extra) scoped = extra;
          await prisma.order.findMany({ where: scoped });
          await prisma.order.findMany({ where: { ...(cond && { tenantId: t }), ...(extra ? { status: 'A' } : { status: 'B', tenantId: t }) } });
        }
        """,
        Query,
    )
    assert [(q.filter.keys, q.filter.undefined, q.filter.unknown) for q in queries] == [
        (("tenantId",), (), False),
        (("status",), (), False),
        (("customer.tenantId",), (), False),
        (("tenantId",), (), True),
        ((), (), True),
        ((), (), True),
        ((), (("tenantId", "may be undefined (flag ? t : undefined)"),), False),
        (("tenantId",), (), False),  # a `let` nothing assigns again holds its initializer
        ((), (), True),  # a `let` assigned again: unknown
        (("status",), (), False),  # a conditional spread pins only what each of its branches pins
    ]


def test_undefined_tenant_values_and_guards():
    queries = ts_facts(
        """
        async function a(req) {
          const tenantId = req.user?.tenantId;
          return prisma.order.findMany({ where: { tenantId } });
        }
        async function b(req) {
          const tenantId = req.user?.tenantId;
          if (!tenantId) return null;
          return prisma.order.findMany({ where: { tenantId } });
        }
        async function c(tenantId?: string) {
          assert(tenantId);
          return prisma.order.findMany({ where: { tenantId } });
        }
        async function d(tenantId?: string) {
          return prisma.order.findMany({ where: { tenantId: tenantId ?? req.tenant.id } });
        }
        """,
        Query,
    )
    assert [(q.function, q.filter.keys, q.filter.undefined) for q in queries] == [
        ("a", (), (("tenantId", "may be undefined (tenantId = req.user?.tenantId)"),)),
        ("b", ("tenantId",), ()),
        ("c", ("tenantId",), ()),
        ("d", ("tenantId",), ()),
    ]


def test_transaction_client_and_local_client_sources():
    queries = ts_facts(
        """
        async function f(req) {
          const db = tenantDb(req);
          await db.order.findMany();
          await req.prisma.$transaction(async (tx) => tx.order.deleteMany({ where: { status: 'X' } }));
        }
        """,
        Query,
    )
    assert [(q.client, q.client_source, q.function) for q in queries] == [("db", "tenantDb(req)", "f"), ("tx", "req.prisma", "f")]
    assert normalise_client("await (tenantDb(req, { strict: true }))") == "tenantDb()"
    assert normalise_client("req.user?.prisma!") == "req.user.prisma"


def test_scoped_clients_from_extends():
    found = ts_facts(
        """
        const tenantIsolation = Prisma.defineExtension({
          query: { $allModels: { $allOperations({ args, query }) { args.where = { ...args.where, tenantId: ctx.tenantId }; return query(args); } } },
        });
        export const scoped = prisma.$extends(tenantIsolation);
        export const logged = prisma.$extends({ query: { $allModels: { $allOperations({ args, query }) { log(args); return query(args); } } } });
        class Repo { db = base.$extends({ query: { order: { findMany({ args, query }) { args.where.tenantId = this.t; return query(args); } } } }); }
        function handler(req) { const db = prisma.$extends({ query: { $allModels: { $allOperations({ args, query }) { return query({ ...args, where: { ...args.where, tenantId: req.t } }); } } } }); }
        """,
        ScopedClient,
    )
    assert [(c.name, c.keys, c.called, c.scope, c.covers) for c in found] == [
        ("scoped", ("tenantId",), False, "", (("*", "*"),)),
        ("this.db", ("tenantId",), False, "", (("order", "findMany"),)),
        ("db", ("tenantId",), False, "handler", (("*", "*"),)),
    ]
    assert found[1].scopes("Order", "findMany") and not found[1].scopes("order", "update")
    assert not found[1].scopes("invoice", "findMany") and not found[0].scopes("$raw", "$queryRaw")


def test_raw_sql_in_typescript():
    raws = ts_facts(
        """
        async function f(t, ids) {
          await prisma.$queryRaw`SELECT * FROM orders WHERE tenant_id = ${t} AND id IN (${Prisma.join(ids)})`;
          await prisma.$executeRaw(Prisma.sql`DELETE FROM orders WHERE id = ${ids[0]}`);
          const fragment = Prisma.sql`SELECT id FROM orders WHERE status = ${'OPEN'}`;
          await pool.query('SELECT * FROM invoices WHERE number = $1', [n]);
          await pool.query(`SELECT * FROM ${table}`);
          await cache.query('not sql');
        }
        """,
        RawSql,
    )
    assert [(r.origin, r.parsed, [(t.name, t.access, t.constrained) for t in r.tables]) for r in raws] == [
        ("$queryRaw", True, [("orders", "read", ("id", "tenant_id"))]),
        ("$executeRaw", True, [("orders", "write", ("id",))]),
        ("Prisma.sql", True, [("orders", "read", ("status",))]),
        ("query", True, [("invoices", "read", ("number",))]),
        ("query", False, []),
    ]


def test_sqlalchemy_query_facts():
    queries = py_facts(
        """
        from sqlalchemy import select, func
        from app.models import Task

        def tasks(session, tenant_id, project_id):
            stmt = select(Task).where(Task.tenant_id == tenant_id, Task.project_id.in_([project_id]))
            stmt = stmt.order_by(Task.created_at.desc())
            return session.execute(stmt).scalars().all()

        def helper(session, tenant_id):
            stmt = select(Task)
            stmt = scope(stmt, tenant_id)
            return session.scalars(stmt).first()

        def counted(session, tenant_id):
            return session.scalar(select(func.count()).select_from(Task).where(Task.tenant_id == tenant_id))

        def legacy(tenant_id):
            return Task.query.filter(Task.tenant_id == tenant_id, Task.due < now()).paginate(page=1)
        """,
        Query,
    )
    assert [(q.model, q.operation, q.filter.keys, q.filter.ranges, q.filter.unknown, q.order_by, q.has_limit, q.returns_many, q.terminal, q.function) for q in queries] == [
        ("Task", "select", ("project_id", "tenant_id"), (), False, ("created_at",), False, True, "scalars.all", "tasks"),
        ("Task", "select", (), (), True, (), True, False, "first", "helper"),
        ("Task", "select", ("tenant_id",), (), False, (), False, False, "scalar", "counted"),
        ("Task", "filter", ("tenant_id",), ("due",), False, (), True, True, "paginate", "legacy"),
    ]


def test_python_raw_sql_is_only_read_from_sql_strings():
    raws = py_facts(
        """
        from sqlalchemy import text

        def f(conn, t):
            conn.execute(text("SELECT * FROM tasks WHERE tenant_id = :t"), {"t": t})
            conn.execute("UPDATE tasks SET status = 'x' WHERE id = %s", (1,))
            query = "DELETE FROM tasks WHERE tenant_id = %(t)s"
            conn.execute(query, {"t": t})
            conn.execute(f"SELECT * FROM {t}")
            redis.execute("GET", "key")
        """,
        RawSql,
    )
    assert [(r.origin, r.at.line, r.parsed, [(t.name, t.access, t.constrained) for t in r.tables]) for r in raws] == [
        ("text", 5, True, [("tasks", "read", ("tenant_id",))]),
        ("execute", 6, True, [("tasks", "write", ("id",))]),
        ("execute", 8, True, [("tasks", "write", ("tenant_id",))]),
        ("execute", 9, False, []),
    ]


# --- row-level security ------------------------------------------------------------------
# The SQL extractor publishes RLS facts in prodlint.facts.sql; the model reads
# `RowLevelSecurity(table, enabled)` and `Policy(table, columns)`.

RLS_FINDINGS = [
    "src/audit.ts:14:10 TN001 findMany on tenant-scoped model Note does not filter by tenantId; add tenantId to the where clause",
    "src/audit.ts:18:10 TN001 findMany on tenant-scoped model Upload does not filter by tenantId; add tenantId to the where clause",
]


def test_row_level_security_from_migrations(run):
    assert run("tenant/rls_app", select="TN") == RLS_FINDINGS


def test_row_level_security_scopes_orm_and_raw_queries(lint):
    """The migration's RLS facts reach the model: queries on audit_events are scoped below the query."""
    project = lint("tenant/rls_app", select="TN").project
    model = project.view(data_model)
    assert sorted(model.rls_tables) == ["audit_events"]
    assert [(q.query.at.line, q.status) for q in model.tenant_queries()] == [(6, "scoped-by-rls"), (14, "unscoped"), (18, "unscoped")]
    assert [(r.raw.at.line, r.status) for r in model.tenant_raw_sql()] == [(10, "scoped-by-rls")]


def test_sqlalchemy_models_mixins_and_default_table_names(lint, tmp_path):
    (tmp_path / "models.py").write_text(textwrap.dedent(
        """
        from flask_sqlalchemy import SQLAlchemy
        from sqlalchemy import Column, ForeignKey, Index, Integer, String
        from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
        from sqlmodel import Field, SQLModel

        db = SQLAlchemy()

        class Base(DeclarativeBase):
            @declared_attr.directive
            def __tablename__(cls) -> str:
                return cls.__name__.lower() + "s"

        class TenantOwned:
            @declared_attr
            def tenant_id(cls):
                return Column(Integer, ForeignKey("tenants.id"), nullable=False)

        class Timestamped(Base):
            __abstract__ = True
            created_at = Column(Integer)

        class Order(TenantOwned, Timestamped):
            id: Mapped[int] = mapped_column(primary_key=True)
            number: Mapped[str] = mapped_column("order_number", String(20))

        class Refund(Order):
            reason: Mapped[str]

        Index("ix_orders_tenant_number", Order.tenant_id, Order.number)

        class OrderItem(db.Model):
            id = db.Column(db.Integer, primary_key=True)
            tenant_id = db.Column(db.Integer, index=True)

        class Hero(SQLModel, table=True):
            id: int | None = Field(default=None, primary_key=True)
            tenant_id: int = Field(foreign_key="tenant.id")

        class HeroRead(SQLModel):
            name: str
        """
    ))
    model = lint(tmp_path, select="TN").project.view(data_model)
    assert [(t.name, t.model.table, t.key.column, t.model.kind) for t in model.tenant_scoped_models] == [
        ("Order", None, "tenant_id", "model"),
        ("Refund", None, "tenant_id", "model"),
        ("OrderItem", "order_item", "tenant_id", "model"),
        ("Hero", "hero", "tenant_id", "model"),
    ]
    order = model.tenant_scoped_models[0].model
    assert [f.name for f in order.fields] == ["id", "number", "tenant_id", "created_at"]
    assert [(i.origin, i.columns) for i in order.indexes] == [("primary_key", ("id",)), ("Index", ("tenant_id", "order_number"))]
    assert "Timestamped" not in [m.name for m in model.models if m.kind == "model"]
