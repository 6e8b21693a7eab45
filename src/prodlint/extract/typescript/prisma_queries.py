"""Prisma client calls: which delegate, which operation, what the `where` guarantees.

`prisma.order.findMany({ where })` through any client expression (`this.prisma`,
`tx`, `db`, `tenantDb(req)`); the where-object is read when it is a literal or a
`const` in scope. A spread, call or parameter whose content cannot be seen makes
the filter unknown, never empty. Raw SQL (`$queryRaw`, `Prisma.sql`, `.query("...")`)
is parsed with sqlglot; clients built with `$extends` that inject a tenant key
are recorded as scoped clients.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from tree_sitter import Node

from prodlint.extract.typescript import TsModule, collector
from prodlint.facts import Location
from prodlint.facts.data import PRISMA, READ, WRITE, ClientInput, FilterParts, IdentityCall, Query, RawSql, RowCheck, ScopedCall, ScopedClient
from prodlint.extract.typescript.calls import _Types, collect_calls

READ_OPERATIONS = frozenset(
    {"findMany", "findFirst", "findFirstOrThrow", "findUnique", "findUniqueOrThrow", "count", "aggregate", "groupBy"}
)
WRITE_OPERATIONS = frozenset(
    {"update", "updateMany", "updateManyAndReturn", "delete", "deleteMany", "upsert",
     "create", "createMany", "createManyAndReturn"}
)
SINGLE_ROW = frozenset({"findFirst", "findFirstOrThrow", "findUnique", "findUniqueOrThrow", "update", "delete", "upsert", "create"})
RAW_OPERATIONS = frozenset({"$queryRaw", "$executeRaw", "$queryRawUnsafe", "$executeRawUnsafe"})

# Prisma filter operators: a key holding one of these is a condition on that field.
EQUALITY_OPERATORS = frozenset({"equals", "in"})
OTHER_OPERATORS = frozenset(
    {"lt", "lte", "gt", "gte", "contains", "startsWith", "endsWith", "search", "has", "hasSome", "hasEvery",
     "isEmpty", "path", "string_contains", "array_contains", "mode", "not", "notIn"}
)
# Relation filters: `is` pins the related row; `some`/`every`/`none` say nothing about this row's keys.
TO_ONE = frozenset({"is"})
TO_MANY = frozenset({"some", "every", "none", "isNot"})

FUNCTIONS = frozenset(
    {"function_declaration", "generator_function_declaration", "function_expression", "function", "arrow_function",
     "method_definition", "generator_function"}
)
SCOPES = frozenset({"statement_block", "program"})
TRANSPARENT = frozenset({"await_expression", "parenthesized_expression", "as_expression", "satisfies_expression", "non_null_expression"})
# Callbacks that run inside the function that passes them: a query there belongs to that function.
INLINE_CALLBACKS = frozenset({"$transaction", "map", "flatMap", "forEach", "filter", "reduce", "then", "catch", "finally", "all", "allSettled"})
SQL_START = re.compile(r"^\s*(?:\(\s*)?(select|with|update|delete|insert)\b", re.IGNORECASE)

# Client-controlled request input (the verified session is not: `req.session`, `req.user`).
CLIENT_INPUT = re.compile(r"^(?:req|request|ctx\.request|ctx)\.(params|query|body|headers|cookies)\b")
INPUT_SOURCES = {"params": "path parameter", "query": "query string", "body": "body", "headers": "header", "cookies": "cookie"}
# What the caller's verified identity looks like in a comparison or a membership call.
# Any part of a name will do (`userTenantId`, `current_org`): reading more as a check only silences TN004.
IDENTITY = re.compile(r"user|auth|session|payload|decoded|claims|token|member|current|principal|locals", re.IGNORECASE)
ANY_CALL = """
(call_expression function: (_) @function arguments: (arguments) @arguments) @call
"""
IF_STATEMENTS = """
(if_statement condition: (_) @condition consequence: (_) @consequence) @if
"""

CALLS = """
(call_expression
  function: (member_expression
    object: (member_expression object: (_) @client property: (property_identifier) @delegate)
    property: (property_identifier) @operation)
  arguments: (arguments) @arguments) @call
"""
MEMBER_CALLS = """
(call_expression
  function: (member_expression object: (_) @object property: (property_identifier) @method)
  arguments: (_) @arguments) @call
