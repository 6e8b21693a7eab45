"""Express routers, routes, mounts and middleware, from one TypeScript/JavaScript file.

`app.use(x)` has the same shape whether `x` is a router or middleware: every
argument is recorded as a candidate `Mount`, and the project model, which can
resolve `x` across files, decides which it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from prodlint.extract.typescript import TsModule, collector
from prodlint.lines import split_lines
from prodlint.extract.typescript.modules import (
    Node,
    dotted,
    enclosing_class,
    module_constants,
    read_imports,
    required,
    scope_of,
    string_value,
    unwrap,
)
from prodlint.extract.python.routes import commented_public
from prodlint.facts.modules import Import, scope_chain
from prodlint.facts.routes import EXPRESS, Check, Escape, Mount, Route, Router, RouterRef

HTTP_METHODS = ("get", "post", "put", "patch", "delete", "options", "head", "all")
CHAINABLE = (*HTTP_METHODS, "use")
ROUTER_PACKAGES = ("express-promise-router", "express-async-router", "express-router-async")
MARKERS = (b"express", b"Router", b".use(", b".route(", *(f".{verb}(".encode() for verb in HTTP_METHODS))
FUNCTION_NODES = ("arrow_function", "function_expression", "function")

CALLS = """
(call_expression
  function: (member_expression object: (_) @receiver property: (property_identifier) @verb)
  arguments: (arguments) @arguments) @call
