"""Tenant scoping that follows the function (check, parent, identity, helper) and TN004, with near misses."""

from __future__ import annotations

from prodlint.model.data import STATUSES, data_model

# Prisma: a row compared after the fetch (and the update by its id), a helper that reads the
# row with the tenant key, a parent fetched scoped, a list from a scoped helper, a created row,
# a cast compound unique, shared rows (`OR: [{ tenantId: null }, { tenantId }]`), the login
# lookup by email, the password change, `req.user.id`, `req.auth?.tenantId` behind a mount guard,
# and a path parameter compared with the session or handed to a check with it. The findings are the near misses: a comparison
# that does not leave, an unverified parent id, the id a list helper was handed, an OR with an
# unscoped branch, a user by id outside an account flow, an unguarded optional tenant, and
# tenant keys from the path (also beside another path parameter), a header and the query string (a public route and a sign-in to the
# tenant the path names stay silent). TN003 reports a raw statement once,
# naming every table it leaves open (the join to a restricted table is scoped), also with a type
# argument on the tag (`$queryRaw<Row[]>`).
PRISMA_FINDINGS = [
    "src/public.ts:7:18 TN001 findMany on tenant-scoped model Order does not filter by tenantId: its value may be undefined (req.auth?.tenantId), and Prisma ignores an undefined filter; require a defined tenantId before querying",
    "src/reports.ts:4:10 TN003 $queryRaw reads tenant-scoped tables Order (model Order), Customer (model Customer) without a tenantId predicate; add o.tenantId = <tenant>, c.tenantId = <tenant> to the WHERE clause",
    "src/reports.ts:14:10 TN003 $queryRaw reads tenant-scoped table Order (model Order) without a tenantId predicate; add Order.tenantId = <tenant> to the WHERE clause",
    "src/routes/platform.ts:22:20 TN001 findMany on tenant-scoped model Order does not filter by tenantId; add tenantId to the where clause",
    "src/routes/tenants.ts:10:18 TN004 findMany on Order is scoped by tenantId = tenantId, taken from the path parameter (line 9), and never compared with the caller's identity, so any user can reach another tenant's rows; take tenantId from the authenticated session or check the caller's membership first",
    "src/routes/tenants.ts:15:18 TN004 findMany on Order is scoped by tenantId = tenantId, taken from the header (line 14), and never compared with the caller's identity, so any user can reach another tenant's rows; take tenantId from the authenticated session or check the caller's membership first",
    "src/routes/tenants.ts:19:18 TN004 findMany on Customer is scoped by tenantId = req.query.tenantId, taken from the query string (line 19), and never compared with the caller's identity, so any user can reach another tenant's rows; take tenantId from the authenticated session or check the caller's membership first",
    "src/routes/tenants.ts:37:18 TN001 findUnique on tenant-scoped model User does not filter by tenantId; add tenantId to the where clause",
    "src/routes/tenants.ts:54:18 TN004 findMany on Order is scoped by tenantId = tenantId, taken from the path parameter (line 52), and never compared with the caller's identity, so any user can reach another tenant's rows; take tenantId from the authenticated session or check the caller's membership first",
    "src/services/admin.service.ts:4:9 TN002 delete on tenant-scoped model User does not filter by tenantId, so it can change another tenant's rows; add tenantId to the where clause",
    "src/services/ledger.service.ts:5:12 TN004 findMany on Order is scoped by tenantId = tenantId, taken from the path parameter tenantId that list forwards, and never compared with the caller's identity, so any user can reach another tenant's rows; take tenantId from the authenticated session or check the caller's membership first",
    "src/services/order.service.ts:11:25 TN001 findUnique on tenant-scoped model Order does not filter by tenantId; add tenantId to the where clause",
    "src/services/order.service.ts:34:12 TN001 findMany on tenant-scoped model Order does not filter by tenantId; add tenantId to the where clause",
    "src/services/order.service.ts:46:11 TN002 update on tenant-scoped model Customer does not filter by tenantId, so it can change another tenant's rows; add tenantId to the where clause",
    "src/services/order.service.ts:65:12 TN001 findMany on tenant-scoped model Template does not filter by tenantId; add tenantId to the where clause",
    "src/services/platform.service.ts:11:12 TN001 findMany on tenant-scoped model Customer does not filter by tenantId; add tenantId to the where clause",
]

