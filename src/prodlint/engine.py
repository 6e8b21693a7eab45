"""One run: discover, read, extract (parallel, cached), build the project, judge.

files --discover--> extractors --facts--> Project --> rules --> findings
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import re
import sys
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from prodlint import suppress
from prodlint.cache import CACHE_DIR, Cache, cache_key
from prodlint.config import Config, selects
from prodlint.discover import Candidate, discover
from prodlint.extract import ParseError, Source, extractors
from prodlint.extract.generated import skip_reason
from prodlint.facts import FileFacts, Location, Notification, Suppression
from prodlint.model.roles import production_code
from prodlint.project import Project, glob_matches
from prodlint.lines import normalise_newlines, split_lines
from prodlint.rules import Finding, enabled, functions, metadata

SEVERITY_RANK = {"note": 0, "warning": 1, "error": 2}


def _debugging() -> bool:
    """PRODLINT_DEBUG=1 lets an internal error raise (the test suite sets it)."""
    return os.environ.get("PRODLINT_DEBUG") == "1"


@dataclass(frozen=True, slots=True)
class Result:
    """A finding as reported: the rule's finding plus what the engine decided about it."""

    finding: Finding
    name: str
    severity: str
    fingerprint: str
    source_line: str
    suppression: Suppression | None = None

    @property
    def code(self) -> str:
        return self.finding.code

    @property
    def at(self) -> Location:
        return self.finding.at

    @property
    def message(self) -> str:
        return self.finding.message


@dataclass
class Analysis:
    root: Path
    config: Config
    results: list[Result] = field(default_factory=list)  # sorted; suppressed ones included
    notifications: list[Notification] = field(default_factory=list)
    internal_errors: list[str] = field(default_factory=list)
    files_analysed: int = 0
    project: Project | None = None
    targets: tuple[str, ...] = ("",)  # the paths given, relative to the root
    notes: list[str] = field(default_factory=list)  # once-per-run remarks for the summary

    @property
    def reported(self) -> list[Result]:
        return [r for r in self.results if r.suppression is None]


@dataclass(frozen=True, slots=True)
class Options:
    jobs: int = 0  # 0: one per CPU
    use_cache: bool = True
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    cache_dir: Path | None = None  # default: .prodlint_cache/ at the project root
    progress: Callable[[int, int], None] | None = field(default=None, compare=False)


# --- reading -----------------------------------------------------------------------------


def _read(candidate: Candidate, config: Config) -> tuple[bytes | None, str | None, Notification | None]:
    """The file's bytes and text, or the reason it cannot be analysed."""

    def refuse(message: str, line: int | None = None) -> tuple[None, None, Notification]:
        return None, None, Notification(candidate.path, message, line)

    try:
        size = candidate.absolute.stat().st_size
        if size > config.max_file_bytes:
            return refuse(f"file is {size} bytes, over max-file-bytes ({config.max_file_bytes}); skipped")
        content = _read_bytes(candidate.absolute, config.max_file_bytes)
    except OSError as error:
        return refuse(f"cannot read: {error.strerror or error}")
    if len(content) > config.max_file_bytes:
        return refuse(f"file is over max-file-bytes ({config.max_file_bytes}); skipped")
    if b"\0" in content:
        return refuse("binary file (contains NUL bytes); skipped")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = len(split_lines(content[: error.start].decode("utf-8", "replace") + "x"))
        return refuse(f"not valid UTF-8 (byte 0x{content[error.start]:02x} at offset {error.start}); skipped", line)
    return content, normalise_newlines(text), None


def _read_bytes(path: Path, limit: int) -> bytes:
    # O_NONBLOCK: a file swapped for a FIFO after discovery never blocks the run.
    handle = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(handle, "rb") as stream:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        return stream.read(limit + 1)  # the file may grow between stat and read


# --- extraction (runs in worker processes) -------------------------------------------------


def extract_file(task: tuple[str, str, str, Config]) -> FileFacts:
    path, kind, text, config = task
    suppressions = suppress.scan(path, text, kind)
    facts: list[object] = []
    notifications: list[Notification] = []
    try:
        for item in extractors()[kind].extract(Source(path, text), config):
            (notifications if isinstance(item, Notification) else facts).append(item)
    except ParseError as error:
        return FileFacts(path, kind, (), (Notification(path, error.message, error.line),), suppressions)
    except RecursionError:
        return FileFacts(path, kind, (), (Notification(path, "too deeply nested to analyse; skipped"),), suppressions)
    except Exception as error:  # noqa: BLE001 - one bad file never stops the run
        if _debugging():
            raise
        detail = traceback.format_exception_only(type(error), error)[-1].strip()
        message = f"prodlint failed to analyse this file ({detail}); please report it"
        return FileFacts(path, kind, (), (Notification(path, message, level="error"),), suppressions)
    return FileFacts(path, kind, tuple(facts), tuple(notifications), suppressions)


