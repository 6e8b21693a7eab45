"""The route graph: from each application entry, through every mount, to every route.

Routers, routes and mounts are resolved across files with the module index. A
route reachable from an entry gets its full path (prefixes composed at every
level), its mount chain and the guards applied along it. A piece of a path
computed at run time is kept as an opaque token tied to the mount that
introduced it: two routes below the same token share it whatever its value,
and nothing else is assumed about it.

Only files of the running system (the production-code view: request and job code)
define and mount routes: tests, scripts, copies and generated code do not. A file
under `tests/` that a served application imports is request code like any other.

Use `project.view(route_graph)`.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from prodlint.facts import Location, Notification
from prodlint.facts.modules import DynamicImport, Import
from prodlint.facts.routes import (
    EXPRESS, SECURITY_SCHEMES, Check, Escape, FactoryReturn, Middleware, Mount, Route, Router, RouterClass, RouterRef, ViewClass,
)
from prodlint.model.modules import ModuleIndex, Symbol, is_python, module_index
from prodlint.model.roles import production_code
from prodlint.project import Project

PARAMETER = re.compile(r":[A-Za-z_$][\w$]*\??(\([^)]*\))?|\{[^}/]*\}|<[^>/]*>")
MAX_DEPTH = 24  # mount chains deeper than this are cycles
# Router visits per application: a router mounted twice at each level doubles the routes per level.
MAX_VISITS = 20_000
# a user flag that opens the whole platform: `is_admin`, `admin`, `is_superuser`, `is_staff`
ADMIN_FLAG = re.compile(r"^(is_)?(site_|super_?|platform_)?(admin|superuser|staff)$", re.IGNORECASE)
CODE_EXTENSIONS = frozenset({".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts", ".py"})


@dataclass(frozen=True, slots=True)
class Opaque:
    """A path piece computed at run time: `settings.API_V1_STR` at one mount."""

    source: str
    at: Location

    def __str__(self) -> str:
        return "{" + self.source + "}"


Piece = str | Opaque


@dataclass(frozen=True, slots=True)
class MountEdge:
    mount: Mount
    parent: Router
    child: Router

    @property
    def prefix(self) -> tuple[Piece, ...]:
        """What this mount adds to the path: its prefix, then the child router's own prefix."""
        pieces: list[Piece] = [_piece(self.mount.prefix, self.mount.prefix_source, self.mount.at)]
        if not self.mount.overrides_prefix:
            pieces.append(_piece(self.child.prefix, self.child.prefix_source, self.child.at))
        return tuple(p for p in pieces if p != "")


@dataclass(frozen=True, slots=True)
class Guard:
    """A guard in effect on a route: the name applied, where, and why it counts."""

    name: str
    at: Location
    evidence: GuardEvidence | None = None
    requires: str = ""  # the admin flag it rejects callers without (`current_user.is_admin`)


@dataclass(frozen=True, slots=True)
class ResolvedRoute:
    """A route of an application, as the application serves it."""

    route: Route
    router: Router
    app: Router
    chain: tuple[MountEdge, ...]
    pieces: tuple[Piece, ...]
    guards: tuple[Guard, ...]
    order: tuple[tuple[str, int, int], ...]
    uncertain: bool = False  # a name on its chain is defined in a file that could not be read
    before_guard: Location | None = None  # Express: registered just before its router's `use(guard)`
    looked_at: tuple[str, ...] = ()  # the middleware and dependencies in effect, guards or not
    static_page: bool = False  # its handler only renders a page or redirects: it serves no data

    @property
    def not_guards(self) -> tuple[str, ...]:
        """What was looked at and found not to authenticate (for the RT004 message)."""
        return tuple(dict.fromkeys(name for name in self.looked_at if name != self.route.handler))

    @property
    def methods(self) -> tuple[str, ...]:
        return self.route.methods

    @property
    def path(self) -> str:
        """The full path as written, `{expression}` where a piece is computed at run time."""
        return _display(self.pieces, self.router.framework)

    @property
    def known_path(self) -> str | None:
        """The full path, or None when a piece of it is computed at run time."""
        return None if any(isinstance(p, Opaque) for p in self.pieces) else self.path

    @property
    def key(self) -> tuple[object, ...]:
        """The path as the framework matches it: parameters `:id` = `{id}` = `<int:id>`."""
        return _key(self.pieces, self.router.framework)


