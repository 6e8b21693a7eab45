"""FastAPI and Flask routes, routers, mounts and guards, from one Python file.

Names are recorded as written and resolved across files by the project model.
A path or prefix that is not a literal (or a module-level string constant) is
recorded as None with its source text: it is never guessed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator

from prodlint.extract.python import PyModule, collector
from prodlint.lines import split_lines
from prodlint.extract.python.modules import dotted_name, scoped_statements
from prodlint.facts import Location
from prodlint.facts.modules import scope_chain
from prodlint.facts.routes import (
    FASTAPI,
    FLASK,
    Check,
    Escape,
    FactoryReturn,
    Middleware,
    Mount,
    Route,
    SECURITY_SCHEMES,
    Router,
    RouterClass,
    RouterRef,
    ViewClass,
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
    # `api = Api(app)`: a Flask-RESTful API adds its resources to the app or blueprint it wraps.
    "flask_restful.Api": ("router", FLASK),
    "flask_restx.Api": ("router", FLASK),
    "flask_restplus.Api": ("router", FLASK),
}
RESTFUL_APIS = frozenset({"flask_restful.Api", "flask_restx.Api", "flask_restplus.Api"})
HTTP_METHODS = ("get", "post", "put", "patch", "delete", "options", "head", "trace")
MOUNT_VERBS = frozenset({"include_router", "register_blueprint", "mount"})
ROUTER_VERBS = frozenset({*HTTP_METHODS, "route", "api_route", "add_api_route", "add_url_rule", "websocket", *MOUNT_VERBS})
# Imports from these never define a project's router class.
LIBRARY_ROOTS = frozenset({"fastapi", "flask", "starlette", "apiflask", "flask_smorest", "flask_restful", "flask_restx", "typing", "pydantic"})
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
        self.lines = split_lines(module.text)
        self.parameters = function_parameters(module.tree)
        self.classes = {s.name: s for s in module.tree.body if isinstance(s, ast.ClassDef)}
        self.router_classes: dict[str, RouterClass] = {}
        self.receivers: set[str] = set()  # names this file uses as a router: `x.get(...)`, `include_router(x)`

    # --- names -----------------------------------------------------------------------------

    def read_module_names(self) -> None:
        for _scope, statement in self.module.scoped_statements:
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
        self.exceptions = raised_constants(self.module.tree.body)
        self.views = {node.targets[0].id: node.value for node in self.module.of_type(ast.Assign)
                      if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                      and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Attribute)
                      and node.value.func.attr == "as_view"}
        roots = {origin.split(".")[0] for origin in self.origins.values()}
        self.framework = FASTAPI if "fastapi" in roots else FLASK if roots & {"flask", "apiflask"} else ""
        for definition in self.classes.values():
            found = self.router_class(definition)
            if found is not None:
                self.router_classes[definition.name] = found
        for node in self.module.of_type(ast.Call):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in ROUTER_VERBS and (name := dotted_name(node.func.value)):
                    self.receivers.add(name)
                if node.func.attr in MOUNT_VERBS and node.args and (name := dotted_name(node.args[0])):
                    self.receivers.add(name)

    def router_class(self, definition: ast.ClassDef) -> RouterClass | None:
        """`class UserAPIRouter(APIRouter)`, with the dependencies its `__init__` gives `super().__init__()`."""
        factory = next((found for base in definition.bases if (found := FACTORIES.get(self.origin(base) or ""))), None)
        if factory is None:
            return None
        middleware: tuple[str, ...] = ()
        for statement in definition.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name == "__init__":
                for node in ast.walk(statement):
                    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "__init__"
                            and isinstance(node.func.value, ast.Call) and dotted_name(node.func.value.func) == "super"):
                        middleware += self.dependency_list(self.keyword(node, "dependencies"))
        return RouterClass(definition.name, factory[0], factory[1], self.module.at(definition), middleware)

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
        """Could this dotted name be a router? Local routers, imported names, loop bindings, parameters."""
        head = name.split(".")[0]
        return (head in self.imported or head in bindings or self.local_router(head, scope) is not None
                or head in self.parameters.get(scope, ()))

    def router_ref(self, name: str, scope: str, called: bool = False) -> RouterRef:
        """A reference as written; a parameter of the enclosing function is bound by that function's callers."""
        head = name.split(".")[0]
        parameters = self.parameters.get(scope, ())
        if head == name and head in parameters and self.local_router(head, scope) is None and not called:
            return RouterRef(self.module.path, name, scope, parameter=parameters.index(head))
        return RouterRef(self.module.path, name, scope, called=called)

    def ref(self, node: ast.expr, scope: str, bindings: dict[str, ast.expr]) -> RouterRef | None:
        node = self.substitute(node, bindings)
        if isinstance(node, ast.Call):
            callee = dotted_name(node.func)
            return self.router_ref(callee, scope, called=True) if callee else None
        name = dotted_name(node)
        return self.router_ref(name, scope) if name else None

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
        statements = self.module.scoped_statements
        for scope, statement in statements:
            self.find_router(scope, statement)
        for scope, statement in statements:
            self.read_statement(scope, statement, {})
            if isinstance(statement, ast.For):
                for bindings in self.loop_bindings(statement):
                    for inner in self.module.walk(statement):
                        if isinstance(inner, ast.Expr) and isinstance(inner.value, ast.Call):
                            self.read_call(scope, inner.value, bindings)
        mentioning = self.statements_mentioning({*self.imported, *(name for _, name in self.routers)})
        for scope, statement in statements:
            if id(statement) in mentioning:
                self.find_escapes(scope, statement)
        routers = sorted(self.routers.values(), key=lambda r: (r.at.line, r.at.column))
        return [*self.router_classes.values(), *routers, *self.facts]

    def find_router(self, scope: str, statement: ast.stmt) -> None:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value = statement.targets[0], statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            target, value = statement.target, statement.value
        else:
            return
        if not isinstance(target, ast.Name) or not isinstance(value, ast.Call):
            return
        callee = dotted_name(value.func) or ""
        factory = FACTORIES.get(self.origin(value.func) or "")
        local = self.router_classes.get(callee)
        base = None
        if factory is None and local is not None:
            factory = (local.kind, local.framework)
        elif factory is None:
            if not self.candidate(callee, target.id):
                return
            factory, base = ("candidate", ""), callee
        kind, framework = factory
        prefix_node = self.keyword(value, "url_prefix" if framework == FLASK and self.origin(value.func) not in RESTFUL_APIS else "prefix")
        if prefix_node is None and base is not None:
            prefix_node = self.keyword(value, "url_prefix")
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
            middleware=(local.middleware if local else ()) + self.dependency_list(self.keyword(value, "dependencies")),
            returned=self.is_returned(target.id, scope),
            base=base,
        )
        wrapped = value.args[0] if value.args else self.keyword(value, "app")
        if self.origin(value.func) in RESTFUL_APIS and wrapped is not None:
            self.restful_mount(scope, target.id, wrapped, statement)

    def restful_mount(self, scope: str, api: str, wrapped: ast.expr, at: ast.AST, deferred: bool = False) -> None:
        """`Api(app)` / `api.init_app(app)`: the API's resources are served by `app`."""
        parent = dotted_name(wrapped)
        if parent is None or not self.known(parent, scope, {}):
            return
        if isinstance(at, ast.Call):
            self.handled.add(id(at))
        self.facts.append(Mount(self.router_ref(parent, scope), "", self.router_ref(api, scope), (), self.module.at(at), FLASK,
                                branch=self.branch(at), deferred=deferred))

    def candidate(self, callee: str, name: str) -> bool:
        """`router = UserAPIRouter(prefix=...)`, the class imported from the project, `router` used as a router here."""
        head = callee.split(".")[0]
        if head not in self.imported or not _last(callee)[:1].isupper() or name not in self.receivers:
            return False
        origin = self.origins.get(head, "")
        return not origin.split(".")[0] in LIBRARY_ROOTS

    def is_returned(self, name: str, scope: str) -> bool:
        for inner_scope, statement in self.module.scoped_statements:
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
            if scope in self.classes:
                dependencies += (scope,)  # a route method of a class-based view gets the class's dependencies
            self.handled.add(id(decorator))
            self.facts.append(Route(
                router=self.router_ref(receiver, scope),
                methods=methods,
                path=self.string(path_node),
                handler=function.name,
                handler_at=self.module.at(function),
                middleware=dependencies + others,
                at=self.decorator_at(decorator),
                framework=self.route_framework(receiver, scope),
                path_source=ast.unparse(path_node) if path_node is not None and self.string(path_node) is None else None,
                declared_public=commented_public(self.lines, function.decorator_list[0].lineno, "#") or self.public_view(scope),
                branch=self.branch(function),
            ))
        if not scope or scope in self.classes:
            self.facts.append(self.request_check(function, scope))

    def read_before_request(self, scope: str, decorator: ast.Attribute, function: ast.AST, decorators: list[str | None]) -> None:
        receiver = dotted_name(decorator.value)
        if receiver is None or not self.known(receiver, scope, {}):
            return
        names = [getattr(function, "name", "")] + [d for d in decorators if d]
        names += sorted({name for node in self.module.walk(function) if isinstance(node, ast.Call) and (name := dotted_name(node.func))})
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
        parent = self.router_ref(receiver, scope)
        framework = self.route_framework(receiver, scope)
        if verb in ("include_router", "register_blueprint", "mount"):
            self.read_mount(scope, call, verb, parent, framework, bindings)
        elif verb in ("add_api_route", "add_url_rule"):
            self.read_route_call(scope, call, verb, parent, framework)
        elif verb == "add_resource" and call.args:
            self.read_resource(scope, call, parent)
        elif verb == "init_app" and call.args and self.framework == FLASK:
            self.restful_mount(scope, receiver, call.args[0], call, deferred=self.local_router(receiver, scope) is None)
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
            branch=self.branch(call),
        ))

    def read_route_call(self, scope: str, call: ast.Call, verb: str, parent: RouterRef, framework: str) -> None:
        path_node = call.args[0] if call.args else self.keyword(call, "path") or self.keyword(call, "rule")
        position = 1 if verb == "add_api_route" else 2
        view = call.args[position] if len(call.args) > position else self.keyword(call, "endpoint" if verb == "add_api_route" else "view_func")
        if isinstance(view, ast.Name) and view.id in self.views:
            view = self.views[view.id]  # `user_view = UserAPI.as_view("users")`, then `view_func=user_view`
        handler = dotted_name(view.func if isinstance(view, ast.Call) else view) if view is not None else None
        view_class = handler.removesuffix(".as_view") if handler and handler.endswith(".as_view") and isinstance(view, ast.Call) else None
        if view_class is None and isinstance(view, ast.Name) and verb == "add_url_rule" and view.id in self.imported:
            view_class = view.id  # may be `X.as_view(...)` bound in another module: the project model looks
        methods = self.string_list(self.keyword(call, "methods"))
        if methods is None:
            # `View.as_view()` answers the methods its class defines: the project model reads them.
            methods = () if view_class is not None or isinstance(view, ast.Call) else ("GET",)
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
            branch=self.branch(call),
            view=view_class,
        ))

    def argument(self, node: ast.expr) -> tuple[str, str]:
        text = self.string(node)
        if text is not None:
            return ("text", text)
        name = dotted_name(node)
        return ("name", name) if name else ("", "")

    def path_parameter(self, node: ast.expr | None, parameters: tuple[str, ...]) -> tuple[str, int, str] | None:
        """`path`, `f"/orgs/<org_id>{path}"` or `"/orgs" + path` where `path` is a parameter: (before, index, after)."""
        if isinstance(node, ast.Name) and node.id in parameters:
            return ("", parameters.index(node.id), "")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and isinstance(node.right, ast.Name) and node.right.id in parameters:
            before = self.string(node.left)
            return (before, parameters.index(node.right.id), "") if before is not None else None
        if isinstance(node, ast.JoinedStr):
            holes = [v for v in node.values if isinstance(v, ast.FormattedValue)]
            if len(holes) == 1 and isinstance(holes[0].value, ast.Name) and holes[0].value.id in parameters and holes[0].format_spec is None:
                at = node.values.index(holes[0])
                before, after = (self.string(ast.JoinedStr(values=part)) for part in (node.values[:at], node.values[at + 1:]))
                if before is not None and after is not None:
                    return (before, parameters.index(holes[0].value.id), after)
        return None

    def read_resource(self, scope: str, call: ast.Call, parent: RouterRef) -> None:
        """`api.add_resource(Users, "/users", "/users/<int:id>")`: each URL serves the methods `Users` defines.
        In a wrapper function taking the resource and the path as parameters, its callers give them."""
        resource = dotted_name(call.args[0])
        if resource is None:
            return
        self.handled.add(id(call))
        parameters = self.parameters.get(scope, ())
        wrapped = resource in parameters and parent.parameter is not None
        for path_node in call.args[1:] or [None]:
            path = self.string(path_node) if path_node is not None else None
            self.facts.append(Route(
                router=parent,
                methods=(),
                path=path,
                handler=resource,
                handler_at=self.module.at(call.args[0]),
                middleware=(),
                at=self.module.at(call),
                framework=FLASK,
                path_source=ast.unparse(path_node) if path is None and path_node is not None else None,
                branch=self.branch(call),
                view=resource,
                view_parameter=parameters.index(resource) if wrapped else None,
                path_parameter=self.path_parameter(path_node, parameters) if wrapped and path is None else None,
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
        for node in self.module.of_type(ast.Name):
            if node.id in names:  # type: ignore[attr-defined]
                current: ast.AST | None = node
                while current is not None and not isinstance(current, ast.stmt):
                    current = parents.get(current)
                if current is not None:
                    found.add(id(current))
        return found

    def find_escapes(self, scope: str, statement: ast.stmt) -> None:
        """Routers handed to calls prodlint does not follow, or put in containers: possibly mounted."""
        for node in own_expressions(self.module, statement):
            kind = type(node)
            if kind is ast.Call and id(node) not in self.handled:
                if _last(dotted_name(node.func) or "") in DEPENDENCY_MARKERS:  # type: ignore[attr-defined]
                    continue
                candidates = [*node.args, *(k.value for k in node.keywords)]  # type: ignore[attr-defined]
            elif kind is ast.List or kind is ast.Tuple or kind is ast.Set:
                candidates = list(node.elts)  # type: ignore[attr-defined]
            elif kind is ast.Dict:
                candidates = list(node.values)  # type: ignore[attr-defined]
            else:
                continue
            for candidate in candidates:
                head = _head_name(candidate)
                if head is None or not self.known(head, scope, {}):
                    continue  # what `known` reads is the head: most arguments are no router
                name = dotted_name(candidate)
                if name:
                    callee = dotted_name(node.func) if isinstance(node, ast.Call) else None
                    position = node.args.index(candidate) if isinstance(node, ast.Call) and candidate in node.args else None
                    keyword = next((k.arg for k in node.keywords if k.value is candidate), None) if isinstance(node, ast.Call) else None
                    arguments = tuple(self.argument(a) for a in node.args) if isinstance(node, ast.Call) else ()
                    self.facts.append(Escape(self.router_ref(name, scope), self.module.at(candidate), callee, position, keyword, arguments))
        if isinstance(statement, ast.Return) and isinstance(statement.value, ast.Name) and scope:
            name = statement.value.id
            local = self.local_router(name, scope)
            if (local is None or local.scope != scope) and self.known(name, scope, {}):
                self.facts.append(FactoryReturn(scope, self.router_ref(name, scope), self.module.at(statement)))

    # --- FastAPI dependencies --------------------------------------------------------------

    def read_dependency_alias(self, statement: ast.Assign) -> None:
        """`CurrentUser = Annotated[User, Depends(get_current_user)]`, `oauth2 = OAuth2PasswordBearer(...)`."""
        target, value = statement.targets[0], statement.value
        if not isinstance(target, ast.Name):
            return
        uses: tuple[str, ...] = ()
        if isinstance(value, ast.Subscript) and _last(dotted_name(value.value) or "") == "Annotated":
            uses = annotation_dependencies(value)
        elif isinstance(value, ast.Call) and _last(dotted_name(value.func) or "") in SECURITY_SCHEMES:
            uses = (_last(dotted_name(value.func) or ""),)
        if uses:
            self.facts.append(Check(target.id, self.module.at(statement), uses=uses))

    def read_dependency_class(self, definition: ast.ClassDef) -> None:
        """A class used as a dependency runs its `__call__` (an instance) or is a security scheme (a subclass)."""
        bases = tuple(name for base in definition.bases if (name := dotted_name(base)))
        methods = {s.name for s in definition.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}
        # Class-based views (`@cbv(router)`, `@controller(router)`): `user = Depends(...)` attributes run for every route.
        attributes = tuple(name for s in definition.body if isinstance(s, ast.AnnAssign) and s.value is not None
                           and (name := depends_target(s.value)))
        uses = attributes + bases + ((f"{definition.name}.__call__",) if "__call__" in methods else ())
        if uses:
            self.facts.append(Check(definition.name, self.module.at(definition), uses=uses))
        view = self.view_class(definition)
        if view is not None:
            self.facts.append(view)

    def view_class(self, definition: ast.ClassDef) -> ViewClass | None:
        """A class with HTTP-verb methods, their decorators, and the class's `decorators` / `method_decorators`."""
        common: list[str] = []
        per_method: dict[str, list[str]] = {}
        for statement in definition.body:
            if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name)):
                continue
            if statement.targets[0].id not in ("decorators", "method_decorators"):
                continue
            value = statement.value
            if isinstance(value, (ast.List, ast.Tuple)):
                common += [name for element in value.elts if (name := _decorator_name(element))]
            elif isinstance(value, ast.Dict):
                for key, listed in zip(value.keys, value.values):
                    if isinstance(key, ast.Constant) and isinstance(key.value, str) and isinstance(listed, (ast.List, ast.Tuple)):
                        per_method.setdefault(key.value.lower(), []).extend(
                            name for element in listed.elts if (name := _decorator_name(element)))
        methods, where = [], []
        for statement in definition.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name in HTTP_METHODS:
                own = [name for d in statement.decorator_list if (name := _decorator_name(d))]
                methods.append((statement.name.upper(), tuple(own + per_method.get(statement.name, []))))
                where.append(self.module.at(statement))
        if not methods:
            return None
        return ViewClass(definition.name, self.module.at(definition), tuple(methods), tuple(common), tuple(where))

    def dependency_list(self, node: ast.expr | None) -> tuple[str, ...]:
        if not isinstance(node, (ast.List, ast.Tuple)):
            return ()
        return tuple(name for element in node.elts if (name := depends_target(element)))

    def branch(self, node: ast.AST) -> tuple[tuple[int, int, int], ...]:
        """The `if` arms this node sits in, outermost first: (line, column, 0 for the body, 1 for else)."""
        arms = []
        parents = self.module.parents
        child, current = node, parents.get(node)
        while current is not None:
            if isinstance(current, ast.If) and child is not current.test:
                arms.append((current.lineno, current.col_offset + 1, 0 if child in current.body else 1))
            child, current = current, parents.get(current)
        return tuple(reversed(arms))

    def public_view(self, scope: str) -> bool:
        """A class-based view that says it is public (`class Feed(BasePublicController)`)."""
        definition = self.classes.get(scope)
        if definition is None:
            return False
        names = [definition.name, *(dotted_name(base) or "" for base in definition.bases)]
        return any(PUBLIC_WORD.search(_last(name)) for name in names)

    def request_check(self, function: ast.FunctionDef | ast.AsyncFunctionDef, scope: str) -> Check:
        """What this function does with the request: reads and rejects, what it depends on and calls."""
        arguments = [*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs]
        requests = set(REQUEST_NAMES) | {a.arg for a in arguments if a.annotation is not None and _last(dotted_name(a.annotation) or "") == "Request"}
        walk_of = self.module.walk_of
        body = [node for statement in function.body for node in walk_of(statement, CHECKED_KINDS)]
        opening = [node for statement in _opening(function.body) for node in walk_of(statement, CHECKED_KINDS)]
        assigned = [node for statement in function.body for node in walk_of(statement, ASSIGN)]
        raised = {**self.exceptions, **raised_constants(assigned)}
        reads, rejects, where = _check_in(body, requests, self.origins, raised)
        reads = reads or header_parameter(function)
        opening_reads, opening_rejects, opening_where = _check_in(opening, requests, self.origins, raised)
        owner = f"{scope}." if scope else ""
        calls = []
        for node in body:
            if type(node) is ast.Call:
                name = dotted_name(node.func)
                if name and name.startswith(("self.", "cls.")) and scope:
                    name = scope + name[name.index("."):]
                if name:
                    calls.append(name)
        decorators = [name for d in function.decorator_list if (name := dotted_name(d.func if isinstance(d, ast.Call) else d))]
        return Check(
            name=owner + function.name,
            at=self.module.at(function),
            reads=reads,
            rejects=rejects,
            evidence=self.module.at(where) if where is not None else None,
            uses=tuple(dict.fromkeys([*parameter_dependencies(function), *decorators, *calls,
                                      *(d for inner in _returned_functions(function) for d in parameter_dependencies(inner))])),
            opening=self.module.at(opening_where) if opening_reads and opening_rejects and opening_where is not None else None,
            opening_rejection=self.module.at(opening_where) if opening_rejects and opening_where is not None else None,
            opening_uses=tuple(dict.fromkeys(name for node in opening
                                             if isinstance(node, ast.Call) and (name := dotted_name(node.func)))),
            requires=_required_flag(function.body, raised),
        )

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


