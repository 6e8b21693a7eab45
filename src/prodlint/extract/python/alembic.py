"""Alembic revisions: the revision chain and the indexes each `upgrade()` creates and drops.

Only `upgrade()` is read (`downgrade()` undoes it). Names wrapped in `op.f(...)` are
taken as written. A column list or table name built at run time is skipped: the
index is unknown, not absent.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator

from prodlint.extract.python import PyModule, collector
from prodlint.extract.python.models import call_name, is_true, keyword, string
from prodlint.extract.sql import sql_facts
from prodlint.facts import Location
from prodlint.facts.sql import AlembicRevision, CreatedIndex, DroppedIndex, MigrationForeignKey


@collector
def collect_alembic_revision(module: PyModule) -> Iterable[object]:
    if "alembic" not in module.text or "upgrade" not in module.text:
        return
    assigned = _module_assignments(module.tree)
    revision = string(assigned.get("revision"))
    upgrade = next((n for n in module.tree.body if isinstance(n, ast.FunctionDef) and n.name == "upgrade"), None)
    if revision is None or upgrade is None or "down_revision" not in assigned:
        return
    yield AlembicRevision(revision, _revisions(assigned["down_revision"]), module.at(assigned["revision"]))
    yield from UpgradeReader(module).read(upgrade)


def _module_assignments(tree: ast.Module) -> dict[str, ast.expr]:
    found: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            found[node.targets[0].id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            found[node.target.id] = node.value
    return found


def _revisions(node: ast.expr) -> tuple[str, ...]:
    """`"a1"` -> ("a1",); `("a1", "b2")` (a merge) -> both; None -> ()."""
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(r for e in node.elts if (r := string(e)) is not None)
    single = string(node)
    return (single,) if single is not None else ()


def _name(node: ast.expr | None) -> str | None:
    """A constraint or index name: `"ix_x"` or `op.f("ix_x")`."""
    if isinstance(node, ast.Call) and call_name(node) == "f" and node.args:
        return string(node.args[0])
    return string(node)


def _columns(node: ast.expr | None) -> tuple[str, ...] | None:
    """`["a", "b"]` -> ("a", "b"); None when any part is not a plain string (`sa.text(...)`)."""
    if not isinstance(node, (ast.List, ast.Tuple)) or not node.elts:
        return None
    names = tuple(string(e) for e in node.elts)
    return None if any(n is None for n in names) else names  # type: ignore[return-value]


def _argument(call: ast.Call, position: int, name: str) -> ast.expr | None:
    return call.args[position] if len(call.args) > position else keyword(call, name)


class UpgradeReader:
    """Reads `op.*` calls (and `batch_op.*` inside `with op.batch_alter_table(t)`) in order."""

    def __init__(self, module: PyModule) -> None:
        self.module = module
        self.batch_tables: dict[str, str] = {}

    def read(self, upgrade: ast.FunctionDef) -> Iterator[object]:
        for node in self.module.walk_of(upgrade, (ast.With,)):
            if isinstance(node, ast.With):
                for item in node.items:
                    call = item.context_expr
                    if isinstance(call, ast.Call) and call_name(call) == "batch_alter_table" and isinstance(item.optional_vars, ast.Name):
                        table = string(_argument(call, 0, "table_name"))
                        if table is not None:
                            self.batch_tables[item.optional_vars.id] = table
        calls = [n for n in self.module.walk_of(upgrade, (ast.Call,)) if isinstance(n.func, ast.Attribute)]  # type: ignore[attr-defined]
        for call in sorted(calls, key=lambda c: (c.lineno, c.col_offset)):
            yield from self.operation(call)

    def operation(self, call: ast.Call) -> Iterator[object]:
        assert isinstance(call.func, ast.Attribute)
        owner = call.func.value.id if isinstance(call.func.value, ast.Name) else None
        batch_table = self.batch_tables.get(owner or "")
        if owner != "op" and batch_table is None:
            return
        # batch_op.create_index(name, columns) has no table argument.
        shift = 0 if batch_table is None else -1
        table = batch_table
        at = self.module.at(call)
        match call.func.attr:
            case "create_index":
                table = table or string(_argument(call, 1, "table_name"))
                columns = _columns(_argument(call, 2 + shift, "columns"))
                if table and columns:
                    unique = is_true(keyword(call, "unique"))
                    yield CreatedIndex(table, columns, unique, False, _name(_argument(call, 0, "index_name")), "op.create_index", at)
            case "create_unique_constraint" | "create_primary_key":
                table = table or string(_argument(call, 1, "table_name"))
                columns = _columns(_argument(call, 2 + shift, "columns"))
                if table and columns:
                    primary = call.func.attr == "create_primary_key"
                    yield CreatedIndex(table, columns, True, primary, _name(_argument(call, 0, "constraint_name")), f"op.{call.func.attr}", at)
            case "create_foreign_key":
                table = table or string(_argument(call, 1, "source_table"))
                referent = string(_argument(call, 2 + shift, "referent_table"))
                columns = _columns(_argument(call, 3 + shift, "local_cols"))
                if table and referent and columns:
                    yield MigrationForeignKey(table, columns, referent, at)
            case "drop_index" | "drop_constraint":
                name = _name(_argument(call, 0, "index_name" if call.func.attr == "drop_index" else "constraint_name"))
                if name is not None:
                    table = table or string(_argument(call, 1, "table_name"))
                    yield DroppedIndex(name, table, f"op.{call.func.attr}", at)
            case "create_table" if owner == "op":
                table = string(_argument(call, 0, "table_name"))
                if table:
                    yield from self.table(table, call.args[1:], at)
            case "execute" if owner == "op":
                # raw DDL: `CREATE INDEX CONCURRENTLY` in an autocommit block, row-level security
                statement = _argument(call, 0, "sqltext")
                if isinstance(statement, ast.Call) and call_name(statement) == "text" and statement.args:
                    statement = statement.args[0]
                text = string(statement)
                if text is not None:
                    yield from sql_facts(text, self.module.path, statement.lineno)

    def table(self, table: str, elements: list[ast.expr], at: Location) -> Iterator[object]:
        """`op.create_table("orders", sa.Column(...), sa.PrimaryKeyConstraint(...), ...)`."""
        primary: list[str] = []
        for element in elements:
            if not isinstance(element, ast.Call):
                continue
            kind = call_name(element)
            where = self.module.at(element)
            if kind == "Column":
                column = string(element.args[0]) if element.args else None
                if column is None:
                    continue
                if is_true(keyword(element, "primary_key")):
                    primary.append(column)
                elif is_true(keyword(element, "unique")):
                    yield CreatedIndex(table, (column,), True, False, f"{table}_{column}_key", "sa.Column(unique=True)", where)
                elif is_true(keyword(element, "index")):
                    yield CreatedIndex(table, (column,), False, False, f"ix_{table}_{column}", "sa.Column(index=True)", where)
                for argument in element.args[1:]:
                    if isinstance(argument, ast.Call) and call_name(argument) == "ForeignKey" and argument.args:
                        target = string(argument.args[0]) or ""
                        yield MigrationForeignKey(table, (column,), target.rsplit(".", 1)[0], where)
            elif kind in ("PrimaryKeyConstraint", "UniqueConstraint", "Index"):
                arguments = list(element.args)
                name = _name(keyword(element, "name"))
                if kind == "Index" and arguments:
                    name = _name(arguments.pop(0))
                columns = tuple(string(a) for a in arguments)
                if not columns or any(c is None for c in columns):
                    continue
                unique = kind != "Index" or is_true(keyword(element, "unique"))
                if kind == "PrimaryKeyConstraint":
                    name = name or f"{table}_pkey"
                yield CreatedIndex(table, columns, unique, kind == "PrimaryKeyConstraint", name, f"sa.{kind}", where)  # type: ignore[arg-type]
            elif kind == "ForeignKeyConstraint" and len(element.args) >= 2:
                columns = _columns(element.args[0])
                targets = _columns(element.args[1])
                if columns and targets:
                    yield MigrationForeignKey(table, columns, targets[0].rsplit(".", 1)[0], where)
        if primary:
            yield CreatedIndex(table, tuple(primary), True, True, f"{table}_pkey", "sa.Column(primary_key=True)", at)
