"""SQL files (migrations, init scripts): row-level security and `ALTER SYSTEM` settings.

Statements are split on `;` outside strings, comments and dollar quotes; each one is
read on its own, so a statement prodlint does not understand is skipped, never fatal.
Policy expressions are parsed with sqlglot (PostgreSQL dialect).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import sqlglot
from sqlglot import exp

from prodlint.extract import Source, extractor, name_matches
from prodlint.facts import Location
from prodlint.facts.capacity import PostgresSetting
from prodlint.facts.sql import Policy, RowLevelSecurity

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
    for line, statement in statements(source.text):
        statement = " ".join(statement.split()) if "$" not in statement else statement
        at = Location(source.path, line)
        if match := _RLS.match(statement):
            yield RowLevelSecurity(match["table"], at, enabled=match["verb"].upper() != "DISABLE")
        elif match := _POLICY.match(statement):
            yield Policy(match["name"].strip('"'), match["table"], _policy_columns(match["rest"]), at)
        elif match := _SYSTEM.match(statement):
            yield PostgresSetting(match["name"].lower(), match["value"], at, origin="alter-system")
