"""One run: discover, read, extract (parallel, cached), build the project, judge.

files --discover--> extractors --facts--> Project --> rules --> findings
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import re
import sys
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prodlint import suppress
from prodlint.cache import CACHE_DIR, Cache, build_digest, cache_key, encode, from_data, to_data
from prodlint.config import Config, selects
from prodlint.discover import Candidate, Discovery, discover
from prodlint.extract import ParseError, Source, extractor_for
from prodlint.extract.generated import skip_reason
from prodlint.facts import FileFacts, Location, Notification, Suppression
from prodlint.project import Project, glob_matches
from prodlint.reading import read_within
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
    context: str = ""  # the two non-blank lines above, normalised: tells equal findings apart in a baseline

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
    built: Project | None = None
    targets: tuple[str, ...] = ("",)  # the paths given, relative to the root
    notes: list[str] = field(default_factory=list)  # once-per-run remarks for the summary
    rebuild: Callable[[], Project | None] | None = field(default=None, repr=False, compare=False)

    @property
    def project(self) -> Project | None:
        """The project model; a run answered whole from the cache builds it on first use."""
        if self.built is None and self.rebuild is not None:
            self.built, self.rebuild = self.rebuild(), None
        return self.built

    @project.setter
    def project(self, project: Project | None) -> None:
        self.built, self.rebuild = project, None

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
    # Freeze the extracted facts out of garbage collection: for a process that ends with the run (the
    # command line); a host that analyses again and again leaves it off, or its cyclic garbage stays.
    freeze: bool = False
    progress: Callable[[int, int], None] | None = field(default=None, compare=False)


# --- reading -----------------------------------------------------------------------------


def _read(candidate: Candidate, config: Config) -> tuple[bytes | None, str | None, Notification | None]:
    """The file's bytes and text, or the reason it cannot be analysed."""
    content, refusal = _read_raw(candidate.path, candidate.absolute, config)
    if content is None:
        return None, None, refusal
    text, refusal = _text(candidate.path, content)
    return (content, text, None) if text is not None else (None, None, refusal)


def _read_raw(path: str, absolute: Path, config: Config) -> tuple[bytes | None, Notification | None]:
    """The file's bytes within max-file-bytes, or why not."""
    try:
        size, content = read_within(absolute, config.max_file_bytes)
    except OSError as error:
        return None, Notification(path, f"cannot read: {error.strerror or error}")
    if content is None:
        return None, Notification(path, f"file is {size} bytes, over max-file-bytes ({config.max_file_bytes}); skipped")
    if len(content) > config.max_file_bytes:
        return None, Notification(path, f"file is over max-file-bytes ({config.max_file_bytes}); skipped")
    return content, None


def _text(path: str, content: bytes) -> tuple[str | None, Notification | None]:
    if b"\0" in content:
        return None, Notification(path, "binary file (contains NUL bytes); skipped")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = len(split_lines(content[: error.start].decode("utf-8", "replace") + "x"))
        return None, Notification(path, f"not valid UTF-8 (byte 0x{content[error.start]:02x} at offset {error.start}); skipped", line)
    return normalise_newlines(text), None


class _Lines(dict):  # type: ignore[type-arg]
    """Source lines by path, split only for the files a finding is in."""

    def __init__(self, contents: dict[str, bytes]) -> None:
        super().__init__()
        self.contents = contents

    def get(self, path: str, default: Any = None) -> Any:
        if path not in self:
            content = self.contents.get(path)
            if content is None:
                return default
            text, _ = _text(path, content)
            self[path] = split_lines(text) if text is not None else []
        return self[path]


# --- extraction (runs in worker processes) -------------------------------------------------


def extract_file(task: tuple[str, str, str, Config]) -> FileFacts:
    path, kind, text, config = task
    suppressions = suppress.scan(path, text, kind)
    facts: list[object] = []
    notifications: list[Notification] = []
    try:
        for item in extractor_for(kind).extract(Source(path, text), config):
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


# What a worker sends back for one file: facts already encoded as JSON text (a string crosses
# the process boundary as one copy; slotted dataclasses pickle field by field), or the
# FileFacts when they cannot be encoded, or why the file is not analysed.
_Outcome = tuple[str, str, Any]  # (path, "facts" | "data" | "skip" | "refused", payload)
_Task = tuple[str, str, str, str]  # (path, kind, absolute path, key the parent computed)


