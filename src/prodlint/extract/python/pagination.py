"""Page-size request parameters in FastAPI and Flask, the bounds on them, and each
function's direct calls.

FastAPI: a handler parameter named by `pagination.params` (`limit: int = 100`,
`Query(100, le=100)`, `Annotated[int, Query(le=100)]`), and the fields of a class
used as a query model (`Depends()`). Flask: `request.args.get("limit", type=int)` /
`int(request.args["limit"])`, bounded when `min()` or a comparison caps it in the
same function, or when it passes through a helper (resolved by the model from the
helper's body, never its name).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from prodlint.extract.python import PyModule, collector
from prodlint.extract.python.models import keyword
from prodlint.facts.pagination import FASTAPI, FLASK, SCHEMA, Function, PageSizeParam, QueryModelUse, is_page_size_name

ROUTE_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "api_route"})
INT_TYPES = frozenset({"int", "PositiveInt", "NonNegativeInt", "conint"})
UPPER_BOUNDS = ("le", "lt")
# Calls a value passes through that neither clamp it nor hide it.
TRANSPARENT_CALLS = frozenset({"int", "float", "abs", "str", "len", "print", "bool", "max", "isinstance", "range"})
# Methods that use a page size rather than change it.
CONSUMERS = frozenset({"limit", "offset", "paginate", "fetchmany", "slice", "append", "get", "jsonify"})
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _last(name: str | None) -> str:
    return (name or "").rsplit(".", 1)[-1]


def _upper_bound(call: ast.AST) -> str | None:
    """`Query(100, le=100)` / `Field(le=100)` / `conint(lt=101)` -> "le=100"; None without one."""
    if isinstance(call, ast.Call):
        for argument in call.keywords:
            if argument.arg in UPPER_BOUNDS:
                return f"{argument.arg}={ast.unparse(argument.value)}"
    return None


class PageSizeType:
    """What an annotation and default say about a parameter: an int, bounded or not, or a query model."""

    def __init__(self, annotation: ast.AST | None, default: ast.AST | None) -> None:
        self.is_int = False
        self.bound: str | None = _upper_bound(default)
        self.query_model: str | None = None
        self.declared_by = default
        self._read(annotation, default)

    def _read(self, annotation: ast.AST | None, default: ast.AST | None) -> None:
        if isinstance(annotation, ast.Subscript) and _last(dotted(annotation.value)) == "Annotated":
            inner = annotation.slice.elts if isinstance(annotation.slice, ast.Tuple) else [annotation.slice]
            if inner:
                for metadata in inner[1:]:
                    self.bound = self.bound or _upper_bound(metadata)
                    if isinstance(metadata, ast.Call) and _last(dotted(metadata.func)) in ("Depends", "Query") and not metadata.args:
                        # `Annotated[Filters, Query()]` is a query model; `Annotated[int, Query(ge=1)]` one parameter
                        if _last(dotted(inner[0])) not in INT_TYPES and dotted(inner[0]) is not None:
                            self.query_model = dotted(inner[0])
                self._read(inner[0], None)
            return
        if isinstance(annotation, ast.Subscript) and _last(dotted(annotation.value)) == "Optional":
            self._read(annotation.slice, None)
            return
        if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
            self._read(annotation.left, None)
            self._read(annotation.right, None)
            return
        if isinstance(annotation, ast.Call) and _last(dotted(annotation.func)) == "conint":
            self.is_int = True
            self.bound = self.bound or _upper_bound(annotation)
            return
        if _last(dotted(annotation) if annotation is not None else None) in INT_TYPES:
            self.is_int = True
        if (
            isinstance(default, ast.Call) and _last(dotted(default.func)) == "Depends" and not default.args
            and annotation is not None and not self.is_int
        ):
            self.query_model = dotted(annotation)


class PaginationCollector(ast.NodeVisitor):
    def __init__(self, module: PyModule) -> None:
        self.module = module
        self.params = set(module.config.page_params)
        self.scope: list[ast.AST] = []
        self.facts: list[object] = []
        self.uses_flask = any(
            isinstance(n, ast.ImportFrom) and (n.module or "").split(".")[0] == "flask"
            or isinstance(n, ast.Import) and any(a.name.split(".")[0] == "flask" for a in n.names)
            for n in module.tree.body
        )

    def qualname(self) -> str:
        return ".".join(s.name for s in self.scope if isinstance(s, (*FUNCTIONS, ast.ClassDef)))

    def generic_visit(self, node: ast.AST) -> None:
        # Only statements hold definitions: expressions are not entered.
        for child in self.module.children(node):
            if isinstance(child, (ast.stmt, ast.excepthandler, ast.match_case)):
                self.visit(child)

    # --- scopes -------------------------------------------------------------

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if node.bases:
            self._schema_fields(node)
        self.scope.append(node)
        self.generic_visit(node)
        self.scope.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.scope.append(node)
        name = self.qualname()
        own = self.module.own_nodes(node)
        self.facts.append(Function(name, self.module.at(node), _calls(own), _clamps(node, own)))
        if any(self._is_route_decorator(d) for d in node.decorator_list):
            self._fastapi_parameters(node, name)
        if self.uses_flask:
            self._flask_reads(node, name)
        self.generic_visit(node)
        self.scope.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    @staticmethod
    def _is_route_decorator(decorator: ast.AST) -> bool:
        return isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute) and decorator.func.attr in ROUTE_METHODS

    # --- FastAPI --------------------------------------------------------------

    def _fastapi_parameters(self, function: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> None:
        arguments = function.args
        positional = arguments.posonlyargs + arguments.args
        defaults: list[ast.AST | None] = [None] * (len(positional) - len(arguments.defaults)) + list(arguments.defaults)
        pairs = list(zip(positional, defaults, strict=True)) + list(zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True))
        for argument, default in pairs:
            kind = PageSizeType(argument.annotation, default)
            if kind.query_model:
                self.facts.append(QueryModelUse(kind.query_model, name, self.module.at(argument)))
            elif is_page_size_name(argument.arg, self.params) and kind.is_int and not _only_sliced(self.module, function, argument.arg):
                read = f"Query({ast.unparse(default.args[0]) if default.args else ''})" if _is_call_to(default, "Query") else "FastAPI query parameter"
                # no declared maximum: the handler may still cap it (`limit = min(limit, 100)`)
                bound, helpers = (kind.bound, ()) if kind.bound else _capped_in(self.module, function, {argument.arg})
                self.facts.append(PageSizeParam(argument.arg, FASTAPI, read, self.module.at(argument), bound, helpers, function=name))

    def _schema_fields(self, cls: ast.ClassDef) -> None:
        for statement in cls.body:
            if not (isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)):
                continue
            if not is_page_size_name(statement.target.id, self.params):
                continue
            kind = PageSizeType(statement.annotation, statement.value)
            if kind.is_int:
                self.facts.append(
                    PageSizeParam(statement.target.id, SCHEMA, f"field {cls.name}.{statement.target.id}", self.module.at(statement),
                                  kind.bound, schema=cls.name)
                )

    # --- Flask ----------------------------------------------------------------

    def _flask_reads(self, function: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> None:
        parents = self.module.parents
        for node in self.module.own_nodes(function):
            param = self._request_arg(node)
            if param is None:
                continue
            value: ast.AST = node
            while _is_call_to(parents.get(value), *TRANSPARENT_CALLS):
                value = parents[value]
            bound, helpers, unknown = self._flow(function, value)
            read = f'request.args.get("{param}")' if isinstance(node, ast.Call) else f'request.args["{param}"]'
            self.facts.append(PageSizeParam(param, FLASK, read, self.module.at(node), bound, helpers, unknown, name))

    def _request_arg(self, node: ast.AST) -> str | None:
        """`request.args.get("limit", ...)` / `request.args["limit"]` -> "limit"."""
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            source, key = node.func.value, node.args[0] if node.args else None
        elif isinstance(node, ast.Subscript):
            source, key = node.value, node.slice
        else:
            return None
        if dotted(source) != "request.args" or not isinstance(key, ast.Constant) or not isinstance(key.value, str) or not is_page_size_name(key.value, self.params):
            return None
        return key.value

    def _flow(self, function: ast.AST, value: ast.AST) -> tuple[str | None, tuple[str, ...], bool]:
        """Where the value read goes within the function: capped (`min`), into helpers, or out of sight."""
        parent = self.module.parents.get(value)
        if _is_call_to(parent, "min"):
            return "min()", (), False
        if isinstance(parent, ast.Call) and value in parent.args:
            callee = _helper(parent)
            return None, (callee,) if callee else (), False
        targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target] if isinstance(parent, (ast.AnnAssign, ast.NamedExpr)) else []
        names = {t.id for t in targets if isinstance(t, ast.Name)}
        if not names:
            # returned or stored elsewhere: the caller decides, so unknown here
            return None, (), not isinstance(parent, ast.keyword)
        return (*_capped_in(self.module, function, names), False)


def _capped_in(module: PyModule, function: ast.AST, names: set[str]) -> tuple[str | None, tuple[str, ...]]:
    """How a function's body caps the variables `names`: `min(limit, MAX)` or `if limit > MAX`
    (the evidence), else the helpers they are handed to, which the model resolves."""
    helpers: list[str] = []
    parents = module.parents  # within the function, the same parents as a walk of it alone
    for node in module.own_nodes(function):
        if _is_call_to(node, "paginate") and (cap := keyword(node, "max_per_page")) is not None and _mentions(node, names):
            return f"max_per_page={ast.unparse(cap)}", ()  # Flask-SQLAlchemy caps per_page itself
        if isinstance(node, ast.Call) and any(isinstance(a, ast.Name) and a.id in names for a in node.args):
            if _is_call_to(node, "min"):
                return "min()", ()
            callee = _helper(node)
            if callee and not _computes_other_value(node, parents):
                helpers.append(callee)
        if isinstance(node, ast.Compare) and _caps(node, names):
            return "a comparison", ()
    return None, tuple(dict.fromkeys(helpers))


def _computes_other_value(call: ast.Call, parents: dict[ast.AST, ast.AST]) -> bool:
    """`offset=compute_offset(page, size)`: the result is another argument, not the page size; a
    Python int cannot be changed by the call, so the size itself goes on as it was."""
    parent = parents.get(call)
    if isinstance(parent, ast.keyword):
        return parent.arg is not None and parent.arg in OTHER_VALUES
    return _is_call_to(parent, *OTHER_VALUES) and isinstance(parent.func, ast.Attribute)  # `.offset(compute_offset(...))`


# Keyword arguments that take something computed from a page size, not the page size.
OTHER_VALUES = frozenset({"offset", "skip", "start", "page", "cursor"})


def _only_sliced(module: PyModule, function: ast.AST, name: str) -> bool:
    """`return rows[:limit]`: the value only slices a list already in memory, it asks the database for nothing."""
    uses = [n for n in module.own_nodes(function) if isinstance(n, ast.Name) and n.id == name]
    parents = module.parents
    return bool(uses) and all(isinstance(parents.get(use), ast.Slice) for use in uses)


def _is_call_to(node: ast.AST | None, *names: str) -> bool:
    return isinstance(node, ast.Call) and _last(dotted(node.func)) in names


def _mentions(call: ast.Call, names: set[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(call))


def _helper(call: ast.Call) -> str | None:
    """The function a value is handed to that might clamp it; None for a query method or a builtin."""
    callee = dotted(call.func)
    if callee is None or _last(callee) in TRANSPARENT_CALLS or callee.startswith(("log", "logger.")):
        return None
    if _last(callee) in CONSUMERS and isinstance(call.func, ast.Attribute):
        return None  # `query.limit(n)`, `query.paginate(...)`: the query uses it
    return callee


def _caps(compare: ast.Compare, names: set[str]) -> bool:
    """`limit > MAX` / `MAX < limit`: an upper cap checked in code (`limit > 0` is a lower bound)."""
    left, op, right = compare.left, compare.ops[0], compare.comparators[0]
    if isinstance(op, (ast.Lt, ast.LtE)):
        left, right = right, left
    elif not isinstance(op, (ast.Gt, ast.GtE)):
        return False
    at_most_one = isinstance(right, ast.Constant) and isinstance(right.value, (int, float)) and right.value <= 1
    return isinstance(left, ast.Name) and left.id in names and not at_most_one


def _calls(own: list[ast.AST]) -> tuple[str, ...]:
    names = (dotted(n.func) for n in own if isinstance(n, ast.Call))
    return tuple(sorted({n for n in names if n}))


def _clamps(function: ast.FunctionDef | ast.AsyncFunctionDef, own: list[ast.AST]) -> bool:
    """The body caps one of its parameters: `min(value, MAX)` or `if value > MAX:`."""
    params = {a.arg for a in function.args.posonlyargs + function.args.args + function.args.kwonlyargs}
    for node in own:
        if _is_call_to(node, "min") and len(node.args) >= 2:
            return True
        if isinstance(node, ast.Compare) and _caps(node, params):
            return True
    return False


@collector
def collect_pagination(module: PyModule) -> list[object]:
    collector_ = PaginationCollector(module)
    collector_.visit(module.tree)
    return collector_.facts