@dataclass
class RouteGraph:
    index: ModuleIndex
    routers: list[Router] = field(default_factory=list)
    apps: list[Router] = field(default_factory=list)
    routes_of: dict[Router, list[Route]] = field(default_factory=lambda: defaultdict(list))
    edges: list[MountEdge] = field(default_factory=list)
    incoming: dict[Router, list[Mount]] = field(default_factory=lambda: defaultdict(list))
    escapes: dict[Router, list[Escape]] = field(default_factory=lambda: defaultdict(list))
    middleware_of: dict[Router, list[Middleware]] = field(default_factory=lambda: defaultdict(list))
    routes: list[ResolvedRoute] = field(default_factory=list)
    dynamic_imports: list[DynamicImport] = field(default_factory=list)
    by_name: dict[tuple[str, str, str], Router] = field(default_factory=dict)
    handoffs: list[Escape] = field(default_factory=list)  # routers passed to a named function
    factory_returns: list[FactoryReturn] = field(default_factory=list)
    live: Callable[[str], bool] = lambda path: True  # is this file part of the running system (production-code view)
    started: Callable[[str], bool] = lambda path: True  # does a production command run this file's code
    view_guards: dict[Route, tuple[str, str, tuple[str, ...]]] = field(default_factory=dict)  # (file, scope, decorators) of a view's class
    unread: set[Route] = field(default_factory=set)  # class-based views whose class prodlint cannot read
    _lookups: dict[str, dict] = field(default_factory=dict, repr=False)  # indexes over the lists above, built on first use
    _resolved: dict[RouterRef, Router | None] | None = field(default=None, repr=False)  # once the graph's routers are known

    def _lookup(self, name: str) -> dict:
        """One index per join, built once: scanning every edge or handoff per question was quadratic."""
        found = self._lookups.get(name)
        if found is None:
            found = self._lookups[name] = defaultdict(list)
            if name == "mounts":
                for edge in self.edges:
                    found[edge.parent].append(edge)
            elif name == "made":
                for router in self.routers:
                    if router.returned:
                        found[(router.at.path, router.scope)].append(router)
            elif name == "returns":
                for returned in self.factory_returns:
                    found[(returned.at.path, returned.function)].append(returned)
            elif name == "handoffs":
                for handoff in self.handoffs:
                    callee = self.index.resolve(handoff.at.path, handoff.callee or "", handoff.ref.scope)
                    if callee is not None:
                        found[(callee.path, callee.name)].append(handoff)
        return found

    @property
    def entries(self) -> list[Router]:
        """Applications not mounted in another application."""
        mounted = {edge.child for edge in self.edges}
        return sorted((app for app in self.apps if app not in mounted), key=lambda a: a.at)

    def mounts_on(self, parent: Router) -> list[MountEdge]:
        return list(self._lookup("mounts").get(parent, ()))

    def defines_routes(self, router: Router) -> int:
        """How many routes a router serves, its own and those of routers mounted on it."""
        return self._serves(router, frozenset(), self._lookups.setdefault("served", {}))[0]

    def _serves(self, router: Router, seen: frozenset[Router], done: dict) -> tuple[int, bool]:
        """(count, whether a cycle cut it short); a count no cycle touched holds whatever the path
        to it, so it is kept (routers mounting the next one twice would otherwise double per level)."""
        if router in seen:
            return 0, True
        if router in done:
            return done[router], False
        total, cut = len(self.routes_of.get(router, ())), False
        for edge in self.mounts_on(router):
            count, short = self._serves(edge.child, seen | {router}, done)
            total, cut = total + count, cut or short
        if not cut:
            done[router] = total
        return total, cut

    def importers(self, router: Router) -> list[str]:
        """Files of the running system that import (or re-export) this router or its module."""
        found = set()
        for binding in self.index.importers(router.at.path):
            if not self.live(binding.at.path):
                continue
            if isinstance(binding, Import):
                symbol = self.index.resolve(binding.at.path, binding.local, binding.scope, self._defined)
            else:
                symbol = self.index.resolve_export(binding.at.path, binding.exported, self._defined)
            if symbol is not None and symbol.path == router.at.path and symbol.name in ("", router.name):
                found.add(binding.at.path)
        return sorted(found)

    # --- what the rules ask -----------------------------------------------------------------------

    def unmounted_routers(self) -> Iterator[tuple[Router, int, list[str]]]:
        """Routers that serve routes but that nothing mounts: (router, route count, files importing it).

        A router mounted on anything (even on a parent prodlint cannot resolve), handed to
        other code, or returned by a factory may be mounted: it is left alone. So is every
        router of a framework with no application in the project. A router mounted only on
        applications that nothing starts, while another application of its package is started,
        serves nothing (`server.ts` runs, `legacy-server.ts` is never launched): `idle_apps(router)`
        names those applications.
        """
        frameworks = {app.framework for app in self.apps}
        for router in self.routers:
            if router.kind == "app" or router.framework not in frameworks or router.returned:
                continue
            idle: list[Router] = []
            if self.incoming.get(router) or self.escapes.get(router):
                idle = self.idle_apps(router)
                if not idle:
                    continue
            count = self.defines_routes(router)
            if not count:
                continue
            importers = self.importers(router)
            if not idle and not importers and any(self._may_load(d, router.at.path) for d in self.dynamic_imports):
                continue  # a module loaded by computed name may be this one
            yield router, count, importers

    def idle_apps(self, router: Router) -> list[Router]:
        """The applications this router is mounted on, when every mount chain above it is known and ends
        at an application no production command starts while one of the same package is started; else []."""
        tops: set[Router] = set()
        pending, seen = [router], {router}
        while pending:
            current = pending.pop()
            if self.escapes.get(current) or current.returned:
                return []
            mounts = self.incoming.get(current, [])
            if not mounts:
                return []  # the chain ends at a router nothing mounts: that one is the finding
            for mount in mounts:
                parent = self.resolve(mount.parent)
                if parent is None:
                    return []
                if parent.kind == "app":
                    tops.add(parent)
                elif parent not in seen:
                    seen.add(parent)
                    pending.append(parent)
        if not tops or not all(self.idle(app) for app in tops):
            return []
        return sorted(tops, key=lambda app: app.at)

    def idle(self, app: Router) -> bool:
        """No production command starts this application, while one starts another of its framework in its package."""
        if self.started(app.at.path):
            return False
        root = self._package_root(app.at.path)
        return any(other.framework == app.framework and self.started(other.at.path) and self._package_root(other.at.path) == root
                   for other in self.apps)

    def _package_root(self, path: str) -> str:
        """The directory of the nearest package.json (TS/JS), or the folder holding the topmost Python package."""
        directory = posixpath.dirname(path)
        if is_python(path):
            while directory and posixpath.join(directory, "__init__.py") in self.index.files:
                directory = posixpath.dirname(directory)
            return directory
        while directory and posixpath.join(directory, "package.json") not in self.index.files:
            directory = posixpath.dirname(directory)
        return directory

    def duplicate_mounts(self) -> Iterator[tuple[MountEdge, MountEdge, ResolvedRoute, ResolvedRoute]]:
        """(later, first, shadowed, answering): Express routers at one literal prefix of one parent where a
        request for a route of the later one is answered by a route of the first (same path, a parameter
        or a catch-all). FastAPI and Flask copy routes into the parent: nothing falls through there.
        """
        earlier: dict[tuple[Router, tuple[object, ...]], list[MountEdge]] = defaultdict(list)
        for edge in self.edges:
            if edge.parent.framework != EXPRESS or any(isinstance(piece, Opaque) for piece in edge.prefix):
                continue
            key = _key(edge.prefix, edge.parent.framework)
            if key in ((), ("",), ("/",)):
                continue  # several routers at the root of a parent is how apps are assembled
            for first in earlier[(edge.parent, key)]:
                if first.child == edge.child or _exclusive_facts(first.mount, edge.mount):
                    continue
                shadow = self._shadow(first, edge)
                if shadow is not None:
                    yield edge, first, *shadow
                    break
            earlier[(edge.parent, key)].append(edge)

    def _shadow(self, first: MountEdge, later: MountEdge) -> tuple[ResolvedRoute, ResolvedRoute] | None:
        answering = [r for r in self.routes if first in r.chain and r.known_path is not None]
        for route in self.routes:
            if later not in route.chain or route.known_path is None:
                continue
            for candidate in answering:
                if candidate.app == route.app and _answers(candidate, route):
                    return route, candidate
        return None

    def shadowed_routes(self) -> Iterator[tuple[ResolvedRoute, ResolvedRoute]]:
        """(shadowed, winner): the same method and full path handled twice in one application."""
        groups: dict[tuple[Router, str, tuple[object, ...]], list[ResolvedRoute]] = defaultdict(list)
        for resolved in self.routes:
            if self.idle(resolved.app):
                continue
            for method in resolved.methods:
                if method != "ALL":  # `all` handlers usually call next(): not a shadow
                    groups[(resolved.app, method, resolved.key)].append(resolved)
        reported: set[Route] = set()
        for group in groups.values():
            group.sort(key=lambda r: r.order)
            winner = group[0]
            for later in group[1:]:
                if later.route in reported:
                    continue
                if later.route != winner.route or later.chain != winner.chain:  # the same router mounted twice
                    if _exclusive(later, winner):
                        continue  # `if (legacy) app.use(a) else app.use(b)`: alternatives
                    reported.add(later.route)
                    yield later, winner

    def parameter_shadows(self) -> Iterator[tuple[ResolvedRoute, ResolvedRoute, str, str]]:
        """(shadowed, winner, parameter, literal): Express tries a router's routes in order, so
        `GET /:tenantId` registered before `GET /admin` on the same router answers `/admin` itself.
        A parameter with a pattern (`/:id(\\d+)`) may not match: left alone.
        """
        by_router: dict[tuple[Router, tuple[MountEdge, ...]], list[ResolvedRoute]] = defaultdict(list)
        for resolved in self.routes:
            if resolved.router.framework == EXPRESS and resolved.route.path is not None and not self.idle(resolved.app):
                by_router[(resolved.router, resolved.chain)].append(resolved)
        for routes in by_router.values():
            routes.sort(key=lambda r: r.order)
            for position, later in enumerate(routes):
                for earlier in routes[:position]:
                    found = _parameter_match(earlier, later)
                    if found is not None and not _exclusive(later, earlier):
                        yield later, earlier, *found
                        break

    def unguarded_routes(self, public: tuple[str, ...]) -> Iterator[tuple[ResolvedRoute, list[ResolvedRoute]]]:
        """(route, guarded routes of its application) for routes with no guard on their chain.

        Only in applications that guard some route: an application with no authentication
        at all is a design choice (a public API), not a forgotten guard.
        """
        by_app: dict[Router, list[ResolvedRoute]] = defaultdict(list)
        for resolved in self.routes:
            by_app[resolved.app].append(resolved)
        seen: set[Route] = set()
        for app in self.entries:
            guarded = [r for r in by_app.get(app, ()) if r.guards]
            if not guarded or self.idle(app):
                continue  # an application nothing starts serves no request
            for resolved in by_app[app]:
                if resolved.guards or resolved.uncertain or resolved.route in seen or resolved.route.path is None:
                    continue  # a route whose own path is computed may be a public one
                if resolved.before_guard is not None or resolved.route.declared_public:
                    continue  # placed before the router's guard, or commented as public: public on purpose
                if resolved.static_page:
                    continue  # a page rendered from nothing but the template: no data to guard
                if resolved.methods and set(resolved.methods) <= {"OPTIONS", "HEAD"}:
                    continue  # CORS preflight and HEAD carry no credentials
                if could_be_public(resolved, public) and not creates_elevated_account(resolved):
                    continue
                seen.add(resolved.route)
                yield resolved, guarded

    def _may_load(self, dynamic: DynamicImport, path: str) -> bool:
        """Can this `require(x)` / `import_module(x)` load the file at `path`?

        Only a module of its own language, under the directory its literal part names
        (`./plugins/${name}` loads below plugins/), never a data file (`./${locale}.json`), and
        for a fully computed name only within the TypeScript project (nearest tsconfig) it is in.
        """
        importer = dynamic.at.path
        if is_python(importer) != is_python(path):
            return False
        pattern = dynamic.pattern
        if pattern is not None:
            tail = pattern.rsplit("*", 1)[-1]
            extension = posixpath.splitext(tail.rsplit("/", 1)[-1])[1]
            if extension and extension not in CODE_EXTENSIONS:
                return False
            literal = pattern.split("*", 1)[0]
            if is_python(importer):
                package = literal.rstrip(".").replace(".", "/")
                return not package or f"/{package}/" in f"/{path}" or f"/{package}." in f"/{path}"
            if literal.startswith("."):
                base = posixpath.normpath(posixpath.join(posixpath.dirname(importer), literal.rsplit("/", 1)[0] or "."))
                return base in (".", "") or path.startswith(base + "/") or path.startswith(base)
            return True
        root = self._project_root(importer)
        return not root or path.startswith(root + "/")

    def _project_root(self, path: str) -> str | None:
        """The directory of the nearest tsconfig.json / jsconfig.json above a TS/JS file ("" at the root)."""
        if is_python(path):
            return None
        directory = posixpath.dirname(path)
        while True:
            for name in ("tsconfig.json", "jsconfig.json"):
                if posixpath.join(directory, name) in self.index.tsconfigs or (not directory and name in self.index.tsconfigs):
                    return directory
            if not directory:
                return None
            directory = posixpath.dirname(directory)

    # --- resolution -----------------------------------------------------------------------------

    def _defined(self, path: str, name: str, scope: str) -> bool:
        return (path, name, scope) in self.by_name

    def resolve(self, ref: RouterRef, depth: int = 0) -> Router | None:
        if depth or self._resolved is None:
            return self._resolve(ref, depth)
        found = self._resolved.get(ref, self)
        if found is self:  # many routes name the same router
            found = self._resolved[ref] = self._resolve(ref, 0)
        return found  # type: ignore[return-value]

    def _resolve(self, ref: RouterRef, depth: int) -> Router | None:
        if depth > MAX_DEPTH:
            return None
        if ref.parameter is not None:
            return self._argument(ref, depth)
        if ref.module is not None:
            symbol = self.index.resolve_required(ref.path, ref.module, ref.name, self._defined)
        else:
            symbol = self.index.resolve(ref.path, ref.name, ref.scope, self._defined)
        if symbol is None:
            return None
        if ref.called or symbol.called:
            return self._factory_router(symbol, depth)
        return self.by_name.get((symbol.path, symbol.name, symbol.scope))

    def _factory_router(self, symbol: Symbol, depth: int) -> Router | None:
        """The router a function returns: `makeRouter()`, `create_router()`, or one it imports and returns."""
        made = list(self._lookup("made").get((symbol.path, symbol.name), ()))
        if not made:
            found = {self.resolve(f.ref, depth + 1) for f in self._lookup("returns").get((symbol.path, symbol.name), ())}
            made = [r for r in found if r is not None]
        return made[0] if len(made) == 1 else None

    def wrapped(self, route: Route) -> Iterator[Route]:
        """`add_org_resource(api, Users, "/users")` calling `api.add_resource(resource, f"/orgs/<id>{path}")`:
        the route each caller registers, at the call, with the resource and path it passes."""
        for handoff in self._lookup("handoffs").get((route.at.path, route.router.scope), ()):
            if handoff.position != route.router.parameter:
                continue
            arguments = handoff.arguments
            kind, view = arguments[route.view_parameter] if route.view_parameter < len(arguments) else ("", "")
            if kind != "name":
                continue
            path, source = route.path, route.path_source
            if route.path_parameter is not None:
                before, position, after = route.path_parameter
                kind, text = arguments[position] if position < len(arguments) else ("", "")
                path, source = (before + text + after, None) if kind == "text" else (None, route.path_source)
            yield replace(route, router=handoff.ref, view=view, handler=view, path=path, path_source=source, at=handoff.at,
                          handler_at=handoff.at, branch=(), view_parameter=None, path_parameter=None)

    def _argument(self, ref: RouterRef, depth: int) -> Router | None:
        """A router parameter (`def create_application(router)`): the one router every caller passes."""
        found = set()
        for handoff in self._lookup("handoffs").get((ref.path, ref.scope), ()):
            if handoff.position == ref.parameter or handoff.keyword == ref.name:
                found.add(self.resolve(handoff.ref, depth + 1))
        return found.pop() if len(found) == 1 else None