def extract_path(task: _Task, config: Config, digest: str | None) -> tuple[_Outcome, str]:
    """Read, check and extract one file from its path; the outcome and the key of what was read.
    With `digest` (in a worker) the facts come back encoded and the key is that of the bytes read."""
    path, kind, absolute, key = task
    encoded = digest is not None
    content, refusal = _read_raw(path, Path(absolute), config)
    if content is None:
        return (path, "refused", refusal), key
    read_key = cache_key(path, kind, content, digest) if digest is not None else key
    text, refusal = _text(path, content)
    if text is None:
        return (path, "refused", refusal), read_key
    skip = skip_reason(path, kind, text)
    if skip is not None:
        return (path, "skip", skip), read_key
    facts = extract_file((path, kind, text, config))
    if encoded:
        entry = encode(facts)
        if entry is not None:
            return (path, "data", entry), read_key
    return (path, "facts", facts), read_key


def preload(kind: str) -> None:
    """Imports what extracting the kind may need, before workers are forked: they share it."""
    if kind in ("python", "typescript", "sql"):
        import prodlint.ddl  # noqa: F401 - sqlglot, else imported by each worker on its first SQL
        import prodlint.sqltext  # noqa: F401
    module = sys.modules.get(extractor_for(kind).extract.__module__)
    collectors = getattr(module, "collectors", None)
    if callable(collectors):
        collectors()


_CONFIG: tuple[Config, str, int] | None = None  # the run's configuration, its digest and the parent's pid, inherited by forked workers


def extract_chunk(tasks: list[_Task]) -> list[tuple[_Outcome, str]]:
    assert _CONFIG is not None
    config, digest, parent = _CONFIG
    in_worker = os.getpid() != parent
    return [extract_path(task, config, digest if in_worker else None) for task in tasks]