def _decorator_name(node: ast.expr) -> str | None:
    """`login_required` or `jwt_required()` -> the name applied."""
    return dotted_name(node.func if isinstance(node, ast.Call) else node)


def function_parameters(tree: ast.Module) -> dict[str, tuple[str, ...]]:
    """The parameter names of every function, by its dotted scope name (as `scoped_statements` names it)."""
    found: dict[str, tuple[str, ...]] = {}
    stack: list[tuple[str, list[ast.stmt]]] = [("", list(tree.body))]
    while stack:
        scope, body = stack.pop()
        for statement in body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                inner = f"{scope}.{statement.name}" if scope else statement.name
                if not isinstance(statement, ast.ClassDef):
                    arguments = statement.args
                    found[inner] = tuple(a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs])
                stack.append((inner, statement.body))
            else:
                for field in ("body", "orelse", "finalbody"):
                    block = getattr(statement, field, None)
                    if isinstance(block, list):
                        stack.append((scope, [s for s in block if isinstance(s, ast.stmt)]))
    return found


def _head_name(node: ast.AST) -> str | None:
    """`a` of `a.b.c`; None when the expression is no dotted name's."""
    while type(node) is ast.Attribute:
        node = node.value  # type: ignore[attr-defined]
    return node.id if type(node) is ast.Name else None  # type: ignore[attr-defined]


