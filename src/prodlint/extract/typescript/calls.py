"""Who calls what, by name, and the routes that only a platform admin reaches.

`router.get('/stats', requireAuth, requireRole('SUPER_ADMIN'), ctrl.stats)`: the handler runs
across tenants by design. Calls let the data model follow it to the services it calls.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tree_sitter import Node

from prodlint.extract.typescript import TsModule, collector
from prodlint.extract.typescript.prisma_queries import QueryReader
from prodlint.facts.data import Calls, CrossTenantEntry

PLATFORM_ADMIN = re.compile(r"super_?admin|superuser|platform_?admin", re.IGNORECASE)
ROUTE_METHODS = frozenset({"get", "post", "put", "patch", "delete", "all"})
REFERENCES = ("identifier", "member_expression")


@collector
def collect_calls(module: TsModule) -> Iterable[object]:
    reader = QueryReader(module)
    text = module.text
    constants = _constants(module)
    callees: dict[tuple[str, object], set[str]] = {}
    places: dict[tuple[str, object], Node | None] = {}
    facts: list[object] = []
    for call in module.captures("(call_expression) @call").get("call", []):
        function_node = reader.enclosing_function(call)
        function = reader.qualname(call)[0]
        key = (function, function_node.start_byte if function_node is not None else None)
        names = callees.setdefault(key, set())
        places.setdefault(key, function_node)
        callee = call.child_by_field_name("function")
        if callee is not None:
            names.add(_last(text(callee)))
        arguments = [a for a in (call.child_by_field_name("arguments") or call).named_children if a.type != "comment"]
        admin = _platform_admin_route(module, callee, arguments, constants)
        if admin:
            handler = _last(text(arguments[-1]))
            facts.append(CrossTenantEntry("", f"a route behind the platform-admin guard {admin}", module.at(call), handler=handler))
            arguments = arguments[:-1]
        names.update(_last(text(a)) for a in arguments if a.type in REFERENCES)
    for (function, _), names in sorted(callees.items(), key=lambda item: (item[0][0], item[0][1] or -1)):
        place = places[(function, _)]
        at = module.at(place) if place is not None else module.at(module.tree.root_node)
        facts.append(Calls(function, tuple(sorted(n for n in names if n)), at, at if place is not None else None))
    return facts


def _last(text: str) -> str:
    return re.split(r"[.?!]+", text.strip())[-1] if re.fullmatch(r"[\w$.?!]+", text.strip()) else ""


def _constants(module: TsModule) -> dict[str, str]:
    """Module-level `const saAuth = [requireAuth, requireRole(...)]`: name -> its value as written."""
    found: dict[str, str] = {}
    for declarator in module.captures("(program (lexical_declaration (variable_declarator) @d))").get("d", []):
        name, value = declarator.child_by_field_name("name"), declarator.child_by_field_name("value")
        if name is not None and value is not None and name.type == "identifier":
            found[module.text(name)] = module.text(value)
    return found


def _platform_admin_route(module: TsModule, callee: Node | None, arguments: list[Node], constants: dict[str, str]) -> str:
    """The guard that lets only platform admins reach this route, or "": every role it names is one."""
    if callee is None or callee.type != "member_expression" or module.text(callee.child_by_field_name("property")) not in ROUTE_METHODS:
        return ""
    if len(arguments) < 3 or arguments[0].type not in ("string", "template_string") or arguments[-1].type not in REFERENCES:
        return ""
    for middleware in arguments[1:-1]:
        written = module.text(middleware)
        value = constants.get(written, written) if middleware.type == "identifier" else written
        for guard in re.findall(r"\w+\(([^()]*)\)", value):  # `requireRole(UserRole.SUPER_ADMIN)`, `requireRole(['A', 'B'])`
            roles = re.findall(r"[\w.]+", guard)
            if roles and all(PLATFORM_ADMIN.search(r) for r in roles):
                return written
        if re.fullmatch(r"[\w.]+", value) and PLATFORM_ADMIN.search(value):  # `requireSuperAdmin`
            return written
    return ""
