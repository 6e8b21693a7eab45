"""One line-splitting rule for every reader: LF, CRLF and a lone CR end a line, nothing else.

That is what editors, git and SARIF viewers count. `str.splitlines` also breaks at form
feed, U+2028 and other separators, which would move findings, fingerprints and inline
suppressions off the line a user sees.
"""

from __future__ import annotations

import re

_BREAK = re.compile(r"\r\n|\r|\n")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def split_lines(text: str) -> list[str]:
    """Lines without their endings; a final line ending does not start another line."""
    lines = _BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def split_lines_keepends(text: str) -> list[str]:
    return _LINE.findall(text)


def normalise_newlines(text: str) -> str:
    """CRLF and a lone CR become LF: line numbers then agree with every parser, columns are unchanged."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text
