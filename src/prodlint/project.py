"""The project model: the facts of every file, joined across files.

Cross-file views (the route graph, tenant-scoped models, the index inventory,
connection budgets) are built on first use by `project.view(Builder)` and shared
by every rule that asks for them. A view lives in `prodlint/model/<family>.py`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from prodlint.config import Config
from prodlint.facts import FileFacts, Notification

T = TypeVar("T")


def glob_matches(path: str, pattern: str) -> bool:
    """gitignore-like glob on a relative posix path: `admin/**`, `*.dev.yml`, `src/admin/*.ts`."""
    if "/" not in pattern.rstrip("/"):
        name = path.rsplit("/", 1)[-1]
        parts = path.split("/")
        return fnmatch.fnmatchcase(name, pattern) or any(fnmatch.fnmatchcase(part, pattern.rstrip("/")) for part in parts[:-1])
    pattern = pattern.lstrip("/")
    if pattern.endswith("/**"):
        prefix = pattern[:-3]
        return path.startswith(prefix + "/") or fnmatch.fnmatchcase(path, pattern)
    if pattern.endswith("/"):
        return path.startswith(pattern)
    return fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path, pattern.replace("**/", ""))


@dataclass
class Project:
    files: tuple[FileFacts, ...]
    config: Config
    skipped: dict[str, tuple[str, str]] = field(default_factory=dict)  # path -> (role, reason): bundles, generated code
    _views: dict[Any, Any] = field(default_factory=dict, repr=False)
    notes: list[Notification] = field(default_factory=list, repr=False)  # views' notifications (a graph not built)

    def __post_init__(self) -> None:
        self.files = tuple(sorted(self.files, key=lambda f: f.path))
        self.by_path = {f.path: f for f in self.files}
        self._by_types: dict[tuple[type, ...], list[object]] = {}

    def facts_of(self, *types: type[T]) -> Iterator[T]:
        """Every fact of the given types, in path order, then extraction order."""
        found = self._by_types.get(types)
        if found is None:
            if not hasattr(self, "_by_class"):
                # One pass over every fact, grouped by class: each later ask costs only what it returns.
                by_class: dict[type, list[tuple[int, object]]] = {}
                position = 0
                for file in self.files:
                    for fact in file.facts:
                        by_class.setdefault(type(fact), []).append((position, fact))
                        position += 1
                self._by_class = by_class
            groups = [facts for cls, facts in self._by_class.items() if issubclass(cls, types)]
            pairs = groups[0] if len(groups) == 1 else sorted((p for group in groups for p in group), key=lambda p: p[0])
            found = self._by_types[types] = [fact for _, fact in pairs]
        return iter(found)  # type: ignore[arg-type]

    def files_of(self, kind: str) -> Iterator[FileFacts]:
        return (file for file in self.files if file.kind == kind)

    def live_facts_of(self, *types: type[T]) -> Iterator[T]:
        """Facts of files that describe the running system: not tests, scripts, seeds, copies or other stacks."""
        from prodlint.model.roles import production_code  # the view reads facts_of; imported late to avoid a cycle

        roles = self.view(production_code)
        return (fact for fact in self.facts_of(*types) if roles.is_live(_path_of(fact)))

    def view(self, build: Callable[[Project], T]) -> T:
        """A cross-file view, built once per run."""
        if build not in self._views:
            self._views[build] = build(self)
        return self._views[build]

    def matches_any(self, path: str, patterns: tuple[str, ...]) -> bool:
        return any(glob_matches(path, pattern) for pattern in patterns)


def _path_of(fact: object) -> str:
    at = getattr(fact, "at", None)
    return at.path if at is not None else getattr(fact, "path", "")
