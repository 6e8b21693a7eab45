"""What one raw SQL string does to which tables, parsed with sqlglot (PostgreSQL dialect).

For every table a statement reads or writes, the columns that its predicates pin
to a value for every row: `WHERE o.tenant_id = $1`, `JOIN c ON c.id = o.customer_id
AND c.tenant_id = $1`, `tenant_id = ANY($1)`, `tenant_id IN (...)`. Equalities
between columns carry a constraint across a join (`o.tenant_id = c.tenant_id`).
A predicate under OR or NOT guarantees nothing. SQL sqlglot cannot parse is
unknown (None), never a guess.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from prodlint.facts.data import READ, WRITE, SqlTable

INSERT = "insert"
_NO_ROWS = (exp.Create, exp.Drop, exp.Alter, exp.Set, exp.Transaction, exp.Commit, exp.Rollback, exp.Use, exp.Grant)

# Driver placeholders sqlglot's postgres dialect may not read, rewritten as `$1`.
_PLACEHOLDERS = re.compile(
    r"""%\(\w+\)s          # pyformat
      | %s                 # format
      | (?<![:\w]):\w+\b   # named (:name), not a ::cast
      | \?(?![|&])         # qmark, not the jsonb ?| ?& operators
    """,
    re.VERBOSE,
)
_STRING_OR_PLACEHOLDER = re.compile(r"'(?:[^']|'')*'|" + _PLACEHOLDERS.pattern, re.VERBOSE)


def normalise_placeholders(sql: str) -> str:
    """`%s`, `%(name)s`, `:name`, `?` -> `$1`, leaving string literals alone."""
    return _STRING_OR_PLACEHOLDER.sub(lambda m: m.group() if m.group().startswith("'") else "$1", sql)


def tables_touched(sql: str) -> tuple[SqlTable, ...] | None:
    """Tables the statements read or write, with their pinned columns; None if unparseable."""
    try:
        with _quiet_sqlglot():
            statements = sqlglot.parse(normalise_placeholders(sql), read="postgres")
    except (SqlglotError, RecursionError, ValueError, TypeError, AttributeError):
        return None
    tables: list[SqlTable] = []
    for statement in statements:
        if statement is None:
            continue
        if isinstance(statement, _NO_ROWS):
            continue  # DDL, SET, transaction control: no rows of a tenant are read
        if not isinstance(statement, (exp.Query, exp.Update, exp.Delete, exp.Insert, exp.Merge)):
            return None  # a bare expression or a Command sqlglot kept as text: not understood
        cte_names = {_name(cte.args.get("alias").this) for cte in statement.find_all(exp.CTE) if cte.args.get("alias")}
        for scope in _scopes(statement):
            tables.extend(_Scope(scope, cte_names).tables())
    return tuple(tables)


@contextmanager
def _quiet_sqlglot() -> Iterator[None]:
    """sqlglot logs a warning for SQL it keeps as a Command; for prodlint that is just unknown."""
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _scopes(statement: exp.Expression) -> Iterator[exp.Expression]:
    for node in statement.walk():
        if isinstance(node, (exp.Select, exp.Update, exp.Delete, exp.Insert)):
            yield node


def _name(identifier: exp.Expression | str | None) -> str:
    """Identifier as PostgreSQL resolves it: unquoted names fold to lower case."""
    if identifier is None:
        return ""
    if isinstance(identifier, str):
        return identifier.lower()
    if isinstance(identifier, exp.Identifier):
        return identifier.this if identifier.quoted else identifier.this.lower()
    return identifier.name.lower()


ColumnKey = tuple[str | None, str]  # (qualifier or None, column)


class _Scope:
    """One SELECT/UPDATE/DELETE/INSERT: its own tables and predicates, not its subqueries'."""

    def __init__(self, node: exp.Expression, cte_names: set[str]) -> None:
        self.node = node
        self.cte_names = cte_names
        self.parent: dict[ColumnKey, ColumnKey] = {}
        self.pinned: set[ColumnKey] = set()
        # (own column, other column): this table's rows only appear matched to the other's
        self.links: list[tuple[ColumnKey, ColumnKey]] = []

    def tables(self) -> list[SqlTable]:
        entries = list(self._entries())
        for predicate, outer_join_alias in self._predicates():
            for conjunct in _conjuncts(predicate):
                self._constrain(conjunct, outer_join_alias)
        pinned_roots = {self._find(key) for key in self.pinned}
        keys = sorted(set(self.parent) | self.pinned, key=str)
        result = []
        for table, alias, access in entries:
            qualifiers = {alias or table, table}
            columns = sorted(
                {column for qualifier, column in keys
                 if (qualifier is None or qualifier in qualifiers) and self._find((qualifier, column)) in pinned_roots}
            )
            joins = sorted(
                {(own[1], other[0]) for own, other in self.links
                 if own[0] in qualifiers and other[0] is not None and other[0] not in qualifiers}
            )
            result.append(SqlTable(table, alias, access, tuple(columns), tuple(joins)))
        return result

    def _entries(self) -> Iterator[tuple[str, str | None, str]]:
        node = self.node
        if isinstance(node, exp.Select):
            sources = []
            if node.args.get("from_") is not None:
                sources.append(node.args["from_"].this)
            sources.extend(join.this for join in node.args.get("joins") or ())
            for source in sources:
                yield from self._table(source, READ)
        elif isinstance(node, (exp.Update, exp.Delete)):
            yield from self._table(node.this, WRITE)
            if node.args.get("from_") is not None:
                yield from self._table(node.args["from_"].this, READ)
            for source in node.args.get("using") or ():
                yield from self._table(source, READ)
            for join in node.args.get("joins") or ():
                yield from self._table(join.this, READ)
        elif isinstance(node, exp.Insert):
            target = node.this.this if isinstance(node.this, exp.Schema) else node.this
            yield from self._table(target, INSERT)

    def _table(self, source: exp.Expression | None, access: str) -> Iterator[tuple[str, str | None, str]]:
        if not isinstance(source, exp.Table) or not isinstance(source.this, exp.Identifier):
            return  # a subquery, a function, VALUES: its own scope or no table
        name = _name(source.this)
        if name in self.cte_names and not source.args.get("db"):
            return
        alias = source.args.get("alias")
        yield name, _name(alias.this) if alias is not None and alias.this is not None else None, access

    def _predicates(self) -> Iterator[tuple[exp.Expression, str | None]]:
        where = self.node.args.get("where")
        filtered = set()
        if where is not None:
            yield where.this, None
            filtered = {_name(c.args["table"]) for c in where.find_all(exp.Column) if c.args.get("table") is not None}
        for join in self.node.args.get("joins") or ():
            on = join.args.get("on")
            if on is None:
                continue
            side = (join.args.get("side") or "").upper()
            alias = join.this.alias_or_name if isinstance(join.this, exp.Table) else None
            # An outer join's ON filters the joined rows only, never the rows it is joined to,
            # unless WHERE filters the joined table too, which makes it an inner join.
            outer = side in ("LEFT", "RIGHT", "FULL") and alias and _name(alias) not in filtered
            yield on, (_name(alias) if outer else None)

    def _constrain(self, conjunct: exp.Expression, outer_join_alias: str | None) -> None:
        if isinstance(conjunct, exp.EQ):
            left, right = _unparen(conjunct.this), _unparen(conjunct.expression)
            if isinstance(left, exp.Column) and isinstance(right, exp.Column):
                a, b = self._key(left), self._key(right)
                if outer_join_alias is None:
                    self._union(a, b)
                    self.links += [(a, b), (b, a)]
                else:  # the outer-joined rows must match; the rows they join need not
                    self.links += [(own, other) for own, other in ((a, b), (b, a)) if own[0] == outer_join_alias]
                return
            column, value = (left, right) if isinstance(left, exp.Column) else (right, left)
            if isinstance(column, exp.Column) and _is_value(value):
                self._pin(self._key(column), outer_join_alias)
        elif isinstance(conjunct, exp.In) and isinstance(_unparen(conjunct.this), exp.Column):
            self._pin(self._key(_unparen(conjunct.this)), outer_join_alias)

    def _pin(self, key: ColumnKey, outer_join_alias: str | None) -> None:
        if outer_join_alias is None or key[0] == outer_join_alias:
            self.pinned.add(key)
            self.parent.setdefault(key, key)

    def _key(self, column: exp.Column) -> ColumnKey:
        qualifier = column.args.get("table")
        return (_name(qualifier) if qualifier is not None else None, _name(column.this))

    def _find(self, key: ColumnKey) -> ColumnKey:
        self.parent.setdefault(key, key)
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def _union(self, a: ColumnKey, b: ColumnKey) -> None:
        self.parent[self._find(a)] = self._find(b)