def own_expressions(module: PyModule, statement: ast.stmt) -> list[ast.AST]:
    """The expressions of a statement, not those of statements nested in it (an `except` clause's
    own expressions are its statement's); depth first, last child first."""
    get = module.child_index.get
    found: list[ast.AST] = []
    stack = [child for child in module.children(statement) if not isinstance(child, ast.stmt)]
    while stack:
        node = stack.pop()
        found.append(node)
        kids = get(node)
        for child in kids if kids is not None else module.children(node):
            if not isinstance(child, ast.stmt):
                stack.append(child)
    return found


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


def header_parameter(function: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """A FastAPI `authorization: str = Header(...)` / `Cookie(...)` parameter: a credential read."""
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(arguments.defaults)) + list(arguments.defaults)
    for argument, default in [*zip(positional, defaults), *zip(arguments.kwonlyargs, arguments.kw_defaults)]:
        if isinstance(default, ast.Call) and _last(dotted_name(default.func) or "") in ("Header", "Cookie"):
            return f"{_last(dotted_name(default.func) or '')} {argument.arg}"
    return None


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


PUBLIC_COMMENT = re.compile(r"\bpublic(ly)?\b", re.IGNORECASE)
PUBLIC_WORD = re.compile(r"(?<![a-z])Public(?![a-z])")
NOT_PUBLIC = re.compile(r"\b(not|non)[- ]public\b", re.IGNORECASE)
COMMENT_REACH = 8  # how far up a block of routes its heading comment may be