def _piece(value: str | None, source: str | None, at: Location) -> Piece:
    if value is not None:
        return value
    return Opaque(source or "?", at)


def _join(pieces: tuple[Piece, ...]) -> list[Piece]:
    """Concatenate literal pieces with single slashes; opaque pieces stay tokens."""
    joined: list[Piece] = []
    for piece in pieces:
        if isinstance(piece, Opaque):
            joined.append(piece)
        elif joined and isinstance(joined[-1], str):
            joined[-1] = joined[-1].rstrip("/") + "/" + piece.lstrip("/") if piece else joined[-1]
        else:
            joined.append(piece)
    return joined


def _display(pieces: tuple[Piece, ...], framework: str) -> str:
    text = "".join(str(p) for p in _join(pieces)) or "/"
    text = re.sub(r"/{2,}", "/", text)
    if not text.startswith(("/", "{")):
        text = "/" + text
    if framework == EXPRESS and len(text) > 1:
        text = text.rstrip("/") or "/"  # Express matches `/orders/` and `/orders` alike
    return text


def _key(pieces: tuple[Piece, ...], framework: str) -> tuple[object, ...]:
    key: list[object] = []
    for piece in _join(pieces):
        if isinstance(piece, Opaque):
            key.append((piece.source, piece.at))
        else:
            text = PARAMETER.sub("{}", re.sub(r"/{2,}", "/", piece))
            if framework == EXPRESS:
                text = text.rstrip("/")
            key.append(text)
    return tuple(key) if key != [""] else ("/",)


