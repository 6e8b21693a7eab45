"""Who calls what, by name, and the functions that run across tenants by design.

Calls feed the data model's question "is this query reached only from a startup hook, a
`__main__` block or a platform-admin route?": such code serves no single tenant.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from prodlint.extract.python import PyModule, collector
from prodlint.extract.python.models import call_name, dotted, string
from prodlint.extract.python.queries import ROUTE_METHODS, platform_admin_guard
from prodlint.facts.data import Calls, CrossTenantEntry

STARTUP_EVENTS = frozenset({"startup"})
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
SCOPES = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef})  # what `_claim` does not enter


@collector
def collect_calls(module: PyModule) -> Iterable[object]:
    if "(" not in module.text:
        return []
    facts: list[object] = []
    owner: dict[int, tuple[str, ast.AST | None]] = {}  # id(node) -> the function it runs in
    for node in [*module.of_type(ast.FunctionDef), *module.of_type(ast.AsyncFunctionDef)]:
        _claim(module, node, _qualname(module, node), node, owner)
    main = _main_block(module.tree)
    if main is not None:
        for statement in main.body:
            _claim(module, statement, "__main__", None, owner, include_self=True)
        facts.append(CrossTenantEntry("__main__", "runs as a program (`if __name__ == \"__main__\":`)", module.at(main)))
    callees: dict[str, set[str]] = {}
    places: dict[str, ast.AST | None] = {}
    for node in module.of_type(ast.Call):
        function, place = owner.get(id(node), ("", None))
        names = callees.setdefault(function, set())
        places.setdefault(function, place)
        if call_name(node):
            names.add(call_name(node))
        for argument in list(node.args) + [k.value for k in node.keywords]:
            if isinstance(argument, (ast.Name, ast.Attribute)) and dotted(argument):
                names.add(dotted(argument).rsplit(".", 1)[-1])
    for function, names in sorted(callees.items()):
        place = places[function]
        at = module.at(place) if place is not None else module.at(module.tree)
        facts.append(Calls(function, tuple(sorted(names)), at, at if place is not None else None))
    facts += _entries(module)
    return facts


def _claim(module: PyModule, root: ast.AST, name: str, function: ast.AST | None, owner: dict[int, tuple[str, ast.AST | None]],
           include_self: bool = False) -> None:
    """Marks the nodes that run in `root` (lambdas included, nested functions and classes not)."""
    children = module.child_index
    claim = (name, function)
    stack = [root] if include_self else list(module.children(root))
    while stack:
        node = stack.pop()
        if type(node) in SCOPES:
            continue
        owner[id(node)] = claim
        stack += children.get(node) or ()


def _qualname(module: PyModule, function: ast.AST) -> str:
    names = []
    current: ast.AST | None = function
    while current is not None:
        if isinstance(current, (*FUNCTIONS, ast.ClassDef)):
            names.append(current.name)
        current = module.parents.get(current)
    return ".".join(reversed(names))


def _main_block(tree: ast.Module) -> ast.If | None:
    for statement in tree.body:
        test = statement.test if isinstance(statement, ast.If) else None
        if (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__"
                and len(test.comparators) == 1 and string(test.comparators[0]) == "__main__"):
            return statement  # type: ignore[return-value]
    return None


def _entries(module: PyModule) -> Iterable[CrossTenantEntry]:
    """Startup hooks (`@app.on_event("startup")`, `lifespan=`, `add_event_handler("startup", f)`) and
    route handlers behind a platform-admin dependency."""
    hooks: dict[str, str] = {}
    for node in module.of_type(ast.Call):
        lifespan = next((k.value for k in node.keywords if k.arg == "lifespan"), None)
        if isinstance(lifespan, ast.Name):
            hooks[lifespan.id] = f"the application's lifespan ({call_name(node)}(lifespan={lifespan.id}))"
        if call_name(node) == "add_event_handler" and len(node.args) == 2 and string(node.args[0]) in STARTUP_EVENTS and isinstance(node.args[1], ast.Name):
            hooks[node.args[1].id] = "a startup event handler (add_event_handler)"
    for node in module.of_types(*FUNCTIONS):
        how = hooks.get(node.name) if module.parents.get(node) is module.tree else None
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and call_name(decorator) == "on_event" and decorator.args and string(decorator.args[0]) in STARTUP_EVENTS:
                how = f"a startup hook (@{dotted(decorator.func)}(\"startup\"))"
            elif isinstance(decorator, ast.Call) and call_name(decorator) in ROUTE_METHODS and _platform_admin(decorator, node):
                how = f"a route handler behind the platform-admin dependency {_platform_admin(decorator, node)}"
        if how is not None:
            yield CrossTenantEntry(_qualname(module, node), how, module.at(node), module.at(node))


def _platform_admin(route: ast.Call, function: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """The platform-admin dependency of a route (`Depends(get_current_super_admin)` as a parameter
    default or in `dependencies=[...]`), or ""."""
    defaults = function.args.defaults + [d for d in function.args.kw_defaults if d is not None]
    dependencies = next((k.value for k in route.keywords if k.arg == "dependencies"), None)
    candidates = list(defaults) + (list(dependencies.elts) if isinstance(dependencies, (ast.List, ast.Tuple)) else [])
    for candidate in candidates:
        if isinstance(candidate, ast.Call) and call_name(candidate) in ("Depends", "Security") and candidate.args:
            name = platform_admin_guard(candidate.args[0])
            if name:
                return name
    return ""
