"""Per-file extractors: one source kind each, chosen by file name.

An extractor sees one file and nothing else, so extraction runs in parallel
worker processes and is cached by content hash. It yields facts and
`Notification`s; a `ParseError` it raises becomes a PL001 notification.
"""

from __future__ import annotations

import fnmatch
import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

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
Matches = Callable[[str, "Config"], bool]


@dataclass(frozen=True, slots=True)
class ExtractorSpec:
    kind: str
    matches: Matches
    extract: Extract
    priority: int  # higher wins when several match one file


_EXTRACTORS: dict[str, ExtractorSpec] = {}
_loaded = False


def extractor(kind: str, *, matches: Matches, priority: int = 0) -> Callable[[Extract], Extract]:
    def register(extract: Extract) -> Extract:
        _EXTRACTORS[kind] = ExtractorSpec(kind, matches, extract, priority)
        return extract

    return register


def name_matches(*patterns: str) -> Matches:
    """Match the file's base name against glob patterns (case-sensitive)."""

    def matches(path: str, config: Config) -> bool:
        name = path.rsplit("/", 1)[-1]
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)

    return matches


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        importlib.import_module(f"{__name__}.{info.name}")


def extractors() -> dict[str, ExtractorSpec]:
    _load()
    return _EXTRACTORS


def classify(path: str, config: Config) -> str | None:
    """The kind of extractor for a file, or None when prodlint has nothing to read in it."""
    best: ExtractorSpec | None = None
    for spec in extractors().values():
        if spec.matches(path, config) and (best is None or spec.priority > best.priority):
            best = spec
    return best.kind if best else None
