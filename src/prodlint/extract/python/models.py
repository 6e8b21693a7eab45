"""SQLAlchemy, SQLModel and Flask-SQLAlchemy declarative models.

A class is read as a model when it declares a table (`__tablename__`, SQLModel
`table=True`, a Flask-SQLAlchemy `db.Model` base) and as a mixin when it only
declares columns (a mixin, an `__abstract__` base, a subclass of a model defined
elsewhere): the model view resolves bases across files. Columns come from
`Column(...)`, `mapped_column(...)`, SQLModel `Field(...)` and bare `Mapped[...]`
/ SQLModel annotations.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator

from prodlint.extract.python import PyModule, collector
from prodlint.extract.python.modules import dotted_name
from prodlint.facts.data import SQLALCHEMY, Field, IndexDef, Model, Relation

COLUMN_CALLS = frozenset({"Column", "mapped_column", "Field"})
RELATION_CALLS = frozenset({"relationship", "Relationship", "relation", "backref"})
FLASK_BASES = frozenset({"db.Model", "Model"})
NOT_COLUMNS = frozenset({"ClassVar", "Relationship", "relationship", "WriteOnlyMapped", "DynamicMapped"})
CONSTRAINTS = frozenset({"Index", "UniqueConstraint", "PrimaryKeyConstraint"})


def dotted(node: ast.AST | None) -> str:
    """`a.b.c` for a Name/Attribute chain, else ""."""
    return dotted_name(node) or "" if node is not None else ""


def call_name(node: ast.AST) -> str:
    """Last segment of a called name: `sa.Column(...)` -> "Column"."""
    if type(node) is not ast.Call:
        return ""
    func = node.func  # type: ignore[attr-defined]
    if type(func) is ast.Name:
        return func.id  # type: ignore[attr-defined]
    if type(func) is not ast.Attribute:
        return ""
    root = func.value  # type: ignore[attr-defined]
    while type(root) is ast.Attribute:
        root = root.value  # type: ignore[attr-defined]
    return func.attr if type(root) is ast.Name else ""  # type: ignore[attr-defined]


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def is_true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def string(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def snake_case(name: str) -> str:
    """Flask-SQLAlchemy's default table name: `OrderItem` -> `order_item`."""
    return re.sub(r"((?<=[a-z0-9])[A-Z]|(?!^)[A-Z](?=[a-z]))", r"_\1", name).lower()


def _annotation_parts(annotation: ast.expr | None) -> tuple[str, str, bool]:
    """(wrapper, inner type, optional) of `Mapped[Optional[int]]`, `int | None`, `str`."""
    if annotation is None:
        return "", "", False
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            annotation = ast.parse(annotation.value, mode="eval").body
        except SyntaxError:
            return "", annotation.value, False
    wrapper = ""
    if isinstance(annotation, ast.Subscript) and dotted(annotation.value).rsplit(".", 1)[-1] in ("Mapped", "ClassVar", "WriteOnlyMapped", "DynamicMapped"):
        wrapper = dotted(annotation.value).rsplit(".", 1)[-1]
        annotation = annotation.slice
    optional = False
    if isinstance(annotation, ast.Subscript) and dotted(annotation.value).rsplit(".", 1)[-1] == "Optional":
        optional, annotation = True, annotation.slice
    elif isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        sides = [annotation.left, annotation.right]
        if any(isinstance(s, ast.Constant) and s.value is None for s in sides):
            optional = True
            annotation = next(s for s in sides if not (isinstance(s, ast.Constant) and s.value is None))
    return wrapper, ast.unparse(annotation), optional


