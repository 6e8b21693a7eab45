"""Route rules RT001-RT004 on one multi-file application per framework.

Each fixture holds the true positives and, beside them, the near misses that must
stay silent (listed in each test's docstring).
"""

from __future__ import annotations

import shutil

from conftest import FIXTURES
from prodlint.config import DEFAULT_PUBLIC
from prodlint.facts.routes import Escape, Mount, Route, Router
from prodlint.model.routes import route_graph


def test_express_findings(run):
    """Near misses: a router mounted through a barrel re-export (`export { default as x } from`),
    `export *` and a tsconfig path alias that `extends` a base config; routers mounted from an
    iterated array (one of them built by a factory); a class-field router mounted as
    `new ReportsRoutes().router`; a CommonJS router mounted with an inline `require()`;
    a router handed to an unknown function; the same router object mounted twice at
    /orders (not RT002: the same router, so RT003 once per route it registers twice);
    GET and POST on one path, `/users/me` next to `/users/:id`;
    guards at the route, the mount, the array loop and `router.use()`; public login,
    register, refresh, health and webhook routes; a route registered before its router's
    `router.use(authenticate)` (Express runs middleware in order: placed there to be public);
    routers and duplicate routes in tests/."""
    assert run("routes/express_app", select="RT") == [
        "src/routes/index.ts:29:1 RT002 campaignRouter is mounted at /customer-engagement on api after "
        "customerEngagementRouter, whose route at src/routes/modules/engagement.routes.ts:4 answers GET "
        "/api/customer-engagement first, so the route at src/routes/modules/engagement.routes.ts:8 never runs; give "
        "each router its own prefix or merge them",
        "src/routes/modules/engagement.routes.ts:8:1 RT003 GET /api/customer-engagement is already handled at "
        "src/routes/modules/engagement.routes.ts:4, which is registered first, so this route never runs; remove it or"
        " change its path",
        "src/routes/modules/legacy-reports.routes.ts:3:7 RT001 router legacyReports defines 1 route but is never "
        "imported anywhere, so it answers 404; import it and mount it with use()",
        "src/routes/modules/orders.routes.ts:7:1 RT003 GET /api/orders is registered twice because router in "
        "src/routes/modules/orders.routes.ts is mounted twice (at src/routes/index.ts:16 and src/routes/index.ts:17);"
        " remove one of the mounts",
        "src/routes/modules/orders.routes.ts:8:1 RT003 POST /api/orders is registered twice because router in "
        "src/routes/modules/orders.routes.ts is mounted twice (at src/routes/index.ts:16 and src/routes/index.ts:17);"
        " remove one of the mounts",
        "src/routes/modules/orders.routes.ts:9:1 RT003 GET /api/orders/:id is registered twice because router in "
        "src/routes/modules/orders.routes.ts is mounted twice (at src/routes/index.ts:16 and src/routes/index.ts:17);"
        " remove one of the mounts",
        "src/routes/modules/orders.routes.ts:10:1 RT003 PATCH /api/orders/:id is registered twice because router in "
        "src/routes/modules/orders.routes.ts is mounted twice (at src/routes/index.ts:16 and src/routes/index.ts:17);"
        " remove one of the mounts",
        "src/routes/modules/orders.routes.ts:11:1 RT003 DELETE /api/orders/:id is registered twice because router in "
        "src/routes/modules/orders.routes.ts is mounted twice (at src/routes/index.ts:16 and src/routes/index.ts:17);"
        " remove one of the mounts",
        "src/routes/modules/orders.routes.ts:11:1 RT004 DELETE /api/orders/:id has no authentication guard on the "
        "route, its router or its mounts, while 18 routes of this app use one (authenticate); add a guard or list the"
        " path in routes.public",
        "src/routes/modules/orders.routes.ts:12:1 RT003 GET /api/orders/:orderId is already handled by orders.get at "
        "src/routes/modules/orders.routes.ts:9, which is registered first, so this route never runs; remove it or "
        "change its path",
        "src/routes/modules/stock-transfer.routes.ts:4:14 RT001 router stockTransferRouter defines 2 routes and is "
        "imported in src/routes/index.ts but never mounted, so they answer 404; mount it with use()",
    ]


