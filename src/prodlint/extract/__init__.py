"""Per-file extractors: one source kind each (`prodlint.kinds` says which files are of which kind).

An extractor sees one file and nothing else, so extraction runs in parallel
worker processes and is cached by content hash. It yields facts and
`Notification`s; a `ParseError` it raises becomes a PL001 notification.

Each extraction runs under a work budget (`WORK_BUDGET_SECONDS` of CPU time): a
file that exceeds it (deep nesting, a bundle that slipped through) is skipped with
a PL001 notification and the run goes on.
"""

from __future__ import annotations

import importlib
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prodlint.kinds import BY_NAME

if TYPE_CHECKING:
    from prodlint.config import Config


class ParseError(Exception):
    """The file cannot be understood; the run goes on without it."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True, slots=True)
class Source:
    path: str  # relative to the project root, posix separators
    text: str

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


Extract = Callable[[Source, "Config"], Iterable[object]]


@dataclass(frozen=True, slots=True)
class ExtractorSpec:
    kind: str
    extract: Extract


_EXTRACTORS: dict[str, ExtractorSpec] = {}


# CPU seconds one file's extraction may take; linear extractors need well under one
# second for any file under max-file-bytes.
WORK_BUDGET_SECONDS = 20.0


class _OverBudget(BaseException):
    """Raised by the budget timer inside an extraction (a BaseException: collectors' `except Exception` let it through)."""


def extractor(kind: str) -> Callable[[Extract], Extract]:
    """Registers the reader of a kind; which files are of the kind is `prodlint.kinds`'s to say."""

    def register(extract: Extract) -> Extract:
        _EXTRACTORS[kind] = ExtractorSpec(kind, _budgeted(extract))
        return extract

    return register


def _budgeted(extract: Extract) -> Extract:
    """The extractor, run to completion within the work budget; over it, a ParseError saying so."""

    def run(source: Source, config: Config) -> list[object]:
        _prepare(extract)
        budget = WORK_BUDGET_SECONDS
        if budget <= 0 or not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
            return list(extract(source, config))  # no timer here: the extractors' own bounds hold

        def expire(signum: int, frame: object) -> None:
            raise _OverBudget

        previous = signal.signal(signal.SIGVTALRM, expire)
        signal.setitimer(signal.ITIMER_VIRTUAL, budget)  # CPU time: other load on the machine does not count
        try:
            return list(extract(source, config))
        except _OverBudget:
            raise ParseError(f"too complex to analyse in {budget:g} s; skipped") from None
        finally:
            signal.setitimer(signal.ITIMER_VIRTUAL, 0)
            signal.signal(signal.SIGVTALRM, previous)

    run.__wrapped__ = extract  # type: ignore[attr-defined]
    run.__module__ = extract.__module__
    return run


def _prepare(extract: Extract) -> None:
    """Load the extractor's collectors before the timer starts, so no import is ever cut short."""
    collectors = getattr(sys.modules.get(extract.__module__), "collectors", None)
    if callable(collectors):
        collectors()


def extractor_for(kind: str) -> ExtractorSpec:
    """The extractor of a kind, its module imported on first use."""
    if kind not in _EXTRACTORS:
        importlib.import_module(BY_NAME[kind].module)
    return _EXTRACTORS[kind]


def extractors() -> dict[str, ExtractorSpec]:
    """Every extractor, by kind."""
    for kind in BY_NAME:
        extractor_for(kind)
    return dict(sorted(_EXTRACTORS.items()))