def commented_public(lines: list[str], line: int, marker: str) -> bool:
    """Does the comment heading this route's block (`# Public routes` above it, no blank line between) say public?"""
    index = line - 2
    while index >= 0 and line - 2 - index < COMMENT_REACH:
        text = lines[index].strip()
        if not text:
            return False
        if text.startswith(marker):
            heading = []
            while index >= 0 and lines[index].strip().startswith(marker):
                heading.append(lines[index])
                index -= 1
            words = " ".join(heading)
            return bool(PUBLIC_COMMENT.search(words)) and not NOT_PUBLIC.search(words)
        index -= 1
    return False


# --- what a function does with the request (guards) --------------------------------------------

REQUEST_NAMES = frozenset({"request", "req"})
CREDENTIAL_PARTS = frozenset({"headers", "cookies", "authorization", "session", "auth"})
IDENTITY_CALLS = frozenset({"get_jwt_identity", "verify_jwt_in_request", "get_jwt", "jwt.decode", "decode_token"})
AUTH_ERROR = re.compile(r"Unauthori[sz]ed|Forbidden|PermissionDenied|NotAuthenticated|AuthenticationFailed|InvalidToken|Credentials")
REJECT_STATUS = re.compile(r"\b40[13]\b|UNAUTHORI[SZ]ED|FORBIDDEN")
CHECKED = frozenset({ast.Attribute, ast.Name, ast.Call, ast.Raise, ast.Return})  # what `credential` and `rejection` read
CHECKED_KINDS = tuple(sorted(CHECKED, key=lambda kind: kind.__name__))
ASSIGN = (ast.Assign,)
OPENING_STATEMENTS = 3  # a handler that checks the caller does it before anything else