"""
CREATIONS = "[(call_expression) (new_expression)] @creation"
RETURNS = "(return_statement (identifier) @name)"
DECLARATORS = "(variable_declarator name: (identifier) @name value: (_) @value)"


def _last(name: str) -> str:
    return name.rsplit(".", 1)[-1]


class ExpressFile:
    def __init__(self, module: TsModule) -> None:
        self.module = module
        self.path = module.path
        self.imports: list[Import] = list(read_imports(module))
        self.imported = {i.local for i in self.imports if not i.type_only}
        self.constants = module_constants(module)
        self.guards = set(module.config.route_guards)
        self.express = {i.local for i in self.imports if i.source == "express" and i.imported in ("default", "*")}
        self.router_factories = {
            i.local for i in self.imports
            if (i.source == "express" and i.imported == "Router") or (i.source in ROUTER_PACKAGES and i.imported in ("default", "*"))
        }
        self.routers: dict[tuple[str, str], Router] = {}
        self.creations: dict[int, str] = {}  # node id of `Router()` -> the name it is bound to
        self.handled: set[int] = set()  # calls read as routes or mounts: their arguments are not escapes
        self.facts: list[object] = []
        self.lines = split_lines(module.source.decode("utf-8", "replace"))

    # --- routers ----------------------------------------------------------------------------

    def creation_kind(self, node: Node) -> str | None:
        callee = unwrap(node.child_by_field_name("function") or node.child_by_field_name("constructor"))
        if callee is None:
            return None
        if required(callee) == "express":  # require('express')()
            return "app"
        if required(callee) in ROUTER_PACKAGES:
            return "router"
        if callee.type == "member_expression" and required(callee.child_by_field_name("object")) == "express":
            prop = callee.child_by_field_name("property")
            return "router" if prop is not None and prop.text == b"Router" else None
        name = dotted(callee)
        if name is None:
            return None
        if name in self.express:
            return "app"
        if name in self.router_factories:
            return "router"
        head, _, rest = name.partition(".")
        if head in self.express and rest == "Router":
            return "router"
        return None

    def find_routers(self) -> None:
        returned = {(scope_of(node), node.text.decode()) for node in self.module.captures(RETURNS).get("name", []) if node.text}
        for creation in self.module.captures(CREATIONS).get("creation", []):
            kind = self.creation_kind(creation)
            if kind is None:
                continue
            top = self.chain_top(creation)
            holder = top.parent
            while holder is not None and holder.type in ("parenthesized_expression", "as_expression", "non_null_expression", "satisfies_expression"):
                holder = holder.parent
            name, scope = self.binding(creation, holder)
            if name is None:
                continue
            self.creations[creation.id] = name
            self.routers[(scope, name)] = Router(
                name=name,
                kind=kind,
                framework=EXPRESS,
                at=self.module.at(holder if holder is not None and holder.type != "return_statement" else creation),
                scope=scope,
                returned=(scope, name) in returned or (holder is not None and holder.type in ("return_statement", "arrow_function")),
            )

    def binding(self, creation: Node, holder: Node | None) -> tuple[str | None, str]:
        """The name a new router is bound to: a variable, a class field, `this.x = Router()`, or "" when returned."""
        if holder is None:
            return None, ""
        scope = scope_of(creation)
        if holder.type == "variable_declarator":
            name = holder.child_by_field_name("name")
            return (name.text.decode() if name is not None and name.type == "identifier" and name.text else None), scope
        if holder.type in ("public_field_definition", "field_definition"):
            owner = enclosing_class(holder)
            field = holder.child_by_field_name("name") or holder.child_by_field_name("property")
            if owner and field is not None and field.text:
                return f"{owner}.{field.text.decode()}", scope
        if holder.type == "assignment_expression":
            return dotted(holder.child_by_field_name("left")), scope
        if holder.type == "return_statement" or holder.type == "arrow_function":
            return "", scope
        if holder.type == "export_statement":
            return "default", scope  # `export default Router().use(...)`
        return None, scope

    def chain_top(self, node: Node) -> Node:
        """`Router().use(a).get('/x', h)`: the outermost call of a chain on a new router."""
        while True:
            member = node.parent
            call = member.parent if member is not None else None
            if member is None or member.type != "member_expression" or call is None or call.type != "call_expression":
                return node
            if self.chained_verb(call) not in CHAINABLE:
                return node
            node = call

    def chain_base(self, node: Node | None) -> Node | None:
        """The router a chain of `.use()` / `.get()` calls starts from."""
        node = unwrap(node)
        while node is not None and node.type == "call_expression" and self.chained_verb(node) in CHAINABLE and node.id not in self.creations:
            node = unwrap(node.child_by_field_name("function").child_by_field_name("object"))  # type: ignore[union-attr]
        return node

    def receiver_name(self, node: Node | None) -> str | None:
        base = self.chain_base(node)
        if base is not None and base.id in self.creations:
            return self.creations[base.id]
        return dotted(base)

    def local_router(self, name: str, scope: str) -> Router | None:
        return next((self.routers[(s, name)] for s in scope_chain(scope) if (s, name) in self.routers), None)

    def known(self, name: str, scope: str) -> bool:
        """Could this receiver be a router? A local router, or a name bound by an import."""
        return name.split(".")[0] in self.imported or self.local_router(name, scope) is not None

    # --- routes and mounts ---------------------------------------------------------------------

    def run(self) -> list[object]:
        self.find_routers()
        for match in self.module.matches(CALLS):
            captures = match[1]
            call, receiver, verb = captures["call"][0], captures["receiver"][0], captures["verb"][0].text.decode()  # type: ignore[union-attr]
            arguments = [a for a in captures["arguments"][0].named_children if a.type != "comment"]
            if verb in HTTP_METHODS:
                # In a chain (`.route('/x').get(a).post(b)`) the call starts at the chain's start: point at the verb.
                chained = unwrap(receiver) is not None and unwrap(receiver).type == "call_expression"  # type: ignore[union-attr]
                self.read_route(call, receiver, verb, arguments, captures["verb"][0] if chained else call)
            elif verb == "use":
                self.read_use(call, receiver, arguments)
        self.find_escapes()
        routers = sorted(self.routers.values(), key=lambda r: (r.at.line, r.at.column))
        return [*routers, *self.facts]

    def read_route(self, call: Node, receiver: Node, verb: str, arguments: list[Node], anchor: Node) -> None:
        receiver = unwrap(receiver)  # type: ignore[assignment]
        path_node: Node | None
        # router.route('/x').get(a).post(b): walk down the chain to `.route(path)`.
        while receiver is not None and receiver.type == "call_expression" and self.chained_verb(receiver) in HTTP_METHODS:
            receiver = unwrap(receiver.child_by_field_name("function").child_by_field_name("object"))  # type: ignore[union-attr]
        if receiver is not None and receiver.type == "call_expression" and self.chained_verb(receiver) == "route":
            route_arguments = receiver.child_by_field_name("arguments")
            path_node = route_arguments.named_children[0] if route_arguments is not None and route_arguments.named_children else None
            base = receiver.child_by_field_name("function").child_by_field_name("object")  # type: ignore[union-attr]
            handlers = arguments
        else:
            if len(arguments) < 2:
                return  # `app.get('env')` reads a setting
            base, path_node, handlers = receiver, arguments[0], arguments[1:]
        scope = scope_of(call)
        name = self.receiver_name(base)
        if name is None or not self.known(name, scope) or not handlers:
            return
        self.handled.add(call.id)
        path = string_value(path_node, self.constants)
        handler = self.handler(handlers[-1])
        self.facts.append(Route(
            router=RouterRef(self.path, name, scope),
            methods=(verb.upper(),),
            path=path,
            handler=dotted(handler) if handler is not None else None,
            handler_at=self.module.at(handler if handler is not None else handlers[-1]),
            middleware=tuple(n for h in handlers[:-1] for n in self.names(h)),
            at=self.module.at(anchor),
            framework=EXPRESS,
            path_source=self.module.text(path_node) if path is None and path_node is not None else None,
            declared_public=commented_public(self.lines, self.statement_line(call), "//"),
            branch=branch(call),
        ))

    @staticmethod
    def statement_line(node: Node) -> int:
        """The first line of the statement holding this call (a `router.route(...)` chain starts there)."""
        while node.parent is not None and node.parent.type not in ("program", "statement_block"):
            node = node.parent
        return node.start_point[0] + 1

    @staticmethod
    def chained_verb(call: Node) -> str | None:
        function = call.child_by_field_name("function")
        if function is None or function.type != "member_expression":
            return None
        prop = function.child_by_field_name("property")
        return prop.text.decode() if prop is not None and prop.text else None

    def handler(self, node: Node) -> Node | None:
        """The handler's name node: `ctrl.list`, or the function wrapped by `asyncHandler(ctrl.list)`; None inline."""
        node = unwrap(node)  # type: ignore[assignment]
        if node is None or node.type in FUNCTION_NODES:
            return None
        if node.type == "call_expression":
            arguments = node.child_by_field_name("arguments")
            inner = arguments.named_children[0] if arguments is not None and arguments.named_children else None
            return self.handler(inner) if inner is not None else None
        return node if dotted(node) is not None else None

    def names(self, node: Node) -> list[str]:
        """Middleware names: `authenticate`, `authorize('admin')` -> authorize, arrays flattened."""
        node = unwrap(node)  # type: ignore[assignment]
        if node is None:
            return []
        if node.type == "array":
            return [n for element in node.named_children for n in self.names(element)]
        if node.type == "spread_element":  # `...adminOnly`
            return [n for element in node.named_children for n in self.names(element)]
        if node.type == "call_expression":
            name = dotted(node.child_by_field_name("function"))
            return [name] if name else []
        name = dotted(node)
        return [name] if name else []

    def read_use(self, call: Node, receiver: Node, arguments: list[Node]) -> None:
        scope = scope_of(call)
        parent = self.receiver_name(receiver)
        if parent is None or not self.known(parent, scope) or not arguments:
            return
        self.handled.add(call.id)
        expansions = list(self.loop_bindings(call)) or [{}]
        for bindings in expansions:
            resolved = [self.substitute(a, bindings) for a in arguments]
            prefix, prefix_source, handlers = self.split_prefix(resolved, scope)
            for position, handler in enumerate(handlers):
                for child in self.children(handler, scope):
                    self.facts.append(Mount(
                        parent=RouterRef(self.path, parent, scope),
                        prefix=prefix,
                        child=child,
                        middleware=tuple(n for h in handlers[:position] for n in self.names(h)),
                        at=self.module.at(call),
                        framework=EXPRESS,
                        prefix_source=prefix_source,
                        branch=branch(call),
                    ))

    def split_prefix(self, arguments: list[Node], scope: str) -> tuple[str | None, str | None, list[Node]]:
        first = unwrap(arguments[0])
        if first is None:
            return "", None, arguments
        if first.type in ("string", "template_string", "binary_expression", "property_identifier"):
            value = string_value(first, self.constants)
            return value, self.module.text(first) if value is None else None, arguments[1:]
        if first.type in ("identifier", "member_expression") and len(arguments) > 1:
            value = string_value(first, self.constants)
            if value is not None:
                return value, None, arguments[1:]
            name = dotted(first) or ""
            looks_like_handler = name in self.guards or _last(name) in self.guards or self.local_router(name, scope) is not None
            if not looks_like_handler and not _last(name).lower().endswith(("router", "routes", "middleware")):
                return None, self.module.text(first), arguments[1:]  # a path computed at run time
        if first.type == "array" and len(arguments) > 1 and all(e.type == "string" for e in first.named_children):
            return None, self.module.text(first), arguments[1:]  # several paths: not one prefix
        return "", None, arguments

    def children(self, node: Node, scope: str) -> Iterator[RouterRef]:
        """What `use` may mount: a name, `require('./x')(.y)`, a factory call; arrays flattened."""
        node = unwrap(node)  # type: ignore[assignment]
        if node is None:
            return
        if node.type == "array":
            for element in node.named_children:
                yield from self.children(element, scope)
            return
        specifier = required(node)
        if specifier is not None:
            yield RouterRef(self.path, "", scope, module=specifier)
            return
        if node.type == "member_expression" and required(node.child_by_field_name("object")) is not None:
            prop = node.child_by_field_name("property")
            yield RouterRef(self.path, prop.text.decode() if prop and prop.text else "", scope,  # type: ignore[union-attr]
                            module=required(node.child_by_field_name("object")))
            return
        if node.type == "call_expression":
            callee = dotted(node.child_by_field_name("function"))
            if callee:
                yield RouterRef(self.path, callee, scope, called=True)
            return
        name = dotted(node)
        if name:
            yield RouterRef(self.path, name, scope)

    # --- routers mounted in a loop --------------------------------------------------------------

    def loop_bindings(self, call: Node) -> Iterator[dict[str, Node]]:
        """`for (const r of routes)` / `routes.forEach(({ path, router }) => ...)` over a literal in this file."""
        current = call.parent
        while current is not None:
            if current.type == "for_in_statement":
                pattern = current.child_by_field_name("left")
                elements = self.elements(current.child_by_field_name("right"))
                if pattern is not None and elements is not None:
                    yield from (self.bind(pattern, element) for element in elements)
                return
            if current.type in FUNCTION_NODES and current.parent is not None and current.parent.type == "arguments":
                invocation = current.parent.parent
                function = invocation.child_by_field_name("function") if invocation is not None else None
                if function is not None and function.type == "member_expression" and self.chained_verb(invocation) in ("forEach", "map"):  # type: ignore[arg-type]
                    parameters = current.child_by_field_name("parameters") or current.child_by_field_name("parameter")
                    pattern = parameters.named_children[0] if parameters is not None and parameters.type == "formal_parameters" and parameters.named_children else parameters
                    if pattern is not None and pattern.type in ("required_parameter", "optional_parameter"):
                        pattern = pattern.child_by_field_name("pattern")
                    elements = self.elements(function.child_by_field_name("object"))
                    if pattern is not None and elements is not None:
                        yield from (self.bind(pattern, element) for element in elements)
                    return
            current = current.parent

    def elements(self, node: Node | None) -> list[Node | tuple[Node, Node]] | None:
        """Elements of an array literal, or the (key, value) entries / values of an object literal."""
        node = unwrap(node)
        if node is None:
            return None
        if node.type == "call_expression" and dotted(node.child_by_field_name("function")) in ("Object.entries", "Object.values"):
            arguments = node.child_by_field_name("arguments")
            target = self.literal(arguments.named_children[0]) if arguments is not None and arguments.named_children else None
            if target is None or target.type != "object":
                return None
            pairs = [(p.child_by_field_name("key"), p.child_by_field_name("value")) for p in target.named_children if p.type == "pair"]
            if dotted(node.child_by_field_name("function")) == "Object.values":
                return [value for _, value in pairs if value is not None]
            return [(key, value) for key, value in pairs if key is not None and value is not None]
        target = self.literal(node)
        if target is None or target.type != "array":
            return None
        return list(target.named_children)

    def literal(self, node: Node) -> Node | None:
        node = unwrap(node)  # type: ignore[assignment]
        if node is None or node.type in ("array", "object"):
            return node
        if node.type != "identifier":
            return None
        for match in self.module.matches(DECLARATORS):
            name, value = match[1]["name"][0], unwrap(match[1]["value"][0])
            if name.text == node.text and value is not None and value.type in ("array", "object"):
                return value
        return None

    def bind(self, pattern: Node, element: Node | tuple[Node, Node]) -> dict[str, Node]:
        if pattern.type == "lexical_declaration" or pattern.type == "variable_declarator":
            pattern = pattern.named_children[0]
        if pattern.type == "identifier" and pattern.text and not isinstance(element, tuple):
            return {pattern.text.decode(): element}
        if pattern.type == "array_pattern":
            parts = element if isinstance(element, tuple) else tuple(unwrap(element).named_children)  # type: ignore[union-attr]
            return {p.text.decode(): v for p, v in zip(pattern.named_children, parts) if p.type == "identifier" and p.text}
        if pattern.type == "object_pattern" and not isinstance(element, tuple):
            bound = {}
            for part in pattern.named_children:
                if part.type == "shorthand_property_identifier_pattern" and part.text:
                    value = self.property(element, part.text.decode())
                    if value is not None:
                        bound[part.text.decode()] = value
            return bound
        return {}

    @staticmethod
    def property(node: Node, key: str) -> Node | None:
        node = unwrap(node)  # type: ignore[assignment]
        if node is None or node.type != "object":
            return None
        for part in node.named_children:
            if part.type == "pair":
                name = part.child_by_field_name("key")
                if name is not None and name.text and name.text.decode().strip("'\"") == key:
                    return part.child_by_field_name("value")
            elif part.type == "shorthand_property_identifier" and part.text == key.encode():
                return part
        return None

    def substitute(self, node: Node, bindings: dict[str, Node]) -> Node:
        if not bindings:
            return node
        inner = unwrap(node)
        if inner is not None and inner.type == "identifier" and inner.text and inner.text.decode() in bindings:
            return bindings[inner.text.decode()]
        if inner is not None and inner.type == "member_expression":
            base = inner.child_by_field_name("object")
            prop = inner.child_by_field_name("property")
            if base is not None and base.type == "identifier" and base.text and base.text.decode() in bindings and prop is not None and prop.text:
                value = self.property(bindings[base.text.decode()], prop.text.decode())
                if value is not None:
                    return value
        return node

    # --- escapes -------------------------------------------------------------------------------

    def find_escapes(self) -> None:
        """Local routers and imported names passed to other calls or stored in literals: possibly mounted."""
        candidates = {name for _, name in self.routers} | self.imported
        for node in self.module.captures("[(arguments (_) @value) (array (_) @value) (pair value: (_) @value) (object (shorthand_property_identifier) @value)]").get("value", []):
            container = node.parent
            if container is not None and container.type == "arguments" and container.parent is not None and container.parent.id in self.handled:
                continue
            if container is not None and container.type == "pair":
                container = container.parent
            if container is not None and container.type == "object" and self.in_export(container):
                continue
            name = dotted(node)
            if name is None or (name.split(".")[0] not in candidates and name not in candidates):
                continue
            if container is not None and container.type == "arguments" and required(container.parent) is not None:
                continue
            self.facts.append(Escape(RouterRef(self.path, name, scope_of(node)), self.module.at(node)))

    @staticmethod
    def in_export(node: Node) -> bool:
        """`module.exports = { router }` exports, it does not hand the router to unknown code."""
        parent = node.parent
        return parent is not None and parent.type == "assignment_expression" and dotted(parent.child_by_field_name("left")) == "module.exports"