def _arms(route: ResolvedRoute) -> dict[tuple[str, int, int], int]:
    arms = {}
    for fact in (route.route, *(edge.mount for edge in route.chain)):
        for line, column, arm in fact.branch:
            arms[(fact.at.path, line, column)] = arm
    return arms


def _exclusive_facts(a: Mount, b: Mount) -> bool:
    second = {(b.at.path, line, column): arm for line, column, arm in b.branch}
    return any(second.get((a.at.path, line, column), arm) != arm for line, column, arm in a.branch)


def _exclusive(a: ResolvedRoute, b: ResolvedRoute) -> bool:
    """Are the two registered in different arms of one `if`, so that only one of them ever exists?"""
    first, second = _arms(a), _arms(b)
    return any(key in second and second[key] != arm for key, arm in first.items())


def _parameter_match(earlier: ResolvedRoute, later: ResolvedRoute) -> tuple[str, str] | None:
    """(parameter, literal) when `earlier`'s path matches `later`'s only through a bare parameter."""
    if not set(earlier.methods) & set(later.methods) or "ALL" in earlier.methods or "ALL" in later.methods:
        return None
    pattern = [s for s in (earlier.route.path or "").split("/") if s]
    path = [s for s in (later.route.path or "").split("/") if s]
    if len(pattern) != len(path):
        return None
    found = None
    for segment, written in zip(pattern, path):
        if segment == written:
            continue
        if re.fullmatch(r":[A-Za-z_$][\w$]*", segment) and not written.startswith(":") and "*" not in written:
            found = found or (segment, written)
            continue
        return None
    return found


