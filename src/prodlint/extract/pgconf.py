"""postgresql.conf: the connection limits the server enforces.

`name = value` or `name value`, `#` comments, quoted values; the last setting wins,
as PostgreSQL reads it. Only the settings the connection budget needs are kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from prodlint.extract import Source, extractor
from prodlint.facts import Location
from prodlint.facts.capacity import PostgresSetting
from prodlint.lines import split_lines

if TYPE_CHECKING:
    from prodlint.config import Config

CONNECTION_SETTINGS = ("max_connections", "superuser_reserved_connections", "reserved_connections")
# Possessive quantifiers: a line of a name and 100k blanks must not backtrack quadratically.
_LINE = re.compile(r"^\s*+(?P<name>[a-z_.]++)(?:\s*+=\s*+|\s++)(?P<value>'[^']*+'|[^\s#]++)")


@extractor("postgresql-conf")
def extract_postgresql_conf(source: Source, config: Config) -> Iterable[object]:
    for number, line in enumerate(split_lines(source.text), start=1):
        match = _LINE.match(line)
        if match is None or match["name"] not in CONNECTION_SETTINGS:
            continue
        value = match["value"].strip("'")
        at = Location(source.path, number, match.start("name") + 1, number, match.end("value") + 1)
        yield PostgresSetting(match["name"], value, at)
