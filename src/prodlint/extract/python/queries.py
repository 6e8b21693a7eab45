"""SQLAlchemy queries and raw SQL strings in Python.

Query forms: `session.query(M)…`, `select(M)…` (also built up as `stmt = stmt.where(...)`
in the same block), `update(M)` / `delete(M)`, `session.get(M, id)`, and
Flask-SQLAlchemy `M.query…`. The filter is read from `.filter()`, `.filter_by()`,
`.where()` (`==`, `.in_()`, `and_`, `or_`, `&`, `|`); a condition prodlint cannot
see through (a variable, a helper call, `**kwargs`) makes it unknown. Raw SQL
comes from `text("...")` and `.execute("...")`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from prodlint.extract.python import NESTED_SCOPES, PyModule, child_nodes, collector
from prodlint.extract.python.models import call_name, dotted, string
from prodlint.facts import Location
from prodlint.facts.data import READ, SQLALCHEMY, WRITE, ClientInput, FilterParts, IdentityCall, NewRow, Query, RawSql, RowCheck, ScopedCall

FILTERS = frozenset({"filter", "where", "filter_by"})
SINGLE_ROW = frozenset({"first", "one", "one_or_none", "scalar", "scalar_one", "scalar_one_or_none", "get", "first_or_404", "one_or_404", "get_or_404", "exists"})
MANY_ROWS = frozenset({"all", "paginate", "fetchall", "partitions"})
EXECUTORS = frozenset({"execute", "scalars", "scalar", "exec", "scalar_one", "scalar_one_or_none", "stream", "stream_scalars"})
RAW_EXECUTORS = frozenset({"execute", "exec_driver_sql", "executemany", "fetch", "fetchrow", "fetchval", "executescript"})
SQL_START = re.compile(r"^\s*(?:\(\s*)?(select|with|update|delete|insert)\b", re.IGNORECASE)
ORM_MODULES = ("sqlalchemy", "sqlmodel", "flask_sqlalchemy")
# Flask's request: what the client sends (not `session`, which Flask signs).
FLASK_INPUT = {"args": "query string", "view_args": "path parameter", "json": "body", "form": "body", "values": "query string",
               "headers": "header", "cookies": "cookie", "get_json": "body"}
ROUTE_METHODS = frozenset({"get", "post", "put", "patch", "delete", "api_route", "route"})
SCALAR_ANNOTATIONS = frozenset({"str", "int", "UUID", "uuid.UUID", "UUID4", "Optional[str]", "Optional[int]", "str | None", "int | None"})
# The caller's identity in a comparison or a membership call.
# Any part of a name will do (`userTenantId`, `current_org`): reading more as a check only silences TN004.
IDENTITY = re.compile(r"user|auth|session|payload|decoded|claims|token|member|current|principal|locals", re.IGNORECASE)
EXITS = (ast.Raise, ast.Return, ast.Continue)
# A call made only for its check: `check_admin_access(db, user.id, row.org_id)`.
VERIFIER = re.compile(r"check|verify|ensure|assert|require|authori[sz]e|permission|guard|validate|can_|must", re.IGNORECASE)
PLATFORM_ADMIN = re.compile(r"super_?admin|superuser|platform_?admin|staff", re.IGNORECASE)


def platform_admin_guard(node: ast.expr) -> str:
    """The guard a `Depends(...)` argument names when it admits platform admins only, or "":
    `get_current_super_admin`, `require_platform_admin()`, `RoleGuard(UserRole.PLATFORM_ADMIN)`
    (every role it is given is a platform one; not `RoleGuard([Role.ADMIN, Role.SUPER_ADMIN])`)."""
    if isinstance(node, ast.Call):
        roles = [r for a in node.args for r in (a.elts if isinstance(a, (ast.List, ast.Tuple, ast.Set)) else [a])]
        named = [dotted(r) or (r.value if isinstance(r, ast.Constant) and isinstance(r.value, str) else "") for r in roles]
        if PLATFORM_ADMIN.search(dotted(node.func)) or (named and all(n and PLATFORM_ADMIN.search(n) for n in named)):
            return ast.unparse(node)
        return ""
    name = dotted(node)
    return name if PLATFORM_ADMIN.search(name) else ""


@dataclass(slots=True)
class Chain:
    """A query being read from its root call outwards."""

    model: str
    operation: str
    kind: str
    client: str
    root: ast.expr
    filter: FilterParts = field(default_factory=FilterParts)
    order_by: list[str] = field(default_factory=list)
    has_limit: bool = False
    terminal: str | None = None
    binds: str = ""


SCOPES = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef})


class QueryReader:
    """Visits one module with a scope stack, like pyflakes, and reads each query chain once."""

    def __init__(self, module: PyModule) -> None:
        self.module = module
        self.parents = module.parents
        self.orm_names = self._orm_imports()
        self.scope: list[ast.AST] = []
        self.facts: list[object] = []
        self.strings: dict[str, ast.expr] = {}
        self.core_tables = self._core_tables()
        self._compared: dict[ast.AST, tuple[str, ...]] = {}  # per function: each of its queries asks

    def _core_tables(self) -> frozenset[str]:
        """Names this module uses as SQLAlchemy Core tables: bound to `Table(...)`, or read as `orders.c.x`."""
        names = {
            n.targets[0].id for n in self.module.of_type(ast.Assign)
            if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name)
            and isinstance(n.value, ast.Call) and call_name(n.value) == "Table"
        }
        names |= {dotted(n.value) for n in self.module.of_type(ast.Attribute) if n.attr == "c" and dotted(n.value)}  # type: ignore[attr-defined]
        return frozenset(names)

    def _orm_imports(self) -> dict[str, str]:
        """Local names bound to SQLAlchemy helpers: `select`, `sa` -> `sa.select`, ..."""
        names: dict[str, str] = {}
        for node in self.module.of_types(ast.Import, ast.ImportFrom):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ORM_MODULES:
                for alias in node.names:
                    names[alias.asname or alias.name] = alias.name
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] in ORM_MODULES:
                        names[alias.asname or alias.name] = "module"
        return names

    def _orm_function(self, call: ast.Call) -> str | None:
        """`select` / `sa.select` / `sqlalchemy.update` imported from SQLAlchemy or SQLModel."""
        if isinstance(call.func, ast.Name):
            imported = self.orm_names.get(call.func.id)
            return imported if imported not in (None, "module") else None
        if isinstance(call.func, ast.Attribute) and self.orm_names.get(dotted(call.func.value)) == "module":
            return call.func.attr
        return None

    # --- scopes -------------------------------------------------------------

    def visit(self, node: ast.AST) -> None:
        """Every node depth first, as `NodeVisitor` would, without a call per node: reads each call
        in the scope of the functions and classes around it."""
        get, scope = self.module.child_index.get, self.scope
        stack: list[ast.AST | None] = [node]
        while stack:
            current = stack.pop()
            if current is None:  # leaving a scope
                scope.pop()
                continue
            kind = type(current)
            if kind is ast.Call:
                self.read_call(current)  # type: ignore[arg-type]
            elif kind in SCOPES:
                scope.append(current)
                stack.append(None)
            kids = get(current)
            stack += reversed(kids if kids is not None else child_nodes(current))

    def qualname(self) -> tuple[str, Location | None]:
        names = [s.name for s in self.scope if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        function = next((s for s in reversed(self.scope) if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))), None)
        return ".".join(names), self.module.at(function) if function is not None else None

    # --- queries ------------------------------------------------------------

    def read_call(self, node: ast.Call) -> None:
        chain = self.root(node) or self.helper_query(node)
        if chain is not None:
            self.follow(chain, node)
            self.emit(chain)
        else:
            self.raw_sql(node)
            self.deleted_row(node)

    def helper_query(self, call: ast.Call) -> Chain | None:
        """A project helper handed a model and a filter dict: `paginated_response(db, model=User, filters={"org_id": org_id})`.

        What the helper adds is unknown, so only the keys given are known to be pinned.
        """
        model = keyword_value(call, "model")
        filters = keyword_value(call, "filters") or keyword_value(call, "filter_by")
        if model is None or not isinstance(filters, ast.Dict) or self.entity(model) != dotted(model) or not dotted(model):
            return None
        chain = Chain(dotted(model), call_name(call), READ, "", call)
        chain.filter.unknown = True
        for key, value in zip(filters.keys, filters.values, strict=True):
            if string(key) is not None and not _is_none(value):
                chain.filter.pin(string(key), ast.unparse(value))
        return chain

    def deleted_row(self, call: ast.Call) -> None:
        """`session.delete(row)` of a row this function looked up: a delete with that lookup's scoping."""
        if not (isinstance(call.func, ast.Attribute) and call.func.attr == "delete" and len(call.args) == 1 and isinstance(call.args[0], ast.Name)):
            return
        row = call.args[0].id
        function, _ = self.qualname()
        lookup = next((f for f in reversed(self.facts) if isinstance(f, Query) and f.binds == row and f.function == function and not f.returns_many), None)
        if lookup is None:
            return
        parts = FilterParts(unknown=lookup.filter.unknown)
        parts.pin("id", f"{row}.id")
        self.emit(Chain(lookup.model, "delete", WRITE, dotted(call.func.value), call, parts, has_limit=True, terminal="delete"))

    def root(self, call: ast.Call) -> Chain | None:
        func = call.func
        orm_function = self._orm_function(call)
        if orm_function in ("select", "update", "delete") and call.args:
            model = self.entity(call.args[0]) or (self._selected_from(call) if orm_function == "select" else None)
            if model:
                kind = READ if orm_function == "select" else WRITE
                return Chain(model, orm_function, kind, "", call)
            return None
        if not isinstance(func, ast.Attribute):
            return None
        client = dotted(func.value)
        if func.attr in ("select", "update", "delete") and client in self.core_tables:
            return Chain(client, func.attr, READ if func.attr == "select" else WRITE, "", call)  # `orders.select()`
        if func.attr == "query" and call.args and not call.keywords:
            model = self.entity(call.args[0])
            if model and not self._is_model_query(func.value):
                return Chain(model, "query", READ, client, call)
        if func.attr in ("get", "get_one", "get_or_404") and len(call.args) == 2 and self.entity(call.args[0]) and isinstance(call.args[0], (ast.Name, ast.Attribute)):
            model = self.entity(call.args[0])
            if model == dotted(call.args[0]):
                return Chain(model, "get", READ, client, call, has_limit=True, terminal="get")
        if self._is_model_query(func.value) and not isinstance(self.parents.get(func.value), ast.Call):
            model = dotted(func.value.value)  # type: ignore[attr-defined]
            chain = Chain(model, func.attr, READ, f"{model}.query", func.value)
            self.apply(chain, func.attr, call)
            return chain
        return None

    def _selected_from(self, call: ast.Call) -> str | None:
        """`select(func.count()).select_from(Order)` counts Orders."""
        current: ast.AST = call
        while isinstance(self.parents.get(current), ast.Attribute) and isinstance(self.parents.get(self.parents[current]), ast.Call):
            attribute = self.parents[current]
            current = self.parents[attribute]
            if attribute.attr == "select_from" and current.args:
                return self.entity(current.args[0])
        return None

    def _is_model_query(self, node: ast.expr) -> bool:
        """Flask-SQLAlchemy `Order.query`: an attribute `query` on a capitalised name."""
        return isinstance(node, ast.Attribute) and node.attr == "query" and dotted(node.value).rsplit(".", 1)[-1][:1].isupper()

    def entity(self, node: ast.expr) -> str | None:
        """The model a query selects: `Order`, `models.Order`, `Order.id` -> `Order`."""
        name = dotted(node)
        if name in self.core_tables:
            return name
        if name.endswith(".c") or ".c." in name:  # `orders.c.id`
            table = name[: name.rindex(".c")] if name.endswith(".c") else name.split(".c.", 1)[0]
            if table in self.core_tables:
                return table
        if not name:
            if isinstance(node, ast.Call) and call_name(node) in ("count", "sum", "max", "min", "avg") and node.args:
                return self.entity(node.args[0])
            return None
        parts = name.split(".")
        for index in range(len(parts) - 1, -1, -1):
            if parts[index][:1].isupper():
                return ".".join(parts[: index + 1])
        return None

    def follow(self, chain: Chain, node: ast.expr) -> None:
        """Walk outwards through `.filter(...).order_by(...).all()` and `session.execute(stmt)`."""
        current: ast.expr = node
        executed = False
        while True:
            parent = self.parents.get(current)
            if isinstance(parent, ast.Attribute) and isinstance(self.parents.get(parent), ast.Call) and self.parents[parent].func is parent:
                call = self.parents[parent]
                self.apply(chain, parent.attr, call)
                current = call
                continue
            if isinstance(parent, ast.Call) and current in parent.args and isinstance(parent.func, ast.Attribute) and parent.func.attr in EXECUTORS:
                current = parent
                executed = True
                chain.terminal = chain.terminal or (None if parent.func.attr in ("execute", "exec") else parent.func.attr)
                continue
            if isinstance(parent, ast.Await):
                current = parent
                continue
            break
        if isinstance(parent, ast.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Name):
            name = parent.targets[0].id
            if executed and chain.terminal is None:
                self.follow_result(chain, parent, name)  # `result = await db.execute(stmt)` then `row = result.scalars().first()`
            else:
                chain.binds = chain.binds or name
                if chain.terminal is None:  # a statement or builder; an executed row handed on is no filter
                    self.follow_statement(chain, parent, name)

    def follow_result(self, chain: Chain, assignment: ast.Assign, name: str) -> None:
        block = self._block_of(assignment)
        for statement in block[block.index(assignment) + 1 :] if block is not None else ():
            if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name)):
                continue
            methods = []
            value = statement.value
            while isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
                methods.append(value.func.attr)
                value = value.func.value
            if isinstance(value, ast.Name) and value.id == name and methods:
                chain.binds = statement.targets[0].id
                for method in reversed(methods):
                    self.apply(chain, method, ast.Call(func=ast.Name("x"), args=[], keywords=[]))
                return

    def follow_statement(self, chain: Chain, assignment: ast.Assign, name: str) -> None:
        """`stmt = select(M)` then `stmt = stmt.where(...)` and `session.execute(stmt)` in the same block.

        A narrowing under an `if` guarantees nothing, so it adds no key; one prodlint
        cannot read (`stmt = apply_filters(stmt)`) makes the filter unknown.
        """
        block = self._block_of(assignment)
        if block is None:
            return
        for statement in block[block.index(assignment) + 1 :]:
            for node in self.module.walk(statement):
                if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Load):
                    self._use(chain, node, conditional=statement is not self._statement_of(node))
            if isinstance(statement, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in statement.targets):
                if not any(isinstance(n, ast.Name) and n.id == name for n in self.module.walk(statement.value)):
                    return  # rebound to something else

    def _statement_of(self, node: ast.AST) -> ast.AST:
        while not isinstance(node, ast.stmt):
            node = self.parents[node]
        return node

    def _use(self, chain: Chain, name: ast.Name, conditional: bool) -> None:
        parent = self.parents.get(name)
        if isinstance(parent, ast.Call) and isinstance(parent.func, ast.Attribute) and parent.func.attr in EXECUTORS:
            if chain.terminal is None:
                self.follow(chain, name)
            return
        if not (isinstance(parent, ast.Attribute) and isinstance(self.parents.get(parent), ast.Call)):
            if isinstance(parent, ast.Call):
                chain.filter.unknown = True  # handed to a helper that may narrow it
            return
        narrowed = Chain(chain.model, chain.operation, chain.kind, chain.client, chain.root)
        current: ast.AST = name
        while isinstance(self.parents.get(current), ast.Attribute) and isinstance(self.parents.get(self.parents[current]), ast.Call):
            attribute = self.parents[current]
            call = self.parents[attribute]
            if call.func is not attribute:
                break
            self.apply(narrowed, attribute.attr, call)
            current = call
        if conditional:
            chain.filter.unknown |= narrowed.filter.unknown
            # `if self.group_id: stmt = stmt.filter(M.group_id == self.group_id)`: pinned whenever the
            # object has a tenant; one built without is cross-tenant on purpose. (An optional
            # parameter tested the same way is left as it was: a caller may leave it out.)
            tested = self._tested(name)
            for key, value in narrowed.filter.values.items():
                if value in tested and value.startswith("self."):
                    chain.filter.pin(key, value)
        else:
            chain.filter.add(narrowed.filter)
            chain.order_by.extend(narrowed.order_by)
            chain.has_limit |= narrowed.has_limit
        chain.terminal = chain.terminal or narrowed.terminal

    def _tested(self, node: ast.AST) -> set[str]:
        """Values the enclosing `if`s require to be set: `if x:`, `if x is not None:`, `if a and b:`."""
        tested: set[str] = set()
        current = node
        while current in self.parents:
            parent = self.parents[current]
            if isinstance(parent, ast.If) and current in parent.body:
                tests = parent.test.values if isinstance(parent.test, ast.BoolOp) and isinstance(parent.test.op, ast.And) else [parent.test]
                for test in tests:
                    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.IsNot) and _is_none(test.comparators[0]):
                        test = test.left
                    if isinstance(test, (ast.Name, ast.Attribute)):
                        tested.add(ast.unparse(test))
            if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef)):
                break
            current = parent
        return tested

    def _block_of(self, statement: ast.stmt) -> list[ast.stmt] | None:
        parent = self.parents.get(statement)
        for name in ("body", "orelse", "finalbody"):
            block = getattr(parent, name, None)
            if isinstance(block, list) and statement in block:
                return block
        return None

    def apply(self, chain: Chain, method: str, call: ast.Call) -> None:
        if method in FILTERS:
            if method == "filter_by":
                if any(k.arg is None for k in call.keywords):
                    chain.filter.unknown = True
                for k in call.keywords:
                    if k.arg is not None and not _is_none(k.value):
                        chain.filter.pin(k.arg, ast.unparse(k.value))
            for condition in call.args:
                chain.filter.add(self.condition(condition, chain.model))
        elif method == "order_by":
            chain.order_by.extend(c for c in (self._column(a, chain.model, sort=True) for a in call.args) if c)
        elif method in ("limit", "slice", "paginate"):
            chain.has_limit = True
            chain.terminal = method if method == "paginate" else chain.terminal
        elif method in SINGLE_ROW:
            chain.has_limit = True
            chain.terminal = method
        elif method in MANY_ROWS:
            chain.terminal = f"{chain.terminal}.{method}" if chain.terminal == "scalars" else method
        elif method in ("scalars", "unique"):
            chain.terminal = chain.terminal or "scalars"
        elif method in ("update", "delete") and (chain.operation == "query" or chain.client.endswith(".query")):
            chain.operation, chain.kind = method, WRITE  # `session.query(M)...delete()`, Flask-SQLAlchemy `M.query...delete()`
        elif method == "count":
            chain.terminal = "count"

    def condition(self, node: ast.expr, model: str) -> FilterParts:
        parts = FilterParts()
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            left, right = node.left, node.comparators[0]
            column = self._column(left, model) or self._column(right, model)
            other = right if self._column(left, model) else left
            if column is None:
                parts.unknown = not _is_literal(left) and not _is_literal(right)
            elif isinstance(node.ops[0], (ast.Eq, ast.In)) and not _is_none(other):
                parts.pin(column, ast.unparse(other))
            elif isinstance(node.ops[0], (ast.Lt, ast.LtE, ast.Gt, ast.GtE)):
                parts.ranges.add(column)
            return parts
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr)):
            left, right = self.condition(node.left, model), self.condition(node.right, model)
            if isinstance(node.op, ast.BitAnd):
                left.add(right)
                return left
            return FilterParts.either([left, right])
        if isinstance(node, ast.Call):
            name = call_name(node)
            if name in ("and_", "or_") and not any(isinstance(a, ast.Starred) for a in node.args):
                branches = [self.condition(a, model) for a in node.args]
                if name == "and_":
                    for branch in branches:
                        parts.add(branch)
                    return parts
                return FilterParts.either(branches)
            if name in ("not_",):
                return parts
            if isinstance(node.func, ast.Attribute):
                column = self._column(node.func.value, model)
                if column is not None:
                    if node.func.attr in ("in_", "is_") and not (node.func.attr == "is_" and node.args and _is_none(node.args[0])):
                        parts.pin(column, ast.unparse(node.args[0]) if node.args else None)
                    elif node.func.attr in ("between", "like", "ilike", "startswith", "endswith", "contains", "any", "has", "match"):
                        parts.ranges.add(column)
                    return parts
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Invert):
            return parts
        if isinstance(node, ast.Constant):
            return parts
        parts.unknown = True
        return parts

    def _column(self, node: ast.expr, model: str, sort: bool = False) -> str | None:
        """`Order.status` -> "status"; `Customer.tenant_id` -> "Customer.tenant_id"."""
        if sort:
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("desc", "asc"):
                node = node.func.value
            elif isinstance(node, ast.Call) and call_name(node) in ("desc", "asc") and node.args:
                node = node.args[0]
            if string(node):
                return string(node)
        if not isinstance(node, ast.Attribute):
            return None
        owner = dotted(node.value)
        if owner.endswith(".c") and owner[:-2] in self.core_tables:  # Core: `orders.c.tenant_id`
            table = owner[:-2]
            return node.attr if table == model else f"{table}.{node.attr}"
        if not owner or not owner.rsplit(".", 1)[-1][:1].isupper():
            return None
        if owner.rsplit(".", 1)[-1] == model.rsplit(".", 1)[-1]:
            return node.attr
        return f"{owner.rsplit('.', 1)[-1]}.{node.attr}"

    def emit(self, chain: Chain) -> None:
        function, function_at = self.qualname()
        many = chain.terminal in ("all", "scalars.all", "paginate", "fetchall", "partitions") or chain.terminal == "scalars"
        self.facts.append(
            Query(
                orm=SQLALCHEMY,
                model=chain.model,
                operation=chain.operation,
                kind=chain.kind,
                client=chain.client,
                filter=chain.filter.freeze(),
                at=self.module.at(chain.root),
                function=function,
                function_at=function_at,
                order_by=tuple(chain.order_by),
                has_limit=chain.has_limit or chain.terminal == "paginate",
                returns_many=many and chain.kind == READ,
                terminal=chain.terminal,
                binds=chain.binds,
                parameters=self.parameters(),
                compared=self.compared_parameters(),
            )
        )

    # --- the function around a query: parameters, checks, helpers, client input ---

    def function(self) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        return next((s for s in reversed(self.scope) if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))), None)

    def parameters(self) -> tuple[str, ...]:
        function = self.function()
        if function is None:
            return ()
        names = [a.arg for a in function.args.posonlyargs + function.args.args]
        return tuple(names[1:] if names[:1] in (["self"], ["cls"]) else names) + tuple(a.arg for a in function.args.kwonlyargs)

    def compared_parameters(self) -> tuple[str, ...]:
        function = self.function()
        if function is None:
            return ()
        found = self._compared.get(function)
        if found is None:
            found = self._compared[function] = tuple(n for n in self.parameters() if _compared(self.module, n, function))
        return found

    # --- raw SQL ------------------------------------------------------------

    def raw_sql(self, call: ast.Call) -> None:
        from prodlint import sqltext  # sqlglot, loaded with the first raw SQL string

        is_text = self._orm_function(call) == "text"
        is_execute = isinstance(call.func, ast.Attribute) and call.func.attr in RAW_EXECUTORS
        if not (is_text or is_execute) or not call.args:
            return
        argument = call.args[0]
        if is_execute and isinstance(argument, ast.Call) and self._orm_function(argument) == "text":
            return  # the text() inside is read on its own
        if isinstance(argument, ast.Name):
            argument = self._local_string(argument) or argument
        sql, complete = self._literal(argument)
        if sql is None or not SQL_START.match(sql):
            return
        tables = sqltext.tables_touched(sql) if complete else None
        function, function_at = self.qualname()
        self.facts.append(
            RawSql(
                origin="text" if is_text else call.func.attr,  # type: ignore[union-attr]
                text=sql,
                at=self.module.at(call),
                tables=tables or (),
                parsed=tables is not None,
                client=dotted(call.func.value) if isinstance(call.func, ast.Attribute) else "",
                function=function,
                function_at=function_at,
                orm=SQLALCHEMY,
                discarded=self._discarded(call),
            )
        )

    def _discarded(self, call: ast.Call) -> bool:
        """The statement's result is thrown away: `db.execute(text(...))` (awaited or not) as a statement."""
        node: ast.AST = call
        parent = self.parents.get(node)
        if isinstance(parent, ast.Call) and isinstance(parent.func, ast.Attribute) and parent.func.attr in RAW_EXECUTORS and parent.args and parent.args[0] is node:
            node, parent = parent, self.parents.get(parent)
        if isinstance(parent, ast.Await):
            node, parent = parent, self.parents.get(parent)
        return isinstance(parent, ast.Expr)

    def _local_string(self, name: ast.Name) -> ast.expr | None:
        """`sql = "SELECT ..."` assigned once in the enclosing function (or module)."""
        scope = next((s for s in reversed(self.scope) if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))), self.module.tree)
        values = [
            node.value for node in self.module.walk_of(scope, _ASSIGN)
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name.id for t in node.targets)
        ]
        return values[0] if len(values) == 1 else None

    def _literal(self, node: ast.expr) -> tuple[str | None, bool]:
        """SQL text of a string, f-string, `"..." % x` or concatenation; False when pieces are not values."""
        from prodlint import sqltext

        if string(node) is not None:
            return string(node), True
        if isinstance(node, ast.JoinedStr):
            fragments, current = [], ""
            for value in node.values:
                if isinstance(value, ast.FormattedValue):
                    fragments.append(current)
                    current = ""
                else:
                    current += str(value.value)  # type: ignore[attr-defined]
            fragments.append(current)
            joined = sqltext.join_interpolated(fragments)
            return (joined, True) if joined is not None else ("".join(fragments), False)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, left_ok = self._literal(node.left)
            right, right_ok = self._literal(node.right)
            if left is not None and right is not None:
                return left + right, left_ok and right_ok
            return left, False
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
            return self._literal(node.left)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
            text, _ = self._literal(node.func.value)
            if text is None:
                return None, False
            joined = sqltext.join_interpolated(re.split(r"\{[^{}]*\}", text))
            return (joined, True) if joined is not None else (text, False)
        return None, False