def _answers(earlier: ResolvedRoute, later: ResolvedRoute) -> bool:
    """Does Express hand a request for `later` to `earlier` first? Same method, and its path matches."""
    if not (set(earlier.methods) & set(later.methods) or "ALL" in earlier.methods):
        return False
    pattern = [s for s in (earlier.known_path or "").split("/") if s]
    path = [s for s in (later.known_path or "").split("/") if s]
    for position, segment in enumerate(pattern):
        if segment in ("*", "(.*)") or segment.endswith(("*", "(.*)")):
            return True
        if position >= len(path):
            return False
        if segment.startswith(":") or segment == path[position]:
            continue
        return False
    return len(pattern) == len(path)


def _applies(prefix: str | None, below: tuple[Piece, ...]) -> bool:
    """Does middleware registered for `prefix` cover a path whose pieces below its router are `below`?"""
    if not prefix or prefix == "/":
        return True
    joined = _join(below)
    if not joined or not isinstance(joined[0], str):
        return True  # unknown: assume it applies, so that nothing is reported on a guess
    path, wanted = joined[0].rstrip("/"), prefix.rstrip("/")
    if len(joined) > 1:  # a literal start, then a run-time piece: it may continue into the prefix
        return path.startswith(wanted) or wanted.startswith(path)
    return path == wanted or path.startswith(wanted + "/")


def route_graph(project: Project) -> RouteGraph:
    index = project.view(module_index)
    graph = RouteGraph(index)
    roles = project.view(production_code)
    graph.live = roles.is_live
    graph.started = roles.started
    live = [file for file in project.files if roles.is_live(file.path)]

    def facts(kind: type) -> Iterator:
        for file in live:
            for fact in file.facts:
                if isinstance(fact, kind):
                    yield fact

    graph.routers = _confirmed(index, list(facts(Router)), list(facts(RouterClass)), graph)
    graph.by_name = {(r.at.path, r.name, r.scope): r for r in graph.routers if r.name}
    graph.apps = [r for r in graph.routers if r.kind == "app"]
    graph.dynamic_imports = list(facts(DynamicImport))
    graph.handoffs = [e for e in facts(Escape) if e.callee is not None]
    graph.factory_returns = list(facts(FactoryReturn))
    views = {(v.at.path, v.name): v for v in facts(ViewClass)}
    graph._resolved = {}  # what resolution reads is complete from here on
    for route in facts(Route):
        for placed in graph.wrapped(route) if route.view_parameter is not None else [route]:
            router = graph.resolve(placed.router)
            if router is not None:
                graph.routes_of[router].extend(_view_routes(index, placed, views, graph))
    unresolved: list[Mount] = []
    for mount in facts(Mount):
        child = graph.resolve(mount.child)
        if child is None and mount.deferred:
            continue  # `db.init_app(app)`: no router
        if child is None:
            if mount.framework == EXPRESS:
                _express_middleware(graph, mount)
            else:
                unresolved.append(mount)
            continue
        graph.incoming[child].append(mount)
        parent = graph.resolve(mount.parent)
        if parent is not None and parent != child:
            graph.edges.append(MountEdge(mount, parent, child))
    for middleware in facts(Middleware):
        parent = graph.resolve(middleware.router)
        if parent is not None:
            graph.middleware_of[parent].append(middleware)
    for escape in facts(Escape):
        router = graph.resolve(escape.ref)
        if router is not None:
            graph.escapes[router].append(escape)
    graph.edges.sort(key=lambda e: (e.mount.at.path, e.mount.at.line, e.mount.at.column))
    graph._lookups.pop("mounts", None)
    guards = Guards(project, index)
    for app in graph.entries:
        budget = [MAX_VISITS]
        graph.routes.extend(_walk(graph, guards, app, app, (), (), (), (), 0, budget=budget))
        if budget[0] < 0:
            project.notes.append(Notification(
                app.at.path, f"routes: application {app.name} reaches its routers more than {MAX_VISITS} times over "
                f"(routers mounted repeatedly at each level); the routes past that were not checked", app.at.line, level="note"))
    project.notes.extend(_not_built(graph, unresolved))
    return graph


def _confirmed(index: ModuleIndex, routers: list[Router], classes: list[RouterClass], graph: RouteGraph) -> list[Router]:
    """Routers, with each candidate (`UserAPIRouter(prefix=...)`) kept when its class is a router class of
    the project; the dependencies that class's `__init__` adds guard every route on the instance."""
    by_name = {(c.at.path, c.name): c for c in classes}

    def defined(path: str, name: str, scope: str) -> bool:
        return (path, name) in by_name

    confirmed = []
    for router in routers:
        if router.kind == "candidate":
            symbol = index.resolve(router.at.path, router.base or "", router.scope, defined)
            found = by_name.get((symbol.path, symbol.name)) if symbol is not None else None
            if found is None:
                continue
            router = replace(router, kind=found.kind, framework=found.framework)
            if found.middleware:
                graph.middleware_of[router].append(Middleware(RouterRef(found.at.path, found.name), "", found.middleware,
                                                              found.at, found.framework))
        confirmed.append(router)
    return confirmed