def preload(kind: str) -> None:
    module = sys.modules.get(extractors()[kind].extract.__module__)
    collectors = getattr(module, "collectors", None)
    if callable(collectors):
        collectors()


def extract_chunk(tasks: list[tuple[str, str, str, Config]]) -> list[FileFacts]:
    return [extract_file(task) for task in tasks]


def _extract_all(tasks: list[tuple[str, str, str, Config]], jobs: int,
                 progress: Callable[[int, int], None] | None = None) -> list[FileFacts]:
    workers = jobs or os.cpu_count() or 1
    if workers <= 1 or len(tasks) < 2:
        results = []
        for task in tasks:
            results.append(extract_file(task))
            if progress:
                progress(len(results), len(tasks))
        return results
    workers = min(workers, len(tasks))
    for kind in sorted({task[1] for task in tasks}):
        preload(kind)  # forked workers inherit the imported collectors and grammars
    size = max(1, len(tasks) // (workers * 8))
    chunks = [tasks[i : i + size] for i in range(0, len(tasks), size)]
    results: list[FileFacts] = []
    try:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(extract_chunk, chunk) for chunk in chunks]
            for chunk, future in zip(chunks, futures):
                try:
                    results.extend(future.result())
                except BrokenProcessPool:
                    raise
                except Exception:  # noqa: BLE001 - facts too deep to send back: extract here
                    results.extend(extract_chunk(chunk))
                if progress:
                    progress(len(results), len(tasks))
    except BrokenProcessPool:
        # A worker died (the OOM killer, a signal): do what is left in this process.
        done = {facts.path for facts in results}
        results.extend(extract_chunk([task for task in tasks if task[0] not in done]))
    return results


# --- judging --------------------------------------------------------------------------------


def _run_rules(project: Project, codes: set[str], analysis: Analysis) -> list[Finding]:
    findings: list[Finding] = []
    for code, function in functions().items():
        if code not in codes:
            continue
        try:
            findings.extend(finding for finding in function(project) if finding.code in codes)
        except Exception as error:  # noqa: BLE001 - report, and keep the other rules' findings
            if _debugging():
                raise
            detail = traceback.format_exception_only(type(error), error)[-1].strip()
            analysis.internal_errors.append(f"rule {code} failed: {detail}")
    return findings


def _suppression_findings(files: Iterable[FileFacts], used: set[tuple[Location, str]], codes: set[str]) -> list[Finding]:
    """PL002 for codes a suppression names that matched nothing, PL003 for a missing reason, PL004 for a malformed one."""
    findings = []
    for file in files:
        for item in file.suppressions:
            if item.problem is not None:
                if "PL004" in codes:
                    findings.append(Finding("PL004", f"malformed suppression, it suppresses nothing: {item.problem}", item.at))
                continue
            unused = [c for c in item.codes if (item.at, c) not in used and (c in codes or c not in metadata())]
            if unused and "PL002" in codes:
                names = ", ".join(unused)
                unknown = [c for c in unused if c not in metadata()]
                detail = f" ({', '.join(unknown)} is not a prodlint rule)" if unknown else ""
                findings.append(Finding("PL002", f"suppression of {names} matched no finding{detail}; remove it", item.at))
            if item.reason is None and "PL003" in codes:
                findings.append(Finding(
                    "PL003", f"suppression of {', '.join(item.codes) or 'nothing'} gives no reason; add `-- reason`", item.at))
    return findings


def _normalised(line: str) -> str:
    return re.sub(r"\s+", " ", line).strip()