def _status(node: ast.expr | None) -> str | None:
    """"401"/"403" for `401`, `status.HTTP_403_FORBIDDEN`, `HTTPStatus.UNAUTHORIZED`."""
    if isinstance(node, ast.Constant) and node.value in (401, 403):
        return str(node.value)
    text = dotted_name(node) if node is not None else None
    if text and REJECT_STATUS.search(text.upper()):
        return "403" if "403" in text or "FORBIDDEN" in text.upper() else "401"
    return None


def _call_status(call: ast.Call) -> str | None:
    for argument in (*call.args[:2], *(k.value for k in call.keywords if k.arg in ("status_code", "status", "code"))):
        found = _status(argument)
        if found:
            return found
    return None


def raised_constants(statements: list[ast.AST]) -> dict[str, str]:
    """`credentials_exception = HTTPException(status_code=401, ...)`: names bound to a 401/403 exception."""
    found = {}
    for statement in statements:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
            if isinstance(statement.value, ast.Call) and (status := _call_status(statement.value)):
                found[statement.targets[0].id] = status
    return found


def rejection(node: ast.AST, raised: dict[str, str] | None = None) -> str | None:
    """How this node turns a request away: `raise HTTPException(401)`, `abort(403)`, `return ..., 401`,
    `raise credentials_exception` bound to such an exception in the function or module."""
    if isinstance(node, ast.Raise) and node.exc is not None:
        exc = node.exc
        name = _last(dotted_name(exc.func if isinstance(exc, ast.Call) else exc) or "")
        status = _call_status(exc) if isinstance(exc, ast.Call) else (raised or {}).get(exc.id) if isinstance(exc, ast.Name) else None
        if status:
            return status
        if AUTH_ERROR.search(name):
            return f"raise {name}"
    elif isinstance(node, ast.Call) and _named_abort(node.func):
        return _call_status(node)
    elif isinstance(node, ast.Return) and node.value is not None:
        value = node.value
        if isinstance(value, ast.Tuple):
            return next((found for element in value.elts if (found := _status(element))), None)
        if isinstance(value, ast.Call):
            if _last(dotted_name(value.func) or "") == "redirect" and "login" in ast.unparse(value):
                return "redirect to login"
            return next((found for k in value.keywords if k.arg in ("status_code", "status") and (found := _status(k.value))), None)
    return None