def available_cpus() -> int:
    """CPUs this process may use: its affinity mask, capped by a cgroup v2 CPU quota."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            count = min(count, max(1, -(-int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return max(1, count)


POOL_MIN_WORK = 512 * 1024  # below this much work (bytes, weighted by kind) a pool's start-up costs more than it saves
WORK_PER_BYTE = {"typescript": 3}  # TypeScript extraction costs about three times Python's per byte


def _extract_all(tasks: list[_Task], sizes: dict[str, int], config: Config, jobs: int,
                 progress: Callable[[int, int], None] | None = None) -> list[tuple[_Outcome, str]]:
    global _CONFIG
    _CONFIG = (config, config.digest(), os.getpid())
    import multiprocessing

    workers = min(jobs or available_cpus(), len(tasks))
    if workers <= 1 or sum(sizes.values()) < POOL_MIN_WORK or multiprocessing.get_start_method() != "fork":
        results = []
        for task in tasks:
            results.extend(extract_chunk([task]))
            if progress:
                progress(len(results), len(tasks))
        return results
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    for kind in sorted({task[1] for task in tasks}):
        preload(kind)  # forked workers inherit the imported collectors and grammars
    # Largest files first, dealt round-robin: chunks of about equal work, the long ones started early.
    ordered = sorted(tasks, key=lambda task: -sizes.get(task[0], 0))
    count = min(len(tasks), workers * 6)
    chunks = [ordered[i::count] for i in range(count)]
    results: list[tuple[_Outcome, str]] = []
    try:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(extract_chunk, chunk): chunk for chunk in chunks}
            for future in as_completed(futures):
                try:
                    results.extend(future.result())
                except BrokenProcessPool:
                    raise
                except Exception:  # noqa: BLE001 - facts too deep to send back: extract here
                    results.extend(extract_chunk(futures[future]))
                if progress:
                    progress(len(results), len(tasks))
    except BrokenProcessPool:
        # A worker died (the OOM killer, a signal): do what is left in this process.
        done = {outcome[0] for outcome, _ in results}
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


def _context(lines: list[str], line: int) -> str:
    above = []
    for index in range(min(line, len(lines) + 1) - 2, -1, -1):
        if lines[index].strip():
            above.append(_normalised(lines[index]))
            if len(above) == 2:
                break
    return hashlib.sha256("\n".join(above).encode("utf-8", "surrogateescape")).hexdigest()[:12]


def _results(findings: list[Finding], project: Project, texts: dict[str, list[str]], config: Config) -> list[Result]:
    meta = metadata()
    suppressions = {file.path: file.suppressions for file in project.files}
    findings = sorted(set(findings), key=lambda f: (f.at.path, f.at.line, f.at.column, f.code, f.message))
    occurrences: Counter[tuple[str, str, str]] = Counter()
    results = []
    for finding in findings:
        if any(selects(finding.code, codes) and glob_matches(finding.at.path, glob) for glob, codes in config.per_file_ignores):
            continue
        suppression = None
        if finding.code not in ("PL002", "PL003", "PL004"):
            suppression = next((s for s in suppressions.get(finding.at.path, ()) if suppress.covers(s, finding.code, finding.at.line)), None)
        rule = meta[finding.code]
        results.append(_placed(finding, rule.name, config.severity_of(finding.code, rule.severity), suppression,
                               texts.get(finding.at.path, []), occurrences))
    return results


def _placed(finding: Finding, name: str, severity: str, suppression: Suppression | None, lines: list[str],
            occurrences: Counter[tuple[str, str, str]]) -> Result:
    """The result with what its file's text says of it: the source line, the fingerprint (the
    line and how many equal ones came before it in the file) and the context above it."""
    source_line = lines[finding.at.line - 1] if 0 < finding.at.line <= len(lines) else ""
    key = (finding.code, finding.at.path, _normalised(source_line))
    fingerprint = hashlib.sha256("\0".join((*key, str(occurrences[key]))).encode("utf-8", "surrogateescape")).hexdigest()[:20]
    occurrences[key] += 1
    return Result(finding, name, severity, fingerprint, source_line, suppression, _context(lines, finding.at.line))


def _replaced(results: Iterable[Result], paths: set[str], texts: dict[str, list[str]]) -> list[Result]:
    """The results again, those in `paths` placed in their files' current text (in the order
    they were first placed, so equal lines are counted as then)."""
    occurrences: Counter[tuple[str, str, str]] = Counter()
    return [_placed(r.finding, r.name, r.severity, r.suppression, texts.get(r.at.path, []), occurrences)
            if r.at.path in paths else r for r in results]


@dataclass(frozen=True, slots=True)
class _Run:
    """What a report needs of a run, saved whole in the cache (the project is rebuilt on demand)."""

    results: tuple[Result, ...]
    notifications: tuple[Notification, ...]
    notes: tuple[str, ...]
    files_analysed: int


def analyse(paths: list[Path], config: Config, options: Options = Options(), root: Path | None = None) -> Analysis:
    return _analyse(paths, config, options, root, whole_run=True)


def _rebuilt(paths: list[Path], config: Config, options: Options, root: Path | None) -> Project | None:
    return _analyse(paths, config, options, root, whole_run=False).project


def _analyse(paths: list[Path], config: Config, options: Options, root: Path | None, whole_run: bool) -> Analysis:
    discovery = discover(paths, config, root)
    analysis = Analysis(discovery.root, config, targets=discovery.targets)
    analysis.notifications.extend(discovery.notifications)
    codes = enabled(config, options.select, options.ignore)
    cache = Cache(options.cache_dir or discovery.root / CACHE_DIR) if options.use_cache else None
    digest = config.digest()

    # The parent only reads and hashes (cheap); workers decode, classify and extract.
    contents: dict[str, bytes] = {}
    keys: dict[str, str] = {}
    refused: dict[str, Notification] = {}
    for candidate in discovery.candidates:
        content, refusal = _read_raw(candidate.path, candidate.absolute, config)
        if content is None:
            refused[candidate.path] = refusal  # type: ignore[assignment]
            continue
        contents[candidate.path] = content
        keys[candidate.path] = cache_key(candidate.path, candidate.kind, content, digest)

    run_key = settings = None
    previous: list[_Previous] = []
    if cache is not None and whole_run:
        settings = _settings_key(discovery, digest, codes)
        run_key = _run_key(settings, discovery, keys, refused)
        saved = from_data(cache.run(run_key), _Run)
        if saved is not None:
            _answer(analysis, saved, lambda: _rebuilt(paths, config, options, root))
            return analysis
        previous = [_Previous(record, basis["facts"], basis["files"]) for record, basis in cache.runs_under(settings)]

    gc_was_on = gc.isenabled()
    gc.disable()  # facts are long-lived and acyclic: collecting while thousands are made only costs
    try:
        early: dict[str, tuple[_Outcome, str]] = {}
        nearest: _Previous | None = None
        if previous and settings is not None and run_key is not None:
            assert cache is not None
            nearest, early = _cut_off(previous, settings, run_key, discovery, contents, keys, refused, config, options,
                                      cache, analysis)
            if nearest is None:  # a saved run answered
                analysis.rebuild = lambda: _rebuilt(paths, config, options, root)
                return analysis
        files, skipped, consistent, digests = _extract(discovery.candidates, contents, keys, refused, config, cache,
                                                       options, analysis, early, nearest)
    finally:
        if gc_was_on:
            if options.freeze:
                gc.freeze()  # the facts live to the end of the process: later collections need not walk them again
            gc.enable()

    from prodlint.model.roles import production_code  # the model is built only when no whole-run entry answers

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
    texts = _Lines({file.path: contents[file.path] for file in files if file.path in contents})
    results = _results(findings, project, texts, config)
    used = {(r.suppression.at, r.code) for r in results if r.suppression is not None}
    results += _results(_suppression_findings(project.files, used, codes), project, texts, config)
    # The whole project was analysed for context; report only what lies in the paths given.
    results = [r for r in results if discovery.wanted(r.at.path)]
    analysis.results = sorted(results, key=lambda r: (r.at.path, r.at.line, r.at.column, r.code, r.message))
    notifications = [n for n in set(analysis.notifications) if discovery.wanted(n.path) or n.path.startswith("/")]
    analysis.notifications = sorted(notifications, key=lambda n: (n.path, n.line or 0, n.message))
    if cache is not None and run_key is not None and settings is not None and consistent and not analysis.internal_errors:
        try:
            data = to_data(_record(analysis), _Run)
        except ValueError:
            return analysis  # a finding holds something the cache cannot store: no whole-run entry
        cache.save_run(run_key, data, _basis(settings, discovery, keys, refused, digests))
    return analysis


def _record(analysis: Analysis) -> _Run:
    return _Run(tuple(analysis.results), tuple(analysis.notifications), tuple(analysis.notes), analysis.files_analysed)


def _answer(analysis: Analysis, saved: _Run, rebuild: Callable[[], Project | None]) -> None:
    analysis.results = list(saved.results)
    analysis.notifications = list(saved.notifications)
    analysis.notes = list(saved.notes)
    analysis.files_analysed = saved.files_analysed
    analysis.rebuild = rebuild


def _settings_key(discovery: Discovery, digest: str, codes: set[str]) -> str:
    """What a run's report depends on besides the files: prodlint's build, the config, the rules
    selected, the paths asked for and what discovery said."""
    parts = [build_digest(), digest, str(discovery.root), ",".join(sorted(codes)), "\0".join(discovery.targets),
             repr(sorted((n.path, n.line or 0, n.message, n.code, n.level) for n in discovery.notifications))]
    return _hash("\n".join(parts))


def _run_key(settings: str, discovery: Discovery, keys: dict[str, str], refused: dict[str, Notification]) -> str:
    """The settings and each file's content key (or why it could not be read)."""
    return _hash("\n".join([settings, *(f"{c.path}\0{c.kind}\0{keys.get(c.path) or refused[c.path].message}"
                                        for c in discovery.candidates)]))


