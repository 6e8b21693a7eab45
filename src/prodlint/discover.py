"""Find the project root and the files to analyse: honour .gitignore and `exclude`, never leave the root.

The root is found as ruff finds it: the nearest folder, from the given paths upwards,
with a prodlint configuration, else the git work tree's top, else the folder of the
paths. The whole root is analysed (a router is mounted in a sibling file); findings are
reported only for the paths given.

Symlinks are followed only while they stay inside the root and do not lead back
to a directory already walked (a loop is reported, not followed). Only regular files
are read, so a FIFO or a link to /dev/zero never blocks a run.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

try:  # pathspec >= 1.0
    from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern as _BasePattern
except ImportError:  # pragma: no cover - older pathspec
    from pathspec.patterns.gitwildmatch import GitWildMatchPattern as _BasePattern

from prodlint.config import Config, find as find_config
from prodlint.facts import Notification
from prodlint.kinds import classify
from prodlint.lines import split_lines
from prodlint.reading import read_regular

SKIPPED_DIRS = frozenset({
    ".git", ".hg", ".svn", "node_modules", "bower_components", "__pycache__", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", ".tox", ".nox", ".venv", ".eggs", "site-packages",
    ".prodlint_cache", "dist", "build", ".next", ".nuxt", ".turbo", "coverage", ".idea", ".vscode",
    ".terraform", ".serverless", ".cache",
})
MAX_IGNORE_FILE_BYTES = 1 << 20


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
    targets: tuple[str, ...] = ("",)  # the given paths, relative to the root ("" is all of it)

    def wanted(self, path: str) -> bool:
        """Is `path` (relative to the root) inside one of the paths given on the command line?"""
        return any(not target or path == target or path.startswith(target + "/") for target in self.targets)


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def project_root(paths: list[Path]) -> Path:
    """The nearest folder above the paths with a prodlint configuration, else the git top, else their folder."""
    resolved = [_real(p) for p in paths] or [_real(Path.cwd())]
    dirs = [p if p.is_dir() else p.parent for p in resolved]
    start = Path(os.path.commonpath([str(d) for d in dirs]))
    for folder in (start, *start.parents):
        if find_config(folder) is not None:
            return folder
        if os.path.lexists(folder / ".git"):
            return folder  # a configuration above the repository is not the project's
    return start


def _read_small_regular(path: Path, limit: int) -> bytes | None:
    """The bytes of a regular file of at most `limit` bytes, or None; never blocks on a FIFO or device."""
    try:
        content = read_regular(path, limit)
    except OSError:
        return None
    return content if len(content) <= limit else None


_STAR = "[^/]*"


def linear_regex(regex: str) -> str:
    """pathspec's regex for `*a*a*b` backtracks exponentially on a long name; this one cannot.

    Every `*` but the last of a name segment matches up to the earliest place the text after
    it fits, and never gives that back (an atomic group): for globs that is the same match,
    found in time linear in the name for each `*`.
    """
    parts = regex.split(_STAR)
    if len(parts) <= 2:
        return regex
    out = [parts[0]]
    for index, part in enumerate(parts[1:], start=1):
        plain = part and "/" not in part.replace("[^/]", "") and not any(c in part for c in "()|")
        if index < len(parts) - 1 and plain:
            out.append(f"(?>[^/]*?{part})")
        else:
            out.append(_STAR + part)
    return "".join(out)


class _LinearPattern(_BasePattern):  # type: ignore[misc, valid-type]
    @classmethod
    def pattern_to_regex(cls, pattern: str) -> tuple[str | None, bool | None]:  # type: ignore[override]
        regex, include = super().pattern_to_regex(pattern)
        return (linear_regex(regex) if isinstance(regex, str) else regex), include


def _spec(lines: list[str]) -> pathspec.PathSpec:
    return pathspec.GitIgnoreSpec.from_lines(_LinearPattern, lines)


def ignore_spec(lines: list[str]) -> pathspec.PathSpec:
    """A gitignore spec; a line git accepts but pathspec cannot compile (`build\\`, `!`, `[z-a]`) matches nothing."""
    try:
        return _spec(lines)
    except Exception:  # noqa: BLE001 - pathspec raises several types for odd patterns
        good = []
        for line in lines:
            try:
                _spec([line])
            except Exception:  # noqa: BLE001
                continue
            good.append(line)
        return _spec(good)


def _gitignore(directory: Path) -> pathspec.PathSpec | None:
    content = _read_small_regular(directory / ".gitignore", MAX_IGNORE_FILE_BYTES)
    if content is None:
        return None
    return ignore_spec(split_lines(content.decode("utf-8", errors="replace")))


_Ignores = list[tuple[str, pathspec.PathSpec]]


class _Walker:
    def __init__(self, root: Path, config: Config, discovery: Discovery) -> None:
        self.root = root
        self.config = config
        self.discovery = discovery
        self.exclude = ignore_spec(list(config.exclude))
        self.seen_dirs: set[Path] = set()
        self.seen_files: set[str] = set()

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def notify(self, rel: str, message: str) -> None:
        self.discovery.notifications.append(Notification(rel, message))

    def ignored(self, rel: str, is_dir: bool, ignores: _Ignores, forced: bool = False) -> bool:
        probe = rel + "/" if is_dir else rel
        if not forced and self.exclude.match_file(probe):
            return True
        for base, spec in ignores:
            local = probe[len(base) + 1 :] if base else probe
            if spec.match_file(local):
                return True
        return False

    def walk(self, start: Path, ignores: _Ignores, forced: bool = False) -> None:
        """Depth-first with an explicit stack: a tree 1,000 folders deep is no recursion."""
        stack: list[tuple[Path, _Ignores]] = [(start, ignores)]
        while stack:
            directory, ignores = stack.pop()
            real = _real(directory)
            if real in self.seen_dirs:
                continue
            self.seen_dirs.add(real)
            rel_dir = "" if directory == self.root else self.rel(directory)
            spec = _gitignore(directory)
            if spec is not None:
                ignores = [*ignores, (rel_dir, spec)]
            try:
                with os.scandir(directory) as listing:
                    entries = sorted(listing, key=lambda e: e.name)
            except OSError as error:
                self.notify(rel_dir or ".", f"cannot list directory: {error.strerror or error}")
                continue
            subdirs = []
            prefix = f"{rel_dir}/" if rel_dir else ""
            for entry in entries:
                sub = self.visit(entry, prefix + entry.name, ignores, forced)
                if sub is not None:
                    subdirs.append((sub, ignores))
            stack.extend(reversed(subdirs))

    def visit(self, entry: os.DirEntry[str], rel: str, ignores: _Ignores, forced: bool) -> Path | None:
        """Add a file, or return a directory to walk. The listing's file types need no `stat`,
        except for links."""
        name = entry.name
        if "{{" in name or "{%" in name:
            return None  # a cookiecutter/copier template, not code that runs
        try:
            is_link = entry.is_symlink()
            is_dir = not is_link and entry.is_dir(follow_symlinks=False)
        except OSError as error:
            if not self.ignored(rel, False, ignores, forced):
                self.notify(rel, f"cannot read: {error.strerror or error}")
            return None
        if is_link:
            return self._link(Path(entry.path), rel)
        if is_dir:
            # Ignored first: an unreadable ignored folder is never probed.
            if name in SKIPPED_DIRS or self.ignored(rel, True, ignores, forced):
                return None
            path = Path(entry.path)
            try:
                if (path / "pyvenv.cfg").exists():
                    return None  # a virtualenv under another name
            except OSError:
                pass  # the listing will say it cannot be read
            return path
        kind = classify(rel)  # a file no extractor reads needs no ignore check
        if kind is None or rel in self.seen_files or self.ignored(rel, False, ignores, forced):
            return None
        self.seen_files.add(rel)
        try:
            regular = entry.is_file(follow_symlinks=False)
        except OSError:
            regular = False
        if not regular:
            self.notify(rel, "not a regular file; skipped")
            return None
        self.discovery.candidates.append(Candidate(rel, Path(entry.path), kind))
        return None

    def _link(self, path: Path, rel: str) -> None:
        """A link inside the root names a file or directory that is analysed at its own path; a
        link out of the root is never followed. Only a loop is worth saying."""
        try:
            info = path.stat()
        except OSError as error:
            if error.errno == errno.ELOOP:
                self.notify(rel, "symlink loop; not followed")
            return None  # a dangling link reads as nothing, like git
        if stat.S_ISDIR(info.st_mode):
            parent = _real(path.parent)
            if _real(path) in (parent, *parent.parents):
                self.notify(rel, "symlink loop; not followed")
        return None

    def add_file(self, path: Path, rel: str, info: os.stat_result) -> None:
        if rel in self.seen_files:
            return
        kind = classify(rel)
        if kind is None:
            return
        self.seen_files.add(rel)
        if not stat.S_ISREG(info.st_mode):
            self.notify(rel, "not a regular file; skipped")
            return
        self.discovery.candidates.append(Candidate(rel, path, kind))

    def parent_ignores(self, directory: Path) -> _Ignores:
        """The .gitignore files of the root and of every folder above `directory` inside it."""
        ignores = []
        for parent in reversed([p for p in (directory, *directory.parents) if p == self.root or self.root in p.parents]):
            if parent == directory:
                continue
            spec = _gitignore(parent)
            if spec is not None:
                ignores.append(("" if parent == self.root else self.rel(parent), spec))
        return ignores


def discover(paths: list[Path], config: Config, root: Path | None = None) -> Discovery:
    """Every file of the project at `root`; `targets` says which of them the paths given name."""
    given = sorted({_real(p) for p in paths}) or [_real(root or Path.cwd())]
    root = _real(root) if root else project_root(paths)
    discovery = Discovery(root)
    walker = _Walker(root, config, discovery)
    named: list[tuple[Path, str]] = []
    for path in given:
        if root != path and root not in path.parents:
            discovery.notifications.append(Notification(str(path), "outside the project root; skipped"))
            continue
        named.append((path, "" if path == root else path.relative_to(root).as_posix()))
    discovery.targets = tuple(target for _, target in named)
    walker.walk(root, [])
    for path, target in named:
        if not path.exists():
            walker.notify(target, "no such file or directory")
            continue
        if path.is_dir():
            # A folder named on the command line is analysed even when it is excluded or ignored;
            # only the .gitignore files inside it apply then.
            if target and walker.ignored(target, True, walker.parent_ignores(path)):
                walker.walk(path, [], forced=True)
            continue
        try:
            info = path.stat()
        except OSError as error:
            walker.notify(target, f"cannot read: {error.strerror or error}")
            continue
        walker.add_file(path, target, info)  # an explicit file is analysed even if ignored
    discovery.candidates.sort(key=lambda c: c.path)
    return discovery