def test_fastapi_findings(run):
    """Near misses: `from app.api.routes import items` then `items.router`; an include with
    `dependencies=[Depends(...)]`; `APIRouter(prefix=, dependencies=)`; `Annotated` aliases
    (`CurrentUser`) and dependencies of dependencies; `Security(...)`; routers included in
    a loop over a list; `/users/me` next to `/users/{user_id}`; GET and POST on `/items/`;
    routers that differ only by their own prefix; billing and payments routers both at
    /billing (FastAPI copies routes into the parent: no fall-through, no RT002); a public health and login routes (one
    configured in prodlint.toml); an app and router in tests/. The API prefix is
    `settings.API_V1_STR`, computed at run time: routes below it are still compared with
    each other and checked for guards."""
    assert run("routes/fastapi_app", select="RT") == [
        "app/api/routes/invoices.py:13:1 RT004 GET {settings.API_V1_STR}/invoices/{invoice_id}/pdf has no "
        "authentication guard on the route, its router or its mounts, while 12 routes of this app use one "
        "(get_current_active_superuser); add a guard or list the path in routes.public",
        "app/api/routes/items.py:23:1 RT003 GET {settings.API_V1_STR}/items/{id} is already handled by read_item at "
        "app/api/routes/items.py:18, which is registered first, so this route never runs; remove it or change its "
        "path",
        "app/api/routes/legacy.py:3:1 RT001 APIRouter router defines 1 route but is never imported anywhere, so it "
        "answers 404; import it and mount it with include_router()",
        "app/api/routes/reports.py:5:1 RT001 APIRouter router defines 1 route and is imported in app/api/main.py but "
        "never mounted, so it answers 404; mount it with include_router()",
        "app/api/routes/users.py:23:1 RT004 DELETE {settings.API_V1_STR}/users/{user_id} has no authentication guard "
        "on the route, its router or its mounts, while 12 routes of this app use one (get_current_active_superuser); "
        "add a guard or list the path in routes.public",
    ]


def test_flask_findings(run):
    """Near misses: blueprints imported inside the `create_app` factory; `url_prefix=` at
    registration replacing the blueprint's own; two blueprints at /orders with different
    paths (Flask has no fall-through: no RT002); `<int:order_id>` under GET and POST;
    a blueprint guarded by `before_request` + `login_required`; `add_url_rule` on the app and
    on a blueprint; the public login and health routes; a blueprint registered in tests/."""
    assert run("routes/flask_app", select="RT") == [
        "shop/legacy.py:3:1 RT001 blueprint legacy defines 1 route but is never imported anywhere, so it answers 404;"
        " import it and mount it with register_blueprint()",
        "shop/orders.py:25:1 RT003 GET /orders/<order_id> is already handled by get_order at shop/orders.py:13, which"
        " is registered first, so this route never runs; remove it or change its path",
        "shop/orders.py:31:1 RT004 DELETE /orders/<int:order_id> has no authentication guard on the route, its router"
        " or its mounts, while 8 routes of this app use one (login_required); add a guard or list the path in "
        "routes.public",
        "shop/reports.py:4:1 RT001 blueprint bp defines 1 route and is imported in shop/__init__.py but never "
        "mounted, so it answers 404; mount it with register_blueprint()",
    ]


