"""Baselines and diff filtering: adopt prodlint on an existing codebase without a flood.

A baseline records findings by what they flag (rule, path, whitespace-normalised text of
the flagged line), not by line number, so edits above a finding do not resurrect it. When a
file holds several equal findings, the recorded lines above each (its context), then the
recorded line numbers shifted as the file's other findings moved, say which of them are the
old ones: a duplicate inserted above a baselined line is the new one.

The baseline changes only when asked: `--write-baseline` records the run's findings,
`--update-baseline` removes entries that no longer match; entries outside the run's rule
selection or paths are never touched.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prodlint.engine import Result
from prodlint.facts import Location

VERSION = 1
MAX_BASELINE_BYTES = 256 << 20


class BaselineError(Exception):
    pass


@dataclass(frozen=True)
class Scope:
    """What a run looked at: entries outside it are neither stale nor pruned."""

    codes: set[str]
    targets: tuple[str, ...] = ("",)

    def __contains__(self, entry: tuple[str, str]) -> bool:
        code, path = entry
        return code in self.codes and any(
            not target or path == target or path.startswith(target + "/") for target in self.targets)


def _normalised(line: str) -> str:
    return re.sub(r"\s+", " ", line).strip()


def group_of(code: str, path: str, source_line: str) -> str:
    """Equal for findings of one rule on equal lines of one file: the fingerprint without its occurrence index."""
    return hashlib.sha256("\0".join((code, path, _normalised(source_line))).encode("utf-8", "surrogateescape")).hexdigest()[:20]


def entry_of(result: Result) -> dict[str, Any]:
    return {"fingerprint": result.fingerprint, "group": group_of(result.code, result.at.path, result.source_line),
            "context": result.context, "code": result.code, "path": result.at.path, "line": result.at.line,
            "message": result.message}


def dumps(entries: list[dict[str, Any]]) -> str:
    ordered = sorted(entries, key=lambda e: (e["path"], e["code"], e.get("line") or 0, e["fingerprint"]))
    return json.dumps({"prodlint-baseline": VERSION, "findings": ordered}, indent=2, ensure_ascii=False) + "\n"


def write(path: Path, results: list[Result]) -> None:
    path.write_text(dumps([entry_of(r) for r in results]), encoding="utf-8")


def read(path: Path) -> list[dict[str, Any]]:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BASELINE_BYTES + 1)
        if len(raw) > MAX_BASELINE_BYTES:
            raise BaselineError(f"baseline {path} is larger than {MAX_BASELINE_BYTES} bytes")
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict) or data.get("prodlint-baseline") != VERSION:
            raise BaselineError(f"{path} is not a prodlint baseline (version {VERSION})")
        entries = data["findings"]
        for entry in entries:
            if not all(isinstance(entry.get(key), str) for key in ("fingerprint", "code", "path")):
                raise BaselineError(f"cannot read baseline {path}: an entry lacks fingerprint, code or path")
            if not isinstance(entry.get("line", 0), int) or not all(
                    isinstance(entry.get(key, ""), str) for key in ("group", "context")):
                raise BaselineError(f"cannot read baseline {path}: an entry has a bad line or group")
        return list(entries)
    except BaselineError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        raise BaselineError(f"cannot read baseline {path}: {error}") from None


def _pick(found: list[Result], entries: list[dict[str, Any]], shift: float) -> list[tuple[Result, dict[str, Any]]]:
    """Pair equal findings with entries in order, dropping the excess from the start or the end, whichever fits the lines."""
    n = min(len(found), len(entries))
    options = []
    for start_found, start_entry in ((0, 0), (len(found) - n, len(entries) - n)):
        pairs = list(zip(found[start_found:start_found + n], entries[start_entry:start_entry + n]))
        cost = sum(abs(r.at.line - shift - (e.get("line") or 0)) for r, e in pairs)
        options.append((cost, pairs))
    return min(options, key=lambda option: option[0])[1]


def match(results: list[Result], entries: list[dict[str, Any]]) -> list[tuple[Result, dict[str, Any]]]:
    """Which current findings are which baseline entries."""
    from statistics import median  # a baseline run only
    by_fingerprint = {e["fingerprint"]: e for e in entries if "group" not in e}  # entries of older baselines
    groups: dict[str, list[Result]] = {}
    for result in results:
        groups.setdefault(group_of(result.code, result.at.path, result.source_line), []).append(result)
    recorded: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        if "group" in entry:
            recorded.setdefault(entry["group"], []).append(entry)
    # How far each file's lines moved: from the findings that are alone in their group.
    moves: dict[str, list[int]] = {}
    for group, found in groups.items():
        old = recorded.get(group, [])
        if len(found) == len(old) == 1 and "line" in old[0]:
            moves.setdefault(found[0].at.path, []).append(found[0].at.line - old[0]["line"])
    pairs = []
    for group, found in groups.items():
        old = sorted(recorded.get(group, []), key=lambda e: e.get("line") or 0)
        if old:
            found = sorted(found, key=lambda r: r.at.line)
            if len(found) > 1 or len(old) > 1:
                # Equal lines: the one whose lines above are as recorded is the old one.
                for result in list(found):
                    same = next((e for e in old if e.get("context") == result.context), None)
                    if same is not None:
                        pairs.append((result, same))
                        found.remove(result)
                        old.remove(same)
            shift = median(moves.get(found[0].at.path, [0])) if found else 0
            pairs.extend(_pick(found, old, shift) if found and old else [])
        else:
            pairs.extend((r, by_fingerprint[r.fingerprint]) for r in found if r.fingerprint in by_fingerprint)
    return pairs


def apply(results: list[Result], entries: list[dict[str, Any]], scope: Scope | None = None
          ) -> tuple[list[Result], int, list[dict[str, Any]]]:
    """New findings, how many the baseline hid, and the in-scope entries that match nothing (stale)."""
    pairs = match(results, entries)
    hidden = {id(r) for r, _ in pairs}
    used = {id(e) for _, e in pairs}
    fresh = [r for r in results if id(r) not in hidden]
    stale = [e for e in entries if id(e) not in used and (scope is None or (e["code"], e["path"]) in scope)]
    return fresh, len(results) - len(fresh), stale


def record(entries: list[dict[str, Any]], results: list[Result], scope: Scope) -> tuple[list[dict[str, Any]], int, int]:
    """`--write-baseline`: the run's findings, plus every old entry outside the run's scope."""
    pairs = match(results, entries)
    kept = [e for e in entries if (e["code"], e["path"]) not in scope]
    matched = {id(r) for r, _ in pairs}
    removed = sum(1 for e in entries if (e["code"], e["path"]) in scope) - len(pairs)
    return kept + [entry_of(r) for r in results], sum(1 for r in results if id(r) not in matched), removed


def prune(entries: list[dict[str, Any]], results: list[Result], scope: Scope) -> tuple[list[dict[str, Any]], int, int]:
    """`--update-baseline`: drop in-scope entries that match no finding; add nothing."""
    pairs = match(results, entries)
    kept = [e for e in entries if (e["code"], e["path"]) not in scope]
    kept += [entry_of(r) for r, _ in pairs]  # refreshed: today's line numbers
    return kept, 0, len(entries) - len(kept)


_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


def changed_lines(root: Path, ref: str) -> dict[str, set[int] | None]:
    """Lines changed since `ref`, by path relative to `root`; None means the whole file is new."""
    import subprocess  # only --diff-base runs git

    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True,
                                  errors="surrogateescape")
        except FileNotFoundError:
            raise BaselineError("--diff-base needs git on PATH") from None
        except subprocess.CalledProcessError as error:
            raise BaselineError(f"git {' '.join(args)} failed: {error.stderr.strip()}") from None
        return done.stdout

    changed: dict[str, set[int] | None] = {}
    current: str | None = None
    # Run from the root with --relative: paths come back relative to it. -z keeps odd names whole.
    for line in git("-c", "core.quotePath=false", "diff", "--unified=0", "--no-color", "--no-ext-diff", "--relative",
                    ref, "--", ".").split("\n"):
        if line.startswith("+++ "):
            name = line[4:]
            current = None if name == "/dev/null" else name.removeprefix("b/")
            if current is not None:
                changed.setdefault(current, set())
        elif current is not None and (match_ := _HUNK.match(line)):
            start, count = int(match_[1]), int(match_[2] if match_[2] is not None else 1)
            lines = changed[current]
            if lines is not None:
                # A deletion (`+N,0`) is a change at the surviving lines around it, N and N+1.
                lines.update(range(start, start + count) if count else (max(start, 1), start + 1))
    for name in git("ls-files", "-z", "--others", "--exclude-standard").split("\0"):
        if name:
            changed[name] = None
    return changed


def _touched(at: Location, changed: dict[str, set[int] | None]) -> bool:
    """Does a changed line fall in the span `at` (its first line, when it has no end)?"""
    if at.path not in changed:
        return False
    lines = changed[at.path]
    return lines is None or any(line in lines for line in range(at.line, max(at.line, at.end_line or at.line) + 1))


def in_diff(result: Result, changed: dict[str, set[int] | None]) -> bool:
    """On a changed line, or one of its related locations is: removing a mount in main.py is news about the router."""
    return _touched(Location(result.at.path, result.at.line), changed) or any(
        _touched(related.at, changed) for related in result.finding.related)