def _named_abort(func: ast.expr) -> bool:
    """`abort` or `flask.abort` (any dotted name ending in it)."""
    if type(func) is ast.Name:
        return func.id == "abort"  # type: ignore[attr-defined]
    return type(func) is ast.Attribute and func.attr == "abort" and dotted_name(func) is not None  # type: ignore[attr-defined]


def credential(node: ast.AST, requests: set[str], origins: dict[str, str]) -> str | None:
    """The credential this node reads: `request.headers`, `current_user`, `session["user_id"]`, `jwt.decode`."""
    if isinstance(node, ast.Attribute):
        # the chain's root name and the attribute read from it, without building the dotted name
        first, root = node, node.value
        while type(root) is ast.Attribute:
            first, root = root, root.value  # type: ignore[attr-defined]
        if type(root) is ast.Name and root.id in requests and first.attr in CREDENTIAL_PARTS:  # type: ignore[attr-defined]
            return f"{root.id}.{first.attr}"  # type: ignore[attr-defined]
    elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
        origin = origins.get(node.id, "")
        if origin.endswith(".current_user") or origin in ("flask.session", "flask.g.user"):
            return node.id
    elif isinstance(node, ast.Call):
        name = dotted_name(node.func) or ""
        if name in IDENTITY_CALLS or _last(name) in IDENTITY_CALLS:
            return name
    return None