def _facts_key(settings: str, discovery: Discovery, refused: dict[str, Notification], digests: dict[str, str | None]) -> str | None:
    """The settings and each file's facts: equal keys give equal findings. None when a file's facts
    have no digest (they cannot be stored)."""
    parts = [settings]
    for candidate in discovery.candidates:
        path = candidate.path
        digest = refused[path].message if path in refused else digests.get(path)
        if digest is None:
            return None
        parts.append(f"{path}\0{candidate.kind}\0{digest}")
    return _hash("\n".join(parts))


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def _digest(entry: str) -> str:
    return hashlib.sha256(entry.encode()).hexdigest()[:32]


def _data_digest(data: Any) -> str:
    """The digest of facts as stored: the same text a worker's encoded entry is."""
    return _digest(json.dumps(data, separators=(",", ":")))


def _outcome_digest(outcome: _Outcome) -> str | None:
    """What a file's outcome holds, digested: its encoded facts, or why it was skipped or refused."""
    _, what, payload = outcome
    if what == "data":
        return _digest(payload)
    if what == "facts":
        entry = encode(payload)
        return _digest(entry) if entry is not None else None
    if what == "skip":
        return _digest(json.dumps(["skip", *payload]))
    return _digest(json.dumps(["refused", payload.message, payload.line]))


