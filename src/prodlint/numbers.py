"""Numbers as written in analysed files: a value that cannot be read is unknown, never an error.

`str.isdigit` accepts `²` and `int` refuses 5,000 digits; a count prodlint reasons about
(workers, pool sizes, connections) is a plain ASCII number of at most 18 digits.
"""

from __future__ import annotations

import re

MAX_DIGITS = 18
_DECIMAL = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,15})?")


def count(text: str | None) -> int | None:
    """`"8"` -> 8; `"²"`, `"1e3"`, `""` or a 5,000-digit value -> None."""
    if text is None:
        return None
    text = text.strip()
    if not text or len(text) > MAX_DIGITS or not text.isascii() or not text.isdigit():
        return None
    return int(text)


def decimal(text: str | None) -> float | None:
    """`"1.5"` -> 1.5; anything odd, huge or not finite -> None."""
    if text is None:
        return None
    text = text.strip()
    return float(text) if _DECIMAL.fullmatch(text) else None