def _opening(body: list[ast.stmt]) -> list[ast.stmt]:
    """The first statements of a body, past a docstring and into a leading `try:`."""
    statements = [s for s in body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    if statements and isinstance(statements[0], ast.Try):
        statements = statements[0].body + statements[1:]
    return statements[:OPENING_STATEMENTS]


def _returned_functions(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """The functions a dependency factory defines and returns (`def require(p): def dependency(...): ...;
    return dependency`): `Depends(require(p))` depends on what they depend on."""
    defined = {s.name: s for s in function.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}
    return [defined[s.value.id] for s in function.body
            if isinstance(s, ast.Return) and isinstance(s.value, ast.Name) and s.value.id in defined]


def _required_flag(body: list[ast.stmt], raised: dict[str, str]) -> str:
    """`current_user.is_admin` for a top-level `if not current_user.is_admin: raise HTTPException(403)`."""
    for statement in body:
        test = statement.test if isinstance(statement, ast.If) else None
        if (isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) and isinstance(test.operand, ast.Attribute)
                and statement.body and rejection(statement.body[0], raised)):  # type: ignore[union-attr]
            return dotted_name(test.operand) or ""
    return ""


def _check_in(nodes: Iterable[ast.AST], requests: set[str], origins: dict[str, str],
              raised: dict[str, str] | None = None) -> tuple[str | None, str | None, ast.AST | None]:
    reads = rejects = None
    where: ast.AST | None = None
    # A name reads a credential only when imported as one (`credential`); names and attributes never reject.
    users = {name for name, origin in origins.items() if origin.endswith(".current_user") or origin in ("flask.session", "flask.g.user")}
    for node in nodes:
        kind = type(node)
        if kind is ast.Name:
            if reads is None and node.id in users and type(node.ctx) is ast.Load:  # type: ignore[attr-defined]
                reads = node.id  # type: ignore[attr-defined]
            continue
        if kind not in CHECKED:
            continue  # neither reads a credential nor rejects
        if reads is None:
            reads = credential(node, requests, origins)
        if rejects is None and kind is not ast.Attribute:
            rejects = rejection(node, raised)
            where = node if rejects else None
    return reads, rejects, where


@collector
def python_routes(module: PyModule) -> Iterator[object]:
    yield from FileRoutes(module).run()