def _results(findings: list[Finding], project: Project, texts: dict[str, list[str]], config: Config) -> list[Result]:
    meta = metadata()
    suppressions = {file.path: file.suppressions for file in project.files}
    findings = sorted(set(findings), key=lambda f: (f.at.path, f.at.line, f.at.column, f.code, f.message))
    occurrences: Counter[tuple[str, str, str]] = Counter()
    results = []
    for finding in findings:
        if any(selects(finding.code, codes) and glob_matches(finding.at.path, glob) for glob, codes in config.per_file_ignores):
            continue
        lines = texts.get(finding.at.path, [])
        source_line = lines[finding.at.line - 1] if 0 < finding.at.line <= len(lines) else ""
        key = (finding.code, finding.at.path, _normalised(source_line))
        fingerprint = hashlib.sha256("\0".join((*key, str(occurrences[key]))).encode("utf-8", "surrogateescape")).hexdigest()[:20]
        occurrences[key] += 1
        suppression = None
        if finding.code not in ("PL002", "PL003", "PL004"):
            suppression = next((s for s in suppressions.get(finding.at.path, ()) if suppress.covers(s, finding.code, finding.at.line)), None)
        rule = meta[finding.code]
        results.append(Result(finding, rule.name, config.severity_of(finding.code, rule.severity), fingerprint, source_line, suppression))
    return results


def analyse(paths: list[Path], config: Config, options: Options = Options(), root: Path | None = None) -> Analysis:
    discovery = discover(paths, config, root)
    analysis = Analysis(discovery.root, config, targets=discovery.targets)
    analysis.notifications.extend(discovery.notifications)
    codes = enabled(config, options.select, options.ignore)
    cache = Cache(options.cache_dir or discovery.root / CACHE_DIR) if options.use_cache else None
    digest = config.digest()

    files: list[FileFacts] = []
    texts: dict[str, list[str]] = {}
    pending: list[tuple[str, str, str, Config]] = []
    keys: dict[str, str] = {}
    skipped: dict[str, tuple[str, str]] = {}
    for candidate in discovery.candidates:
        content, text, refusal = _read(candidate, config)
        if refusal is not None or content is None or text is None:
            analysis.notifications.append(refusal)  # type: ignore[arg-type]
            continue
        skip = skip_reason(candidate.path, candidate.kind, text)
        if skip is not None:
            skipped[candidate.path] = skip  # counted in the summary, not a notification per file
            continue
        texts[candidate.path] = split_lines(text)
        key = cache_key(candidate.path, candidate.kind, content, digest)
        cached = cache.get(candidate.path, key) if cache else None
        if cached is not None:
            files.append(cached)
        else:
            keys[candidate.path] = key
            pending.append((candidate.path, candidate.kind, text, config))
    for facts in _extract_all(pending, options.jobs, options.progress):
        files.append(facts)
        if cache:
            cache.put(facts.path, keys[facts.path], facts)
    if cache:
        cache.save()

    project = Project(tuple(files), config, skipped)
    analysis.project = project
    analysis.files_analysed = sum(1 for file in files if discovery.wanted(file.path))
    for file in project.files:
        analysis.notifications.extend(file.notifications)
    roles = project.view(production_code)
    if skipped:
        counts = Counter(role for role, _ in skipped.values())
        analysis.notes.append("skipped " + ", ".join(f"{n} {role} file{'s' if n > 1 else ''}" for role, n in sorted(counts.items()))
                              + " (not written by hand; --show-files lists them)")
    if roles.fallback and any(f.kind in ("python", "typescript") for f in project.files):
        analysis.notes.append("no production entrypoint found (compose, Dockerfile, Procfile, package.json start, "
                              "or an application module): every application file is treated as request code")

    findings = [f for f in _run_rules(project, codes, analysis) if roles.allowed(f.code, f.at)]
    analysis.notifications.extend(project.notes)
    results = _results(findings, project, texts, config)
    used = {(r.suppression.at, r.code) for r in results if r.suppression is not None}
    results += _results(_suppression_findings(project.files, used, codes), project, texts, config)
    # The whole project was analysed for context; report only what lies in the paths given.
    results = [r for r in results if discovery.wanted(r.at.path)]
    analysis.results = sorted(results, key=lambda r: (r.at.path, r.at.line, r.at.column, r.code, r.message))
    notifications = [n for n in set(analysis.notifications) if discovery.wanted(n.path) or n.path.startswith("/")]
    analysis.notifications = sorted(notifications, key=lambda n: (n.path, n.line or 0, n.message))
    return analysis


def failed(results: Iterable[Result], fail_on: str) -> bool:
    threshold = SEVERITY_RANK[fail_on]
    return any(SEVERITY_RANK[r.severity] >= threshold for r in results)
