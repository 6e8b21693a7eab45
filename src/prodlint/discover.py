"""Find the files to analyse: honour .gitignore and `exclude`, never leave the root.

Symlinks are followed only while they stay inside the root and do not lead back
to a directory already walked (a loop is reported, not followed).
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from prodlint.config import Config
from prodlint.extract import classify
from prodlint.facts import Notification

SKIPPED_DIRS = frozenset({
    ".git", ".hg", ".svn", "node_modules", "bower_components", "__pycache__", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", ".tox", ".nox", ".venv", ".eggs", "site-packages",
    ".prodlint_cache", "dist", "build", ".next", ".nuxt", ".turbo", "coverage", ".idea", ".vscode",
    ".terraform", ".serverless", ".cache",
})


@dataclass(frozen=True, slots=True)
class Candidate:
    path: str  # relative to the root, posix
    absolute: Path
    kind: str


@dataclass
class Discovery:
    root: Path
    candidates: list[Candidate] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)


def project_root(paths: list[Path]) -> Path:
    """The directory every path lies in: output paths are relative to it."""
    resolved = [p.resolve() for p in paths] or [Path.cwd().resolve()]
    dirs = [p if p.is_dir() else p.parent for p in resolved]
    return Path(os.path.commonpath([str(d) for d in dirs]))


def _gitignore(directory: Path) -> pathspec.PathSpec | None:
    try:
        lines = (directory / ".gitignore").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(lines)


class _Walker:
    def __init__(self, root: Path, config: Config, discovery: Discovery) -> None:
        self.root = root
        self.config = config
        self.discovery = discovery
        self.exclude = pathspec.GitIgnoreSpec.from_lines(config.exclude)
        self.seen_dirs: set[Path] = set()

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def notify(self, rel: str, message: str) -> None:
        self.discovery.notifications.append(Notification(rel, message))

    def ignored(self, rel: str, is_dir: bool, ignores: list[tuple[str, pathspec.PathSpec]]) -> bool:
        probe = rel + "/" if is_dir else rel
        if self.exclude.match_file(probe):
            return True
        for base, spec in ignores:
            local = probe[len(base) + 1 :] if base else probe
            if spec.match_file(local):
                return True
        return False

    def walk(self, directory: Path, ignores: list[tuple[str, pathspec.PathSpec]]) -> None:
        real = directory.resolve()
        if real in self.seen_dirs:
            return
        self.seen_dirs.add(real)
        rel_dir = "" if directory == self.root else self.rel(directory)
        spec = _gitignore(directory)
        if spec is not None:
            ignores = [*ignores, (rel_dir, spec)]
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as error:
            self.notify(rel_dir or ".", f"cannot list directory: {error.strerror or error}")
            return
        for entry in entries:
            self.visit(Path(entry.path), entry.is_symlink(), ignores)

    def visit(self, path: Path, is_link: bool, ignores: list[tuple[str, pathspec.PathSpec]]) -> None:
        rel = self.rel(path)
        if "{{" in path.name or "{%" in path.name:
            return  # a cookiecutter/copier template, not code that runs
        try:
            info = path.stat()
        except OSError as error:
            if is_link and error.errno == errno.ELOOP:
                self.notify(rel, "symlink loop; not followed")
            elif is_link:
                pass  # a dangling link reads as nothing, like git
            else:
                self.notify(rel, f"cannot read: {error.strerror or error}")
            return
        if is_link:
            # A link inside the root names a file or directory that is analysed at its own
            # path; a link out of the root is never followed. Only a loop is worth saying.
            if stat.S_ISDIR(info.st_mode):
                parent = path.parent.resolve()
                if path.resolve() in (parent, *parent.parents):
                    self.notify(rel, "symlink loop; not followed")
            return
        if stat.S_ISDIR(info.st_mode):
            if path.name in SKIPPED_DIRS or (path / "pyvenv.cfg").exists():
                return
            if self.ignored(rel, True, ignores):
                return
            self.walk(path, ignores)
            return
        if self.ignored(rel, False, ignores):
            return
        self.add_file(path, rel, info)

    def add_file(self, path: Path, rel: str, info: os.stat_result) -> None:
        kind = classify(rel, self.config)
        if kind is None:
            return
        if not stat.S_ISREG(info.st_mode):
            self.notify(rel, "not a regular file; skipped")
            return
        self.discovery.candidates.append(Candidate(rel, path, kind))


def discover(paths: list[Path], config: Config, root: Path | None = None) -> Discovery:
    root = (root or project_root(paths)).absolute()
    discovery = Discovery(root)
    walker = _Walker(root, config, discovery)
    for given in sorted({p.absolute() for p in paths} or {root}):
        if not given.exists() and not given.is_symlink():
            discovery.notifications.append(Notification(str(given), "no such file or directory"))
            continue
        if given.is_dir() and not given.is_symlink():
            # Parent .gitignore files still apply to a sub-directory given on the command line.
            ignores = []
            for parent in reversed([root, *[p for p in given.parents if root in p.parents]]):
                spec = _gitignore(parent)
                if spec is not None and parent != given:
                    ignores.append(("" if parent == root else parent.relative_to(root).as_posix(), spec))
            walker.walk(given, ignores)
        else:
            rel = walker.rel(given)
            try:
                info = given.stat()
            except OSError as error:
                message = "symlink loop; not followed" if error.errno == errno.ELOOP else f"cannot read: {error.strerror or error}"
                walker.notify(rel, message)
                continue
            walker.add_file(given, rel, info)  # an explicit file is analysed even if ignored
    discovery.candidates.sort(key=lambda c: c.path)
    return discovery