def _view_routes(index: ModuleIndex, route: Route, views: dict[tuple[str, str], ViewClass], graph: RouteGraph) -> Iterator[Route]:
    """A class-based view's route, once per method its class defines (or the `methods=` given), guarded by
    the class's decorators and the method's own; a view whose class cannot be read is left unjudged."""
    if route.view is None:
        yield route
        return
    symbol = index.resolve(route.at.path, route.view, route.router.scope, lambda path, name, scope: (path, name) in views)
    named = symbol.name.removesuffix(".as_view") if symbol is not None else ""  # `view = Users.as_view("users")` elsewhere
    view = views.get((symbol.path, named)) if symbol is not None else None
    if view is None and route.handler == route.view and (symbol is None or not symbol.name.endswith(".as_view")):
        yield replace(route, methods=route.methods or ("GET",), view=None)  # `view_func=index`, a plain function
        return
    if view is None:
        graph.unread.add(route)
        yield route
        return
    own = dict(view.methods)
    defined_at = dict(zip((m for m, _ in view.methods), view.method_at))
    for method in route.methods or tuple(own):
        via_alias = symbol is not None and symbol.name.endswith(".as_view")  # the class is not named in this file
        handler = f"{route.view}.{method.lower()}" if method in own and not via_alias else route.handler
        # The handler is the method: other families find the queries of a route by where its handler is defined.
        expanded = replace(route, methods=(method,), handler=handler, handler_at=defined_at.get(method, route.handler_at))
        graph.view_guards[expanded] = (view.at.path, view.name, view.decorators + own.get(method, ()))
        yield expanded


FRAMEWORK_APP = {EXPRESS: "express()", "fastapi": "FastAPI()", "flask": "Flask()"}
FRAMEWORK_NAME = {EXPRESS: "Express", "fastapi": "FastAPI", "flask": "Flask"}


def _count(count: int, what: str) -> str:
    return f"{count} {what}{'' if count == 1 else 's'}"


def _not_built(graph: RouteGraph, unresolved: list[Mount]) -> Iterator[Notification]:
    """Say so, once per application, when routes exist that the graph could not connect to it."""
    reached = {resolved.route for resolved in graph.routes}
    for framework in sorted({r.framework for r in graph.routers}):
        waiting = [r for r in graph.routers if r.framework == framework and r.kind != "app"
                   and graph.routes_of.get(r) and not any(route in reached for route in graph.routes_of[r])]
        if not waiting:
            continue
        count = sum(len(graph.routes_of[r]) for r in waiting)
        apps = [app for app in graph.entries if app.framework == framework]
        if not apps:
            first = min(waiting, key=lambda r: r.at)
            yield Notification(first.at.path, f"routes: {_count(count, FRAMEWORK_NAME[framework] + ' route')} on {_count(len(waiting), 'router')} but no "
                               f"application ({FRAMEWORK_APP[framework]} or a subclass of it) was found, so RT003 and "
                               f"RT004 checked none of them", first.at.line, level="note")
            continue
        for app in apps:
            if any(resolved.app == app for resolved in graph.routes):
                continue
            mounts = [m for m in unresolved if graph.resolve(m.parent) == app]
            why = (f"its mount of {mounts[0].child.name or 'a router'} at {mounts[0].at.path}:{mounts[0].at.line} names a "
                   f"router prodlint cannot follow") if mounts else "no router prodlint can follow is mounted on it"
            yield Notification(app.at.path, f"routes: no route is reached from application {app.name} ({why}), so "
                               f"RT003 and RT004 checked none of its {_count(count, 'route')}", app.at.line, level="note")


def _express_middleware(graph: RouteGraph, mount: Mount) -> None:
    """`app.use(authenticate)`: a candidate child that is no router is middleware from here on."""
    parent = graph.resolve(mount.parent)
    if parent is not None and mount.child.name:
        graph.middleware_of[parent].append(Middleware(mount.parent, mount.prefix, (mount.child.name, *mount.middleware), mount.at, EXPRESS))


@dataclass(frozen=True, slots=True)
class GuardEvidence:
    """Why a name is a guard: where it rejects and how, or that the name is a known guard."""

    how: str
    at: Location | None = None


