"""FastAPI and Flask routes, routers, mounts and guards, from one Python file.

Names are recorded as written and resolved across files by the project model.
A path or prefix that is not a literal (or a module-level string constant) is
recorded as None with its source text: it is never guessed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from prodlint.extract.python import PyModule, collector
from prodlint.extract.python.modules import dotted_name, scoped_statements
from prodlint.facts import Location
from prodlint.facts.modules import scope_chain
from prodlint.facts.routes import (
    FASTAPI,
    FLASK,
    Dependency,
    Escape,
    Middleware,
    Mount,
    Route,
    Router,
    RouterRef,
)

FACTORIES = {
    "fastapi.FastAPI": ("app", FASTAPI),
    "fastapi.applications.FastAPI": ("app", FASTAPI),
    "fastapi.APIRouter": ("router", FASTAPI),
    "fastapi.routing.APIRouter": ("router", FASTAPI),
    "flask.Flask": ("app", FLASK),
    "flask.Blueprint": ("router", FLASK),
    "flask.blueprints.Blueprint": ("router", FLASK),
    "apiflask.APIFlask": ("app", FLASK),
    "apiflask.APIBlueprint": ("router", FLASK),
    "flask_smorest.Blueprint": ("router", FLASK),
}
HTTP_METHODS = ("get", "post", "put", "patch", "delete", "options", "head", "trace")
SECURITY_SCHEMES = (
    "OAuth2PasswordBearer", "OAuth2AuthorizationCodeBearer", "OAuth2", "OpenIdConnect",
    "HTTPBearer", "HTTPBasic", "HTTPDigest", "APIKeyHeader", "APIKeyCookie", "APIKeyQuery",
)
DEPENDENCY_MARKERS = ("Depends", "Security")
# Annotations that are plain types, never an `Annotated[..., Depends()]` alias.
PLAIN_TYPES = frozenset({
    "int", "str", "float", "bool", "bytes", "dict", "list", "set", "tuple", "Any", "None", "UUID",
    "datetime", "date", "Request", "Response", "BackgroundTasks", "WebSocket", "Session", "AsyncSession",
})


def _last(name: str) -> str:
    return name.rsplit(".", 1)[-1]


class FileRoutes:
    """Reads one module: routers by name and scope, then every statement that uses them."""

    def __init__(self, module: PyModule) -> None:
        self.module = module
        self.origins: dict[str, str] = {}  # local name -> dotted origin, for imports of fastapi/flask
        self.imported: set[str] = set()
        self.constants: dict[str, str] = {}
        self.literals: dict[str, ast.expr] = {}
        self.routers: dict[tuple[str, str], Router] = {}
        self.handled: set[int] = set()  # calls read as routes or mounts: not escapes
        self.facts: list[object] = []
        self.framework = ""

    # --- names -----------------------------------------------------------------------------

    def read_module_names(self) -> None:
        for _scope, statement in scoped_statements(self.module.tree):
            if isinstance(statement, ast.Import):
                for alias in statement.names:
                    self.imported.add(alias.asname or alias.name.split(".")[0])
                    self.origins[alias.asname or alias.name] = alias.name
            elif isinstance(statement, ast.ImportFrom) and statement.level == 0 and statement.module:
                for alias in statement.names:
                    self.origins[alias.asname or alias.name] = f"{statement.module}.{alias.name}"
            if isinstance(statement, ast.ImportFrom):
                self.imported.update(alias.asname or alias.name for alias in statement.names)
        for statement in self.module.tree.body:
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
                name = statement.targets[0].id
                if isinstance(statement.value, (ast.List, ast.Tuple, ast.Dict)):
                    self.literals[name] = statement.value
                value = self.string(statement.value)
                if value is not None:
                    self.constants[name] = value
        roots = {origin.split(".")[0] for origin in self.origins.values()}
        self.framework = FASTAPI if "fastapi" in roots else FLASK if roots & {"flask", "apiflask"} else ""

    def origin(self, node: ast.expr) -> str | None:
        name = dotted_name(node)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        if head in self.origins:
            return f"{self.origins[head]}.{rest}" if rest else self.origins[head]
        return None

    def string(self, node: ast.expr | None) -> str | None:
        """A string literal, a module constant, or an f-string / `+` of those; None when computed."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return self.constants.get(node.id)
        if isinstance(node, ast.JoinedStr):
            parts = [self.string(value.value if isinstance(value, ast.FormattedValue) else value) for value in node.values]
            return None if any(part is None for part in parts) else "".join(parts)  # type: ignore[arg-type]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self.string(node.left), self.string(node.right)
            return left + right if left is not None and right is not None else None
        return None

    def local_router(self, name: str, scope: str) -> Router | None:
        return next((self.routers[(s, name)] for s in scope_chain(scope) if (s, name) in self.routers), None)

    def known(self, name: str, scope: str, bindings: dict[str, ast.expr]) -> bool:
        """Could this dotted name be a router? Local routers, imported names and loop bindings."""
        head = name.split(".")[0]
        return head in self.imported or head in bindings or self.local_router(head, scope) is not None

    def ref(self, node: ast.expr, scope: str, bindings: dict[str, ast.expr]) -> RouterRef | None:
        node = self.substitute(node, bindings)
        if isinstance(node, ast.Call):
            callee = dotted_name(node.func)
            return RouterRef(self.module.path, callee, scope, called=True) if callee else None
        name = dotted_name(node)
        return RouterRef(self.module.path, name, scope) if name else None

    def substitute(self, node: ast.expr, bindings: dict[str, ast.expr]) -> ast.expr:
        """Replace a loop variable (or `item.router` / `item["router"]` of one) by the element it stands for."""
        if isinstance(node, ast.Name) and node.id in bindings:
            return bindings[node.id]
        key = None
        if isinstance(node, ast.Attribute):
            key = node.attr
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            key = node.slice.value
        if key is not None:
            base = self.substitute(node.value, bindings)  # type: ignore[attr-defined]
            if isinstance(base, ast.Dict):
                for k, v in zip(base.keys, base.values):
                    if isinstance(k, ast.Constant) and k.value == key:
                        return v
            elif isinstance(base, ast.Tuple) and isinstance(key, int) and -len(base.elts) <= key < len(base.elts):
                return base.elts[key]
            elif isinstance(base, ast.Call) and isinstance(key, str):
                for keyword in base.keywords:
                    if keyword.arg == key:
                        return keyword.value
            if base is not node.value and isinstance(node, ast.Attribute):  # type: ignore[attr-defined]
                return ast.Attribute(value=base, attr=node.attr, ctx=ast.Load())
        return node

    # --- facts -----------------------------------------------------------------------------

    def run(self) -> list[object]:
        self.read_module_names()
        statements = list(scoped_statements(self.module.tree))
        for scope, statement in statements:
            self.find_router(scope, statement)
        for scope, statement in statements:
            self.read_statement(scope, statement, {})
            if isinstance(statement, ast.For):
                for bindings in self.loop_bindings(statement):
                    for inner in ast.walk(statement):
                        if isinstance(inner, ast.Expr) and isinstance(inner.value, ast.Call):
                            self.read_call(scope, inner.value, bindings)
        mentioning = self.statements_mentioning({*self.imported, *(name for _, name in self.routers)})
        for scope, statement in statements:
            if id(statement) in mentioning:
                self.find_escapes(scope, statement)
        routers = sorted(self.routers.values(), key=lambda r: (r.at.line, r.at.column))
        return [*routers, *self.facts]

    def find_router(self, scope: str, statement: ast.stmt) -> None:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value = statement.targets[0], statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            target, value = statement.target, statement.value
        else:
            return
        if not isinstance(target, ast.Name) or not isinstance(value, ast.Call):
            return
        factory = FACTORIES.get(self.origin(value.func) or "")
        if factory is None:
            return
        kind, framework = factory
        prefix_node = self.keyword(value, "prefix" if framework == FASTAPI else "url_prefix")
        prefix = "" if prefix_node is None else self.string(prefix_node)
        self.handled.add(id(value))
        self.routers[(scope, target.id)] = Router(
            name=target.id,
            kind=kind,
            framework=framework,
            at=self.module.at(statement),
            scope=scope,
            prefix=prefix,
            prefix_source=ast.unparse(prefix_node) if prefix is None and prefix_node is not None else None,
            middleware=self.dependency_list(self.keyword(value, "dependencies")),
            returned=self.is_returned(target.id, scope),
        )

    def is_returned(self, name: str, scope: str) -> bool:
        for inner_scope, statement in scoped_statements(self.module.tree):
            if inner_scope == scope and isinstance(statement, ast.Return) and isinstance(statement.value, ast.Name):
                if statement.value.id == name:
                    return True
        return False

    def read_statement(self, scope: str, statement: ast.stmt, bindings: dict[str, ast.expr]) -> None:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.read_function(scope, statement)
        elif isinstance(statement, ast.ClassDef) and not scope:
            self.read_dependency_class(statement)
        elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            self.read_call(scope, statement.value, bindings)
        elif isinstance(statement, ast.Assign) and not scope and len(statement.targets) == 1:
            self.read_dependency_alias(statement)

    def read_function(self, scope: str, function: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        decorators = [dotted_name(d.func if isinstance(d, ast.Call) else d) for d in function.decorator_list]
        for decorator in function.decorator_list:
            if not isinstance(decorator, ast.Call) or not isinstance(decorator.func, ast.Attribute):
                if isinstance(decorator, ast.Attribute) and decorator.attr == "before_request":
                    self.read_before_request(scope, decorator, function, decorators)
                continue
            verb = decorator.func.attr
            receiver = dotted_name(decorator.func.value)
            if receiver is None or not self.known(receiver, scope, {}):
                continue
            if verb == "middleware":
                self.read_before_request(scope, decorator.func, function, decorators)
                continue
            methods = self.methods(verb, decorator)
            if methods is None:
                continue
            path_node = decorator.args[0] if decorator.args else self.keyword(decorator, "path") or self.keyword(decorator, "rule")
            others = tuple(name for name, d in zip(decorators, function.decorator_list) if name and d is not decorator)
            dependencies = self.dependency_list(self.keyword(decorator, "dependencies")) + parameter_dependencies(function)
            self.handled.add(id(decorator))
            self.facts.append(Route(
                router=RouterRef(self.module.path, receiver, scope),
                methods=methods,
                path=self.string(path_node),
                handler=function.name,
                handler_at=self.module.at(function),
                middleware=dependencies + others,
                at=self.decorator_at(decorator),
                framework=self.route_framework(receiver, scope),
                path_source=ast.unparse(path_node) if path_node is not None and self.string(path_node) is None else None,
            ))
        if not scope:
            uses = parameter_dependencies(function)
            if uses:
                self.facts.append(Dependency(function.name, uses, self.module.at(function)))

    def read_before_request(self, scope: str, decorator: ast.Attribute, function: ast.AST, decorators: list[str | None]) -> None:
        receiver = dotted_name(decorator.value)
        if receiver is None or not self.known(receiver, scope, {}):
            return
        names = [getattr(function, "name", "")] + [d for d in decorators if d]
        names += sorted({name for node in ast.walk(function) if isinstance(node, ast.Call) and (name := dotted_name(node.func))})
        self.facts.append(Middleware(
            RouterRef(self.module.path, receiver, scope), "", tuple(dict.fromkeys(n for n in names if n)),
            self.decorator_at(decorator), self.route_framework(receiver, scope)))

    def read_call(self, scope: str, call: ast.Call, bindings: dict[str, ast.expr]) -> None:
        if not isinstance(call.func, ast.Attribute):
            return
        verb = call.func.attr
        receiver_node = self.substitute(call.func.value, bindings)
        receiver = dotted_name(receiver_node)
        if receiver is None or not self.known(receiver, scope, bindings):
            return
        parent = RouterRef(self.module.path, receiver, scope)
        framework = self.route_framework(receiver, scope)
        if verb in ("include_router", "register_blueprint", "mount"):
            self.read_mount(scope, call, verb, parent, framework, bindings)
        elif verb in ("add_api_route", "add_url_rule"):
            self.read_route_call(scope, call, verb, parent, framework)
        elif verb in ("add_middleware", "before_request") and call.args:
            name = dotted_name(call.args[0])
            if name:
                self.facts.append(Middleware(parent, "", (name,), self.module.at(call), framework))

    def read_mount(self, scope: str, call: ast.Call, verb: str, parent: RouterRef, framework: str,
                   bindings: dict[str, ast.expr]) -> None:
        if verb == "mount":
            child_node = call.args[1] if len(call.args) > 1 else self.keyword(call, "app")
            prefix_node = call.args[0] if call.args else self.keyword(call, "path")
        else:
            child_node = call.args[0] if call.args else self.keyword(call, "router") or self.keyword(call, "blueprint")
            prefix_node = self.keyword(call, "prefix" if verb == "include_router" else "url_prefix")
        if child_node is None:
            return
        child = self.ref(child_node, scope, bindings)
        if child is None:
            return
        prefix_node = self.substitute(prefix_node, bindings) if prefix_node is not None else None
        prefix = "" if prefix_node is None else self.string(prefix_node)
        self.handled.add(id(call))
        self.facts.append(Mount(
            parent=parent,
            prefix=prefix,
            child=child,
            middleware=self.dependency_list(self.keyword(call, "dependencies")),
            at=self.module.at(call),
            framework=framework,
            prefix_source=ast.unparse(prefix_node) if prefix is None and prefix_node is not None else None,
            overrides_prefix=verb == "register_blueprint" and prefix_node is not None,
        ))

    def read_route_call(self, scope: str, call: ast.Call, verb: str, parent: RouterRef, framework: str) -> None:
        path_node = call.args[0] if call.args else self.keyword(call, "path") or self.keyword(call, "rule")
        position = 1 if verb == "add_api_route" else 2
        view = call.args[position] if len(call.args) > position else self.keyword(call, "endpoint" if verb == "add_api_route" else "view_func")
        handler = dotted_name(view.func if isinstance(view, ast.Call) else view) if view is not None else None
        methods = self.string_list(self.keyword(call, "methods"))
        if methods is None:
            # `View.as_view()` answers the methods its class defines: unknown here.
            methods = () if isinstance(view, ast.Call) else ("GET",)
        self.handled.add(id(call))
        path = self.string(path_node)
        self.facts.append(Route(
            router=parent,
            methods=methods,
            path=path,
            handler=handler,
            handler_at=self.module.at(view) if view is not None else None,
            middleware=self.dependency_list(self.keyword(call, "dependencies")),
            at=self.module.at(call),
            framework=framework,
            path_source=ast.unparse(path_node) if path is None and path_node is not None else None,
        ))

    def loop_bindings(self, loop: ast.For) -> Iterator[dict[str, ast.expr]]:
        """One binding of the loop variables per element of a literal (or module-level literal) iterable."""
        iterable = loop.iter
        items = False
        if isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Attribute) and iterable.func.attr == "items":
            iterable, items = iterable.func.value, True
        if isinstance(iterable, ast.Name):
            iterable = self.literals.get(iterable.id, iterable)
        if isinstance(iterable, ast.Dict) and items:
            elements: list[ast.expr] = [ast.Tuple(elts=[k, v], ctx=ast.Load()) for k, v in zip(iterable.keys, iterable.values) if k is not None]
        elif isinstance(iterable, (ast.List, ast.Tuple)):
            elements = list(iterable.elts)
        else:
            return
        for element in elements:
            if isinstance(loop.target, ast.Name):
                yield {loop.target.id: element}
            elif isinstance(loop.target, ast.Tuple) and isinstance(element, ast.Tuple) and len(loop.target.elts) == len(element.elts):
                yield {t.id: e for t, e in zip(loop.target.elts, element.elts) if isinstance(t, ast.Name)}

    def statements_mentioning(self, names: set[str]) -> set[int]:
        """Statements whose own expressions use one of these names: the only places an escape can be."""
        parents = self.module.parents
        found: set[int] = set()
        for node in self.module.nodes:
            if isinstance(node, ast.Name) and node.id in names:
                current: ast.AST | None = node
                while current is not None and not isinstance(current, ast.stmt):
                    current = parents.get(current)
                if current is not None:
                    found.add(id(current))
        return found

    def find_escapes(self, scope: str, statement: ast.stmt) -> None:
        """Routers handed to calls prodlint does not follow, or put in containers: possibly mounted."""
        for node in own_expressions(statement):
            if isinstance(node, ast.Call) and id(node) not in self.handled:
                if _last(dotted_name(node.func) or "") in DEPENDENCY_MARKERS:
                    continue
                candidates = [*node.args, *(k.value for k in node.keywords)]
            elif isinstance(node, (ast.List, ast.Tuple, ast.Set)):
                candidates = list(node.elts)
            elif isinstance(node, ast.Dict):
                candidates = list(node.values)
            else:
                continue
            for candidate in candidates:
                name = dotted_name(candidate)
                if name and self.known(name, scope, {}):
                    self.facts.append(Escape(RouterRef(self.module.path, name, scope), self.module.at(candidate)))

    # --- FastAPI dependencies --------------------------------------------------------------

    def read_dependency_alias(self, statement: ast.Assign) -> None:
        target, value = statement.targets[0], statement.value
        if not isinstance(target, ast.Name):
            return
        uses: tuple[str, ...] = ()
        if isinstance(value, ast.Subscript) and _last(dotted_name(value.value) or "") == "Annotated":
            uses = annotation_dependencies(value)
        elif isinstance(value, ast.Call) and _last(dotted_name(value.func) or "") in SECURITY_SCHEMES:
            uses = (_last(dotted_name(value.func) or ""),)
        if uses:
            self.facts.append(Dependency(target.id, uses, self.module.at(statement)))

    def read_dependency_class(self, definition: ast.ClassDef) -> None:
        bases = tuple(name for base in definition.bases if (name := dotted_name(base)))
        call = next((s for s in definition.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == "__call__"), None)
        if call is None and not any(_last(base) in SECURITY_SCHEMES for base in bases):
            return
        uses = bases + (parameter_dependencies(call) if call is not None else ())
        if uses:
            self.facts.append(Dependency(definition.name, uses, self.module.at(definition)))

    def dependency_list(self, node: ast.expr | None) -> tuple[str, ...]:
        if not isinstance(node, (ast.List, ast.Tuple)):
            return ()
        return tuple(name for element in node.elts if (name := depends_target(element)))

    # --- small readers ---------------------------------------------------------------------

    @staticmethod
    def keyword(call: ast.Call, name: str) -> ast.expr | None:
        return next((k.value for k in call.keywords if k.arg == name), None)

    def string_list(self, node: ast.expr | None) -> tuple[str, ...] | None:
        if not isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return None
        values = [self.string(element) for element in node.elts]
        if any(value is None for value in values):
            return None
        return tuple(sorted({value.upper() for value in values if value is not None}))

    def methods(self, verb: str, decorator: ast.Call) -> tuple[str, ...] | None:
        if verb in HTTP_METHODS:
            return (verb.upper(),)
        if verb in ("route", "api_route"):
            given = self.keyword(decorator, "methods")
            if given is None:
                return ("GET",)
            return self.string_list(given) or ()
        return None

    def route_framework(self, receiver: str, scope: str) -> str:
        router = self.local_router(receiver.split(".")[0], scope) if "." not in receiver else None
        return router.framework if router else self.framework

    def decorator_at(self, decorator: ast.expr) -> Location:
        # The `@` sits one column before the decorator expression.
        at = self.module.at(decorator)
        return Location(at.path, at.line, max(1, at.column - 1), at.end_line, at.end_column)