def _basis(settings: str, discovery: Discovery, keys: dict[str, str], refused: dict[str, Notification],
           digests: dict[str, str | None]) -> dict[str, Any]:
    """What a saved run was computed from, so a later run whose files changed but whose facts did
    not (a comment, a blank line at the end) can take its findings."""
    return {"settings": settings, "facts": _facts_key(settings, discovery, refused, digests) or "",
            "files": {c.path: [keys[c.path][:32], digests.get(c.path)] for c in discovery.candidates if c.path in keys}}


CUTOFF_MAX_CHANGED = 32  # more changed files than this: the store answers for them, not a fresh extraction


@dataclass
class _Previous:
    """A saved run under the same settings, and what it was computed from."""

    record: Any
    facts: str
    files: dict[str, Any]

    def digest(self, path: str, key: str) -> str | None:
        """The file's facts digest when its content is what that run read."""
        entry = self.files.get(path)
        if type(entry) is list and len(entry) == 2 and entry[0] == key[:32] and type(entry[1]) is str:
            return entry[1]
        return None

    def changed(self, candidates: list[Candidate], keys: dict[str, str], refused: dict[str, Notification]) -> list[Candidate]:
        return [c for c in candidates if c.path not in refused and self.digest(c.path, keys[c.path]) is None]

    def digests(self, candidates: list[Candidate], keys: dict[str, str], early: dict[str, tuple[_Outcome, str]]) -> dict[str, str | None]:
        digests: dict[str, str | None] = {}
        for candidate in candidates:
            path = candidate.path
            if path in early:
                digests[path] = _outcome_digest(early[path][0])
            elif path in keys:
                digests[path] = self.digest(path, keys[path])
        return digests

    def answers(self, settings: str, discovery: Discovery, keys: dict[str, str], refused: dict[str, Notification],
                early: dict[str, tuple[_Outcome, str]], analysis: Analysis, contents: dict[str, bytes]) -> bool:
        """Whether the changed files' facts are those that run had; if so its findings are the
        analysis, placed in the changed files' new text."""
        if not self.facts or _facts_key(settings, discovery, refused, self.digests(discovery.candidates, keys, early)) != self.facts:
            return False
        saved = from_data(self.record, _Run)
        if saved is None:
            return False
        _answer(analysis, saved, lambda: None)
        texts = _Lines({path: contents[path] for path in early if path in contents})
        analysis.results = _replaced(saved.results, set(early), texts)
        return True

    def basis(self, settings: str, discovery: Discovery, keys: dict[str, str], refused: dict[str, Notification],
              early: dict[str, tuple[_Outcome, str]]) -> dict[str, Any]:
        return _basis(settings, discovery, keys, refused, self.digests(discovery.candidates, keys, early))


def _cut_off(previous: list[_Previous], settings: str, run_key: str, discovery: Discovery, contents: dict[str, bytes],
             keys: dict[str, str], refused: dict[str, Notification], config: Config, options: Options, cache: Cache,
             analysis: Analysis) -> tuple[_Previous | None, dict[str, tuple[_Outcome, str]]]:
    """Extract the files changed since the saved runs nearest this tree; when their facts are
    those of one of the runs, its findings become the analysis (and None is returned). Otherwise
    the nearest run (whose facts digests the full run reuses) and what was extracted."""
    # Nearest first: the runs fewest of whose files changed since.
    changes = sorted(((p.changed(discovery.candidates, keys, refused), n, p) for n, p in enumerate(previous)),
                     key=lambda item: (len(item[0]), item[1]))
    near = [(changed, p) for changed, _, p in changes if len(changed) <= CUTOFF_MAX_CHANGED]
    tasks = list({c.path: (c.path, c.kind, str(c.absolute), keys[c.path]) for changed, _ in near for c in changed}.values())
    if not near or len(tasks) > CUTOFF_MAX_CHANGED:
        return changes[0][2], {}
    sizes = {task[0]: len(contents[task[0]]) * WORK_PER_BYTE.get(task[1], 1) for task in tasks}
    early = {outcome[0]: (outcome, key) for outcome, key in _extract_all(tasks, sizes, config, options.jobs)}
    for changed, candidate in near:
        mine = {c.path: early[c.path] for c in changed}
        if candidate.answers(settings, discovery, keys, refused, mine, analysis, contents):
            if all(key == keys[path] for path, (_, key) in mine.items()):  # what was extracted is what was hashed
                try:
                    cache.save_run(run_key, to_data(_record(analysis), _Run), candidate.basis(settings, discovery, keys, refused, mine))
                except ValueError:
                    pass  # a finding the cache cannot store: no entry, as when the run was first saved
            return None, early
    return changes[0][2], early


