"""RT004 guards recognised by what their code does, and the default public paths."""

from __future__ import annotations

from prodlint.model.routes import route_graph


def test_express_guards_by_their_code(run):
    """Guards: `authenticateToken` (not a built-in name: reads the Authorization header, answers 401),
    a factory `requireCustomerRole('ADMIN')` whose returned middleware answers 403, both held in an
    array variable and spread (`...adminOnly`); a controller method (class field of an instance)
    that compares the `x-admin-token` header and answers 403 in its first statements.
    Near misses reported: `resolveTenant` reads a header and answers 403 for a blocked tenant, not
    for a missing credential; `reindex` checks nothing. Silent: `/pricing` under a `// Public:`
    comment; `/report` below it, after a blank line, is reported."""
    assert run("routes/guards_express", select="RT", route_guards=()) == [
        "src/routes/admin.ts:12:1 RT004 GET /api/admin/report has no authentication guard on the route, its router or"
        " its mounts, while 3 routes of this app use one (adminOnly); add a guard or list the path in routes.public",
        "src/routes/admin.ts:16:1 RT004 POST /api/admin/tenants has no authentication guard on the route, its router "
        "or its mounts (looked at resolveTenant: no check that reads a credential and rejects), while 3 routes of "
        "this app use one (adminOnly); add a guard or list the path in routes.public",
        "src/routes/admin.ts:18:1 RT004 POST /api/admin/reindex has no authentication guard on the route, its router "
        "or its mounts, while 3 routes of this app use one (adminOnly); add a guard or list the path in routes.public",
    ]


def test_fastapi_guards_by_their_code(run):
    """Guards: `Depends(user_service.get_current_admin)`, a method of a module-level service
    instance that depends on `OAuth2PasswordBearer`; `Depends(require_owner)`, an instance of a
    callable class whose `__call__` depends on a function that raises 401 without an
    Authorization header; a handler that compares `request.headers` and raises 403 first;
    `Depends(require_scope("billing"))`, a factory returning a function that depends on that
    same check. The router is included through `from . import accounts`. Near misses:
    `get_locale` reads a header and never rejects (reported); `Depends(page_size(20))`, a
    factory whose function depends on nothing that rejects (reported); `/auth/login`,
    `/auth/refresh-access-token`, `/auth/respond-to-challenge` (an MFA step),
    `/auth/register/confirmation` and `/auth/forgotpassword/request` (steps of a flow the
    parent segment names), `/auth/verify-email/{token}` (the link it mails) and
    `/auth/resend-verification` are sign-in flows (public), `/payments/confirm` and
    `/invoices/{invoice_id}` are not (reported);
    `/auth/register-super-admin` creates an admin: never public."""
    assert run("routes/guards_fastapi", select="RT", route_guards=()) == [
        "app/routes/accounts.py:26:1 RT004 GET /api/accounts/export has no authentication guard on the route, its "
        "router or its mounts (looked at get_locale: no check that reads a credential and rejects), while 4 routes of"
        " this app use one (user_service.get_current_admin); add a guard or list the path in routes.public",
        "app/routes/accounts.py:41:1 RT004 POST /api/accounts/auth/register-super-admin has no authentication guard "
        "on the route, its router or its mounts, while 4 routes of this app use one (user_service.get_current_admin);"
        " add a guard or list the path in routes.public",
        "app/routes/accounts.py:56:1 RT004 GET /api/accounts/catalogue has no authentication guard on the route, its "
        "router or its mounts, while 4 routes of this app use one (user_service.get_current_admin); add a guard or "
        "list the path in routes.public",
        "app/routes/accounts.py:71:1 RT004 POST /api/accounts/payments/confirm has no authentication guard on the route, "
        "its router or its mounts, while 4 routes of this app use one (user_service.get_current_admin); add a guard or "
        "list the path in routes.public",
        "app/routes/accounts.py:86:1 RT004 GET /api/accounts/invoices/{invoice_id} has no authentication guard on the "
        "route, its router or its mounts, while 4 routes of this app use one (user_service.get_current_admin); add a "
        "guard or list the path in routes.public",
    ]


def test_app_factory_shapes(run):
    """The app is built by `create_application(router=api_router)`, which includes its `router`
    parameter, and by `register_extra(application)`, which includes `build_router()`, a function
    returning a router it imports. Every route is reached: `/api/orders` is guarded by the router's
    `require_key` dependency; `/extra/health` is public; `/extra/stats` is reported."""
    assert run("routes/app_shapes", select="RT") == [
        "app/api/extra.py:6:1 RT004 GET /extra/stats has no authentication guard on the route, its router or its "
        "mounts, while 1 route of this app uses one (require_key); add a guard or list the path in routes.public",
    ]


def test_flask_guards_by_their_code(run):
    """The app is an instance of `ShopFlask(Flask)`. Guards: the project decorator `admins_only`,
    which aborts 403 unless `is_admin()` (reading the session through `authed()`); a handler whose
    first statement redirects to the login page unless `is_admin()`; a blueprint `before_request`
    hook that aborts 401 on a wrong `X-Token` header. Near misses: `audited` reads the request but
    never rejects (reported); `/terms` is commented public; `/about` only renders its template
    (silent), while `/admin/orders` renders what `load_orders()` returns (reported)."""
    assert run("routes/guards_flask", select="RT", route_guards=()) == [
        "shop/admin.py:21:1 RT004 GET /admin/export has no authentication guard on the route, its router or its mounts, "
        "while 3 routes of this app use one (admins_only); add a guard or list the path in routes.public",
        "shop/admin.py:39:1 RT004 GET /admin/orders has no authentication guard on the route, its router or its mounts, "
        "while 3 routes of this app use one (admins_only); add a guard or list the path in routes.public",
    ]