def keyword_value(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


_NAME = (ast.Name,)
_DECISIONS = (ast.If, ast.Assert, ast.IfExp, ast.While)  # a decision, not a query filter
_COMPARE = (ast.Compare,)
_CALL = (ast.Call,)
_ASSIGN = (ast.Assign,)


def _names(module: PyModule, node: ast.AST) -> set[str]:
    return {n.id for n in module.walk_of(node, _NAME)}  # type: ignore[attr-defined]


def _compared(module: PyModule, name: str, function: ast.AST, others: frozenset[str] = frozenset()) -> bool:
    """The function compares `name` (not with None), or hands it to one call with the caller's identity.

    `others` are the function's other client inputs (`user_id` from the path is no identity)."""
    for node in module.walk_of(function, _DECISIONS):
        for compare in module.walk_of(node.test, _COMPARE):  # type: ignore[attr-defined]
            if name in _names(module, compare) and not any(_is_none(c) for c in compare.comparators):  # type: ignore[attr-defined]
                return True
    for node in module.walk_of(function, _CALL):
        arguments = list(node.args) + [k.value for k in node.keywords]  # type: ignore[attr-defined]
        if any(isinstance(a, ast.Name) and a.id == name for a in arguments) and any(
            IDENTITY.search(ast.unparse(a)) for a in arguments if not (isinstance(a, ast.Name) and a.id in others | {name})
        ):
            return True
    return False


class FunctionEvidence:
    """Per function: ownership checks, calls handing over the tenant key, and client input."""

    def __init__(self, reader: QueryReader, keys: tuple[str, ...]) -> None:
        self.reader = reader
        self.module = reader.module
        self.keys = keys
        self.function_at: Location | None = None
        self._owned: dict[ast.AST, list[ast.AST]] = {}

    def facts(self) -> Iterable[object]:
        for node in self.module.of_types(ast.FunctionDef, ast.AsyncFunctionDef):
            name = self._qualname(node)
            self.function_at = self.module.at(node)
            yield from self.row_checks(node, name)
            yield from self.scoped_calls(node, name)
            yield from self.client_inputs(node, name)
            yield from self.new_rows(node, name)

    def new_rows(self, function: ast.AST, name: str) -> Iterable[NewRow]:
        nodes = list(self._own(function))
        added = {
            a.id for n in nodes
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "add"
            for a in n.args if isinstance(a, ast.Name)
        }
        for node in nodes:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                    and node.targets[0].id in added and isinstance(node.value, ast.Call) and dotted(node.value.func)
                    and dotted(node.value.func).rsplit(".", 1)[-1][:1].isupper()):
                yield NewRow(node.targets[0].id, dotted(node.value.func), name, self.module.at(node), self.function_at)

    def _qualname(self, function: ast.AST) -> str:
        names = []
        current: ast.AST | None = function
        while current is not None:
            if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.append(current.name)
            current = self.module.parents.get(current)
        return ".".join(reversed(names))

    def _own(self, function: ast.AST) -> list[ast.AST]:
        """Nodes of the function, not of functions nested in it (nor those definitions themselves)."""
        found = self._owned.get(function)
        if found is None:
            found = self._owned[function] = [n for n in self.module.own_nodes(function) if not isinstance(n, NESTED_SCOPES)]
        return found

    def _tenant_attribute(self, node: ast.AST) -> tuple[str, str] | None:
        if isinstance(node, ast.Attribute) and node.attr in self.keys and isinstance(node.value, ast.Name):
            return node.value.id, node.attr
        return None

    def row_checks(self, function: ast.AST, name: str) -> Iterable[RowCheck]:
        """`if obj.org_id != current_org.id: abort(404)`; `check_access(user, obj.org_id)` as a statement."""
        for node in self._own(function):
            if isinstance(node, ast.If) and _leaves(node.body):
                for compare in self.module.walk(node.test):
                    if isinstance(compare, ast.Compare) and isinstance(compare.ops[0], (ast.NotEq, ast.IsNot, ast.NotIn)):
                        for side in (compare.left, *compare.comparators):
                            found = self._tenant_attribute(side)
                            if found is not None:
                                yield RowCheck(found[0], found[1], name, self.module.at(node.test), f"leaves when {found[0]}.{found[1]} differs: if {ast.unparse(node.test)}", self.function_at)
            elif isinstance(node, ast.Expr) and isinstance(node.value, (ast.Call, ast.Await)):
                call = node.value.value if isinstance(node.value, ast.Await) else node.value
                if not isinstance(call, ast.Call) or not VERIFIER.search(call_name(call)):
                    continue
                for argument in list(call.args) + [k.value for k in call.keywords]:
                    found = self._tenant_attribute(argument)
                    if found is not None:
                        yield RowCheck(found[0], found[1], name, self.module.at(call), f"hands {found[0]}.{found[1]} to {call_name(call)}() to verify", self.function_at)

    def scoped_calls(self, function: ast.AST, name: str) -> Iterable[ScopedCall | IdentityCall]:
        """Calls handing the tenant key to another function, and calls handing it the caller's id
        (`get_user(db, current_user.id)`; the model says which values are the verified identity)."""
        for node in self._own(function):
            if type(node) is not ast.Call:
                continue
            callee = call_name(node)
            for position, argument in enumerate(node.args):  # type: ignore[attr-defined]
                if type(argument) is ast.Attribute and argument.attr == "id" and IDENTITY.search(text := ast.unparse(argument)):
                    yield IdentityCall(callee, position, text, name, self.module.at(node), self.function_at)
            for keyword in node.keywords:  # type: ignore[attr-defined]
                if keyword.arg and isinstance(keyword.value, ast.Attribute) and keyword.value.attr == "id" and IDENTITY.search(ast.unparse(keyword.value)):
                    yield IdentityCall(callee, -1, ast.unparse(keyword.value), name, self.module.at(node), self.function_at, keyword.arg)
            values = [*node.args, *(k.value for k in node.keywords)]  # type: ignore[attr-defined]
            # An argument's text ends in a key only if a name or attribute in it is one: unparse only those.
            if not any(self._mentions_key(value) for value in values):
                continue
            arguments = [ast.unparse(a) for a in values]
            if not any(a.rsplit(".", 1)[-1] in self.keys for a in arguments):
                continue
            parent = self.module.parents.get(node)
            if isinstance(parent, ast.Await):
                parent = self.module.parents.get(parent)
            binds = parent.targets[0].id if isinstance(parent, ast.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Name) else ""
            yield ScopedCall(call_name(node), tuple(arguments), name, self.module.at(node), binds, self.function_at)

    def _mentions_key(self, node: ast.AST) -> bool:
        keys, get = self.keys, self.module.child_index.get
        stack = [node]
        while stack:
            current = stack.pop()
            kind = type(current)
            if (kind is ast.Name and current.id in keys) or (kind is ast.Attribute and current.attr in keys):  # type: ignore[attr-defined]
                return True
            kids = get(current)
            stack += kids if kids is not None else child_nodes(current)
        return False

    def client_inputs(self, function: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> Iterable[ClientInput]:
        found: list[tuple[str, str, ast.AST]] = list(self._route_parameters(function))
        for node in self._own(function):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                source = self._flask_input(node.value)
                if source is not None:
                    found.append((node.targets[0].id, source, node.value))
        elevated = self._platform_admin(function)
        for local, source, node in found:
            compared = elevated or _compared(self.module, local, function, frozenset(n for n, _, _ in found))
            yield ClientInput(local, source, name, self.module.at(node), compared, self._passed_to(function, local), self.function_at)

    def _platform_admin(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
        """A handler behind a platform-admin dependency (`Depends(get_current_super_admin)`) may pick any tenant."""
        defaults = function.args.defaults + [d for d in function.args.kw_defaults if d is not None]
        return any(
            isinstance(d, ast.Call) and call_name(d) in ("Depends", "Security") and d.args and platform_admin_guard(d.args[0])
            for d in defaults
        )

    def _route_parameters(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterable[tuple[str, str, ast.AST]]:
        """FastAPI / Flask handler parameters the URL fills: `{org_id}` / `<org_id>`, and FastAPI scalar query parameters."""
        paths = [
            string(d.args[0]) for d in function.decorator_list
            if isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr in ROUTE_METHODS and d.args and string(d.args[0]) is not None
        ]
        if not paths:
            return
        in_path = {m for p in paths for m in re.findall(r"\{(\w+)(?::\w+)?\}|<(?:\w+:)?(\w+)>", p or "") for m in m if m}
        arguments = function.args.args + function.args.kwonlyargs
        defaults = dict(zip([a.arg for a in function.args.args][::-1], function.args.defaults[::-1], strict=False))
        defaults.update({a.arg: d for a, d in zip(function.args.kwonlyargs, function.args.kw_defaults, strict=True) if d is not None})
        for argument in arguments:
            default = defaults.get(argument.arg)
            marker = call_name(default) if isinstance(default, ast.Call) else ""
            if argument.arg in in_path or marker == "Path":
                yield argument.arg, "path parameter", argument
            elif marker in ("Header", "Cookie"):
                yield argument.arg, marker.lower(), argument
            elif marker == "Query" or (default is None or isinstance(default, ast.Constant)) and argument.annotation is not None and ast.unparse(argument.annotation) in SCALAR_ANNOTATIONS:
                yield argument.arg, "query string", argument

    def _flask_input(self, value: ast.expr) -> str | None:
        """`request.args.get("org_id")`, `request.json["org_id"]`, `request.headers.get("X-Tenant")`."""
        node = value
        while isinstance(node, (ast.Call, ast.Subscript, ast.Attribute)):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "request" and node.attr in FLASK_INPUT:
                return FLASK_INPUT[node.attr]
            node = node.func if isinstance(node, ast.Call) else node.value
        return None

    def _passed_to(self, function: ast.AST, local: str) -> tuple[tuple[str, str], ...]:
        passed = []
        for node in self._own(function):
            if isinstance(node, ast.Call):
                passed += [(call_name(node), str(i)) for i, a in enumerate(node.args) if isinstance(a, ast.Name) and a.id == local]
                passed += [(call_name(node), k.arg) for k in node.keywords if k.arg and isinstance(k.value, ast.Name) and k.value.id == local]
        return tuple(passed)


def _leaves(body: list[ast.stmt]) -> bool:
    """The block raises, returns or aborts (`abort(404)`, `raise_not_found()`)."""
    for statement in body:
        if isinstance(statement, EXITS):
            return True
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call) and re.search(r"abort|raise|forbid|deny|not_found|unauthori", call_name(statement.value), re.IGNORECASE):
            return True
    return False


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _is_literal(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant)


@collector
def collect_queries(module: PyModule) -> Iterable[object]:
    if not any(marker in module.text for marker in (".query", "select(", "update(", "delete(", ".get(", "execute", "text(", "fetch", "request.", ".post(", ".put(", ".patch(", "route(")):
        return []
    reader = QueryReader(module)
    reader.visit(module.tree)
    keys = module.config.tenant_keys + module.config.tenant_sub_keys
    return reader.facts + list(FunctionEvidence(reader, keys).facts())
