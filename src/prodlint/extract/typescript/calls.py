"""Who calls what, by name, and the routes that only a platform admin reaches.

`router.get('/stats', requireAuth, requireRole('SUPER_ADMIN'), ctrl.stats)`: the handler runs
across tenants by design. Calls let the data model follow it to the services it calls.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from tree_sitter import Node

from prodlint.extract.typescript import TsModule
from prodlint.facts.data import Calls, CrossTenantEntry, Query

if TYPE_CHECKING:
    from prodlint.extract.typescript.prisma_queries import QueryReader

PLATFORM_ADMIN = re.compile(r"super_?admin|superuser|platform_?admin", re.IGNORECASE)
ROUTE_METHODS = frozenset({"get", "post", "put", "patch", "delete", "all"})
REFERENCES = ("identifier", "member_expression")


def collect_calls(module: TsModule, reader: QueryReader, queries: Iterable[Query]) -> list[object]:
    """Run by the Prisma query collector, which has read the queries: those are no project calls."""
    text = module.text
    skip = {(q.at.line, q.at.column) for q in queries}
    constants = _constants(module)
    callees: dict[tuple[str, object], set[str]] = {}
    places: dict[tuple[str, object], Node | None] = {}
    facts: list[object] = []
    types = reader.types
    for call in module.captures("(call_expression) @call").get("call", []):
        at = module.at(call)
        if (at.line, at.column) in skip:
            continue
        function_node = reader.enclosing_function(call)
        function = reader.qualname(call)[0]
        key = (function, function_node.start_byte if function_node is not None else None)
        names = callees.setdefault(key, set())
        places.setdefault(key, function_node)
        callee = call.child_by_field_name("function")
        arguments = [a for a in (call.child_by_field_name("arguments") or call).named_children if a.type != "comment"]
        if callee is not None and not _registers_route(module, callee, arguments):  # `router.delete('/x', ...)` calls no `delete`
            names.add(types.name(callee))
        admin = _platform_admin_route(module, callee, arguments, constants)
        if admin:
            handler = types.name(arguments[-1])
            facts.append(CrossTenantEntry("", f"a route behind the platform-admin guard {admin}", module.at(call), handler=handler))
            arguments = arguments[:-1]
        names.update(types.name(a) for a in arguments if a.type in REFERENCES)
    for (function, _), names in sorted(callees.items(), key=lambda item: (item[0][0], item[0][1] or -1)):
        place = places[(function, _)]
        at = module.at(place) if place is not None else module.at(module.tree.root_node)
        owner = types.owner(place) if place is not None else ""
        facts.append(Calls(function, tuple(sorted(n for n in names if n)), at, at if place is not None else None, owner))
    return facts


class _Types:
    """The class behind a receiver, where the file says: `const c = new C()`, `constructor(private s: S)`,
    `private repo = new Repo()`. `c.list` is then called as `C.list`; an unknown receiver leaves `list`."""

    def __init__(self, module: TsModule) -> None:
        self.module = module
        text = module.text
        self.instances: dict[str, str] = {}
        for declarator in module.captures("(variable_declarator) @declarator").get("declarator", []):
            name, value = declarator.child_by_field_name("name"), declarator.child_by_field_name("value")
            if name is not None and name.type == "identifier" and value is not None and value.type == "new_expression":
                self.instances.setdefault(text(name), _type_name(text(value.child_by_field_name("constructor"))))
        self.members: dict[int, dict[str, str]] = {}  # class node start -> field -> class
        classes = "(class_declaration) @c" if module.dialect == "javascript" else "[(class_declaration) (abstract_class_declaration)] @c"
        for cls in module.captures(classes).get("c", []):
            fields: dict[str, str] = {}
            body = cls.child_by_field_name("body")
            for member in body.named_children if body is not None else ():
                if member.type == "public_field_definition":
                    name = text(member.child_by_field_name("name"))
                    value = member.child_by_field_name("value")
                    written = member.child_by_field_name("type")
                    if value is not None and value.type == "new_expression":
                        fields[name] = _type_name(text(value.child_by_field_name("constructor")))
                    elif written is not None:
                        fields[name] = _type_name(text(written).lstrip(": "))
                elif member.type == "method_definition" and text(member.child_by_field_name("name")) == "constructor":
                    parameters = member.child_by_field_name("parameters")
                    for parameter in parameters.named_children if parameters is not None else ():
                        if not any(c.type in ("accessibility_modifier", "readonly") for c in parameter.children):
                            continue
                        pattern, written = parameter.child_by_field_name("pattern"), parameter.child_by_field_name("type")
                        if pattern is not None and written is not None:
                            fields[text(pattern)] = _type_name(text(written).lstrip(": "))
            self.members[cls.start_byte] = {k: v for k, v in fields.items() if v}

    def _class_of(self, node: Node | None) -> Node | None:
        while node is not None and node.type not in ("class_declaration", "abstract_class_declaration"):
            node = node.parent
        return node

    def owner(self, function: Node) -> str:
        """The class a function is a member of (a method, or an arrow function assigned to a field)."""
        parent = function.parent
        member = function if function.type == "method_definition" else parent if parent is not None and parent.type == "public_field_definition" else None
        if member is None or member.parent is None or member.parent.type != "class_body":
            return ""
        cls = member.parent.parent
        return self.module.text(cls.child_by_field_name("name")) if cls is not None else ""

    def name(self, node: Node) -> str:
        """`C.m` when the receiver's class is known, else the last name part."""
        last = _last(self.module.text(node))
        if node.type != "member_expression" or not last:
            return last
        receiver = node.child_by_field_name("object")
        cls = ""
        if receiver is not None and receiver.type == "identifier":
            cls = self.instances.get(self.module.text(receiver), "")
        elif receiver is not None and receiver.type == "member_expression" and self.module.text(receiver.child_by_field_name("object")) == "this":
            owner = self._class_of(node)
            if owner is not None:
                cls = self.members.get(owner.start_byte, {}).get(self.module.text(receiver.child_by_field_name("property")), "")
        return f"{cls}.{last}" if cls else last


_TYPE_NAME = re.compile(r"(?:[\w$]+\.)*([A-Z][\w$]*)(?:<.*>)?")
_CHAIN = re.compile(r"[\w$.?!]+")
_LINKS = re.compile(r"[.?!]+")


def _type_name(written: str) -> str:
    """`SuperAdminService` of `SuperAdminService`, `services.Repo<T>` -> `Repo`; "" for anything else."""
    found = _TYPE_NAME.fullmatch(written.strip())
    return found.group(1) if found else ""


def _last(text: str) -> str:
    text = text.strip()
    return _LINKS.split(text)[-1] if _CHAIN.fullmatch(text) else ""


def _constants(module: TsModule) -> dict[str, str]:
    """Module-level `const saAuth = [requireAuth, requireRole(...)]`: name -> its value as written."""
    found: dict[str, str] = {}
    for declarator in module.captures("(program (lexical_declaration (variable_declarator) @d))").get("d", []):
        name, value = declarator.child_by_field_name("name"), declarator.child_by_field_name("value")
        if name is not None and value is not None and name.type == "identifier":
            found[module.text(name)] = module.text(value)
    return found


def _registers_route(module: TsModule, callee: Node, arguments: list[Node]) -> bool:
    return (callee.type == "member_expression" and module.text(callee.child_by_field_name("property")) in ROUTE_METHODS
            and bool(arguments) and arguments[0].type in ("string", "template_string") and len(arguments) >= 2)


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