PRISMA_STATUSES = [
    ("src/public.ts", 7, "unscoped"),
    ("src/public.ts", 12, "scoped-by-filter"),
    ("src/routes/platform.ts", 22, "unscoped"),
    ("src/routes/platform.ts", 29, "scoped-by-filter"),
    ("src/routes/tenants.ts", 10, "scoped-by-filter"),
    ("src/routes/tenants.ts", 15, "scoped-by-filter"),
    ("src/routes/tenants.ts", 19, "scoped-by-filter"),
    ("src/routes/tenants.ts", 25, "scoped-by-filter"),
    ("src/routes/tenants.ts", 29, "scoped-by-filter"),
    ("src/routes/tenants.ts", 33, "scoped-by-identity"),
    ("src/routes/tenants.ts", 37, "unscoped"),
    ("src/routes/tenants.ts", 42, "scoped-by-filter"),
    ("src/routes/tenants.ts", 48, "scoped-by-filter"),
    ("src/routes/tenants.ts", 54, "scoped-by-filter"),
    ("src/services/admin.service.ts", 4, "unscoped"),
    ("src/services/auth.service.ts", 5, "scoped-by-identity"),
    ("src/services/auth.service.ts", 7, "scoped-by-parent"),
    ("src/services/auth.service.ts", 12, "scoped-by-identity"),
    ("src/services/auth.service.ts", 17, "scoped-by-identity"),
    ("src/services/ledger.service.ts", 5, "scoped-by-filter"),
    ("src/services/ledger.service.ts", 12, "scoped-by-filter"),
    ("src/services/order.service.ts", 5, "scoped-by-check"),
    ("src/services/order.service.ts", 7, "scoped-by-parent"),
    ("src/services/order.service.ts", 11, "unscoped"),
    ("src/services/order.service.ts", 17, "scoped-by-filter"),
    ("src/services/order.service.ts", 24, "scoped-by-helper"),
    ("src/services/order.service.ts", 28, "scoped-by-filter"),
    ("src/services/order.service.ts", 30, "scoped-by-parent"),
    ("src/services/order.service.ts", 34, "unscoped"),
    ("src/services/order.service.ts", 38, "scoped-by-filter"),
    ("src/services/order.service.ts", 44, "scoped-by-helper"),
    ("src/services/order.service.ts", 46, "unscoped"),
    ("src/services/order.service.ts", 51, "scoped-by-parent"),
    ("src/services/order.service.ts", 55, "scoped-by-filter"),
    ("src/services/order.service.ts", 61, "scoped-by-filter"),
    ("src/services/order.service.ts", 65, "unscoped"),
    ("src/services/platform.service.ts", 11, "unscoped"),
    ("src/services/retention.service.ts", 5, "unscoped"),  # unscoped, but in a module nothing imports: not reported
]