def test_fastapi_router_classes_test_folder_and_double_include(run, lint):
    """`GuardedRouter`, an `APIRouter` subclass defined in another module, passes
    `dependencies=[Depends(get_current_user)]` to `super().__init__()`: every route on its
    instances is guarded. `get_current_user` reads the Authorization header and raises
    `credentials_exception`, a module constant bound to `HTTPException(401)`. Reported:
    `/stats/daily` on a `TaggedRouter` (a subclass adding no dependency) whose `get_region`
    raises a 404 constant; `POST /selfcheck/run`, a router defined under tests/ but included by
    the application (request code wherever it lives); `reports_router` included twice (RT003 at
    its route, both includes related); `legacy.py`'s router, never imported (RT001).
    Silent: routers reached through `from app.api.routes import accounts, stats` in a package
    `__init__.py`; a stub router and app that only tests/test_accounts.py builds."""
    assert run("routes/fastapi_shapes", select="RT", route_guards=()) == [
        "app/api/routes/legacy.py:3:1 RT001 APIRouter router defines 1 route but is never imported anywhere, so it "
        "answers 404; import it and mount it with include_router()",
        "app/api/routes/reports.py:6:1 RT003 GET /api/reports/summary is registered twice because reports_router is "
        "mounted twice (at app/api/__init__.py:10 and app/api/__init__.py:12); remove one of the mounts",
        "app/api/routes/stats.py:9:1 RT004 GET /api/stats/daily has no authentication guard on the route, its router "
        "or its mounts (looked at get_region: no check that reads a credential and rejects), while 3 routes of this "
        "app use one (get_current_user); add a guard or list the path in routes.public",
        "tests/selfcheck.py:8:1 RT004 POST /api/selfcheck/run has no authentication guard on the route, its router "
        "or its mounts, while 3 routes of this app use one (get_current_user); add a guard or list the path in "
        "routes.public",
    ]
    (twice,) = [r for r in lint("routes/fastapi_shapes", select="RT003").reported]
    assert [(r.at.path, r.at.line, r.message) for r in twice.finding.related] == [
        ("app/api/__init__.py", 10, "reports_router is mounted here first"),
        ("app/api/__init__.py", 12, "reports_router is mounted again here"),
    ]


def test_flask_class_based_views(run, lint):
    """Flask-RESTful resources (`api.add_resource`, the `Api(prefix="/api")` attached with
    `api.init_app(app)`, also through `add_org_resource(api, Members, "/members")`, a wrapper in
    another module that adds them below `/orgs/<int:org_id>`) and `MethodView`s
    (`add_url_rule(view_func=X.as_view(...))`, also through a `profile_view = ProfileAPI.as_view()`
    bound in another module) serve one route per method their class defines. Guards: a
    `method_decorators` list (every method), a `method_decorators` dict (only `delete` of Invoice),
    a MethodView's `decorators` list, and a method that rejects in its first statements
    (`ReportView.delete`). Reported: `GET /api/invoices/<id>` (its dict guards only DELETE),
    `GET /reports/<id>` (`audited` reads the request, never rejects) and the wrapped
    `GET /api/orgs/<id>/stats` (at its call). Silent: a view class from a package (StatsView,
    unread: unjudged); `db.init_app(app)` is no mount and no note."""
    assert run("routes/flask_views", select="RT", route_guards=()) == [
        "shop/__init__.py:14:5 RT004 GET /reports/<int:report_id> has no authentication guard on the route, its "
        "router or its mounts (looked at audited: no check that reads a credential and rejects), while 7 routes of "
        "this app use one (token_auth); add a guard or list the path in routes.public",
        "shop/resources.py:29:1 RT004 GET /api/invoices/<int:invoice_id> has no authentication guard on the route, "
        "its router or its mounts, while 7 routes of this app use one (token_auth); add a guard or list the path in "
        "routes.public",
        "shop/resources.py:45:18 RT004 GET /api/orgs/<int:org_id>/stats has no authentication guard on the route, "
        "its router or its mounts, while 7 routes of this app use one (token_auth); add a guard or list the path in "
        "routes.public",
    ]
    analysis = lint("routes/flask_views", select="RT", route_guards=())
    assert analysis.notifications == []
    graph = analysis.project.view(route_graph)
    # Each route's handler is the method that answers it, located where it is defined.
    assert sorted((r.methods, r.path, r.route.handler, str(r.route.handler_at)) for r in graph.routes) == [
        ((), "/internal/stats", "StatsView.as_view", "shop/__init__.py:15:51"),
        (("DELETE",), "/api/invoices/<int:invoice_id>", "Invoice.delete", "shop/resources.py:24:5"),
        (("DELETE",), "/reports/<int:report_id>", "ReportView.delete", "shop/views.py:26:5"),
        (("GET",), "/api/invoices/<int:invoice_id>", "Invoice.get", "shop/resources.py:21:5"),
        (("GET",), "/api/orders", "OrderList.get", "shop/resources.py:11:5"),
        (("GET",), "/api/orgs/<int:org_id>/members", "Members.get", "shop/resources.py:35:5"),
        (("GET",), "/api/orgs/<int:org_id>/stats", "OrgStats.get", "shop/resources.py:40:5"),
        (("GET",), "/profile", "profile_view", "shop/views.py:10:5"),
        (("GET",), "/reports/<int:report_id>", "ReportView.get", "shop/views.py:23:5"),
        (("POST",), "/api/orders", "OrderList.post", "shop/resources.py:14:5"),
        (("PUT",), "/profile", "profile_view", "shop/views.py:13:5"),
    ]