class Guards:
    """Which middleware, dependencies and decorators authenticate, by what their code does.

    A name is resolved to its definition in the project (across modules, through instances of
    service classes, `__call__` of callable classes, `Annotated` aliases, arrays of middleware).
    It is a guard when that code reads a credential and rejects the request, or uses something
    that is a guard. A name defined outside the project (a package's middleware) is judged by the
    configured guard names, the fallback.
    """

    def __init__(self, project: Project, index: ModuleIndex) -> None:
        self.names = set(project.config.route_guards) | set(SECURITY_SCHEMES)
        self.index = index
        live = project.view(production_code).is_live
        self.checks = {(c.at.path, c.name): c for f in project.files if live(f.path) for c in f.facts if isinstance(c, Check)}
        self.unreadable = {f.path for f in project.files if f.notifications and not f.facts}
        self._cache: dict[tuple[str, str], GuardEvidence | None] = {}
        self._symbols: dict[tuple[str, str, str], Symbol | None] = {}

    def _defined(self, path: str, name: str, scope: str) -> bool:
        return (path, name) in self.checks

    def unknown(self, path: str, scope: str, names: tuple[str, ...]) -> bool:
        """Is one of these names defined in a file prodlint could not read? Then it may be a guard."""
        for name in names:
            symbol = self.index.resolve(path, name, scope)
            if symbol is not None and symbol.path in self.unreadable:
                return True
        return False

    def _defined_check(self, path: str, scope: str, name: str) -> tuple[Symbol | None, Check | None]:
        """Where `name`, as written in `path` within `scope`, is defined, and the check read there."""
        key = (path, scope, name)
        if key not in self._symbols:  # the checks are known from the start: each name is resolved once
            self._symbols[key] = self.index.resolve(path, name, scope, self._defined)
        symbol = self._symbols[key]
        return symbol, self.checks.get((symbol.path, symbol.name)) if symbol is not None else None

    def _check(self, path: str, scope: str, name: str) -> Check | None:
        symbol, check = self._defined_check(path, scope, name)
        if check is None and symbol is not None and symbol.name and symbol.called:
            check = self.checks.get((symbol.path, f"{symbol.name}.__call__"))
        return check

    def guard(self, path: str, scope: str, name: str, depth: int = 0, delegated: bool = False) -> GuardEvidence | None:
        """Is `name`, as written in `path` within `scope`, a guard? Its evidence, or None.

        `delegated`: the name is called or depended on by another check, so only its whole name
        or last part may match a guard name (`current_user.get_ip()` is no guard).
        """
        check = self._check(path, scope, name)
        if check is not None and depth < MAX_DEPTH:
            key = (check.at.path, check.name)
            if key not in self._cache:
                self._cache[key] = None  # a cycle of uses ends here
                self._cache[key] = self._judge(check, depth)
            if self._cache[key] is not None:
                return self._cache[key]
        return GuardEvidence(f"{name} is a known guard") if self._named(name, delegated) else None

    def _judge(self, check: Check, depth: int) -> GuardEvidence | None:
        if check.reads and check.rejects:
            return GuardEvidence(f"{check.name} reads {check.reads} and rejects with {check.rejects}", check.evidence)
        for use in check.uses:
            found = self.guard(check.at.path, check.scope or check.name, use, depth + 1, delegated=True)
            if found is not None:
                return found
        if check.rejects and not check.reads:
            reader = self._reader(check, depth)
            if reader is not None:  # `if is_admin(): ... else: abort(403)`, is_admin reading the session
                return GuardEvidence(f"{check.name} rejects with {check.rejects} after {reader}, which reads the credential",
                                     check.evidence)
        return None

    def _reader(self, check: Check, depth: int) -> str | None:
        """A function this check calls that reads a credential, itself or through its own calls."""
        if depth >= MAX_DEPTH // 3:
            return None
        for use in check.uses:
            used = self._check(check.at.path, check.scope or check.name, use)
            if used is not None and used is not check and (used.reads or self._reader(used, depth + 1)):
                return use
        return None

    def admin_flag(self, path: str, scope: str, name: str) -> str:
        """The admin flag the guard `name` rejects callers without (`current_user.admin`), or ""."""
        check = self._check(path, scope, name)
        return check.requires if check is not None and ADMIN_FLAG.search(_last(check.requires)) else ""

    def close_calls(self, path: str, scope: str, names: tuple[str, ...]) -> tuple[str, ...]:
        """Those of `names` that read from the request but are no guard: what an RT004 message names."""
        found = []
        for name in names:
            _, check = self._defined_check(path, scope, name)
            if check is not None and check.reads and self.guard(path, scope, name) is None:
                found.append(name)
        return tuple(found)

    def opening(self, path: str, scope: str, handler: str | None) -> GuardEvidence | None:
        """Does the handler itself check the caller in its first statements?"""
        if not handler:
            return None
        _, check = self._defined_check(path, scope, handler)
        if check is None:
            return None
        if check.opening is not None:
            return GuardEvidence(f"{check.name} checks the caller first", check.opening)
        if check.opening_rejection is not None:  # `if not is_admin(): abort(403)`, is_admin reading the session
            for use in check.opening_uses:
                used = self._check(check.at.path, check.name, use)
                if used is not None and used is not check and (used.reads or self._reader(used, 0)):
                    return GuardEvidence(f"{check.name} rejects first unless {use}, which reads the credential", check.opening_rejection)
        return None

    def static_page(self, path: str, scope: str, handler: str | None, router: str) -> bool:
        """Does the Python handler only render a page or redirect (`return render_template("about.html")`),
        calling nothing that reads data or the request? Such a page serves nothing a guard would keep.
        (`router` is the name its route decorator hangs on: `@bp.route(...)` is no call of the body.)"""
        if not handler or not is_python(path):
            return False
        _, check = self._defined_check(path, scope, handler)
        if check is None or check.reads or check.rejects:
            return False
        uses = [use for use in check.uses if use.split(".")[0] != router]
        return bool({_last(use) for use in uses} & PAGE_RESPONSES) and all(
            _last(use) in PAGE_RESPONSES or _last(use) in PAGE_HELPERS or "logger" in use.split(".") for use in uses)

    def _named(self, name: str, delegated: bool = False) -> bool:
        parts = name.split(".")
        return name in self.names or parts[-1] in self.names or (not delegated and parts[0] in self.names)