# SQLAlchemy ORM, Flask-SQLAlchemy and FastAPI/Flask routes (tenant key org_id, sub-key household_id).
SQLALCHEMY_FINDINGS = [
    "app/maintenance.py:15:12 TN001 all on tenant-scoped model Dashboard does not filter by org_id; filter on Dashboard.org_id",
    "app/maintenance.py:54:12 TN001 all on tenant-scoped model Widget does not filter by org_id; filter on Widget.org_id",
    "app/repositories.py:25:16 TN001 select on tenant-scoped model Pantry does not filter by org_id; filter on Pantry.org_id",
    "app/repositories.py:30:16 TN001 select on tenant-scoped model Pantry does not filter by org_id; filter on Pantry.org_id",
    "app/repositories.py:40:16 TN001 select on tenant-scoped model Widget does not filter by org_id; filter on Widget.org_id",
    "app/repositories.py:47:12 TN001 select on tenant-scoped model Widget does not filter by org_id; filter on Widget.org_id",
    "app/routes.py:30:12 TN004 query on Favorite is scoped by org_id = org_id, taken from the path parameter (line 29), and never compared with the caller's identity, so any user can reach another tenant's rows; take org_id from the authenticated session or check the caller's membership first",
    "app/routes.py:41:12 TN004 filter_by on Widget is scoped by org_id = org_id, taken from the query string (line 40), and never compared with the caller's identity, so any user can reach another tenant's rows; take org_id from the authenticated session or check the caller's membership first",
    "app/services.py:15:17 TN001 get on tenant-scoped model Dashboard does not filter by org_id; look it up with a filter on Dashboard.org_id instead of get",
    "app/services.py:27:12 TN001 filter on tenant-scoped model Widget does not filter by org_id; filter on Widget.org_id",
    "app/services.py:39:16 TN001 get on tenant-scoped model Favorite does not filter by org_id; look it up with a filter on Favorite.org_id instead of get",
    "app/services.py:40:5 TN002 delete on tenant-scoped model Favorite does not filter by org_id, so it can change another tenant's rows; filter on Favorite.org_id",
    "app/services.py:49:5 TN002 delete on tenant-scoped model Widget does not filter by org_id, so it can change another tenant's rows; filter on Widget.org_id",
    "app/services.py:57:14 TN001 get on tenant-scoped model Widget does not filter by org_id; look it up with a filter on Widget.org_id instead of get",
    "app/services.py:82:37 TN001 select on tenant-scoped model Meal does not filter by org_id; filter on Meal.org_id",
    "app/services.py:86:17 TN001 get on tenant-scoped model Dashboard does not filter by org_id; look it up with a filter on Dashboard.org_id instead of get",
    "app/widget_service.py:6:16 TN004 query on Widget is scoped by org_id = org_id, taken from the path parameter org_id that list_org_widgets forwards, and never compared with the caller's identity, so any user can reach another tenant's rows; take org_id from the authenticated session or check the caller's membership first",
    "app/widget_service.py:12:16 TN004 query on Dashboard is scoped by org_id = org_id, taken from the path parameter org_id that assign_role forwards, and never compared with the caller's identity, so any user can reach another tenant's rows; take org_id from the authenticated session or check the caller's membership first",
]

SQLALCHEMY_STATUSES = [
    ("app/maintenance.py", 15, "unscoped"),
    ("app/maintenance.py", 54, "unscoped"),
    ("app/repositories.py", 15, "scoped-by-parent"),
    ("app/repositories.py", 20, "scoped-by-parent"),
    ("app/repositories.py", 25, "unscoped"),
    ("app/repositories.py", 30, "unscoped"),
    ("app/repositories.py", 34, "scoped-by-filter"),
    ("app/repositories.py", 40, "unscoped"),
    ("app/repositories.py", 47, "unscoped"),
    ("app/routes.py", 30, "scoped-by-filter"),
    ("app/routes.py", 35, "scoped-by-filter"),
    ("app/routes.py", 41, "scoped-by-filter"),
    ("app/services.py", 8, "scoped-by-check"),
    ("app/services.py", 15, "unscoped"),
    ("app/services.py", 22, "scoped-by-filter"),
    ("app/services.py", 23, "scoped-by-parent"),
    ("app/services.py", 27, "unscoped"),
    ("app/services.py", 31, "scoped-by-filter"),
    ("app/services.py", 35, "scoped-by-identity"),
    ("app/services.py", 39, "unscoped"),
    ("app/services.py", 40, "unscoped"),
    ("app/services.py", 44, "scoped-by-identity"),
    ("app/services.py", 45, "scoped-by-parent"),
    ("app/services.py", 49, "unscoped"),
    ("app/services.py", 53, "scoped-by-filter"),
    ("app/services.py", 57, "unscoped"),
    ("app/services.py", 63, "scoped-by-identity"),
    ("app/services.py", 70, "scoped-by-parent"),
    ("app/services.py", 79, "scoped-by-identity"),
    ("app/services.py", 82, "unscoped"),
    ("app/services.py", 86, "unscoped"),
    ("app/widget_service.py", 6, "scoped-by-filter"),
    ("app/widget_service.py", 9, "scoped-by-filter"),
    ("app/widget_service.py", 12, "scoped-by-filter"),
]


def test_prisma_scoping(run):
    assert run("tenant/scoping_prisma", select="TN") == PRISMA_FINDINGS


def test_prisma_statuses(lint):
    model = lint("tenant/scoping_prisma", select="TN").project.view(data_model)
    assert [(q.query.at.path, q.query.at.line, q.status) for q in model.tenant_queries()] == PRISMA_STATUSES


def test_sqlalchemy_scoping(run):
    assert run("tenant/scoping_sqlalchemy", select="TN") == SQLALCHEMY_FINDINGS