# --- what a function does with the request (guards) ---------------------------------------------

REQUEST_PARTS = frozenset({"headers", "header", "get", "cookies", "signedCookies", "session", "user", "auth", "isAuthenticated"})
AUTH_PARTS = frozenset({"cookies", "signedCookies", "session", "user", "auth", "isAuthenticated"})
VERIFY_CALLS = frozenset({"verify", "verifyIdToken", "verifyToken", "jwtVerify", "getAuth", "verifySessionCookie"})
REJECT_CALLS = frozenset({"status", "sendStatus"})
AUTH_ERROR = re.compile(r"Unauthori[sz]ed|Forbidden|PermissionDenied|NotAuthenticated|AuthenticationError|AuthError|InvalidToken")
REJECT_STATUS = re.compile(r"\b40[13]\b|UNAUTHORI[SZ]ED|FORBIDDEN")
OPENING_STATEMENTS = 3
FUNCTION_VALUES = ("arrow_function", "function_expression", "function")


def _descendants(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.named_children))


class RequestChecks:
    """`Check` facts for the functions, class members, object-literal methods and middleware arrays of a file."""

    def __init__(self, module: TsModule) -> None:
        self.module = module

    def run(self) -> Iterator[Check]:
        root = self.module.tree.root_node
        for statement in root.named_children:
            declaration = statement.child_by_field_name("declaration") if statement.type == "export_statement" else statement
            if declaration is None:
                continue
            if declaration.type in ("function_declaration", "generator_function_declaration"):
                name = declaration.child_by_field_name("name")
                if name is not None and name.text:
                    yield self.check(name.text.decode(), declaration)
            elif declaration.type in ("lexical_declaration", "variable_declaration"):
                for declarator in declaration.named_children:
                    if declarator.type == "variable_declarator":
                        yield from self.declarator(declarator)
            elif declaration.type in ("class_declaration", "abstract_class_declaration"):
                yield from self.members(declaration)

    def declarator(self, declarator: Node) -> Iterator[Check]:
        name, value = declarator.child_by_field_name("name"), unwrap(declarator.child_by_field_name("value"))
        if name is None or name.type != "identifier" or not name.text or value is None:
            return
        bound = name.text.decode()
        if value.type in FUNCTION_VALUES:
            yield self.check(bound, value)
        elif value.type == "array":
            uses = tuple(n for element in value.named_children if (n := _callee(element)))
            if uses:
                yield Check(bound, self.module.at(declarator), uses=uses)
        elif value.type == "object":
            for pair in value.named_children:
                key, inner = pair.child_by_field_name("key"), unwrap(pair.child_by_field_name("value"))
                if pair.type == "pair" and key is not None and key.text and inner is not None and inner.type in FUNCTION_VALUES:
                    yield self.check(f"{bound}.{key.text.decode()}", inner)
                elif pair.type == "method_definition" and key is None:
                    method = pair.child_by_field_name("name")
                    if method is not None and method.text:
                        yield self.check(f"{bound}.{method.text.decode()}", pair)

    def members(self, declaration: Node) -> Iterator[Check]:
        owner = declaration.child_by_field_name("name")
        body = declaration.child_by_field_name("body")
        if owner is None or not owner.text or body is None:
            return
        for member in body.named_children:
            name = member.child_by_field_name("name") or member.child_by_field_name("property")
            if name is None or not name.text:
                continue
            if member.type == "method_definition":
                yield self.check(f"{owner.text.decode()}.{name.text.decode()}", member)
            elif member.type in ("public_field_definition", "field_definition"):
                value = unwrap(member.child_by_field_name("value"))
                if value is not None and value.type in FUNCTION_VALUES:
                    yield self.check(f"{owner.text.decode()}.{name.text.decode()}", value)

    def check(self, name: str, function: Node) -> Check:
        body = function.child_by_field_name("body")
        nodes = list(_descendants(body)) if body is not None else []
        requests = {"req", "request"} | self.parameters(nodes + [function])
        reads, rejects, where = self.scan(nodes, requests)
        opening = self.opening(body)
        opening_reads, opening_rejects, opening_where = self.scan([n for s in opening for n in _descendants(s)], requests)
        uses = tuple(dict.fromkeys(n for node in nodes if node.type == "call_expression" and (n := dotted(node.child_by_field_name("function")))))
        return Check(
            name=name,
            at=self.module.at(function),
            reads=reads,
            rejects=rejects,
            evidence=self.module.at(where) if reads and where is not None else None,
            uses=uses,
            opening=self.module.at(opening_where) if opening_reads and opening_rejects and opening_where is not None else None,
        )

    @staticmethod
    def parameters(nodes: list[Node]) -> set[str]:
        """The first parameter of every function here: the request, whatever it is called."""
        names = set()
        for node in nodes:
            if node.type in FUNCTION_NODES or node.type in ("function_declaration", "method_definition"):
                parameters = node.child_by_field_name("parameters") or node.child_by_field_name("parameter")
                first = parameters.named_children[0] if parameters is not None and parameters.type == "formal_parameters" and parameters.named_children else parameters
                if first is not None and first.type in ("required_parameter", "optional_parameter"):
                    first = first.child_by_field_name("pattern")
                if first is not None and first.type == "identifier" and first.text:
                    names.add(first.text.decode())
        return names

    @staticmethod
    def opening(body: Node | None) -> list[Node]:
        if body is None or body.type != "statement_block":
            return []
        statements = [s for s in body.named_children if s.type != "comment"]
        if statements and statements[0].type == "try_statement":
            block = statements[0].child_by_field_name("body")
            statements = [s for s in (block.named_children if block is not None else []) if s.type != "comment"] + statements[1:]
        return statements[:OPENING_STATEMENTS]

    def scan(self, nodes: list[Node], requests: set[str]) -> tuple[str | None, str | None, Node | None]:
        """The credential read and the rejection that answers its absence (or a wrong value).

        A rejection counts only when it is tied to the credential: inside `if (!token)`,
        `if (secret !== expected)`, the `else` of `if (req.session.user)`, or the `catch` of a
        verification. A tenant or validation middleware rejects for other reasons.
        """
        strong: str | None = None
        weak: str | None = None
        credentials: set[str] = set()  # the credential expressions as written, and variables holding them
        for node in nodes:
            read = self.credential(node, requests)
            if read is not None:
                kind, text = read
                strong = strong or (text if kind == "strong" else None)
                weak = weak or text
                credentials.add(self.module.text(self.read_extent(node)))
        for node in nodes:
            if node.type == "variable_declarator":
                value = node.child_by_field_name("value")
                target = node.child_by_field_name("name")
                if value is not None and target is not None and any(c in self.module.text(value) for c in credentials):
                    credentials.update(t.text.decode() for t in _descendants(target) if t.type in ("identifier", "shorthand_property_identifier_pattern") and t.text)
        reads = strong or weak
        if reads is None:
            return None, None, None
        for node in nodes:
            rejects = self.rejection(node, strong is not None)
            if rejects is not None and self.tied(node, credentials, strong is not None):
                return reads, rejects, node
        return reads, None, None

    def credential(self, node: Node, requests: set[str]) -> tuple[str, str] | None:
        """("strong" | "weak", text) for `req.headers.authorization`, `req.session`, `jwt.verify(...)`, `req.get('x-key')`."""
        if node.type == "member_expression":
            base, prop = unwrap(node.child_by_field_name("object")), node.child_by_field_name("property")
            if base is None or base.type != "identifier" or not base.text or base.text.decode() not in requests or prop is None or not prop.text:
                return None
            part, text = prop.text.decode(), f"{base.text.decode()}.{prop.text.decode()}"
            if part in AUTH_PARTS:
                return "strong", text
            if part in REQUEST_PARTS:
                accessed = self.module.text(self.read_extent(node)).lower()
                return ("strong" if "auth" in accessed or "token" in accessed else "weak"), text
        elif node.type == "call_expression":
            callee = dotted(node.child_by_field_name("function")) or ""
            if callee.rsplit(".", 1)[-1] in VERIFY_CALLS:
                return "strong", callee
        return None

    @staticmethod
    def read_extent(node: Node) -> Node:
        """`req.headers.authorization`, `req.get('x-key')`: the whole read, not just `req.headers`."""
        while node.parent is not None and (
            (node.parent.type in ("member_expression", "subscript_expression") and node.parent.child_by_field_name("object") == node)
            or (node.parent.type == "call_expression" and node.parent.child_by_field_name("function") == node)
        ):
            node = node.parent
        return node

    def rejection(self, node: Node, strong: bool) -> str | None:
        if node.type == "call_expression":
            callee = dotted(node.child_by_field_name("function")) or ""
            last = callee.rsplit(".", 1)[-1]
            if last in REJECT_CALLS:
                found = REJECT_STATUS.search(self.module.text(node.child_by_field_name("arguments")))
                return found.group(0) if found else None
            if callee == "next" and strong:
                arguments = node.child_by_field_name("arguments")
                return "next(err)" if arguments is not None and arguments.named_children else None
        elif node.type == "throw_statement":
            text = self.module.text(node)
            if REJECT_STATUS.search(text) or AUTH_ERROR.search(text):
                return "throw"
        return None

    def tied(self, node: Node, credentials: set[str], strong: bool) -> bool:
        """Is this rejection the answer to a missing or wrong credential?"""
        current, child = node.parent, node
        while current is not None and current.type not in FUNCTION_NODES + ("function_declaration", "method_definition"):
            if current.type == "catch_clause":
                return strong  # the verification threw
            if current.type in ("if_statement", "ternary_expression"):
                condition = self.module.text(current.child_by_field_name("condition"))
                alternative = current.child_by_field_name("alternative")
                inside_else = alternative is not None and alternative.start_byte <= child.start_byte < alternative.end_byte
                for name in credentials:
                    if inside_else and name in condition:
                        return True
                    if not inside_else and _negated(name, condition):
                        return True
            child, current = current, current.parent
        return False