class ModelReader:
    def __init__(self, module: PyModule) -> None:
        self.module = module

    def models(self) -> Iterator[object]:
        for node in self.module.of_type(ast.ClassDef):
            model = self.model(node)
            if model is not None:
                yield model
        yield from self.core_tables()
        yield from self.module_level_indexes()

    # --- SQLAlchemy Core: `orders = Table("orders", metadata, Column(...), Index(...))` ---

    def core_tables(self) -> Iterator[Model]:
        """Core tables are models named by their variable: `select(orders)` and `orders.c.tenant_id` use that name."""
        for node in self.module.of_type(ast.Assign):
            if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
                continue
            call = node.value
            if not (isinstance(call, ast.Call) and call_name(call) == "Table" and call.args and string(call.args[0]) is not None):
                continue
            yield self.core_table(node.targets[0].id, string(call.args[0]) or "", call, node)

    def core_table(self, name: str, table: str, call: ast.Call, node: ast.AST) -> Model:
        fields = [
            self.column(string(a.args[0]) or "", a, "", False, a)
            for a in call.args[2:] if isinstance(a, ast.Call) and call_name(a) == "Column" and a.args and string(a.args[0]) is not None
        ]
        indexes = list(self.indexes(name, table, fields, None))
        column_of = {f.name: f.column or f.name for f in fields}
        for argument in call.args[2:]:
            index = self.constraint(name, table, argument, column_of) if isinstance(argument, ast.Call) else None
            if index is not None:
                indexes.append(index)
        return Model(name=name, table=table, orm=SQLALCHEMY, fields=tuple(fields), at=self.module.at(node),
                     indexes=tuple(indexes), schema=string(keyword(call, "schema")), core=True)

    def model(self, cls: ast.ClassDef) -> Model | None:
        bases = tuple(name for name in (dotted(base) for base in cls.bases) if name)
        table_node = self._class_value(cls, "__tablename__")
        table = string(table_node)
        dynamic_table = self._dynamic_tablename(cls)
        abstract = is_true(self._class_value(cls, "__abstract__"))
        sqlmodel_table = any(k.arg == "table" and is_true(k.value) for k in cls.keywords)
        is_sqlmodel = any(b.rsplit(".", 1)[-1] == "SQLModel" for b in bases)
        flask_model = any(b in FLASK_BASES for b in bases)
        fields = list(self.fields(cls, is_sqlmodel or sqlmodel_table))
        table_args = self._class_value(cls, "__table_args__")
        if not fields and table is None and not dynamic_table and not sqlmodel_table and not flask_model and table_args is None:
            return None
        explicit = table is not None
        if table is None and not abstract:
            if sqlmodel_table:
                table = cls.name.lower()
            elif flask_model and fields:
                table = snake_case(cls.name)
        kind = "model" if table is not None and not abstract and (explicit or sqlmodel_table or flask_model) else "mixin"
        if is_sqlmodel and not sqlmodel_table and not explicit:
            kind = "mixin"  # a SQLModel without table=True is a pydantic schema, not a table
            if not any(f.primary or f.foreign_key for f in fields):
                return None
        field_list = [f for f in fields if not isinstance(f, Relation)]
        relations = tuple(r for r in fields if isinstance(r, Relation))
        indexes = self.indexes(cls.name, table or "", field_list, table_args)
        return Model(
            name=cls.name,
            table=table if kind == "model" else None,
            orm=SQLALCHEMY,
            fields=tuple(field_list),
            at=self.module.at(cls),
            indexes=indexes,
            relations=relations,
            bases=bases,
            kind=kind,
            schema=self._schema(table_args),
            table_explicit=explicit,
            dynamic_table=dynamic_table,
            abstract=abstract,
        )

    def _class_value(self, cls: ast.ClassDef, name: str) -> ast.expr | None:
        for statement in cls.body:
            if isinstance(statement, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in statement.targets):
                return statement.value
            if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.target.id == name:
                return statement.value
        return None

    def _dynamic_tablename(self, cls: ast.ClassDef) -> bool:
        return any(isinstance(s, ast.FunctionDef) and s.name == "__tablename__" for s in cls.body)

    def fields(self, cls: ast.ClassDef, sqlmodel: bool) -> Iterator[Field | Relation]:
        for statement in cls.body:
            if isinstance(statement, ast.FunctionDef) and any("declared_attr" in dotted(d) or "declared_attr" in ast.unparse(d) for d in statement.decorator_list):
                returned = next((s.value for s in ast.walk(statement) if isinstance(s, ast.Return) and s.value is not None), None)
                if isinstance(returned, ast.Call):
                    found = self.field(cls.name, statement.name, returned, None, statement, sqlmodel)
                    if found is not None:
                        yield found
                continue
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
                name, value, annotation = statement.targets[0].id, statement.value, None
            elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                name, value, annotation = statement.target.id, statement.value, statement.annotation
            else:
                continue
            if name.startswith("__"):
                continue
            found = self.field(cls.name, name, value, annotation, statement, sqlmodel)
            if found is not None:
                yield found

    def field(self, model: str, name: str, value: ast.expr | None, annotation: ast.expr | None, node: ast.AST, sqlmodel: bool) -> Field | Relation | None:
        wrapper, inner, optional = _annotation_parts(annotation)
        called = call_name(value) if isinstance(value, ast.Call) else ""
        if called in RELATION_CALLS:
            target = string(value.args[0]) if value.args else None
            target = target or (dotted(value.args[0]) if value.args else "") or inner.strip("'\"").removeprefix("list[").removeprefix("List[").rstrip("]")
            return Relation(model, name, target.strip("'\""), (), (), self.module.at(node))
        if wrapper in NOT_COLUMNS or inner.split("[")[0] in NOT_COLUMNS:
            return None
        if called in COLUMN_CALLS and isinstance(value, ast.Call):
            if called == "Field" and not sqlmodel:
                return None
            return self.column(name, value, inner, optional, node)
        if value is None or (sqlmodel and not isinstance(value, ast.Call)):
            # `x: Mapped[int]` (SQLAlchemy 2.0) and `x: int = 0` (SQLModel) are columns too.
            if wrapper == "Mapped" or (sqlmodel and annotation is not None):
                return Field(name, name, inner, self.module.at(node), optional=optional)
        return None

    def column(self, name: str, call: ast.Call, annotated: str, optional: bool, node: ast.AST) -> Field:
        column_name = name
        type_name = annotated
        foreign_key = None
        positional = list(call.args)
        if positional and string(positional[0]) is not None and call_name(call) != "Field":
            column_name = string(positional.pop(0))
        column_name = string(keyword(call, "name")) or column_name
        for argument in positional:
            if isinstance(argument, ast.Call) and call_name(argument) == "ForeignKey" and argument.args:
                foreign_key = string(argument.args[0]) or ast.unparse(argument.args[0])
            elif not type_name or call_name(call) != "Field":
                type_name = ast.unparse(argument) if not isinstance(argument, ast.Call) or call_name(argument) != "ForeignKey" else type_name
        foreign_key = string(keyword(call, "foreign_key")) or foreign_key
        nullable = keyword(call, "nullable")
        if isinstance(nullable, ast.Constant) and isinstance(nullable.value, bool):
            optional = nullable.value
        default = keyword(call, "default") or keyword(call, "server_default")
        return Field(
            name=name,
            column=column_name,
            type=type_name,
            at=self.module.at(node),
            optional=optional,
            primary=is_true(keyword(call, "primary_key")),
            unique=is_true(keyword(call, "unique")),
            index=is_true(keyword(call, "index")),
            foreign_key=foreign_key,
            default=ast.unparse(default) if default is not None else None,
        )

    def indexes(self, model: str, table: str, fields: list[Field], table_args: ast.expr | None) -> tuple[IndexDef, ...]:
        column_of = {f.name: f.column or f.name for f in fields}
        found: list[IndexDef] = []
        primary = [f for f in fields if f.primary]
        if primary:
            found.append(IndexDef(model, table, tuple(f.column or f.name for f in primary), True, True, "primary_key",
                                  primary[0].at, None, tuple(f.name for f in primary)))
        for f in fields:
            if f.unique and not f.primary:
                found.append(IndexDef(model, table, (f.column or f.name,), True, False, "unique=True", f.at, None, (f.name,)))
            elif f.index and not f.primary:
                found.append(IndexDef(model, table, (f.column or f.name,), False, False, "index=True", f.at, None, (f.name,)))
        items = table_args.elts if isinstance(table_args, (ast.Tuple, ast.List)) else []
        for item in items:
            index = self.constraint(model, table, item, column_of)
            if index is not None:
                found.append(index)
        return tuple(found)

    def constraint(self, model: str, table: str, call: ast.expr, column_of: dict[str, str]) -> IndexDef | None:
        kind = call_name(call)
        if kind not in CONSTRAINTS:
            return None
        assert isinstance(call, ast.Call)
        arguments = list(call.args)
        name = None
        if kind == "Index" and arguments and string(arguments[0]) is not None:
            name = string(arguments.pop(0))
        name = string(keyword(call, "name")) or name
        fields = [self._column_reference(a) for a in arguments]
        if not fields or any(f is None for f in fields):
            return None  # an expression index (`func.lower(...)`) serves no plain equality lookup
        columns = tuple(column_of.get(f, f) for f in fields if f)
        unique = kind != "Index" or is_true(keyword(call, "unique"))
        return IndexDef(model, table, columns, unique, kind == "PrimaryKeyConstraint", kind, self.module.at(call), name,
                        tuple(f for f in fields if f))

    def _column_reference(self, node: ast.expr) -> str | None:
        """`"tenant_id"`, `tenant_id` (a class attribute), `Order.tenant_id`, `column("x")` -> name."""
        if string(node) is not None:
            return string(node)
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute):
            return node.attr
        if isinstance(node, ast.Call) and call_name(node) in ("desc", "asc") and node.args:
            return self._column_reference(node.args[0])
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("desc", "asc"):
            return self._column_reference(node.func.value)
        return None

    def _schema(self, table_args: ast.expr | None) -> str | None:
        dicts = [table_args] if isinstance(table_args, ast.Dict) else [e for e in getattr(table_args, "elts", []) if isinstance(e, ast.Dict)]
        for mapping in dicts:
            for key, value in zip(mapping.keys, mapping.values, strict=False):
                if string(key) == "schema":
                    return string(value)
        return None

    def module_level_indexes(self) -> Iterator[IndexDef]:
        """`Index("ix_orders_tenant_status", Order.tenant_id, Order.status)` outside the class."""
        for statement in self.module.tree.body:
            value = statement.value if isinstance(statement, (ast.Assign, ast.Expr)) else None
            if not isinstance(value, ast.Call) or call_name(value) != "Index":
                continue
            owners = {dotted(a.value).removesuffix(".c") for a in value.args if isinstance(a, ast.Attribute)}  # `orders.c.x`: Core
            if len(owners) != 1:
                continue
            index = self.constraint(owners.pop(), "", value, {})
            if index is not None:
                yield index


@collector
def collect_models(module: PyModule) -> Iterable[object]:
    if "sqlalchemy" not in module.text and "sqlmodel" not in module.text and "db.Model" not in module.text and "Mapped[" not in module.text:
        return []
    return list(ModelReader(module).models())
