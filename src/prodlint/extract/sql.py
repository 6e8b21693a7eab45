"""SQL files (migrations, init scripts): indexes, constraints, row-level security, `ALTER SYSTEM` settings.

Statements are split on `;` outside strings, comments and dollar quotes; each one is
read on its own, so a statement prodlint does not understand is skipped, never fatal.
Policy expressions and DDL (`CREATE INDEX`, `CREATE TABLE`, `ALTER TABLE ... ADD
CONSTRAINT`) are parsed with sqlglot (PostgreSQL dialect).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from prodlint.extract import Source, extractor
from prodlint.facts import Location
from prodlint.facts.capacity import PostgresSetting
from prodlint.facts.sql import DroppedIndex, Policy, RenamedIndex, RowLevelSecurity

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


_ORDINARY = re.compile(r"""[^-/'"$;]*""")  # text that starts no comment, string, dollar quote or statement end


def statements(text: str) -> Iterator[tuple[int, str]]:
    """(line, statement) pairs, comments removed, split on top-level semicolons."""
    out: list[str] = []
    line = start = 1
    started = False  # a statement's first non-blank text has been seen: it starts on `start`
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
            out, started, i = [], False, i + 1
            continue
        else:
            stop = _ORDINARY.match(text, i + 1).end()  # type: ignore[union-attr]
        chunk = text[i:stop]
        if not started and not chunk.isspace():
            started = True
            start = line + text.count("\n", i, i + len(chunk) - len(chunk.lstrip()))
        out.append(chunk)
        line += text.count("\n", i, stop)
        i = stop
    statement = "".join(out).strip()
    if statement:
        yield start, statement


@extractor("sql")
def extract_sql(source: Source, config: Config) -> Iterable[object]:
    return sql_facts(source.text, source.path)


def sql_facts(text: str, path: str, first_line: int = 1) -> Iterator[object]:
    """The facts of SQL text that starts at `first_line` of `path` (a file, or a string in code
    such as Alembic's `op.execute("CREATE INDEX ...")`)."""
    from prodlint import ddl  # sqlglot, loaded when SQL is read
    for line, statement in statements(text):
        statement = " ".join(statement.split()) if "$" not in statement else statement
        at = Location(path, line + first_line - 1)
        if match := _RLS.match(statement):
            yield RowLevelSecurity(match["table"], at, enabled=match["verb"].upper() != "DISABLE")
        elif match := _POLICY.match(statement):
            yield Policy(match["name"].strip('"'), match["table"], ddl.policy_columns(match["rest"]), at)
        elif match := _SYSTEM.match(statement):
            yield PostgresSetting(match["name"].lower(), match["value"], at, origin="alter-system")
        elif match := _RENAME_INDEX.match(statement):
            yield RenamedIndex(_unquote(match["name"]), _unquote(match["new"]), at)
        elif match := _DROP_INDEX.match(statement):
            for name in re.split(r"\s*,\s*", match["names"].strip()):
                yield DroppedIndex(_unquote(name), None, "DROP INDEX", at)
        elif _DDL.match(statement):
            yield from ddl.ddl_facts(statement, at)


def _unquote(name: str) -> str:
    """`"public"."Order_idx"` -> `Order_idx`: the last part, unquoted."""
    return re.split(r'\.(?=(?:[^"]*"[^"]*")*[^"]*$)', name.strip())[-1].strip('"')