def _negated(name: str, condition: str) -> bool:
    """`!token`, `!req.session.user`, `secret !== expected`, `user == null`: the credential is absent or wrong."""
    escaped = re.escape(name)
    return bool(
        re.search(rf"!\s*\(?\s*{escaped}(?![\w.$])", condition)
        or re.search(rf"(?<![\w.$]){escaped}\s*(!==?|===?\s*(undefined|null)\b)", condition)
        or re.search(rf"!==?\s*{escaped}(?![\w.$])", condition)
    )


def branch(node: Node) -> tuple[tuple[int, int, int], ...]:
    """The `if` arms this node sits in, outermost first: (line, column, 0 consequence, 1 else)."""
    arms = []
    child, current = node, node.parent
    while current is not None:
        if current.type == "if_statement":
            alternative = current.child_by_field_name("alternative")
            consequence = current.child_by_field_name("consequence")
            if consequence is not None and consequence.start_byte <= child.start_byte < consequence.end_byte:
                arms.append((current.start_point[0] + 1, current.start_point[1] + 1, 0))
            elif alternative is not None and alternative.start_byte <= child.start_byte < alternative.end_byte:
                arms.append((current.start_point[0] + 1, current.start_point[1] + 1, 1))
        child, current = current, current.parent
    return tuple(reversed(arms))


def _callee(node: Node) -> str | None:
    """`requireAuth` or `requireRole('ADMIN')` in a middleware array: the function's name."""
    node = unwrap(node)  # type: ignore[assignment]
    if node is not None and node.type == "call_expression":
        return dotted(node.child_by_field_name("function"))
    return dotted(node)


REQUEST_MARKERS = (b"req", b"request", b"Request")


@collector
def request_checks(module: TsModule) -> Iterator[object]:
    if not any(marker in module.source for marker in REQUEST_MARKERS):
        return
    yield from RequestChecks(module).run()


@collector
def express_routes(module: TsModule) -> Iterator[object]:
    if not any(marker in module.source for marker in MARKERS):
        return  # most files define no route: skip the queries
    yield from ExpressFile(module).run()