def own_expressions(statement: ast.stmt) -> Iterator[ast.AST]:
    """The expressions of a statement, not those of statements nested in it."""
    stack = [child for child in ast.iter_child_nodes(statement) if not isinstance(child, ast.stmt)]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(child for child in ast.iter_child_nodes(node) if not isinstance(child, ast.stmt))


def depends_target(node: ast.expr) -> str | None:
    """`Depends(get_user)` -> "get_user"; `Security(auth.user, scopes=[...])` -> "auth.user"."""
    if not isinstance(node, ast.Call) or _last(dotted_name(node.func) or "") not in DEPENDENCY_MARKERS:
        return None
    if node.args:
        argument = node.args[0]
    else:
        argument = next((k.value for k in node.keywords if k.arg == "dependency"), None)
    if argument is None:
        return None
    return dotted_name(argument.func if isinstance(argument, ast.Call) else argument)


def annotation_dependencies(node: ast.expr) -> tuple[str, ...]:
    return tuple(name for inner in ast.walk(node) if (name := depends_target(inner)))  # type: ignore[arg-type]


def parameter_dependencies(function: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[str, ...]:
    """What a FastAPI handler or dependency depends on: `Depends()` defaults, `Annotated` and alias annotations."""
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(arguments.defaults)) + list(arguments.defaults)
    pairs = list(zip(positional, defaults)) + list(zip(arguments.kwonlyargs, arguments.kw_defaults))
    names: list[str] = []
    for argument, default in pairs:
        target = depends_target(default) if default is not None else None
        if target:
            names.append(target)
        elif isinstance(default, ast.Call) and _last(dotted_name(default.func) or "") in DEPENDENCY_MARKERS:
            annotation = dotted_name(argument.annotation) if argument.annotation is not None else None
            if annotation:
                names.append(annotation)  # `Depends()` uses the annotated class itself
        elif argument.annotation is not None:
            names.extend(annotation_dependencies(argument.annotation))
            alias = dotted_name(argument.annotation)
            if alias and default is None and _last(alias) not in PLAIN_TYPES:
                names.append(alias)
    return tuple(dict.fromkeys(names))


@collector
def python_routes(module: PyModule) -> Iterator[object]:
    yield from FileRoutes(module).run()