"""


class QueryReader:
    """Reads the Prisma queries of one TS/JS module."""

    def __init__(self, module: TsModule) -> None:
        self.module = module
        self.text = module.text
        self._inline_inputs: list[Node] = []  # filter values, read for client input
        self._types: _Types | None = None
        self._enclosing: dict[int, Node | None] = {}  # node id -> its enclosing function

    @property
    def types(self) -> _Types:
        if self._types is None:
            self._types = _Types(self.module)
        return self._types

    # --- scopes -------------------------------------------------------------

    def enclosing_function(self, node: Node) -> Node | None:
        """The nearest function around `node` that is not an inline callback; remembered for every
        node passed on the way up (sibling calls share their ancestors)."""
        memo = self._enclosing
        if node.id in memo:
            return memo[node.id]
        below = [node.id]
        found: Node | None = None
        current = node.parent
        while current is not None:
            if current.type in FUNCTIONS and not self._inline_callback(current):
                found = current
                break
            if current.id in memo:
                found = memo[current.id]
                break
            below.append(current.id)
            current = current.parent
        for seen in below:
            memo[seen] = found
        return found

    def _inline_callback(self, function: Node) -> bool:
        parent = function.parent
        if parent is None or parent.type != "arguments" or parent.parent is None:
            return False
        callee = parent.parent.child_by_field_name("function")
        return callee is not None and callee.type == "member_expression" and self.text(callee.child_by_field_name("property")) in INLINE_CALLBACKS

    def function_name(self, function: Node) -> str:
        if function.type in ("function_declaration", "generator_function_declaration", "method_definition"):
            name = self.text(function.child_by_field_name("name"))
            if function.type == "method_definition":
                owner = function.parent.parent if function.parent is not None else None
                if owner is not None and owner.type in ("class_declaration", "class", "abstract_class_declaration"):
                    name = f"{self.text(owner.child_by_field_name('name')) or '<class>'}.{name}"
            return name
        parent = function.parent
        while parent is not None and parent.type in TRANSPARENT:
            parent = parent.parent
        if parent is not None and parent.type == "variable_declarator":
            return self.text(parent.child_by_field_name("name"))
        if parent is not None and parent.type == "pair":
            return self.text(parent.child_by_field_name("key"))
        if parent is not None and parent.type in ("assignment_expression", "public_field_definition"):
            target = parent.child_by_field_name("left") or parent.child_by_field_name("name")
            return self.text(target).removeprefix("this.").removeprefix("exports.").removeprefix("module.exports.")
        return "<anonymous>"

    def qualname(self, node: Node) -> tuple[str, Location | None]:
        function = self.enclosing_function(node)
        if function is None:
            return "", None
        names = []
        current: Node | None = function
        while current is not None:
            names.append(self.function_name(current))
            current = self.enclosing_function(current)
        return ".".join(reversed(names)), self.module.at(function)

    def binding(self, node: Node, name: str) -> Node | None:
        """The declarator or parameter that binds `name` where `node` is."""
        current = node.parent
        while current is not None:
            if current.type in SCOPES:
                for statement in current.named_children:
                    declarator = self._declarator(statement, name)
                    if declarator is not None:
                        return declarator
            if current.type in FUNCTIONS:
                parameter = self._parameter(current, name)
                if parameter is not None:
                    return parameter
            current = current.parent
        return None

    def _declarator(self, statement: Node, name: str) -> Node | None:
        if statement.type == "export_statement":
            statement = statement.child_by_field_name("declaration") or statement
        if statement.type not in ("lexical_declaration", "variable_declaration"):
            return None
        for declarator in statement.named_children:
            if declarator.type == "variable_declarator" and self.text(declarator.child_by_field_name("name")) == name:
                return declarator
        return None

    def _parameter(self, function: Node, name: str) -> Node | None:
        single = function.child_by_field_name("parameter")
        if single is not None:
            return single if self.text(single) == name else None
        parameters = function.child_by_field_name("parameters")
        for parameter in parameters.named_children if parameters is not None else ():
            pattern = parameter.child_by_field_name("pattern") or parameter
            if self.text(pattern) == name:
                return parameter
        return None

    def const_value(self, identifier: Node) -> Node | None:
        """The initializer of a `const` in scope, or None when it may be reassigned or is unknown."""
        declarator = self.binding(identifier, self.text(identifier))
        if declarator is None or declarator.type != "variable_declarator":
            return None
        declaration = declarator.parent
        if declaration is None or not (self.text(declaration).startswith("const") or self._never_reassigned(declaration, declarator)):
            return None
        value = declarator.child_by_field_name("value")
        while value is not None and value.type in TRANSPARENT:
            value = value.named_children[0] if value.named_children else None
        return value

    # --- filters ------------------------------------------------------------

    def arguments_object(self, arguments: Node) -> Node | None | bool:
        """The query's argument object; False when there is none, None when it cannot be seen."""
        first = next((child for child in arguments.named_children if child.type != "comment"), None)
        if first is None:
            return False
        return self.object_of(first)

    def object_of(self, node: Node) -> Node | None:
        while node.type in TRANSPARENT and node.named_children:
            node = node.named_children[0]
        if node.type == "object":
            return node
        if node.type in ("identifier", "shorthand_property_identifier"):
            value = self.const_value(node)
            return value if value is not None and value.type == "object" and not self._mutated(node) else None
        return None

    def _never_reassigned(self, declaration: Node, declarator: Node) -> bool:
        """A `let` that nothing assigns again after its declaration holds its initializer."""
        if not self.text(declaration).startswith("let"):
            return False
        name = re.escape(self.text(declarator.child_by_field_name("name")))
        function = self.enclosing_function(declaration)
        scope = function if function is not None else None
        source = self.module.source
        end = scope.end_byte if scope is not None else len(source)
        after = source[declarator.end_byte:end].decode("utf-8", "replace")
        return re.search(rf"(?<![\w.$]){name}\s*(?:[-+*/%&|^]|\?\?|\|\||&&)?=(?![=>])|(?:\+\+|--){name}\b|\b{name}(?:\+\+|--)", after) is None

    def _mutated(self, identifier: Node) -> bool:
        """`where.tenantId = x` or `Object.assign(where, ...)` later in the function."""
        name = re.escape(self.text(identifier))
        function = self.enclosing_function(identifier)
        body = self.text(function) if function is not None else self.module.source.decode("utf-8", "replace")
        return re.search(rf"(?<![\w.$]){name}(?:\.\w+|\[[^\]]*\])\s*=[^=]|Object\.assign\(\s*{name}\b", body) is not None

    def property(self, obj: Node, key: str) -> Node | None | bool:
        """The value of `key` in an object literal; False if absent for sure, None if a spread may hold it."""
        spread = False
        for member in obj.named_children:
            if member.type == "pair" and self._key(member) == key:
                return member.child_by_field_name("value")
            if member.type == "shorthand_property_identifier" and self.text(member) == key:
                return member
            if member.type == "spread_element":
                spread = True
        return None if spread else False

    def _key(self, pair: Node) -> str | None:
        key = pair.child_by_field_name("key")
        if key is None:
            return None
        if key.type in ("property_identifier", "identifier", "number"):
            return self.text(key)
        if key.type == "string":
            return self.text(key)[1:-1]
        return None  # computed key

    def filter_of(self, node: Node | None) -> FilterParts:
        parts = FilterParts()
        if node is None:
            parts.unknown = True
            return parts
        branches = self._conditional(self._unwrapped(node))
        if branches is not None:
            # `...(status && { status })`, `cond ? { clientId } : {}`: one of the branches holds
            chosen = [self.filter_of(b) if b is not None else FilterParts() for b in branches]
            merged = FilterParts.either(chosen)
            merged.ranges = set.intersection(*(c.ranges for c in chosen))  # a search in one branch narrows nothing
            return merged
        obj = self.object_of(node)
        if obj is None:
            parts.unknown = True
            return parts
        for member in obj.named_children:
            if member.type == "pair":
                key = self._key(member)
                value = member.child_by_field_name("value")
                if key is None:
                    parts.unknown = True
                else:
                    self._condition(parts, key, value)
            elif member.type == "shorthand_property_identifier":
                self._equality(parts, self.text(member), member)
            elif member.type == "spread_element":
                spread = member.named_children[0] if member.named_children else None
                parts.add(self.filter_of(spread) if spread is not None else FilterParts(unknown=True))
        return parts

    def takes(self, arguments: Node) -> bool:
        """The arguments set `take` in every branch (True too when a spread may hold it unseen).

        `take: limit ? Number(limit) : undefined` and `...(take ? { take } : {})` leave it out in
        one branch: that branch returns every row."""
        take = self.property(arguments, "take")
        if isinstance(take, Node):
            value = self._unwrapped(take)
            branches = self._conditional(value) if value.type == "ternary_expression" else None
            return not (_is_undefined(value) or any(b is None or _is_undefined(self._unwrapped(b)) for b in branches or ()))
        if take is False:
            return False
        for member in arguments.named_children:
            if member.type != "spread_element" or not member.named_children:
                continue
            branches = self._conditional(self._unwrapped(member.named_children[0]))
            if branches is None:
                return True  # `...paginate(page)`: it may set take
            objects = [self.object_of(b) if b is not None else None for b in branches]
            if any(b is not None and o is None for b, o in zip(branches, objects, strict=True)):
                return True
            if all(o is not None and isinstance(self.property(o, "take"), Node) for o in objects):
                return True
        return False

    def _conditional(self, node: Node) -> list[Node | None] | None:
        """The filters a `c ? a : b` or `c && a` chooses between (None: no filter at all), or None."""
        if node.type == "ternary_expression":
            return [node.child_by_field_name("consequence"), node.child_by_field_name("alternative")]
        operator = node.child_by_field_name("operator")
        if node.type == "binary_expression" and operator is not None and self.text(operator) == "&&":
            right = node.child_by_field_name("right")
            return [right, None] if right is not None else None
        return None

    def _condition(self, parts: FilterParts, key: str, value: Node) -> None:
        if key == "AND":
            items = self._items(value)
            if items is None:
                parts.unknown = True  # `AND: [...conditions]`
            for item in items or ():
                parts.add(self.filter_of(item))
        elif key == "OR":
            items = self._items(value)
            if items is not None:
                parts.add(FilterParts.either([self.filter_of(item) for item in items]))
            else:
                parts.unknown = True
        elif key == "NOT":
            return
        elif value is not None and self._unwrapped(value).type == "object":
            self._nested(parts, key, self._unwrapped(value))  # `{ tenantId_id: {...} as any }` too
        else:
            self._equality(parts, key, value)

    def _unwrapped(self, node: Node) -> Node:
        while node.type in TRANSPARENT and node.named_children:
            node = node.named_children[0]
        return node

    def _items(self, value: Node) -> list[Node] | None:
        if value.type == "array":
            if any(item.type == "spread_element" for item in value.named_children):
                return None
            return [item for item in value.named_children if item.type != "comment"]
        return [value]

    def _nested(self, parts: FilterParts, key: str, value: Node) -> None:
        """`{ equals: x }`, `{ gte: d }`, a compound unique `tenantId_id: {...}`, or a relation filter."""
        inner_keys = [self._key(m) if m.type == "pair" else self.text(m) for m in value.named_children if m.type in ("pair", "shorthand_property_identifier")]
        if any(m.type == "spread_element" for m in value.named_children):
            parts.unknown = True
        if inner_keys and all(k in EQUALITY_OPERATORS | OTHER_OPERATORS for k in inner_keys):
            for operator in inner_keys:
                if operator in EQUALITY_OPERATORS:
                    operand = self.property(value, operator)
                    self._equality(parts, key, operand if isinstance(operand, Node) else None)
                elif operator not in ("not", "notIn", "mode"):
                    parts.ranges.add(key)
            return
        if "_" in key and inner_keys and "_".join(k or "" for k in inner_keys) == key:
            parts.add(self.filter_of(value))  # compound unique input: each part is pinned
            return
        if inner_keys and all(k in TO_ONE | TO_MANY for k in inner_keys):
            relation = self.property(value, "is")
            if isinstance(relation, Node):
                parts.add(self.filter_of(relation), prefix=key + ".")
            return
        parts.add(self.filter_of(value), prefix=key + ".")

    def _equality(self, parts: FilterParts, key: str, value: Node | None) -> None:
        why = self.undefined_reason(value) if value is not None else None
        if why is not None:
            parts.undefined[key] = why
        else:
            parts.pin(key, self.value_text(value) if value is not None else None)
            if value is not None:
                self._inline_inputs.append(value)

    def value_text(self, node: Node, resolve: bool = True) -> str:
        """`await this.x` -> `this.x`, `req.user?.tenantId!` -> `req.user.tenantId`.

        The root name is replaced by what it stands for when that tells where the value
        comes from: a loop over rows (`for (const s of sessions)` gives `sessions[].id`,
        `items.map((item) => ...)` gives `items[].productId`) or a local bound to the
        verified session (`const user = req.session.user` gives `req.session.user.id`).
        """
        text = _normalised(self.text(node))
        if not resolve:
            return text
        root = node
        while root.type in ("member_expression", "subscript_expression", "non_null_expression", "parenthesized_expression") and root.named_children:
            root = root.child_by_field_name("object") or root.named_children[0]
        if root.type != "identifier" or root == node and node.type != "identifier":
            return text
        name = self.text(root)
        source = self._row_source(root, name)
        return source + text[len(name):] if source is not None and text.startswith(name) else text

    def _row_source(self, identifier: Node, name: str) -> str | None:
        current = identifier.parent
        while current is not None:
            if current.type == "for_in_statement" and self.text(current.child_by_field_name("left")) == name and current.child_by_field_name("right") is not None:
                return self.value_text(current.child_by_field_name("right"), resolve=False) + "[]"
            if current.type in FUNCTIONS and self._parameter(current, name) is not None:
                call = current.parent.parent if current.parent is not None and current.parent.type == "arguments" else None
                callee = call.child_by_field_name("function") if call is not None else None
                if callee is not None and callee.type == "member_expression" and self.text(callee.child_by_field_name("property")) in ("map", "forEach", "flatMap", "filter", "some", "every"):
                    return self.value_text(callee.child_by_field_name("object"), resolve=False) + "[]"
                return None
            current = current.parent
        value = self.const_value(identifier)
        if value is not None:
            bound = _normalised(self.text(value))
            if re.match(r"^(?:req|request)\.(?:user|auth|session)\b", bound):
                return bound
            if re.match(r"^(?:jwt\.)?(?:verify|decode)\w*\(", bound):
                return "verified-token"  # `const payload = jwt.verify(token, secret)`
        return None

    def undefined_reason(self, value: Node) -> str | None:
        """Why a filter value is or may be `undefined` (Prisma then ignores the condition), or None."""
        while value.type in TRANSPARENT and value.named_children:
            value = value.named_children[0]
        if value.type == "undefined" or (value.type == "identifier" and self.text(value) == "undefined"):
            return "is undefined"
        if value.type in ("member_expression", "subscript_expression", "call_expression") and self._optional_chain(value):
            return f"may be undefined ({self.text(value)})"
        if value.type == "ternary_expression":
            for branch in ("consequence", "alternative"):
                if self.undefined_reason(value.child_by_field_name(branch)) is not None:
                    return f"may be undefined ({self.text(value)})"
        if value.type in ("identifier", "shorthand_property_identifier"):
            binding = self.binding(value, self.text(value))
            if self._guarded(value):
                return None
            if binding is not None and binding.type == "optional_parameter":
                return f"may be undefined (optional parameter {self.text(value)})"
            if binding is not None and binding.type == "variable_declarator":
                initial = binding.child_by_field_name("value")
                if initial is not None and self.text(binding.child_by_field_name("name")) == self.text(value):
                    inner = self.undefined_reason(initial)
                    if inner is not None:
                        return f"may be undefined ({self.text(value)} = {self.text(initial)})"
        return None

    def _guarded(self, identifier: Node) -> bool:
        """`if (!tenantId) throw ...`, `assert(tenantId)`, `if (tenantId)` in the function: defined here."""
        function = self.enclosing_function(identifier)
        if function is None:
            return False
        name = re.escape(self.text(identifier))
        body = self.text(function)
        return re.search(
            rf"!\s*{name}\b(?!\s*[.?\[])|\b{name}\s*[!=]==?\s*(?:undefined|null)\b|\b(?:undefined|null)\s*[!=]==?\s*{name}\b"
            rf"|\b(?:assert\w*|invariant|ok)\(\s*{name}\b|typeof\s+{name}\b|\b{name}\s*\?\?=|\bif\s*\(\s*{name}\s*\)",
            body,
        ) is not None

    def _optional_chain(self, node: Node) -> bool:
        while node is not None and node.type in ("member_expression", "subscript_expression", "call_expression"):
            if any(child.type == "optional_chain" for child in node.children):
                return True
            node = node.child_by_field_name("object") or node.child_by_field_name("function")
        return False

    def sort_fields(self, order_by: Node | None) -> tuple[str, ...]:
        if order_by is None:
            return ()
        items = order_by.named_children if order_by.type == "array" else [order_by]
        fields: list[str] = []
        for item in items:
            obj = self.object_of(item)
            for member in obj.named_children if obj is not None else ():
                if member.type == "pair" and self._key(member):
                    fields.append(self._key(member))
        return tuple(fields)

    # --- queries ------------------------------------------------------------

    def client_source(self, client: Node) -> str | None:
        """What a local client name stands for: `const db = tenantDb(req)`, `$transaction(async (tx) => ...)`."""
        while client.type in TRANSPARENT and client.named_children:
            client = client.named_children[0]
        if client.type != "identifier":
            return None
        binding = self.binding(client, self.text(client))
        if binding is None:
            return None
        if binding.type == "variable_declarator":
            value = binding.child_by_field_name("value")
            return self.text(value) if value is not None and self.text(binding.child_by_field_name("name")) == self.text(client) else None
        function = binding.parent.parent if binding.parent is not None and binding.type != "identifier" else binding.parent
        if function is not None and function.type == "arrow_function" and function.parent is not None and function.parent.type == "arguments":
            callee = function.parent.parent.child_by_field_name("function")
            if callee is not None and callee.type == "member_expression" and self.text(callee.child_by_field_name("property")) == "$transaction":
                return self.text(callee.child_by_field_name("object"))
        return None

    def queries(self) -> Iterator[Query]:
        for _, match in self.module.matches(CALLS):
            call, operation = match["call"][0], self.text(match["operation"][0])
            if operation not in READ_OPERATIONS and operation not in WRITE_OPERATIONS:
                continue
            delegate = self.text(match["delegate"][0])
            if delegate.startswith("$"):
                continue
            client = match["client"][0]
            arguments = self.arguments_object(match["arguments"][0])
            if arguments is False:
                query_filter = FilterParts()
                args_known = True
            elif arguments is None:
                query_filter = FilterParts(unknown=True)
                args_known = False
            else:
                where = self.property(arguments, "where")
                query_filter = FilterParts() if where is False else self.filter_of(where if where is not None else None)
                args_known = True
            limited = isinstance(arguments, Node) and self.takes(arguments)
            order_by = self.property(arguments, "orderBy") if isinstance(arguments, Node) else None
            function, function_at = self.qualname(call)
            enclosing = self.enclosing_function(call)
            yield Query(
                orm=PRISMA,
                model=delegate,
                operation=operation,
                kind=READ if operation in READ_OPERATIONS else WRITE,
                client=self.text(client),
                filter=query_filter.freeze(),
                at=self.module.at(call),
                function=function,
                function_at=function_at,
                order_by=self.sort_fields(order_by) if isinstance(order_by, Node) else (),
                has_limit=operation in SINGLE_ROW or limited or (not args_known),
                returns_many=operation in ("findMany", "groupBy", "createManyAndReturn", "updateManyAndReturn"),
                client_source=self.client_source(client),
                binds=self.bound_name(call),
                parameters=self.parameters(enclosing) if enclosing is not None else (),
                # `findMany({ distinct: ["segment"] })`: one row per value, like a groupBy
                terminal="distinct" if isinstance(arguments, Node) and isinstance(self.property(arguments, "distinct"), Node) else None,
            )

    def bound_name(self, call: Node) -> str:
        """`const order = await prisma.order.findFirst(...)` -> "order"."""
        node = call
        while node.parent is not None and node.parent.type in TRANSPARENT:
            node = node.parent
        parent = node.parent
        if parent is not None and parent.type == "variable_declarator" and parent.child_by_field_name("name").type == "identifier":
            return self.text(parent.child_by_field_name("name"))
        return ""

    def parameters(self, function: Node) -> tuple[str, ...]:
        single = function.child_by_field_name("parameter")
        if single is not None:
            return (self.text(single),)
        parameters = function.child_by_field_name("parameters")
        names = []
        for parameter in parameters.named_children if parameters is not None else ():
            pattern = parameter.child_by_field_name("pattern") or parameter
            names.append(self.text(pattern) if pattern.type == "identifier" else "")
        return tuple(names)

    # --- ownership checks, scoped helpers, client input --------------------

    def row_checks(self, keys: tuple[str, ...]) -> Iterator[RowCheck]:
        """`if (!order || order.tenantId !== tenantId) throw ...`: the function leaves on a foreign row."""
        alternatives = "|".join(re.escape(k) for k in keys)
        mismatch = re.compile(rf"([A-Za-z_$][\w$]*)\??\.({alternatives})\s*!==?|!==?\s*([A-Za-z_$][\w$]*)\??\.({alternatives})\b")
        for _, match in self.module.matches(IF_STATEMENTS):
            condition, consequence = self.text(match["condition"][0]), match["consequence"][0]
            if not re.search(r"\b(?:throw|return)\b|\bnext\(", self.text(consequence)):
                continue
            function, function_at = self.qualname(match["if"][0])
            for found in mismatch.finditer(condition):
                variable, key = (found.group(1), found.group(2)) if found.group(1) else (found.group(3), found.group(4))
                yield RowCheck(variable, key, function, self.module.at(match["condition"][0]), f"leaves when {variable}.{key} differs: if {condition}", function_at)

    def scoped_calls(self, keys: tuple[str, ...]) -> Iterator[ScopedCall | IdentityCall]:
        """Calls handing a tenant key (`tenantId`, `req.user.tenantId`) to another function, and
        calls handing it the caller's identity (`req.user.id`; the model says which values are)."""
        for _, match in self.module.matches(ANY_CALL):
            arguments = [self.value_text(a) for a in match["arguments"][0].named_children if a.type != "comment"]
            tenant = any(a.rsplit(".", 1)[-1] in keys for a in arguments)
            identity = [i for i, a in enumerate(arguments) if a.endswith((".id", ".userId", ".sub")) and IDENTITY.search(a)]
            if not tenant and not identity:
                continue
            callee = match["function"][0]
            name = self.text(callee.child_by_field_name("property")) if callee.type == "member_expression" else self.text(callee)
            function, function_at = self.qualname(match["call"][0])
            at = self.module.at(match["call"][0])
            if tenant:
                yield ScopedCall(name, tuple(arguments), function, at, self.bound_name(match["call"][0]), function_at)
            for position in identity:
                yield IdentityCall(name, position, arguments[position], function, at, function_at)

    def client_inputs(self) -> Iterator[ClientInput]:
        """`const { tenantId } = req.params`, `const org = req.query.orgId ?? ...`, `where: { tenantId: req.params.tenantId }`."""
        inputs: list[tuple[str, str, Node]] = []
        for _, match in self.module.matches("(variable_declarator name: (_) @name value: (_) @value) @declarator"):
            value = self._unwrapped(match["value"][0])
            if value.type == "binary_expression" and self.text(value.child_by_field_name("operator")) in ("??", "||"):
                value = self._unwrapped(value.child_by_field_name("left"))  # the client's value wins when present
            found = CLIENT_INPUT.match(self.value_text(value))
            if found is None:
                continue
            name = match["name"][0]
            if name.type == "identifier":
                names = [(self.text(name), name)]
            elif name.type == "object_pattern":
                names = [(self.text(m), m) for m in name.named_children if m.type == "shorthand_property_identifier_pattern"]
                names += [(self.text(m.child_by_field_name("value")), m) for m in name.named_children if m.type == "pair_pattern"]
            else:
                continue
            inputs += [(local, INPUT_SOURCES[found.group(1)], node) for local, node in names]
        for value in self._inline_inputs:
            found = CLIENT_INPUT.match(self.value_text(value))
            if found is not None:
                inputs.append((self.value_text(value), INPUT_SOURCES[found.group(1)], value))
        by_function: dict[int | None, set[str]] = {}
        for local, _, node in inputs:
            function_node = self.enclosing_function(node)
            by_function.setdefault(function_node.id if function_node is not None else None, set()).add(local)
        for local, source, node in inputs:
            function_node = self.enclosing_function(node)
            others = by_function[function_node.id if function_node is not None else None] - {local}
            yield self._input(local, source, node, others)

    def _input(self, name: str, source: str, node: Node, others: set[str]) -> ClientInput:
        function_node = self.enclosing_function(node)
        body = self.text(function_node) if function_node is not None else ""
        function, function_at = self.qualname(node)
        passed = self._passed_to(function_node, name) if function_node is not None else ()
        return ClientInput(name, source, function, self.module.at(node), _compared(name, body, others), passed, function_at)

    def _passed_to(self, function: Node, name: str) -> tuple[tuple[str, str], ...]:
        """`(callee, position)` of the calls in the function that hand `name` on: `this.orders.list(tenantId)`."""
        passed: list[tuple[str, str]] = []
        for call in self.module.captures("(call_expression) @call", function).get("call", []):
            arguments = call.child_by_field_name("arguments")
            callee = call.child_by_field_name("function")
            if arguments is None or callee is None or arguments.type != "arguments":
                continue
            named = [a for a in arguments.named_children if a.type != "comment"]
            last = self.types.name(callee) or self.text(callee).rsplit(".", 1)[-1]  # `C.m` when the receiver's class is known
            passed += [(last, str(i)) for i, a in enumerate(named) if a.type == "identifier" and self.text(a) == name]
        return tuple(dict.fromkeys(passed))

    # --- raw SQL ------------------------------------------------------------

    def raw_sql(self) -> Iterator[RawSql]:
        inside_raw: set[tuple[int, int]] = set()
        for _, match in self.module.matches(MEMBER_CALLS):
            call, method = match["call"][0], self.text(match["method"][0])
            argument = match["arguments"][0]
            if method in RAW_OPERATIONS:
                template = argument if argument.type == "template_string" else self._raw_argument(argument, inside_raw)
                if template is None:
                    continue
                yield self._raw(call, method, template, self.text(match["object"][0]))
            elif method == "sql" and self.text(match["object"][0]) == "Prisma" and argument.type == "template_string":
                if (call.start_byte, call.end_byte) not in inside_raw:
                    yield self._raw(call, "Prisma.sql", argument, "")
            elif method == "query" and argument.type == "arguments":
                first = next(iter(argument.named_children), None)
                if first is not None and first.type in ("string", "template_string") and SQL_START.match(self._literal(first)[0]):
                    yield self._raw(call, "query", first, self.text(match["object"][0]))

    def typed_raw_sql(self) -> Iterator[RawSql]:
        """`prisma.$queryRaw<Row[]>`...``: the type argument wraps the tag (`instantiation_expression`)."""
        for _, match in self.module.matches("(call_expression function: (_) @function arguments: (template_string) @template) @call"):
            tag = match["function"][0]
            if tag.type not in ("instantiation_expression", "non_null_expression"):
                continue  # a plain tag is read by raw_sql
            while tag.type in ("instantiation_expression", "non_null_expression") and tag.named_children:
                tag = tag.named_children[0]
            if tag.type == "member_expression" and self.text(tag.child_by_field_name("property")) in RAW_OPERATIONS:
                yield self._raw(match["call"][0], self.text(tag.child_by_field_name("property")), match["template"][0], self.text(tag.child_by_field_name("object")))

    def _raw_argument(self, arguments: Node, inside_raw: set[tuple[int, int]]) -> Node | None:
        first = next(iter(arguments.named_children), None) if arguments.type == "arguments" else None
        if first is None:
            return None
        if first.type in ("string", "template_string"):
            return first
        if first.type == "call_expression" and self.text(first.child_by_field_name("function")) == "Prisma.sql":
            inside_raw.add((first.start_byte, first.end_byte))
            template = first.child_by_field_name("arguments")
            return template if template is not None and template.type == "template_string" else None
        return None

    def _literal(self, node: Node) -> tuple[str, bool]:
        """The SQL text of a string or template literal, and whether every interpolation is a value."""
        from prodlint import sqltext  # sqlglot, loaded with the first raw SQL string

        if node.type == "string":
            return self.text(node)[1:-1], True
        fragments, current = [], ""
        for child in node.children:
            if child.type == "template_substitution":
                fragments.append(current)
                current = ""
            elif child.type in ("string_fragment", "escape_sequence"):
                current += self.text(child)
        fragments.append(current)
        joined = sqltext.join_interpolated(fragments)
        return (joined if joined is not None else "".join(fragments)), joined is not None

    def _raw(self, call: Node, origin: str, literal: Node, client: str) -> RawSql:
        from prodlint import sqltext

        text, complete = self._literal(literal)
        tables = sqltext.tables_touched(text) if complete else None
        function, function_at = self.qualname(call)
        return RawSql(
            origin=origin,
            text=text,
            at=self.module.at(call),
            tables=tables or (),
            parsed=tables is not None,
            client=client,
            function=function,
            function_at=function_at,
        )

    # --- tenant-scoping extensions -----------------------------------------

    def scoped_clients(self, tenant_keys: tuple[str, ...]) -> Iterator[ScopedClient]:
        for _, match in self.module.matches(MEMBER_CALLS):
            if self.text(match["method"][0]) != "$extends" or match["arguments"][0].type != "arguments":
                continue
            call = match["call"][0]
            first = next(iter(match["arguments"][0].named_children), None)
            component = self._query_component(first) if first is not None else None
            keys = self._mentioned(component, tenant_keys) if component is not None else ()
            if not keys:
                continue
            name, called = self._bound_name(call)
            if name:
                scope, _ = self.qualname(call) if not called else ("", None)
                covers = self._coverage(component, keys)
                yield ScopedClient(name, keys, self.module.at(call), called, scope, covers)

    def _query_component(self, extension: Node) -> Node | None:
        """The `query: {...}` of `$extends({...})`, `$extends(ext)`, `Prisma.defineExtension({...})`."""
        while extension.type in TRANSPARENT and extension.named_children:
            extension = extension.named_children[0]
        if extension.type == "identifier":
            extension = self.const_value(extension) or extension
        if extension.type == "call_expression" and self.text(extension.child_by_field_name("function")).endswith("defineExtension"):
            inner = extension.child_by_field_name("arguments")
            extension = next(iter(inner.named_children), extension) if inner is not None else extension
        if extension.type != "object":
            return None
        component = self.property(extension, "query")
        return component if isinstance(component, Node) else None

    def _mentioned(self, node: Node, tenant_keys: tuple[str, ...]) -> tuple[str, ...]:
        body = self.text(node)
        return tuple(key for key in tenant_keys if re.search(rf"(?<![\w$]){re.escape(key)}(?![\w$])", body))

    def _coverage(self, component: Node, keys: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
        """Which `(delegate, operation)` handlers of a query component inject the key.

        A handler defined elsewhere (`findMany: scoped`) is trusted when the component
        mentions the key at all.
        """
        obj = self.object_of(component)
        if obj is None:
            return (("*", "*"),)
        covers: list[tuple[str, str]] = []
        for key, handler in self._members(obj):
            if key == "$allOperations":
                if self._mentioned(handler, keys):
                    covers.append(("$all", "*"))
                continue
            model = "*" if key == "$allModels" else key
            operations = self.object_of(handler) if handler.type != "method_definition" else None
            if operations is None:
                if handler.type != "method_definition" or self._mentioned(handler, keys):
                    covers.append((model, "*"))
                continue
            for operation, body in self._members(operations):
                if body.type != "method_definition" and body.type not in FUNCTIONS or self._mentioned(body, keys):
                    covers.append((model, "*" if operation == "$allOperations" else operation))
        return tuple(covers)

    def _members(self, obj: Node) -> Iterator[tuple[str, Node]]:
        for member in obj.named_children:
            if member.type == "pair" and self._key(member):
                yield self._key(member), member.child_by_field_name("value")
            elif member.type == "method_definition":
                yield self.text(member.child_by_field_name("name")), member

    def _bound_name(self, call: Node) -> tuple[str, bool]:
        """The name the extended client is bound to, and whether it is a function returning it."""
        node = call
        while node.parent is not None and (
            node.parent.type in TRANSPARENT
            or (node.parent.type == "member_expression" and self.text(node.parent.child_by_field_name("property")) == "$extends")
            or (node.parent.type == "call_expression" and node.parent.child_by_field_name("function") == node)
        ):
            node = node.parent
        parent = node.parent
        if parent is None:
            return "", False
        if parent.type == "variable_declarator":
            return self.text(parent.child_by_field_name("name")), False
        if parent.type == "public_field_definition":
            return "this." + self.text(parent.child_by_field_name("name")), False
        if parent.type == "assignment_expression":
            return self.text(parent.child_by_field_name("left")), False
        if parent.type in ("return_statement", "arrow_function"):
            function = self.enclosing_function(call)
            if function is not None:
                name = self.function_name(function)
                return (name, True) if name != "<anonymous>" else ("", False)
        return "", False


_CAST = re.compile(r"\s+as\s+[\w$.<>\[\]]+")
_SPACE = re.compile(r"\s+")
_PARENTHESISED = re.compile(r"\(([\w$.]+)\)")
_PLAIN = re.compile(r"[\w$.]*")  # nothing to take out


def _normalised(text: str) -> str:
    """`(req.session as any)?.user!` -> `req.session.user`."""
    if _PLAIN.fullmatch(text):
        return text
    text = _CAST.sub("", text.replace("await ", ""))
    text = _SPACE.sub("", text).replace("?.", ".").replace("!", "")
    return _PARENTHESISED.sub(r"\1", text)


def _compared(name: str, body: str, others: set[str]) -> bool:
    """The function compares `name` with something (not a null check), tests membership, or hands
    it to one call together with the caller's identity: then it is checked, not trusted. `others`
    are the function's other client inputs (a `userId` from the path is no identity)."""
    escaped = re.escape(name)
    if re.search(rf"(?<![\w.$]){escaped}\s*[!=]==?\s*(?!\s*(?:undefined|null)\b)[\w$'\"]|[\w$)\]]\s*[!=]==?\s*{escaped}(?![\w$])|\.includes\(\s*{escaped}\s*\)", body):
        return True
    for arguments in re.findall(rf"\(([^()]*(?<![\w.$]){escaped}(?![\w$])[^()]*)\)", body):
        for local in others | {name}:
            arguments = re.sub(rf"(?<![\w.$]){re.escape(local)}(?![\w$])", "", arguments)
        if IDENTITY.search(arguments):
            return True
    return False


@collector
def collect_prisma_queries(module: TsModule) -> Iterable[object]:
    reader = QueryReader(module)
    try:
        facts: list[object] = list(reader.queries())
        facts.extend(collect_calls(module, reader, [f for f in facts if isinstance(f, Query)]))
        facts.extend(reader.raw_sql())
        facts.extend(reader.typed_raw_sql())
        facts.extend(reader.scoped_clients(module.config.tenant_keys))
        keys = module.config.tenant_keys + module.config.tenant_sub_keys
        facts.extend(reader.row_checks(keys))
        facts.extend(reader.scoped_calls(keys))
        facts.extend(reader.client_inputs())
    except RecursionError:
        return []  # a filter nested thousands deep: unknown, not a crash
    return facts


def _is_undefined(node: Node) -> bool:
    return node.type == "undefined" or (node.type == "identifier" and node.text == b"undefined")
