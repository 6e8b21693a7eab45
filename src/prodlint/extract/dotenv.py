"""dotenv files (`.env`, `.env.production`, `*.env`): what compose `env_file` and Prisma read.

The syntax is docker compose's: `KEY=VALUE`, optional `export `, single or double
quotes, `#` comments (inline only after whitespace in unquoted values).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from prodlint.extract import Source, extractor
from prodlint.facts import Location
from prodlint.facts.capacity import EnvFile
from prodlint.lines import split_lines

if TYPE_CHECKING:
    from prodlint.config import Config

# Values are cached on disk with the facts: secrets are never kept.
_SECRET_KEY = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE|CREDENTIAL|API_?KEY|ACCESS_KEY", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(?<=://)([^:/@\s]*):[^@/\s]*@")
_COMMENT = re.compile(r"(?<=\s)#")  # a lookbehind, linear where `\s+#` is quadratic on long blank runs
_LINE = re.compile(r"^\s*(?:export\s+)?(?P<key>[A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(?P<value>.*)")  # trailing blanks: rstrip, not a lazy match (quadratic)


def _unquote(raw: str) -> tuple[str, int]:
    """The value and its offset in `raw` (where the text inside the quotes starts)."""
    if raw[:1] in ("'", '"'):
        end = raw.find(raw[0], 1)
        if end > 0:
            inner = raw[1:end]
            return (inner.replace('\\"', '"') if raw[0] == '"' else inner), 1
    return _COMMENT.split(raw, maxsplit=1)[0].rstrip(), 0


@extractor("dotenv")
def extract_dotenv(source: Source, config: Config) -> Iterable[object]:
    values = []
    for number, line in enumerate(split_lines(source.text), start=1):
        match = _LINE.match(line)
        if match is None or line.lstrip().startswith("#"):
            continue
        if _SECRET_KEY.search(match["key"]):
            continue
        value, offset = _unquote(match["value"])
        column = match.start("value") + offset + 1
        at = Location(source.path, number, column, number, column + len(value))
        values.append((match["key"], _URL_PASSWORD.sub(r"\1:***@", value), at))
    yield EnvFile(source.path, tuple(values))