def test_public_api_without_auth_and_dynamic_requires(run):
    """No guard anywhere: RT004 stays silent. Plugins are loaded with a computed `require()`,
    so the never-imported orphan router may be one of them (no RT001); a router imported
    but never mounted is still reported. `/featured` after `/:sku` never runs: Express answers it
    with the parameter route (RT003); after a parameter with a pattern (`/brands/:id(\\d+)`), or
    registered first, a literal is fine. A chained, anonymous router is followed through
    `module.exports`."""
    assert run("routes/public_api", select="RT") == [
        "routes/catalog.js:5:1 RT003 GET /catalog/featured is registered after GET /catalog/:sku at routes/catalog.js:4, "
        "which matches it first (sku = \"featured\"), so this route never runs unless that handler calls next(); "
        "register it before the parameter route",
        "routes/catalog.js:6:1 RT003 GET /catalog/:productId is already handled at routes/catalog.js:4, which is "
        "registered first, so this route never runs; remove it or change its path",
        "routes/search.js:3:7 RT001 router searchRouter defines 1 route and is imported in server.js but never "
        "mounted, so it answers 404; mount it with use()",
        # `module.exports = require('express').Router().get(...).get(...)`, mounted by an inline require().
        "routes/status.js:4:4 RT003 GET /status is already handled at routes/status.js:3, which is registered first, "
        "so this route never runs; remove it or change its path",
    ]


def test_related_locations_point_at_the_winner(lint):
    results = {r.at.path + ":" + str(r.at.line): r for r in lint("routes/express_app", select="RT002,RT003").reported}
    mount = results["src/routes/index.ts:29"].finding.related
    assert [(r.at.path, r.at.line, r.message) for r in mount] == [
        ("src/routes/index.ts", 28, "customerEngagementRouter is first mounted at /customer-engagement here"),
    ]
    twice = results["src/routes/modules/orders.routes.ts:7"].finding.related
    assert [(r.at.path, r.at.line, r.message) for r in twice] == [
        ("src/routes/index.ts", 16, "router in src/routes/modules/orders.routes.ts is mounted here first"),
        ("src/routes/index.ts", 17, "router in src/routes/modules/orders.routes.ts is mounted again here"),
    ]
    shadow = results["src/routes/modules/orders.routes.ts:12"].finding.related
    assert [(r.at.path, r.at.line, r.message) for r in shadow] == [
        ("src/routes/modules/orders.routes.ts", 9, "GET /api/orders/:id is handled here first"),
    ]


def test_route_graph_composes_full_paths(lint):
    project = lint("routes/express_app", select="RT001").project
    graph = project.view(route_graph)
    paths = sorted({(r.methods, r.path) for r in graph.routes})
    assert ((("GET",), "/api/invoices/:invoiceId/pdf")) in paths  # factory router in an iterated array
    assert ((("GET",), "/api/reports/sales")) in paths  # class field router through a path alias
    assert ((("POST",), "/api/webhooks/stripe")) in paths  # CommonJS module.exports through require()
    assert ((("GET",), "/api/customers/:id")) in paths  # router.route('/:id').get(...) through a barrel
    assert ((("GET",), "/health")) in paths
    assert all("ping" not in path for _, path in paths)  # tests do not mount routes


def test_configured_public_paths_and_guards(run):
    """`routes.public` silences a path; with no guard found anywhere, RT004 is silent. Guards
    written in the project are recognised by their code, so emptying the name list changes
    nothing for them: `authenticate` reads the Authorization header and answers 401."""
    assert run("routes/flask_app", select="RT004", route_public=(*DEFAULT_PUBLIC, "/orders/*")) == []
    assert run("routes/flask_app", select="RT004", route_guards=()) == []
    assert [line.split(" ")[0] for line in run("routes/express_app", select="RT004", route_guards=())] == [
        "src/routes/modules/orders.routes.ts:11:1",
    ]


def test_raw_facts_for_other_families(lint):
    """Other families read `Route` (handler name and location) to find route handlers."""
    project = lint("routes/fastapi_app", select="RT001").project
    handlers = sorted((r.handler, str(r.handler_at)) for r in project.facts_of(Route) if r.at.path == "app/api/routes/items.py")
    assert handlers == [
        ("create_item", "app/api/routes/items.py:14:1"),
        ("read_item", "app/api/routes/items.py:19:1"),
        ("read_item_v2", "app/api/routes/items.py:24:1"),
        ("read_items", "app/api/routes/items.py:9:1"),
    ]
    assert {type(f) for f in project.facts_of(Router, Mount, Escape)} == {Router, Mount, Escape}


