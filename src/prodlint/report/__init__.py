"""Reporters turn an analysis into text; they never decide what is a finding."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from prodlint.engine import Analysis, Result
from prodlint.facts import Notification


@dataclass
class Report:
    """What a reporter prints: the analysis plus what the command line filtered."""

    analysis: Analysis
    results: list[Result]  # reported (not suppressed, not baselined, in the diff)
    prefix: str = ""  # the root relative to the working directory, so paths are clickable
    baselined: int = 0
    stale_baseline: int = 0
    notes: list[str] = field(default_factory=list)
    cwd: Path | None = None  # set: paths print relative to it even when the root lies above it

    @property
    def notifications(self) -> list[Notification]:
        return self.analysis.notifications

    def display(self, path: str) -> str:
        """The path as a user types it: relative to the working directory."""
        if self.cwd is not None and self.analysis.root in self.cwd.parents:
            return Path(os.path.relpath(self.analysis.root / path, self.cwd)).as_posix()
        return self.uri(path)

    def uri(self, path: str) -> str:
        """The path relative to the SARIF base: the working directory when the root lies below it, else the root."""
        return f"{self.prefix}{path}" if path else self.prefix.rstrip("/") or "."


def display_prefix(root: Path) -> str:
    """`examples/` when the root lies below the working directory, else nothing."""
    try:
        relative = root.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return ""
    text = relative.as_posix()
    return "" if text == "." else text + "/"
