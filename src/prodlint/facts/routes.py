"""Route facts: routers, routes, mounts and middleware, as one file writes them.

Extraction records names as written (`ordersRouter`, `orders.router`,
`this.router`); the project model (`prodlint.model.routes`) resolves them across
files and composes full paths. Use `project.view(route_graph)` for resolved
routes rather than these raw facts: a `Route` whose router cannot be resolved is
not a route of the application.
"""

from __future__ import annotations

from dataclasses import dataclass

from prodlint.facts import Location

EXPRESS = "express"
FASTAPI = "fastapi"
FLASK = "flask"
# FastAPI security schemes: each reads a credential and answers 401/403 when it is missing.
SECURITY_SCHEMES = (
    "OAuth2PasswordBearer", "OAuth2AuthorizationCodeBearer", "OAuth2", "OpenIdConnect",
    "HTTPBearer", "HTTPBasic", "HTTPDigest", "APIKeyHeader", "APIKeyCookie", "APIKeyQuery",
)


@dataclass(frozen=True, slots=True)
class RouterRef:
    """How code names a router: a dotted name looked up in `path`, innermost `scope` first.

    `module` is set for an inline `require('./x')`: `name` is then looked up in that
    module (`""`: the module's export itself). `called` is set for `makeRouter()`:
    the router that factory function returns.
    """

    path: str
    name: str
    scope: str = ""
    module: str | None = None
    called: bool = False
    parameter: int | None = None  # the name is this parameter of the function `scope`: bound by its callers


@dataclass(frozen=True, slots=True)
class Router:
    """`Router()`, `express.Router()`, `express()`, `APIRouter()`, `FastAPI()`, `Blueprint()`, `Flask()`.

    `kind` is "app" for an application (an entry of the route graph), else "router".
    `prefix` is the router's own prefix (`APIRouter(prefix=)`, `Blueprint(url_prefix=)`),
    None when computed at run time. `middleware` holds router-level dependencies.
    `kind` "candidate": an instance of a class imported from elsewhere (`UserAPIRouter(prefix=)`)
    used as a router in this file; the project model keeps it when `base` names a `RouterClass`.
    """

    name: str
    kind: str
    framework: str
    at: Location
    scope: str = ""
    prefix: str | None = ""
    prefix_source: str | None = None  # the expression of a run-time prefix, as written
    middleware: tuple[str, ...] = ()
    returned: bool = False  # returned by its enclosing function (a router factory)
    base: str | None = None  # the class called, as written, for a candidate


@dataclass(frozen=True, slots=True)
class RouterClass:
    """`class UserAPIRouter(APIRouter)`: a subclass of a router or application class.

    `middleware` holds the dependencies its `__init__` passes to `super().__init__(dependencies=[...])`:
    every instance has them, looked up in this file.
    """

    name: str
    kind: str
    framework: str
    at: Location
    middleware: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Route:
    """One method (or several) and path handled on a router.

    `path` is as written, None when computed at run time. `middleware` holds the
    names applied at the route: Express middleware arguments, FastAPI `Depends`
    targets and `Annotated` aliases, Flask decorators. `handler` is the handler's
    name (None for an inline function); `handler_at` is where it is defined or
    referenced.
    """

    router: RouterRef
    methods: tuple[str, ...]
    path: str | None
    handler: str | None
    handler_at: Location | None
    middleware: tuple[str, ...]
    at: Location
    framework: str
    path_source: str | None = None
    declared_public: bool = False  # the comment just above says the route is public on purpose
    branch: tuple[tuple[int, int, int], ...] = ()  # (line, column, arm) of each enclosing `if`: exclusive arms never both run
    view: str | None = None  # a class-based view (`api.add_resource(Users, ...)`, `Users.as_view()`): one route per method it defines
    # In a wrapper (`def add_org_resource(api, resource, path): api.add_resource(resource, f"/orgs/<id>{path}")`):
    # the view is this parameter of the enclosing function, and the path is (before, parameter, after).
    view_parameter: int | None = None
    path_parameter: tuple[str, int, str] | None = None


