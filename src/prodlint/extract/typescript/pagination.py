"""Express page-size reads (`req.query.limit`, `const { limit } = req.query`) that reach a
page size within the handler (Prisma `take:`, `.limit()`, SQL `LIMIT ${...}`), and what
bounds them: `Math.min`, a helper (resolved by the model from its body), or a validation
schema's max (zod/joi `.max()`, express-validator `isInt({ max })`, class-validator `@Max`).

A read whose value goes where this file cannot follow it is not reported: unknown flow
is not unbounded.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator

from tree_sitter import Node

from prodlint.extract.typescript import TsModule, collector
from prodlint.extract.typescript.prisma_queries import FUNCTIONS, QueryReader
from prodlint.facts.pagination import EXPRESS, Function, PageSizeParam, ParameterUse, SchemaBound, is_page_size_name

QUERY_READS = """
(member_expression
  object: (member_expression property: (property_identifier) @query)
  property: (property_identifier) @param) @read
(subscript_expression
  object: (member_expression property: (property_identifier) @query)
  index: (string (string_fragment) @param)) @read
(variable_declarator
  name: (object_pattern) @pattern
  value: (member_expression property: (property_identifier) @query)) @read
"""
CALLS = "(call_expression function: (_) @callee arguments: (arguments) @arguments) @call"
SCHEMA_PAIRS = "(pair key: (property_identifier) @field value: (call_expression) @rule)"
CLASS_FIELDS = "(public_field_definition decorator: (decorator (call_expression function: (identifier) @decorator)) name: (property_identifier) @field)"

# Wrappers a page size passes through unchanged: `Number(x)`, `parseInt(x, 10)`, `+x`, `x || 20`.
CONVERSIONS = frozenset({"Number", "parseInt", "parseFloat", "String", "Math.abs", "Math.floor", "Math.trunc", "Math.max", "Math.round"})
# Checks that read a value and change nothing: `isNaN(take)` is no clamp and no hand-over.
INSPECTIONS = frozenset({"isNaN", "Number.isNaN", "Number.isInteger", "Number.isFinite", "isFinite", "console.log", "logger.info", "logger.debug"})
WRAPPERS = frozenset({"parenthesized_expression", "await_expression", "as_expression", "non_null_expression", "satisfies_expression", "unary_expression"})
# Object keys and methods that take a page size.
SINK_KEYS = frozenset({"take", "limit", "first", "pageSize", "perPage"})
SINK_METHODS = frozenset({"limit", "take"})
SQL_LIMIT = re.compile(r"\blimit\s*$", re.IGNORECASE)
IDENTIFIERS = frozenset({"identifier", "shorthand_property_identifier"})
BINARY = frozenset({"binary_expression"})


class PageSizeReader:
    def __init__(self, module: TsModule) -> None:
        self.module = module
        self.text = module.text
        self.params = set(module.config.page_params)
        self.scopes = QueryReader(module)
        self._starts: dict[frozenset[str], list[int]] = {}  # start bytes of the file's nodes of some types
        self._named: dict[int, dict[str, list[Node]]] = {}  # function id -> identifiers by text

    def _functions(self) -> list[Node]:
        """The file's functions, outer before inner and later before earlier (the order facts
        have always come in: a walk that takes the last child first)."""
        return sorted(self.module.nodes_of(FUNCTIONS), key=lambda n: (-n.end_byte, n.start_byte))

    def _within(self, kinds: frozenset[str], node: Node) -> list[Node]:
        """The nodes of these types inside `node`, in document order: those of the file within its bytes."""
        found = self.module.nodes_of(kinds)
        starts = self._starts.get(kinds)
        if starts is None:
            starts = self._starts[kinds] = [n.start_byte for n in found]
        return found[bisect_left(starts, node.start_byte):bisect_left(starts, node.end_byte)]

    def _identifiers(self, function: Node) -> dict[str, list[Node]]:
        """The identifiers of a function by their text, last first: the uses `_flow` follows."""
        found = self._named.get(function.id)
        if found is None:
            found = self._named[function.id] = {}
            for node in reversed(self._within(IDENTIFIERS, function)):
                found.setdefault(self.text(node), []).append(node)
        return found

    # --- functions ------------------------------------------------------------

    def functions(self) -> Iterator[Function]:
        calls: dict[int, set[str]] = {}
        for call in self.module.captures(CALLS).get("call", []):
            function = self.scopes.enclosing_function(call)
            callee = call.child_by_field_name("function")
            if function is not None and callee is not None and callee.type in ("identifier", "member_expression"):
                calls.setdefault(function.id, set()).add(" ".join(self.text(callee).split()))
        for node in self._functions():
            if self.scopes._inline_callback(node):
                continue
            body = node.child_by_field_name("body")
            if body is None:
                continue
            name, at = self.scopes.qualname(body)
            if at is not None:
                called = calls.get(node.id, set())
                yield Function(name, at, tuple(sorted(called)), "Math.min" in called or self._compares_parameter(node))

    def _compares_parameter(self, function: Node) -> bool:
        """The body caps a parameter by comparison: `value > MAX ? MAX : value`."""
        parameters = function.child_by_field_name("parameters") or function.child_by_field_name("parameter")
        names = {self.text(n) for n in _walk(parameters) if n.type == "identifier"} if parameters is not None else set()
        for node in self._within(BINARY, function):
            if self.text(node.child_by_field_name("operator")) in (">", ">="):
                if self.text(node.child_by_field_name("left")) in names:
                    return True
        return False

    # --- schemas --------------------------------------------------------------

    def schema_bounds(self) -> Iterator[SchemaBound]:
        for _, match in self.module.matches(SCHEMA_PAIRS):
            field, rule = match["field"][0], match["rule"][0]
            text = self.text(rule)
            if self.text(field) in self.params and ".max(" in text:
                yield SchemaBound(self.text(field), "joi" if text.startswith("Joi.") else "zod", self.module.at(field))
        # class-validator decorates TypeScript class fields; JavaScript has no such node.
        for _, match in self.module.matches(CLASS_FIELDS) if self.module.dialect != "javascript" else ():
            if self.text(match["decorator"][0]) == "Max" and self.text(match["field"][0]) in self.params:
                yield SchemaBound(self.text(match["field"][0]), "class-validator", self.module.at(match["field"][0]))
        for _, match in self.module.matches(CALLS):
            call = match["call"][0]
            if self.text(match["callee"][0]) in ("query", "check") and (field := self._string_argument(match["arguments"][0])) in self.params:
                if self._chain_has_max(call):
                    yield SchemaBound(field, "express-validator", self.module.at(call))

    def _string_argument(self, arguments: Node) -> str | None:
        first = arguments.named_children[0] if arguments.named_children else None
        return self.text(first)[1:-1] if first is not None and first.type == "string" else None

    def _chain_has_max(self, call: Node) -> bool:
        """`query("limit").isInt({ min: 1, max: 100 })`: a `max` anywhere along the chain."""
        current = call
        while current.parent is not None and current.parent.type in ("member_expression", "call_expression"):
            current = current.parent
            if current.type == "call_expression" and re.search(r"\bmax\s*:", self.text(current.child_by_field_name("arguments"))):
                return True
        return False

    # --- reads ----------------------------------------------------------------

    def reads(self) -> Iterator[PageSizeParam]:
        for _, match in self.module.matches(QUERY_READS):
            if self.text(match["query"][0]) != "query":
                continue
            read = match["read"][0]
            function = self.scopes.enclosing_function(read)
            if function is None:
                continue
            if "pattern" in match:
                for name, local, node in self._destructured(match["pattern"][0]):
                    yield from self._judge(name, f"req.query.{name}", node, function, [local], [], [])
            elif is_page_size_name(name := self.text(match["param"][0]), self.params):
                variables, helpers, passes = self._follow(read)
                yield from self._judge(name, f"req.query.{name}", read, function, variables, helpers, passes)

    def _destructured(self, pattern: Node) -> Iterator[tuple[str, str, Node]]:
        for element in pattern.named_children:
            if element.type == "shorthand_property_identifier_pattern":
                name, local = self.text(element), self.text(element)
            elif element.type == "object_assignment_pattern":
                left = element.child_by_field_name("left")
                name = local = self.text(left)
                if left is not None and left.type == "pair_pattern":
                    continue
            elif element.type == "pair_pattern":
                name, local = self.text(element.child_by_field_name("key")), self.text(element.child_by_field_name("value"))
            else:
                continue
            if is_page_size_name(name, self.params) and local.isidentifier():
                yield name, local, element

    def _follow(self, value: Node) -> tuple[list[str], list[str], list[tuple[str, int]]]:
        """Climb through conversions, ternaries and calls: the variables the value ends in, the
        helpers it passed, and the calls it is handed to (`service.list(page, limit)`)."""
        helpers: list[str] = []
        passes: list[tuple[str, int]] = []
        while value.parent is not None:
            parent = value.parent
            if parent.type in WRAPPERS or (parent.type == "binary_expression" and self.text(parent.child_by_field_name("operator")) in ("||", "??")):
                value = parent
            elif parent.type == "ternary_expression" and parent.child_by_field_name("condition") != value:
                value = parent  # `limit ? parseInt(limit) : 100`: either branch is the value
            elif parent.type == "arguments" and parent.parent is not None and parent.parent.type == "call_expression":
                callee = self.text(parent.parent.child_by_field_name("function"))
                if callee == "Math.min":
                    return ["<bounded>"], [], []
                if callee in INSPECTIONS:
                    break
                if callee not in CONVERSIONS:
                    if _last(callee) in SINK_METHODS:
                        break
                    if "." in callee and not callee.startswith("this.") or callee.startswith("this.") and callee.count(".") == 1:
                        arguments = [a for a in parent.named_children if a.type != "comment"]
                        passes.append((" ".join(callee.split()), arguments.index(value)))
                        break
                    helpers.append(callee)
                value = parent.parent
            else:
                break
        parent = value.parent
        if parent is not None and parent.type == "variable_declarator" and parent.child_by_field_name("name").type == "identifier":
            return [self.text(parent.child_by_field_name("name"))], helpers, passes
        if parent is not None and parent.type == "assignment_expression" and parent.child_by_field_name("right") == value:
            left = parent.child_by_field_name("left")
            if left is not None and left.type == "identifier":
                return [self.text(left)], helpers, passes  # `take = parseInt(limit, 10)` inside a branch
        return ["<direct>"] if self._is_sink(value) else [], helpers, passes

    def _flow(self, function: Node, variables: list[str], node: Node | None) -> tuple[bool, bool, list[str], list[tuple[str, int]]]:
        """(bounded, reaches a page size, helpers, calls handed to) of variables within a function,
        following `const x = f(variable)` to further variables."""
        sink, helpers, passes = "<direct>" in variables, [], []
        pending, seen = [v for v in variables if v not in ("<direct>", "<bounded>")], set()
        if "<bounded>" in variables:
            return True, False, [], []
        while pending:
            variable = pending.pop()
            if variable in seen:
                continue
            seen.add(variable)
            for use in self._identifiers(function).get(variable, ()):
                if use == node:
                    continue
                if use.parent is not None and use.parent.type in ("variable_declarator", "required_parameter", "optional_parameter", "assignment_pattern") \
                        and use.parent.child_by_field_name("name" if use.parent.type == "variable_declarator" else "pattern" if use.parent.type != "assignment_pattern" else "left") == use:
                    continue  # the binding itself
                if use.parent is not None and use.parent.type == "assignment_expression" and use.parent.child_by_field_name("left") == use:
                    continue
                targets, passed, handed = self._follow(use)
                if "<bounded>" in targets or self._caps(use):
                    return True, False, [], []
                helpers += passed
                passes += handed
                sink |= "<direct>" in targets or (use.type == "shorthand_property_identifier" and variable in SINK_KEYS)
                pending += [t for t in targets if t not in ("<direct>", "<bounded>")]
        return False, sink, helpers, passes

    def _judge(self, name: str, read: str, node: Node, function: Node, variables: list[str], helpers: list[str],
               passes: list[tuple[str, int]]) -> Iterator[PageSizeParam]:
        bounded, sink, more, handed = self._flow(function, variables, node)
        if bounded:
            return
        helpers, passes = helpers + more, passes + handed
        if sink or passes:
            name_at = node.child_by_field_name("left") if node.type == "object_assignment_pattern" else node
            yield PageSizeParam(name, EXPRESS, read, self.module.at(name_at or node), None, tuple(dict.fromkeys(helpers)),
                                function=self.scopes.qualname(function.child_by_field_name("body") or function)[0],
                                passed_to=() if sink else tuple(dict.fromkeys(passes)))

    def parameter_uses(self) -> Iterator[ParameterUse]:
        """Each function parameter that reaches a page size, is bounded, or is handed on."""
        for node in self._functions():
            if self.scopes._inline_callback(node):
                continue
            parameters = node.child_by_field_name("parameters")
            body = node.child_by_field_name("body")
            if parameters is None or body is None:
                continue
            name, at = self.scopes.qualname(body)
            if at is None:
                continue
            for index, parameter in enumerate(p for p in parameters.named_children if p.type != "comment"):
                identifier = _parameter_name(parameter)
                if identifier is None:
                    continue
                bounded, sink, _, passes = self._flow(node, [self.text(identifier)], identifier)
                if bounded or sink or passes:
                    yield ParameterUse(name, at, index, self.text(identifier), sink, bounded, tuple(dict.fromkeys(passes)))

    def _is_sink(self, value: Node) -> bool:
        parent = value.parent
        if parent is None:
            return False
        if parent.type == "pair":
            return self.text(parent.child_by_field_name("key")) in SINK_KEYS and parent.child_by_field_name("value") == value
        if parent.type == "arguments" and parent.parent is not None:
            return _last(self.text(parent.parent.child_by_field_name("function"))) in SINK_METHODS
        if parent.type == "template_substitution":
            before = value.parent.prev_sibling
            return before is not None and bool(SQL_LIMIT.search(self.text(before)))
        return False

    def _caps(self, use: Node) -> bool:
        parent = use.parent
        if parent is None or parent.type != "binary_expression":
            return False
        operator = self.text(parent.child_by_field_name("operator"))
        side = "left" if operator in (">", ">=") else "right" if operator in ("<", "<=") else None
        return side is not None and parent.child_by_field_name(side) == use


def _parameter_name(parameter: Node) -> Node | None:
    """`limit`, `limit = 20`, `limit: number`, `limit?: number = 20` -> the identifier."""
    if parameter.type == "identifier":
        return parameter
    pattern = parameter.child_by_field_name("pattern") if parameter.type in ("required_parameter", "optional_parameter") else parameter
    if pattern is not None and pattern.type == "assignment_pattern":
        pattern = pattern.child_by_field_name("left")
    return pattern if pattern is not None and pattern.type == "identifier" else None


def _last(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _walk(node: Node | None) -> Iterator[Node]:
    stack = [node] if node is not None else []
    while stack:
        current = stack.pop()
        yield current
        stack.extend(current.children)


@collector
def collect_pagination(module: TsModule) -> Iterable[object]:
    reader = PageSizeReader(module)
    return [*reader.functions(), *reader.schema_bounds(), *reader.reads(), *reader.parameter_uses()]
