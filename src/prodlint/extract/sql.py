"""SQL files (migrations, init scripts): indexes, constraints, row-level security, `ALTER SYSTEM` settings.

Statements are split on `;` outside strings, comments and dollar quotes; each one is
read on its own, so a statement prodlint does not understand is skipped, never fatal.
Policy expressions and DDL (`CREATE INDEX`, `CREATE TABLE`, `ALTER TABLE ... ADD
CONSTRAINT`) are parsed with sqlglot (PostgreSQL dialect).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import sqlglot
from sqlglot import exp

from prodlint.extract import Source, extractor, name_matches
from prodlint.facts import Location
from prodlint.facts.capacity import PostgresSetting
from prodlint.facts.sql import CreatedIndex, DroppedIndex, MigrationForeignKey, Policy, RenamedIndex, RowLevelSecurity

if TYPE_CHECKING:
    from prodlint.config import Config

_NAME = r'(?:"[^"]+"|[\w$]+)(?:\s*\.\s*(?:"[^"]+"|[\w$]+))?'
_RLS = re.compile(
    rf"^ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?(?P<table>{_NAME})\s+(?P<verb>ENABLE|DISABLE|FORCE)\s+ROW\s+LEVEL\s+SECURITY",
    re.IGNORECASE)
_POLICY = re.compile(rf"^CREATE\s+POLICY\s+(?P<name>{_NAME})\s+ON\s+(?P<table>{_NAME})(?P<rest>(?:\s.*)?)$", re.IGNORECASE | re.DOTALL)
_SYSTEM = re.compile(
    r"^ALTER\s+SYSTEM\s+SET\s+(?P<name>max_connections|superuser_reserved_connections)\s*(?:=|TO)\s*'?(?P<value>\d+)'?\s*$",
    re.IGNORECASE)
_DOLLAR = re.compile(r"\$[A-Za-z_]*\$")
_DDL = re.compile(r"^(?:CREATE\s+(?:UNIQUE\s+)?INDEX|CREATE\s+(?:UNLOGGED\s+)?TABLE|ALTER\s+TABLE)\b", re.IGNORECASE)
# sqlglot reads one name per DROP INDEX; PostgreSQL takes a list.
_DROP_INDEX = re.compile(r"^DROP\s+INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+EXISTS\s+)?(?P<names>.+?)(?:\s+(?:CASCADE|RESTRICT))?$",
                         re.IGNORECASE | re.DOTALL)
_RENAME_INDEX = re.compile(
    rf"^ALTER\s+INDEX\s+(?:IF\s+EXISTS\s+)?(?P<name>{_NAME})\s+RENAME\s+TO\s+(?P<new>{_NAME})$", re.IGNORECASE)
_UNPARSEABLE = (sqlglot.errors.ParseError, sqlglot.errors.TokenError, ValueError)
# sqlglot warns on stderr for each statement it keeps as a Command (ClickHouse, MySQL
# dialect DDL in a migrations folder); for prodlint that statement is just unknown.
logging.getLogger("sqlglot").setLevel(logging.ERROR)


def statements(text: str) -> Iterator[tuple[int, str]]:
    """(line, statement) pairs, comments removed, split on top-level semicolons."""
    out: list[str] = []
    line = start = 1
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "-" and text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if char == "/" and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            stop = n if end < 0 else end + 2
            line += text.count("\n", i, stop)
            out.append(" ")
            i = stop
            continue
        if char in "'\"":
            end = i + 1
            while end < n and not (text[end] == char and not text.startswith(char * 2, end)):
                end += 2 if text.startswith(char * 2, end) else 1
            stop = min(end + 1, n)
        elif char == "$" and (tag := _DOLLAR.match(text, i)):
            end = text.find(tag.group(), tag.end())
            stop = n if end < 0 else end + len(tag.group())
        elif char == ";":
            statement = "".join(out).strip()
            if statement:
                yield start, statement
            out, i = [], i + 1
            continue
        else:
            stop = i + 1
        if not "".join(out).strip() and not text[i:stop].isspace():
            start = line
        out.append(text[i:stop])
        line += text.count("\n", i, stop)
        i = stop
    statement = "".join(out).strip()
    if statement:
        yield start, statement


def _policy_columns(rest: str) -> tuple[str, ...]:
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
        except (sqlglot.errors.ParseError, sqlglot.errors.TokenError, ValueError):
            continue  # unknown is not a policy on the tenant key
        columns.extend(column.name for column in tree.find_all(exp.Column))
    return tuple(dict.fromkeys(columns))


@extractor("sql", matches=name_matches("*.sql"))
def extract_sql(source: Source, config: Config) -> Iterable[object]:
    return sql_facts(source.text, source.path)


def sql_facts(text: str, path: str, first_line: int = 1) -> Iterator[object]:
    """The facts of SQL text that starts at `first_line` of `path` (a file, or a string in code
    such as Alembic's `op.execute("CREATE INDEX ...")`)."""
    for line, statement in statements(text):
        statement = " ".join(statement.split()) if "$" not in statement else statement
        at = Location(path, line + first_line - 1)
        if match := _RLS.match(statement):
            yield RowLevelSecurity(match["table"], at, enabled=match["verb"].upper() != "DISABLE")
        elif match := _POLICY.match(statement):
            yield Policy(match["name"].strip('"'), match["table"], _policy_columns(match["rest"]), at)
        elif match := _SYSTEM.match(statement):
            yield PostgresSetting(match["name"].lower(), match["value"], at, origin="alter-system")
        elif match := _RENAME_INDEX.match(statement):
            yield RenamedIndex(_unquote(match["name"]), _unquote(match["new"]), at)
        elif match := _DROP_INDEX.match(statement):
            for name in re.split(r"\s*,\s*", match["names"].strip()):
                yield DroppedIndex(_unquote(name), None, "DROP INDEX", at)
        elif _DDL.match(statement):
            yield from _ddl_facts(statement, at)


def _unquote(name: str) -> str:
    """`"public"."Order_idx"` -> `Order_idx`: the last part, unquoted."""
    return re.split(r'\.(?=(?:[^"]*"[^"]*")*[^"]*$)', name.strip())[-1].strip('"')


def _ddl_facts(statement: str, at: Location) -> Iterator[object]:
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
