"""PostgreSQL DDL read with sqlglot: indexes, table constraints, foreign keys, policy columns.

A module of its own so sqlglot is imported on the first DDL statement prodlint reads, not by
discovery or a warm run.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import sqlglot
from sqlglot import exp

from prodlint.facts import Location
from prodlint.facts.sql import CreatedIndex, DroppedIndex, MigrationForeignKey

_UNPARSEABLE = (sqlglot.errors.ParseError, sqlglot.errors.TokenError, ValueError)
# sqlglot warns on stderr for each statement it keeps as a Command (ClickHouse, MySQL
# dialect DDL in a migrations folder); for prodlint that statement is just unknown.
logging.getLogger("sqlglot").setLevel(logging.ERROR)


def policy_columns(rest: str) -> tuple[str, ...]:
    """Columns read by the USING and WITH CHECK expressions of a policy."""
    columns: list[str] = []
    for keyword in ("USING", "WITH\\s+CHECK"):
        match = re.search(rf"\b{keyword}\s*\(", rest, re.IGNORECASE)
        if match is None:
            continue
        depth, end = 1, match.end()
        while end < len(rest) and depth:
            depth += {"(": 1, ")": -1}.get(rest[end], 0)
            end += 1
        expression = rest[match.end() : end - 1]
        try:
            tree = sqlglot.parse_one(expression, read="postgres")
        except _UNPARSEABLE:
            continue  # unknown is not a policy on the tenant key
        columns.extend(column.name for column in tree.find_all(exp.Column))
    return tuple(dict.fromkeys(columns))


def ddl_facts(statement: str, at: Location) -> Iterator[object]:
    try:
        tree = sqlglot.parse_one(statement, read="postgres")
    except _UNPARSEABLE:
        return  # a statement sqlglot does not know is skipped, never fatal
    if isinstance(tree, exp.Create) and isinstance(tree.this, exp.Index):
        yield from _create_index(tree, at)
    elif isinstance(tree, exp.Create) and isinstance(tree.this, exp.Schema) and isinstance(tree.this.this, exp.Table):
        table = tree.this.this.name
        for element in tree.this.expressions:
            if isinstance(element, exp.ColumnDef):
                yield from _column_constraints(table, element, at)
            else:
                yield from _table_constraint(table, element, None, at)
    elif isinstance(tree, exp.Alter) and isinstance(tree.this, exp.Table):
        table = tree.this.name
        for action in tree.args.get("actions") or ():
            if isinstance(action, exp.AddConstraint):
                for constraint in action.expressions:
                    yield from _table_constraint(table, constraint, None, at)
            elif isinstance(action, exp.Drop) and str(action.args.get("kind", "")).upper() == "CONSTRAINT":
                for dropped in action.args.get("tables") or ():
                    yield DroppedIndex(dropped.name, table, "DROP CONSTRAINT", at)


def _create_index(tree: exp.Create, at: Location) -> Iterator[CreatedIndex]:
    index = tree.this
    table = index.args.get("table")
    params = index.args.get("params")
    if not isinstance(table, exp.Table) or params is None:
        return
    columns: list[str] = []
    descending: list[str] = []
    for ordered in params.args.get("columns") or ():
        column = ordered.this if isinstance(ordered, exp.Ordered) else ordered
        if not isinstance(column, exp.Column):
            return  # an expression index (`lower(email)`) serves no plain column lookup
        columns.append(column.name)
        if isinstance(ordered, exp.Ordered) and ordered.args.get("desc"):
            descending.append(column.name)
    unique = bool(tree.args.get("unique"))
    name = index.this.name if isinstance(index.this, exp.Identifier) else None
    origin = "CREATE UNIQUE INDEX" if unique else "CREATE INDEX"
    yield CreatedIndex(table.name, tuple(columns), unique, False, name, origin, at, tuple(descending))


def _column_constraints(table: str, column: exp.ColumnDef, at: Location) -> Iterator[object]:
    for constraint in column.args.get("constraints") or ():
        kind = constraint.args.get("kind")
        if isinstance(kind, exp.PrimaryKeyColumnConstraint):
            yield CreatedIndex(table, (column.name,), True, True, f"{table}_pkey", "PRIMARY KEY", at)
        elif isinstance(kind, exp.UniqueColumnConstraint):
            yield CreatedIndex(table, (column.name,), True, False, f"{table}_{column.name}_key", "UNIQUE", at)
        elif isinstance(kind, exp.Reference):
            yield MigrationForeignKey(table, (column.name,), _referenced_table(kind), at)


def _table_constraint(table: str, constraint: exp.Expression, name: str | None, at: Location) -> Iterator[object]:
    if isinstance(constraint, exp.Constraint):
        for inner in constraint.expressions:
            yield from _table_constraint(table, inner, constraint.name or None, at)
    elif isinstance(constraint, exp.PrimaryKey):
        columns = tuple(_identifier_name(e) for e in constraint.expressions)
        yield CreatedIndex(table, columns, True, True, name or f"{table}_pkey", "PRIMARY KEY", at)
    elif isinstance(constraint, exp.UniqueColumnConstraint) and isinstance(constraint.this, exp.Schema):
        columns = tuple(_identifier_name(e) for e in constraint.this.expressions)
        yield CreatedIndex(table, columns, True, False, name or f"{table}_{'_'.join(columns)}_key", "UNIQUE", at)
    elif isinstance(constraint, exp.ForeignKey):
        reference = constraint.args.get("reference")
        columns = tuple(_identifier_name(e) for e in constraint.expressions)
        yield MigrationForeignKey(table, columns, _referenced_table(reference) if reference else "", at)


def _identifier_name(node: exp.Expression) -> str:
    return node.name if isinstance(node, (exp.Identifier, exp.Column)) else node.sql("postgres")


def _referenced_table(reference: exp.Reference) -> str:
    target = reference.this
    if isinstance(target, exp.Schema):
        target = target.this
    return target.name if isinstance(target, exp.Table) else ""
