"""Plain, picklable facts that extractors emit and rules read.

Every fact is a frozen, slotted dataclass holding only builtins, tuples and other
facts, so it pickles into the cache and across worker processes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Location:
    """A 1-based span in a file, as SARIF wants it. `path` is relative to the root, posix."""

    path: str
    line: int
    column: int = 1
    end_line: int | None = None
    end_column: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Notification:
    """A problem with the input rather than a finding about it (PL001 parse-error)."""

    path: str
    message: str
    line: int | None = None
    code: str = "PL001"
    level: str = "warning"


@dataclass(frozen=True, slots=True)
class Suppression:
    """An inline `prodlint: ignore[...]` comment."""

    codes: tuple[str, ...]
    reason: str | None
    at: Location
    whole_file: bool = False
    problem: str | None = None  # set: malformed, suppresses nothing, reported as PL004


@dataclass(frozen=True, slots=True)
class FileFacts:
    """Everything extracted from one file. Depends on that file only."""

    path: str
    kind: str
    facts: tuple[object, ...] = ()
    notifications: tuple[Notification, ...] = ()
    suppressions: tuple[Suppression, ...] = ()