@dataclass(frozen=True, slots=True)
class ViewClass:
    """A class-based view: Flask `MethodView`, Flask-RESTful `Resource`, any class with HTTP-verb methods.

    `methods` are the verbs it answers, each with the decorators on its method (and those a
    Flask-RESTful `method_decorators = {"post": [...]}` dict gives it); `decorators` apply to all
    (`decorators = [...]` of a MethodView, a `method_decorators` list). Names are looked up in this file.
    """

    name: str
    at: Location
    methods: tuple[tuple[str, tuple[str, ...]], ...]
    decorators: tuple[str, ...] = ()
    method_at: tuple[Location, ...] = ()  # where each of `methods` is defined, in the same order


@dataclass(frozen=True, slots=True)
class Mount:
    """`app.use(prefix, ..., child)`, `include_router(child, prefix=)`, `register_blueprint(child, url_prefix=)`.

    For Express the child is a candidate: `app.use(authenticate)` has the same
    shape as `app.use(ordersRouter)`, and only the project model knows which
    names are routers. An Express child that is not a router is middleware.
    `prefix` is None when computed at run time (`prefix_source` keeps the
    expression). `overrides_prefix`: Flask `url_prefix=` replaces the blueprint's own.
    """

    parent: RouterRef
    prefix: str | None
    child: RouterRef
    middleware: tuple[str, ...]
    at: Location
    framework: str
    prefix_source: str | None = None
    overrides_prefix: bool = False
    branch: tuple[tuple[int, int, int], ...] = ()  # as `Route.branch`
    deferred: bool = False  # `x.init_app(app)`: a mount only if `x` turns out to be a router (a Flask-RESTful Api)


@dataclass(frozen=True, slots=True)
class Middleware:
    """Middleware applied to everything later registered on a router under `prefix`.

    Express `app.use(passport.authenticate('jwt'))`, Flask `@bp.before_request`,
    FastAPI `app.add_middleware(AuthMiddleware)`.
    """

    router: RouterRef
    prefix: str | None
    names: tuple[str, ...]
    at: Location
    framework: str


@dataclass(frozen=True, slots=True)
class Escape:
    """A router handed to code prodlint does not follow (`register(app, router)`, `[a, b]`).

    It may be mounted there, so it is never reported as unmounted.
    """

    ref: RouterRef
    at: Location
    callee: str | None = None  # `create_application(router=api_router)`: the function it is handed to,
    position: int | None = None  # as its positional argument number,
    keyword: str | None = None  # or its keyword argument
    arguments: tuple[tuple[str, str], ...] = ()  # the call's positional arguments: ("name", dotted), ("text", literal) or ("", "")


@dataclass(frozen=True, slots=True)
class FactoryReturn:
    """`def build_router(): ...; return main_router`: calling `function` gives the router `ref` names."""

    function: str
    ref: RouterRef
    at: Location


@dataclass(frozen=True, slots=True)
class Check:
    """What a function, dependency or middleware list does with a request, as far as a guard goes.

    `name` is its dotted name in its file (`requireAuth`, `UserService.get_current_admin`,
    `RoleChecker.__call__`, `adminOnly` for `const adminOnly = [requireAuth, requireRole('ADMIN')]`).
    `reads` is the credential its body reads (`req.headers.authorization`, `current_user`) and
    `rejects` how it turns a request away (`401`, `next(err)`), both with `evidence` where it
    rejects. `uses` are the names it depends on, calls or lists: it is a guard when one of them is.
    `opening` is set when its first statements already read a credential and reject: a handler
    that checks the caller itself. `requires` is the attribute whose falsy value it rejects
    (`current_user.is_admin`).
    """

    name: str
    at: Location
    reads: str | None = None
    rejects: str | None = None
    evidence: Location | None = None
    uses: tuple[str, ...] = ()
    opening: Location | None = None
    scope: str = ""  # where `uses` are looked up
    opening_rejection: Location | None = None  # its first statements reject, after calling `opening_uses`
    opening_uses: tuple[str, ...] = ()
    requires: str = ""  # the flag it rejects callers without: `if not current_user.is_admin: raise ...`