def _extract(candidates: list[Candidate], contents: dict[str, bytes], keys: dict[str, str],
             refused: dict[str, Notification], config: Config, cache: Cache | None, options: Options,
             analysis: Analysis, early: dict[str, tuple[_Outcome, str]], previous: _Previous | None,
             ) -> tuple[list[FileFacts], dict[str, tuple[str, str]], bool, dict[str, str | None]]:
    """Each file's facts (from the cache, extracted before (`early`), or extracted now), the files
    skipped, whether what the workers read is what the parent hashed, and each file's facts digest
    (when there is a cache to save it in)."""
    found: dict[str, FileFacts] = {}
    digests: dict[str, str | None] = {}
    pending: list[_Task] = []
    for candidate in candidates:
        path = candidate.path
        if path in refused or path in early:
            continue
        data = cache.entry(path, keys[path]) if cache is not None else None
        facts = from_data(data) if data is not None else None
        if facts is not None and facts.path == path:
            found[path] = facts
            known = previous.digest(path, keys[path]) if previous is not None else None
            digests[path] = known or _data_digest(data)
        else:
            pending.append((path, candidate.kind, str(candidate.absolute), keys[path]))
    kinds = {candidate.path: candidate.kind for candidate in candidates}
    outcomes: dict[str, _Outcome] = {}
    consistent = True
    sizes = {task[0]: len(contents[task[0]]) * WORK_PER_BYTE.get(task[1], 1) for task in pending}  # work, not bytes
    for outcome, key in [*early.values(), *_extract_all(pending, sizes, config, options.jobs, options.progress)]:
        path, what, payload = outcome
        outcomes[path] = outcome
        consistent = consistent and key == keys[path]
        if what == "data":
            data = json.loads(payload)
            facts = from_data(data)
            if facts is None:  # a codec bug: extract it here instead
                if _debugging():
                    raise AssertionError(f"facts of {path} do not decode")
                facts = extract_file((path, kinds[path], _text(path, contents[path])[0] or "", config))
                digests[path] = None
            elif cache is not None:
                cache.put_data(path, key, data)
                digests[path] = _digest(payload)
            found[path] = facts
        elif what == "facts":
            found[path] = payload
            if cache is not None:
                try:
                    data = to_data(payload)
                except ValueError:
                    digests[path] = None  # holds something the cache cannot store: extracted again next time
                else:
                    cache.put_data(path, key, data)
                    digests[path] = _data_digest(data)
        elif cache is not None:
            digests[path] = _outcome_digest(outcome)
    if cache is not None:
        cache.save()
    files: list[FileFacts] = []
    skipped: dict[str, tuple[str, str]] = {}
    for candidate in candidates:  # in discovery order, as before
        path = candidate.path
        outcome = outcomes.get(path)
        if path in refused:
            analysis.notifications.append(refused[path])
        elif outcome is not None and outcome[1] == "refused":
            analysis.notifications.append(outcome[2])
        elif outcome is not None and outcome[1] == "skip":
            skipped[path] = outcome[2]  # counted in the summary, not a notification per file
        elif path in found:
            files.append(found[path])
    return files, skipped, consistent, digests


def failed(results: Iterable[Result], fail_on: str) -> bool:
    threshold = SEVERITY_RANK[fail_on]
    return any(SEVERITY_RANK[r.severity] >= threshold for r in results)