def test_dynamic_loads_are_scoped(run, lint):
    """`require(`./locales/${lang}.json`)` loads data, never a router; `require('./plugins/' + name)`
    may load only what is below plugins/ (extra.routes.ts: silent). Routers elsewhere that nothing
    imports are still reported. `require('./billing').default`, mounted inside `if (billingRouter)`,
    is mounted."""
    assert run("routes/dynamic_loads", select="RT") == [
        "api/src/orphan.routes.ts:3:14 RT001 router orphanRouter defines 1 route but is never imported anywhere, so "
        "it answers 404; import it and mount it with use()",
        "web/src/pages.ts:4:7 RT001 router previewRouter defines 1 route but is never imported anywhere, so it "
        "answers 404; import it and mount it with use()",
    ]
    graph = lint("routes/dynamic_loads", select="RT001").project.view(route_graph)
    assert [(r.methods, r.path) for r in graph.routes] == [(("GET",), "/billing/invoices")]


def test_graph_not_built_is_said_once_per_app(lint):
    """An app whose only include names a router through a dict lookup, and blueprints with no
    Flask app anywhere: no finding can be made about their routes, and a note says why."""
    analysis = lint("routes/graph_not_built", select="RT")
    assert analysis.reported == []
    assert [(n.path, n.line, n.level, n.message) for n in analysis.notifications] == [
        ("api/main.py", 5, "note", "routes: no route is reached from application app (no router prodlint can follow "
                                   "is mounted on it), so RT003 and RT004 checked none of its 1 route"),
        ("worker/views.py", 3, "note", "routes: 1 Flask route on 1 router but no application (Flask() or a subclass "
                                       "of it) was found, so RT003 and RT004 checked none of them"),
    ]


def test_exclusive_branches_are_alternatives(run):
    """Routes registered in different arms of one `if`/`elif`/`else`, and routers mounted at one
    prefix in the two arms of an `if`, never exist together: no RT002, no RT003 between them. A
    route registered after the whole `if` still duplicates the one that wins."""
    assert run("routes/alternatives", select="RT") == [
        "api/main.py:22:1 RT003 GET /items is already handled by legacy_items at api/main.py:9, which is registered "
        "first, so this route never runs; remove it or change its path",
        "web/v2.js:4:1 RT003 GET /api/search is registered after GET /api/:id at web/v2.js:3, which matches it first "
        "(id = \"search\"), so this route never runs unless that handler calls next(); register it before the "
        "parameter route",
    ]


def test_router_on_an_app_nothing_starts(run, tmp_path):
    """`npm start` runs src/server.ts; src/legacy-server.ts builds a second app nothing starts.
    billingRouter, mounted only there, serves nothing (RT001); ordersRouter, mounted on both, is
    served. The idle app's own routes (an unguarded, duplicated `POST /api/wipe`) answer no
    request: no RT003, no RT004 there. admin/ is its own package, none of whose apps is started:
    unknown, silent. With no start command at all, nothing says what runs: every app is served."""
    assert run("routes/unstarted_app", select="RT") == [
        "src/routes/billing.ts:3:14 RT001 router billingRouter defines 2 routes but is mounted only on legacy "
        "(src/legacy-server.ts), which no production command starts, so they answer 404; mount it on the "
        "application that runs",
        "src/server.ts:7:1 RT004 GET /api/export has no authentication guard on the route, its router or its mounts, "
        "while 1 route of this app uses one (requireAuth); add a guard or list the path in routes.public",
    ]
    copy = tmp_path / "app"
    shutil.copytree(FIXTURES / "routes" / "unstarted_app", copy)
    (copy / "package.json").write_text('{ "name": "shop-api" }\n', encoding="utf-8")
    assert [" ".join(line.split(" ")[:2]) for line in run(copy, select="RT")] == [
        "src/legacy-server.ts:10:1 RT004",
        "src/legacy-server.ts:11:1 RT003",
        "src/legacy-server.ts:11:1 RT004",
        "src/routes/billing.ts:4:1 RT004",
        "src/routes/billing.ts:5:1 RT004",
        "src/server.ts:7:1 RT004",
    ]