def test_sqlalchemy_statuses(lint):
    model = lint("tenant/scoping_sqlalchemy", select="TN").project.view(data_model)
    assert [(q.query.at.path, q.query.at.line, q.status) for q in model.tenant_queries()] == SQLALCHEMY_STATUSES


def test_census_counts_every_status(lint):
    counts = lint("tenant/scoping_prisma", select="TN").project.view(data_model).status_counts()
    assert list(counts) == list(STATUSES)
    assert counts == {
        "scoped-by-filter": 19, "scoped-by-extension": 0, "scoped-by-rls": 0, "scoped-by-check": 1, "scoped-by-parent": 4,
        "scoped-by-identity": 4, "scoped-by-helper": 2, "unscoped": 13, "unknown": 0,
    }


def test_evidence_names_the_line(lint):
    model = lint("tenant/scoping_prisma", select="TN").project.view(data_model)
    by_line = {(q.query.at.path, q.query.at.line): q for q in model.tenant_queries()}
    check = by_line[("src/services/order.service.ts", 5)]
    assert (check.evidence.line, check.how) == (6, "leaves when order.tenantId differs: if (!order || order.tenantId !== tenantId)")
    helper = by_line[("src/services/order.service.ts", 24)]
    assert (helper.evidence.line, helper.how) == (23, "id = id: getOrder() verifies id with the tenant key")


def test_tn004_points_at_the_read(lint):
    analysis = lint("tenant/scoping_sqlalchemy", select="TN004")
    assert [(f.at.path, f.at.line, [(r.at.path, r.at.line, r.message) for r in f.finding.related]) for f in analysis.reported] == [
        ("app/routes.py", 30, [("app/routes.py", 29, "org_id read from the path parameter")]),
        ("app/routes.py", 41, [("app/routes.py", 40, "org_id read from the query string")]),
        ("app/widget_service.py", 6, [("app/routes.py", 13, "org_id read from the path parameter")]),
        ("app/widget_service.py", 12, [("app/routes.py", 45, "org_id read from the path parameter")]),
    ]


def test_core_tables_are_models(run, lint):
    # SQLAlchemy Core: `Table(...)` columns, foreign keys and indexes feed the data model under the
    # variable's name, so `select(tasks)`, `tasks.c.x` and `projects.update()` are tenant queries
    # and the index rules see the missing tenant-key index; the loose `Index(..., tasks.c.project_id)`
    # serves the foreign key.
    assert run("tenant/scoping_core", select=("TN", "IX")) == [
        "app/queries.py:11:25 TN001 select on tenant-scoped model tasks does not filter by tenant_id; filter on tasks.tenant_id",
        "app/queries.py:19:18 TN002 update on tenant-scoped model projects does not filter by tenant_id, so it can change another tenant's rows; filter on projects.tenant_id",
        'app/tables.py:24:5 IX002 tenant-scoped model tasks has no index that leads with tenant_id, so every tenant\'s query scans all tenants\' rows; add Index("ix_tasks_tenant_id", "tenant_id") inside tasks = Table("tasks", ...)',
    ]
    model = lint("tenant/scoping_core", select="TN").project.view(data_model)
    assert [(q.query.at.line, q.query.model, q.query.operation, q.status) for q in model.tenant_queries()] == [
        (7, "tasks", "select", "scoped-by-filter"),
        (11, "tasks", "select", "unscoped"),
        (15, "tasks", "select", "scoped-by-filter"),
        (19, "projects", "update", "unscoped"),
        (23, "tasks", "delete", "scoped-by-filter"),
    ]


def test_owned_parent_names_the_table_it_references(lint):
    model = lint("tenant/scoping_sqlalchemy", select="TN").project.view(data_model)
    how = {q.query.at.line: q.how for q in model.tenant_queries() if q.query.at.path == "app/repositories.py"}
    assert how[15] == "kitchen_id = self.kitchen_id: the object's own Kitchen, itself tenant-scoped (by org_id)"
    assert how[20] == "pantry_id = self.pantry_id: the object's own Pantry, itself tenant-scoped (by org_id)"


