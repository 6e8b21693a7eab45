"""Baselines and diff filtering: adopt prodlint on an existing codebase without a flood.

A baseline records findings by fingerprint (rule, path, normalised text of the
flagged line, occurrence index), not by line number, so edits above a finding do
not resurrect it. Entries that no longer match are stale: the baseline only shrinks.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from prodlint.engine import Result

VERSION = 1


class BaselineError(Exception):
    pass


def write(path: Path, results: list[Result]) -> None:
    entries = [
        {"fingerprint": r.fingerprint, "code": r.code, "path": r.at.path, "message": r.message}
        for r in sorted(results, key=lambda r: (r.at.path, r.code, r.fingerprint))
    ]
    path.write_text(json.dumps({"prodlint-baseline": VERSION, "findings": entries}, indent=2) + "\n", encoding="utf-8")


def read(path: Path) -> set[str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("prodlint-baseline") != VERSION:
            raise BaselineError(f"{path} is not a prodlint baseline (version {VERSION})")
        return {entry["fingerprint"] for entry in data["findings"]}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise BaselineError(f"cannot read baseline {path}: {error}") from None


def apply(results: list[Result], fingerprints: set[str]) -> tuple[list[Result], int, int]:
    """New findings, how many the baseline hid, and how many baseline entries are stale."""
    fresh = [r for r in results if r.fingerprint not in fingerprints]
    matched = {r.fingerprint for r in results} & fingerprints
    return fresh, len(results) - len(fresh), len(fingerprints - matched)


_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


def changed_lines(root: Path, ref: str) -> dict[str, set[int] | None]:
    """Lines changed since `ref`, by path relative to `root`; None means the whole file is new."""

    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True)
        except FileNotFoundError:
            raise BaselineError("--diff-base needs git on PATH") from None
        except subprocess.CalledProcessError as error:
            raise BaselineError(f"git {' '.join(args)} failed: {error.stderr.strip()}") from None
        return done.stdout

    changed: dict[str, set[int] | None] = {}
    current: str | None = None
    # Run from the root with --relative: paths come back relative to it.
    for line in git("diff", "--unified=0", "--no-color", "--no-ext-diff", "--relative", ref, "--", ".").splitlines():
        if line.startswith("+++ "):
            name = line[4:]
            current = None if name == "/dev/null" else name.removeprefix("b/")
            if current is not None:
                changed.setdefault(current, set())
        elif current is not None and (match := _HUNK.match(line)):
            start, count = int(match[1]), int(match[2] if match[2] is not None else 1)
            lines = changed[current]
            if lines is not None:
                lines.update(range(start, start + count))
    for name in git("ls-files", "--others", "--exclude-standard").splitlines():
        changed[name] = None
    return changed


def in_diff(result: Result, changed: dict[str, set[int] | None]) -> bool:
    if result.at.path not in changed:
        return False
    lines = changed[result.at.path]
    return lines is None or result.at.line in lines
