"""Inline suppressions: `prodlint: ignore[CODE, ...] -- reason` in any comment syntax.

Codes are required: there is no blanket ignore. The comment applies to its own line
and the line below (formatters move comments above the code they annotate);
`ignore-file[...]` in the first ten lines applies to the whole file.
"""

from __future__ import annotations

import re

from prodlint.facts import Location, Suppression
from prodlint.lines import split_lines

_PATTERN = re.compile(
    r"(?:#|//|--|/\*|;)\s*prodlint:\s*(?P<scope>ignore-file|ignore)\[(?P<codes>[^\]]*)\]"
    r"(?:\s*(?:--|:|—)?\s*(?P<reason>.*?))?\s*(?:\*/)?\s*$"
)
FILE_SCOPE_LINES = 10


def scan(path: str, text: str) -> tuple[Suppression, ...]:
    if "prodlint:" not in text:
        return ()
    found = []
    for number, line in enumerate(split_lines(text), start=1):
        if "prodlint:" not in line:
            continue
        match = _PATTERN.search(line)
        if match is None:
            continue
        codes = tuple(code.strip().upper() for code in match["codes"].split(",") if code.strip())
        whole_file = match["scope"] == "ignore-file"
        if whole_file and number > FILE_SCOPE_LINES:
            continue
        column = match.start() + 1
        found.append(Suppression(
            codes=codes,
            reason=(match["reason"] or "").strip() or None,
            at=Location(path, number, column, number, len(line) + 1),
            whole_file=whole_file,
        ))
    return tuple(found)


def covers(suppression: Suppression, code: str, line: int) -> bool:
    if code not in suppression.codes:
        return False
    return suppression.whole_file or line in (suppression.at.line, suppression.at.line + 1)