def test_code_reached_only_from_startup_or_platform_admin_is_cross_tenant(lint):
    model = lint("tenant/scoping_sqlalchemy", select="TN").project.view(data_model)
    assert [(f, model.cross_tenant("app/maintenance.py", f)) for f in (
        "backfill_widgets", "dashboards", "on_startup", "purge", "every_widget", "admin_dashboards", "widgets")] == [
        ("backfill_widgets", 'reached only from __main__ (runs as a program (`if __name__ == "__main__":`))'),
        ("dashboards", None),
        ("on_startup", 'a startup hook (@router.on_event("startup"))'),
        ("purge", "a startup event handler (add_event_handler)"),
        ("every_widget", "reached only from admin_widgets (a route handler behind the platform-admin dependency get_current_superuser)"),
        ("admin_dashboards", "a route handler behind the platform-admin dependency require_platform_admin"),
        ("widgets", None),
    ]


def test_route_behind_an_admin_flag_guard_is_cross_tenant(run, lint):
    # get_admin_user rejects callers whose is_admin flag is unset: the /admin router serves site
    # administrators, so what only it calls works across organisations. get_org_manager compares a
    # role within the organisation, so what its routes call is still reported, and so is a helper
    # that an ordinary route calls as well. `RoleGuard(Role.PLATFORM_ADMIN)` admits platform admins
    # only; `RoleGuard([Role.ADMIN, Role.PLATFORM_ADMIN])` admits an organisation's admins too.
    assert run("tenant/admin_flag", select="TN") == [
        "app/people.py:9:12 TN001 query on tenant-scoped model User does not filter by org_id; filter on User.org_id",
        "app/widgets.py:10:12 TN001 query on tenant-scoped model Widget does not filter by org_id; filter on Widget.org_id",
        "app/widgets.py:14:12 TN001 query on tenant-scoped model Widget does not filter by org_id; filter on Widget.org_id",
        "app/widgets.py:22:12 TN001 query on tenant-scoped model Widget does not filter by org_id; filter on Widget.org_id",
    ]
    model = lint("tenant/admin_flag", select="TN").project.view(data_model)
    assert [(f, model.cross_tenant("app/widgets.py", f)) for f in (
        "rename_everywhere", "count_by_name", "largest", "total_widgets", "widgets_for_admins")] == [
        ("rename_everywhere", "reached only from rename_widgets (a route handler behind get_admin_user, "
                              "which rejects callers without current_user.is_admin)"),
        ("count_by_name", None),
        ("largest", None),
        ("total_widgets", "reached only from platform_total (a route handler behind the platform-admin dependency "
                          "RoleGuard(Role.PLATFORM_ADMIN))"),
        ("widgets_for_admins", None),
    ]


def test_a_parameter_every_caller_fills_with_the_identity_is_scoped_by_identity(run, lint):
    # UserService.findById(id) is only ever called with req.user.id: the caller's own row.
    # rename(id) is also called with req.params.id (renameAnyone), so it stays reported.
    assert run("tenant/identity_forwarded", select="TN") == [
        "src/services/user.service.ts:9:12 TN002 update on tenant-scoped model User does not filter by tenantId, "
        "so it can change another tenant's rows; add tenantId to the where clause",
    ]
    model = lint("tenant/identity_forwarded", select="TN").project.view(data_model)
    assert [(q.query.at.line, q.status, q.how) for q in model.tenant_queries()] == [
        (5, "scoped-by-identity", "filters id by id, which every caller fills with the verified identity "
                                  "(req.user.id at src/controllers/profile.controller.ts:8)"),
        (9, "unscoped", None),
    ]


def test_a_python_parameter_every_caller_fills_with_the_identity_is_scoped_by_identity(lint):
    # get_user(db, user_id) is called with current_user.id, by position and by keyword;
    # get_member(db, user_id) with a path parameter: reported.
    model = lint("tenant/admin_flag", select="TN").project.view(data_model)
    assert [(q.query.at.line, q.status, q.how) for q in model.tenant_queries() if q.query.at.path == "app/people.py"] == [
        (5, "scoped-by-identity", "filters id by user_id, which every caller fills with the verified identity "
                                  "(current_user.id at app/routes/me.py:11)"),
        (9, "unscoped", None),
    ]


def test_service_reached_only_from_a_platform_admin_route_is_cross_tenant(lint):
    model = lint("tenant/scoping_prisma", select="TN").project.view(data_model)
    assert [model.cross_tenant("src/services/platform.service.ts", f) for f in (
        "PlatformService.platformTotals", "PlatformService.openCustomers")] == [
        "reached only from totals, reached only from a route behind the platform-admin guard platformOnly",
        None,
    ]