def _unparen(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _conjuncts(predicate: exp.Expression) -> Iterator[exp.Expression]:
    predicate = _unparen(predicate)
    if isinstance(predicate, exp.And):
        yield from _conjuncts(predicate.this)
        yield from _conjuncts(predicate.expression)
    else:
        yield predicate


def _is_value(node: exp.Expression) -> bool:
    """A value fixed for the whole statement: literal, parameter, function of those, subquery."""
    if isinstance(node, exp.Null):
        return False  # `= NULL` matches nothing; `IS NULL` is not an equality
    if node.find(exp.Subquery, exp.Select) is not None:
        return True
    return node.find(exp.Column) is None


_VALUE_BEFORE = re.compile(
    r"""(?:[=<>(,+\-*/|%\[]|::?|\b(?:in|like|ilike|limit|offset|values|then|else|when|between|any|all|array|is|not\s+in)\s*)$""",
    re.IGNORECASE,
)


def join_interpolated(fragments: list[str]) -> str | None:
    """SQL from the literal fragments around interpolations (`${x}`, `{x}`), each made `$n`.

    An interpolation that is not in a value position (`FROM ${table}`, `WHERE ${cond}`,
    `AND ${fragment}`) may be any SQL at run time: None, the statement is unknown.
    """
    sql = fragments[0]
    for number, fragment in enumerate(fragments[1:], start=1):
        if not _VALUE_BEFORE.search(sql.rstrip()):
            return None
        sql += f"${number}" + fragment
    return sql