def _last(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _guards(guards: Guards, path: str, scope: str, names: tuple[str, ...], at: Location) -> tuple[Guard, ...]:
    found = []
    for name in names:
        evidence = guards.guard(path, scope, name)
        if evidence is not None:
            found.append(Guard(name, at, evidence, guards.admin_flag(path, scope, name)))
    return tuple(found)


def _walk(graph: RouteGraph, guards: Guards, app: Router, router: Router, chain: tuple[MountEdge, ...],
          pieces: tuple[Piece, ...], inherited: tuple[Guard, ...], order: tuple[tuple[str, int, int], ...],
          depth: int, uncertain: bool = False, seen: tuple[str, ...] = (), *, budget: list[int]) -> Iterator[ResolvedRoute]:
    """Every route below `router`, depth first; `inherited` holds the guards in effect where it is mounted.
    `budget` counts the router visits left for this application."""
    if depth > MAX_DEPTH or router in {edge.parent for edge in chain}:
        return
    budget[0] -= 1
    if budget[0] < 0:
        return
    layers = [(router.at, None, _guards(guards, router.at.path, router.scope, router.middleware, router.at))]
    for middleware in graph.middleware_of.get(router, ()):
        layers.append((middleware.at, middleware.prefix,
                       _guards(guards, middleware.router.path, middleware.router.scope, middleware.names, middleware.at)))

    def in_effect(at: Location, below: tuple[Piece, ...]) -> tuple[tuple[Guard, ...], Location | None]:
        """The guards applied before `at`, and the first guard of this router registered after it."""
        effective = list(inherited)
        later: Location | None = None
        for registered, prefix, found in layers:
            if router.framework == EXPRESS and registered.path == at.path and (registered.line, registered.column) > (at.line, at.column):
                if found and later is None and _applies(prefix, below):
                    later = registered  # Express middleware only runs for what is registered after it
                continue
            if _applies(prefix, below):
                effective.extend(found)
        return tuple(effective), later

    looked = seen + guards.close_calls(router.at.path, router.scope, router.middleware) + tuple(
        n for m in graph.middleware_of.get(router, ()) for n in guards.close_calls(m.router.path, m.router.scope, m.names))
    for route in graph.routes_of.get(router, ()):
        below = (_piece(route.path, route.path_source, route.at),)
        effective, later = in_effect(route.at, below)
        own = _guards(guards, route.router.path, route.router.scope, route.middleware, route.at)
        close = guards.close_calls(route.router.path, route.router.scope, route.middleware)
        if route in graph.view_guards:
            where, scope, names = graph.view_guards[route]
            own += _guards(guards, where, scope, names, route.at)
            close += guards.close_calls(where, scope, names)
        opening = guards.opening(route.router.path, route.router.scope, route.handler)
        if opening is not None:
            own += (Guard(route.handler or "handler", route.at, opening),)
        yield ResolvedRoute(
            route=route,
            router=router,
            app=app,
            chain=chain,
            pieces=pieces + below,
            guards=effective + own,
            order=order + ((route.at.path, route.at.line, route.at.column),),
            uncertain=uncertain or route in graph.unread or guards.unknown(route.at.path, route.router.scope, route.middleware),
            before_guard=later,
            looked_at=looked + close,
            static_page=not (effective + own) and guards.static_page(route.router.path, route.router.scope, route.handler, route.router.name),
        )
    for edge in graph.mounts_on(router):
        at = edge.mount.at
        mount_guards = _guards(guards, edge.mount.parent.path, edge.mount.parent.scope, edge.mount.middleware, at)
        doubt = uncertain or guards.unknown(at.path, edge.mount.parent.scope, edge.mount.middleware + edge.child.middleware)
        effective, _ = in_effect(at, edge.prefix)
        yield from _walk(graph, guards, app, edge.child, chain + (edge,), pieces + edge.prefix,
                         effective + mount_guards, order + ((at.path, at.line, at.column),), depth + 1, doubt,
                         looked + guards.close_calls(edge.mount.parent.path, edge.mount.parent.scope, edge.mount.middleware),
                         budget=budget)


def could_be_public(route: ResolvedRoute, patterns: tuple[str, ...]) -> bool:
    """Does the full path match a public glob (`routes.public`)?

    A prefix computed at run time stands for some non-empty path that no literal in a
    pattern names: `*/login` still matches below it, `/docs/*` does not.
    """
    text = "".join(RUNTIME_SEGMENT if isinstance(p, Opaque) else p for p in _join(route.pieces))
    text = re.sub(r"/{2,}", "/", text)
    text = text.rstrip("/") or "/"
    if any(fnmatch.fnmatchcase(text, pattern) or fnmatch.fnmatchcase(text + "/", pattern) for pattern in patterns):
        return True
    *_, before, last = ["", *text.split("/")]
    if PARAMETER.search(last):
        # `/verify-email/<token>`, `/reset-password/:token`: the link a sign-in flow mails out
        return PARAMETER.fullmatch(last) is not None and not PARAMETER.search(before) and _sign_in_flow(before)
    # `/auth/register/confirmation`, `/forgotpassword/request`: a step of the flow its parent names
    return _sign_in_flow(last) or (last.lower() in FLOW_STEPS and not PARAMETER.search(before) and _sign_in_flow(before))


def _sign_in_flow(segment: str) -> bool:
    words = re.split(r"[-_.]", segment.lower())
    return bool(AUTH_FLOW.intersection(words)) or any(COMPOUND_FLOW.fullmatch(word) for word in words)


# The last path segment of a sign-in flow: `/auth/refresh-access-token`, `/facebook-login`, `/verify-token`.
AUTH_FLOW = frozenset({"login", "logout", "signin", "signout", "register", "signup", "refresh", "token",
                       "forgot", "reset", "verify", "verification", "callback", "oauth", "challenge", "mfa", "otp", "2fa"})
COMPOUND_FLOW = re.compile(r"(?:forgot|reset|verify|confirm|change)(?:password|pass|email|account)")  # `/forgotpassword`
FLOW_STEPS = frozenset({"request", "confirm", "confirmation", "complete", "resend"})  # below a sign-in flow segment


# What a handler that serves a page and nothing else calls (RT004 leaves such pages alone).
PAGE_RESPONSES = frozenset({"render_template", "redirect", "TemplateResponse", "RedirectResponse", "HTMLResponse", "render"})
PAGE_HELPERS = frozenset({"url_for", "flash", "print", "dict", "list", "len", "str", "int", "float", "sorted", "enumerate", "range"})

RUNTIME_SEGMENT = "/\0"
ELEVATED = re.compile(r"admin|superuser|staff", re.IGNORECASE)
CREATES = re.compile(r"regist|create|signup|sign-up|sign_up", re.IGNORECASE)


def creates_elevated_account(route: ResolvedRoute) -> bool:
    """`POST /auth/register-super-admin`: a public path pattern never makes creating an admin public."""
    words = f"{route.path} {route.route.handler or ''}"
    return bool(ELEVATED.search(words) and CREATES.search(words))
