"""Route rules RT001-RT004, over the route graph (`prodlint.model.routes`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from prodlint.facts.routes import EXPRESS, FASTAPI, Router
from prodlint.model.routes import ResolvedRoute, route_graph
from prodlint.project import Project
from prodlint.rules import Finding, Related, rule

MOUNT_CALL = {EXPRESS: "use()", FASTAPI: "include_router()"}
KIND = {EXPRESS: "router", FASTAPI: "APIRouter"}
GENERIC_NAMES = frozenset({"router", "routes", "api", "app", "bp", "blueprint", "default"})


def _label(router: Router) -> str:
    """A router's name, with its file when the name alone says nothing (`router`, `bp`)."""
    return f"{router.name} in {router.at.path}" if router.name in GENERIC_NAMES else router.name


def _mount_call(router: Router) -> str:
    return MOUNT_CALL.get(router.framework, "register_blueprint()")


def _routes(count: int) -> str:
    return f"{count} route{'s' if count != 1 else ''}"


def _they(count: int) -> str:
    return "it answers" if count == 1 else "they answer"


def _methods(route: ResolvedRoute) -> str:
    return "/".join(route.methods) or "ANY"


def _where(route: ResolvedRoute) -> str:
    at = route.route.at
    handler = f"by {route.route.handler} at " if route.route.handler else "at "
    return f"{handler}{at.path}:{at.line}"


def _looked_at(route: ResolvedRoute) -> str:
    names = route.not_guards
    if not names:
        return ""
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return f" (looked at {shown}: no check that reads a credential and rejects)"


@rule("RT001")
def unmounted_router(project: Project) -> Iterator[Finding]:
    graph = project.view(route_graph)
    for router, count, importers in graph.unmounted_routers():
        idle = graph.idle_apps(router) if graph.incoming.get(router) else []
        if idle:
            apps = ", ".join(f"{app.name} ({app.at.path})" for app in idle)
            yield Finding("RT001", f"{KIND.get(router.framework, 'blueprint')} {router.name} defines {_routes(count)} but is mounted only on "
                                   f"{apps}, which no production command starts, so {_they(count)} 404; mount it on the "
                                   f"application that runs", router.at)
        elif importers:
            where = importers[0] + (f" and {len(importers) - 1} more" if len(importers) > 1 else "")
            yield Finding("RT001", f"{KIND.get(router.framework, 'blueprint')} {router.name} defines {_routes(count)} and is imported in {where} but never "
                                   f"mounted, so {_they(count)} 404; mount it with {_mount_call(router)}", router.at)
        else:
            yield Finding("RT001", f"{KIND.get(router.framework, 'blueprint')} {router.name} defines {_routes(count)} but is never imported anywhere, "
                                   f"so {_they(count)} 404; import it and mount it with {_mount_call(router)}", router.at)


@rule("RT002")
def duplicate_mount_path(project: Project) -> Iterator[Finding]:
    graph = project.view(route_graph)
    for later, first, shadowed, answering in graph.duplicate_mounts():
        prefix = "".join(str(piece) for piece in later.prefix)
        yield Finding(
            "RT002",
            f"{_label(later.child)} is mounted at {prefix} on {later.parent.name} after {_label(first.child)}, whose route "
            f"at {answering.route.at.path}:{answering.route.at.line} answers {_methods(shadowed)} {shadowed.path} first, "
            f"so the route at {shadowed.route.at.path}:{shadowed.route.at.line} never runs; give each router its own prefix or merge them",
            later.mount.at,
            related=(Related(first.mount.at, f"{_label(first.child)} is first mounted at {prefix} here"),),
        )


@rule("RT003")
def duplicate_route(project: Project) -> Iterator[Finding]:
    graph = project.view(route_graph)
    for shadowed, winner in graph.shadowed_routes():
        method = next(m for m in shadowed.methods if m in winner.methods)
        if shadowed.route == winner.route:
            first, again = winner.chain[-1].mount.at if winner.chain else winner.app.at, shadowed.chain[-1].mount.at
            yield Finding(
                "RT003",
                f"{method} {shadowed.path} is registered twice because {_label(shadowed.router)} is mounted twice "
                f"(at {first.path}:{first.line} and {again.path}:{again.line}); remove one of the mounts",
                shadowed.route.at,
                related=(Related(first, f"{_label(shadowed.router)} is mounted here first"),
                         Related(again, f"{_label(shadowed.router)} is mounted again here")),
            )
            continue
        yield Finding(
            "RT003",
            f"{method} {shadowed.path} is already handled {_where(winner)}, which is registered first, "
            f"so this route never runs; remove it or change its path",
            shadowed.route.at,
            related=(Related(winner.route.at, f"{method} {winner.path} is handled here first"),),
        )


    exact = {shadowed.route for shadowed, _ in graph.shadowed_routes()}
    for shadowed, winner, parameter, literal in graph.parameter_shadows():
        if shadowed.route in exact:
            continue
        method = next(m for m in shadowed.methods if m in winner.methods)
        yield Finding(
            "RT003",
            f"{method} {shadowed.path} is registered after {method} {winner.path} {_where(winner)}, which matches it "
            f"first ({parameter.lstrip(':')} = \"{literal}\"), so this route never runs unless that handler calls next(); "
            f"register it before the parameter route",
            shadowed.route.at,
            related=(Related(winner.route.at, f"{method} {winner.path} matches {literal} here first"),),
        )


@rule("RT004")
def unguarded_route(project: Project) -> Iterator[Finding]:
    graph = project.view(route_graph)
    for route, guarded in graph.unguarded_routes(project.config.route_public):
        common = Counter(guard.name for r in guarded for guard in r.guards).most_common(1)[0][0]
        count = len({r.route for r in guarded})
        yield Finding(
            "RT004",
            f"{_methods(route)} {route.path} has no authentication guard on the route, its router or its mounts"
            f"{_looked_at(route)}, "
            f"while {_routes(count)} of this app {'uses' if count == 1 else 'use'} one ({common}); add a guard or list the path in routes.public",
            route.route.at,
        )
