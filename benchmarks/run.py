"""prodlint's benchmark: cold, warm and one-file-changed runs against the parse-only floor.

    python benchmarks/run.py --shape fastapi --files 2000 --repeat 5 --json out.json
    python benchmarks/run.py --tree ~/src/some-api --workdir /tmp/bench-some-api
    python benchmarks/run.py --shape express --files 500 --profile

The tree is generated (see generate.py) or copied from --tree into a work directory, so the
cache and the edited file never touch the original. Each round runs, for every --jobs value:
prodlint cold (--no-cache), the parse-only floor on the same files with the same process
count (floor.py), prodlint warm (cache present, tree unchanged), prodlint after one source
file changed in a way that leaves its facts alone (a trailing comment: "changed"), prodlint
after lines are inserted at the top of that file (every location in it moves: "edited"),
and semgrep with semgrep-equivalent.yaml when `semgrep` is on PATH. Rounds
alternate the measurements so a load change on the machine hits all of them alike; figures
are medians over rounds, ratios are medians of the per-round ratios. CPU seconds are the
child's user + system time including its worker processes (from wait4).

prodlint runs as a subprocess (--prodlint, default: the `prodlint` script beside this
Python, else `python -m prodlint.cli`), so any installed version can be measured.
--profile instead runs prodlint once in this process under cProfile with --jobs 1 and
prints where the time goes, grouped by prodlint module.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402 - the sibling module, found through the line above

SEMGREP_RULES = HERE / "semgrep-equivalent.yaml"
PY_SUFFIXES = (".py",)
TS_SUFFIXES = (".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs")
SKIPPED_DIRS = {"node_modules", "__pycache__", "site-packages", "dist", "build"}
COPY_IGNORED = shutil.ignore_patterns(".git", "node_modules", ".prodlint_cache", "__pycache__", ".venv", "venv")
MAX_FILE_BYTES = 2 * 1024 * 1024  # prodlint's default max-file-bytes


# --- the tree ----------------------------------------------------------------------------------

@dataclass
class Tree:
    root: Path
    label: str
    files: int  # every file in the tree
    sources: list[Path]  # the .py and TS/JS files the floor parses
    lines: int  # lines in `sources`
    python_files: int
    script_files: int


def source_files(root: Path) -> list[Path]:
    """The Python and TS/JS files prodlint would parse: outside hidden, vendored and venv
    directories, not .d.ts, not templated paths, within max-file-bytes, not .gitignored."""
    ignored = None
    gitignore = root / ".gitignore"
    if gitignore.is_file():
        import pathspec  # a prodlint dependency

        ignored = pathspec.GitIgnoreSpec.from_lines(gitignore.read_text(errors="replace").splitlines())
    found: list[Path] = []
    for directory, subdirs, names in os.walk(root):
        here = Path(directory)
        subdirs[:] = sorted(d for d in subdirs if not d.startswith(".") and d not in SKIPPED_DIRS
                            and not (here / d / "pyvenv.cfg").exists())
        for name in sorted(names):
            path = here / name
            relative = path.relative_to(root).as_posix()
            if not name.endswith(PY_SUFFIXES + TS_SUFFIXES) or name.endswith(".d.ts") or "{{" in relative:
                continue
            if ignored is not None and ignored.match_file(relative):
                continue
            try:
                if path.is_file() and path.stat().st_size <= MAX_FILE_BYTES:
                    found.append(path)
            except OSError:
                continue
    return found


def prepare_tree(args: argparse.Namespace, workdir: Path) -> Tree:
    root = workdir / "tree"
    if root.exists():
        shutil.rmtree(root)
    if args.tree:
        source = args.tree.resolve()
        if workdir.resolve().is_relative_to(source):
            raise SystemExit("run.py: --workdir must be outside --tree (the tree is copied there)")
        shutil.copytree(source, root, ignore=COPY_IGNORED, symlinks=True)
        label = source.name
    else:
        generate.generate(args.shape, args.files, args.seed, root)
        label = f"{args.shape}-{args.files} (seed {args.seed})"
    sources = source_files(root)
    lines = 0
    for path in sources:
        with path.open("rb") as handle:
            lines += handle.read().count(b"\n")
    files = sum(len(names) for _, _, names in os.walk(root))
    python = sum(1 for p in sources if p.name.endswith(PY_SUFFIXES))
    return Tree(root, label, files, sources, lines, python, len(sources) - python)


# --- timed runs --------------------------------------------------------------------------------

@dataclass
class Sample:
    wall: float
    cpu: float


def timed(command: list[str], cwd: Path, accept: tuple[int, ...] = (0, 1)) -> Sample:
    """Runs `command`; wall seconds and the child's CPU seconds (with its own children)."""
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode not in accept:
            errors.seek(0)
            message = errors.read().decode(errors="replace")[-2000:]
            raise SystemExit(f"run.py: {shlex.join(command)} exited {process.returncode}\n{message}")
    return Sample(wall, usage.ru_utime + usage.ru_stime)


def prodlint_command(option: str | None) -> list[str]:
    if option:
        return shlex.split(option)
    script = Path(sys.executable).parent / "prodlint"
    return [str(script)] if script.exists() else [sys.executable, "-m", "prodlint.cli"]


def prodlint_version(command: list[str]) -> str:
    try:
        done = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (done.stdout or done.stderr).strip() or "unknown"


def semgrep_version(series: dict[str, "Series"]) -> str | None:
    if "semgrep" not in series or not SEMGREP[0]:
        return None
    try:
        done = subprocess.run([SEMGREP[0], "--version"], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return done.stdout.strip() or "unknown"


SEMGREP: list[str | None] = [None]  # the executable measured, for the results


@dataclass
class Series:
    samples: dict[int, list[Sample]] = field(default_factory=dict)

    def add(self, jobs: int, sample: Sample) -> None:
        self.samples.setdefault(jobs, []).append(sample)

    def median(self, jobs: int, what: str) -> float:
        return statistics.median(getattr(s, what) for s in self.samples[jobs])


class ChangedFile:
    """One mid-sized source file, given a new trailing comment before each `change` (its facts stay
    as they were) or new comment lines at the top before each `edit` (everything in it moves)."""

    def __init__(self, tree: Tree) -> None:
        by_size = sorted(tree.sources, key=lambda p: (p.stat().st_size, p.as_posix()))
        self.path = by_size[len(by_size) // 2]
        self.original = self.path.read_bytes()
        self.edits = 0

    def change(self) -> None:
        self.edits += 1
        marker = b"#" if self.path.suffix == ".py" else b"//"
        self.path.write_bytes(self.original.rstrip(b"\n") + b"\n" + marker + b" benchmark edit %d\n" % self.edits)

    def edit(self) -> None:
        # As many new lines as edits so far: each edit moves the file's facts somewhere no saved run has seen.
        self.edits += 1
        marker = b"#" if self.path.suffix == ".py" else b"//"
        self.path.write_bytes(b"".join(marker + b" benchmark edit %d\n" % n for n in range(self.edits)) + self.original)

    def restore(self) -> None:
        self.path.write_bytes(self.original)


def measure(args: argparse.Namespace, tree: Tree, workdir: Path) -> dict:
    prodlint = prodlint_command(args.prodlint)
    report = workdir / "report.json"
    file_list = workdir / "sources.txt"
    file_list.write_text("".join(f"{p}\n" for p in tree.sources), encoding="utf-8")

    def lint(jobs: int, *extra: str) -> list[str]:
        return [*prodlint, "check", ".", "--format", "json", "--output", str(report), "--jobs", str(jobs), *extra]

    def floor(jobs: int) -> list[str]:
        return [sys.executable, str(HERE / "floor.py"), "--jobs", str(jobs), str(file_list)]

    semgrep = None if args.no_semgrep else shutil.which(args.semgrep)

    def semgrep_scan(jobs: int) -> list[str]:
        return [semgrep, "scan", "--config", str(SEMGREP_RULES), "--metrics", "off", "--disable-version-check",
                "--jobs", str(jobs), "--json", "--output", str(workdir / "semgrep.json"), "--quiet", "."]

    SEMGREP[0] = semgrep
    names = ["floor", "cold", "warm", "changed", "edited"] + (["semgrep"] if semgrep else [])
    series = {name: Series() for name in names}
    changed = ChangedFile(tree)
    # Untimed: fills the cache and the OS page cache, imports compiled.
    timed(lint(max(args.jobs)), tree.root)
    timed(floor(max(args.jobs)), tree.root)
    try:
        for round_number in range(args.repeat):
            for jobs in args.jobs:
                series["cold"].add(jobs, timed(lint(jobs, "--no-cache"), tree.root))
                series["floor"].add(jobs, timed(floor(jobs), tree.root))
                series["warm"].add(jobs, timed(lint(jobs), tree.root))
                changed.change()
                series["changed"].add(jobs, timed(lint(jobs), tree.root))
                changed.edit()
                series["edited"].add(jobs, timed(lint(jobs), tree.root))
                changed.restore()
                timed(lint(jobs), tree.root)  # untimed: back to the unchanged tree's cache
                if semgrep:
                    series["semgrep"].add(jobs, timed(semgrep_scan(jobs), tree.root, accept=(0, 1)))
            print(f"  round {round_number + 1}/{args.repeat} done", file=sys.stderr)
    finally:
        changed.restore()
    return results(args, tree, prodlint, series, changed)


def paired(numerator: list[Sample], denominator: list[Sample], what: str) -> float:
    """Median of the per-round ratios: each pair ran back to back, under the same load."""
    return statistics.median(getattr(n, what) / max(getattr(d, what), 1e-9) for n, d in zip(numerator, denominator))


def results(args: argparse.Namespace, tree: Tree, prodlint: list[str], series: dict[str, Series],
            changed: ChangedFile) -> dict:
    runs = {name: {str(jobs): {"wall": [round(s.wall, 4) for s in samples], "cpu": [round(s.cpu, 4) for s in samples],
                               "wall_median": round(s_.median(jobs, "wall"), 4),
                               "cpu_median": round(s_.median(jobs, "cpu"), 4),
                               "lines_per_wall_second": round(tree.lines / s_.median(jobs, "wall")),
                               "lines_per_cpu_second": round(tree.lines / max(s_.median(jobs, "cpu"), 1e-9))}
                   for jobs, samples in s_.samples.items()}
            for name, s_ in series.items()}
    ratios: dict[str, dict[str, dict[str, float]]] = {}

    def ratio(label: str, top: str, bottom: str, top_jobs: int, bottom_jobs: int, key: str) -> None:
        pair = (series[top].samples[top_jobs], series[bottom].samples[bottom_jobs])
        ratios.setdefault(label, {})[key] = {what: round(paired(*pair, what), 3) for what in ("cpu", "wall")}

    for jobs in args.jobs:
        ratio("cold / floor", "cold", "floor", jobs, jobs, f"jobs {jobs}")
        ratio("warm / floor", "warm", "floor", jobs, jobs, f"jobs {jobs}")
        ratio("changed / warm", "changed", "warm", jobs, jobs, f"jobs {jobs}")
        ratio("edited / warm", "edited", "warm", jobs, jobs, f"jobs {jobs}")
        ratio("edited / cold", "edited", "cold", jobs, jobs, f"jobs {jobs}")
        if "semgrep" in series:
            ratio("prodlint / semgrep", "cold", "semgrep", jobs, jobs, f"jobs {jobs}")
    if len(args.jobs) > 1:
        few, many = args.jobs[0], args.jobs[-1]
        for name in ("cold", "floor", "warm"):
            ratio(f"jobs {many} / jobs {few}", name, name, many, few, name)
    return {
        "tree": {"label": tree.label, "files": tree.files, "source_files": len(tree.sources),
                 "python_files": tree.python_files, "ts_js_files": tree.script_files, "source_lines": tree.lines,
                 "changed_file": changed.path.relative_to(tree.root).as_posix()},
        "prodlint": {"command": shlex.join(prodlint), "version": prodlint_version(prodlint)},
        "semgrep": semgrep_version(series),
        "machine": {"cpus": os.cpu_count(), "usable_cpus": len(os.sched_getaffinity(0)),
                    "python": platform.python_version(), "platform": platform.platform(),
                    "load_average": [round(x, 2) for x in os.getloadavg()]},
        "repeat": args.repeat,
        "runs": runs,
        "ratios": ratios,
    }


def print_table(result: dict) -> None:
    tree = result["tree"]
    print(f"\ntree {tree['label']}: {tree['files']:,} files; {tree['source_files']:,} parsed sources "
          f"({tree['python_files']:,} Python, {tree['ts_js_files']:,} TS/JS), {tree['source_lines']:,} lines")
    if result.get("semgrep"):
        print(f"semgrep {result['semgrep']} with {SEMGREP_RULES.name} (its default ignores apply: tests/ is skipped)")
    print(f"prodlint {result['prodlint']['version']} ({result['prodlint']['command']}); "
          f"medians of {result['repeat']} rounds; load average {result['machine']['load_average']}")
    print(f"\n{'run':<10} {'jobs':>4} {'wall s':>8} {'cpu s':>8} {'lines/s wall':>13} {'lines/s cpu':>12}")
    for name, by_jobs in result["runs"].items():
        for jobs, run in by_jobs.items():
            print(f"{name:<10} {jobs:>4} {run['wall_median']:>8.2f} {run['cpu_median']:>8.2f} "
                  f"{run['lines_per_wall_second']:>13,} {run['lines_per_cpu_second']:>12,}")
    print(f"\n{'ratio (median of paired rounds)':<32} {'':<10} {'cpu':>7} {'wall':>7}")
    for label, by_key in result["ratios"].items():
        for key, value in by_key.items():
            print(f"{label:<32} {key:<10} {value['cpu']:>7.2f} {value['wall']:>7.2f}")


# --- profile -----------------------------------------------------------------------------------

def module_of(filename: str, function: str) -> str:
    """A group for a profiled function: its prodlint module, or the library it lives in."""
    path = filename.replace("\\", "/")
    if "/prodlint/" in path:
        module = path.rsplit("/prodlint/", 1)[1].removesuffix(".py").removesuffix("/__init__")
        return module
    if filename == "~":  # a builtin: name the interesting ones
        if "compile" in function:
            return "ast.parse (compile)"
        if "tree_sitter" in function:
            return "tree-sitter (C)"
        if "pickle" in function or "_pickle" in function:
            return "pickle"
        if "isinstance" in function or "getattr" in function or "len" in function:
            return "builtins (isinstance/getattr/len)"
        return "builtins (other)"
    for library in ("tree_sitter", "sqlglot", "yaml", "crossplane", "pathspec", "concurrent", "multiprocessing",
                    "pickle", "json", "re/", "ast.py", "hashlib", "dataclasses"):
        if library in path:
            return {"ast.py": "stdlib ast (walk, iter_child_nodes)", "re/": "re"}.get(library, library)
    return "other (stdlib)"


def family(module: str) -> str:
    head = module.split("/", 1)[0]
    return head if head in ("extract", "model", "checks", "facts", "report") else module


class StackSampler:
    """Samples the main thread's Python stack every few milliseconds: the share of samples
    with a prodlint module anywhere on the stack is that module's inclusive time, which
    cProfile's per-function cumulative times cannot give once calls nest across modules."""

    def __init__(self, interval: float = 0.002) -> None:
        import threading

        self.interval = interval
        self.target = threading.main_thread().ident
        self.counts: dict[str, int] = {}
        self.samples = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.done.set()
        self.thread.join()

    def _run(self) -> None:
        while not self.done.wait(self.interval):
            frame = sys._current_frames().get(self.target)
            seen: set[str] = set()
            while frame is not None:
                filename = frame.f_code.co_filename.replace("\\", "/")
                if "/prodlint/" in filename:
                    module = module_of(filename, "")
                    seen.add(module)
                    seen.add(family(module) + "/*" if family(module) != module else module)
                frame = frame.f_back
            self.samples += 1
            for module in seen:
                self.counts[module] = self.counts.get(module, 0) + 1

    def shares(self) -> list[tuple[str, float]]:
        total = max(self.samples, 1)
        return sorted(((m, n / total) for m, n in self.counts.items()), key=lambda item: -item[1])


def profile(args: argparse.Namespace, tree: Tree, workdir: Path) -> dict:
    import cProfile
    import gc
    import pstats

    from prodlint import cli  # the prodlint of this Python, profiled in this process

    gc_time = 0.0
    gc_started = 0.0

    def on_gc(phase: str, _info: dict) -> None:
        nonlocal gc_time, gc_started
        if phase == "start":
            gc_started = time.perf_counter()
        else:
            gc_time += time.perf_counter() - gc_started

    argv = ["check", str(tree.root), "--no-cache", "--jobs", "1", "--format", "json",
            "--output", str(workdir / "report.json")]
    profiler = cProfile.Profile()
    sampler = StackSampler()
    gc.callbacks.append(on_gc)
    start = time.perf_counter()
    sampler.start()
    try:
        profiler.runcall(cli.main, argv)
    except SystemExit:
        pass
    finally:
        total = time.perf_counter() - start
        sampler.stop()
        gc.callbacks.remove(on_gc)
    stats = pstats.Stats(profiler)
    entries = stats.stats  # (file, line, name) -> (primitive calls, calls, self, cumulative, callers)

    def label(key: tuple) -> str:
        return module_of(key[0], key[2])

    self_by_group: dict[str, float] = {}
    self_by_family: dict[str, float] = {}
    for key, (_, _, own, _, _) in entries.items():
        group = label(key)
        self_by_group[group] = self_by_group.get(group, 0.0) + own
        self_by_family[family(group)] = self_by_family.get(family(group), 0.0) + own
    on_stack = sampler.shares()

    def name(key: tuple) -> str:
        where = key[0].rsplit("/prodlint/", 1)[-1] if "/prodlint/" in key[0] else Path(key[0]).name
        return f"{key[2]} ({where}:{key[1]})" if key[0] != "~" else key[2]

    top = args.top
    by_self = sorted(entries.items(), key=lambda item: item[1][2], reverse=True)[:top]
    by_cumulative = sorted(((k, v) for k, v in entries.items() if "/prodlint/" in k[0]),
                           key=lambda item: item[1][3], reverse=True)[:top]
    print(f"\nprofile of prodlint check --no-cache --jobs 1 on {tree.label}: {total:.2f} s wall "
          f"under cProfile, which slows every Python call (several-fold on call-heavy code): read the shares, "
          f"not the seconds; garbage collection {gc_time:.2f} s")
    print("\nself time by family (extract/*, model/*, checks/* summed; libraries by name)")
    for group, seconds in sorted(self_by_family.items(), key=lambda item: item[1], reverse=True)[:top]:
        print(f"  {seconds:8.2f} s  {100 * seconds / total:5.1f}%  {group}")
    print("\nself time by module")
    for group, seconds in sorted(self_by_group.items(), key=lambda item: item[1], reverse=True)[:top]:
        print(f"  {seconds:8.2f} s  {100 * seconds / total:5.1f}%  {group}")
    print(f"\nshare of the run with a prodlint module on the stack ({sampler.samples} stack samples; "
          "a module and the modules it calls overlap)")
    for group, share in on_stack[:top]:
        print(f"  {share * total:8.2f} s  {100 * share:5.1f}%  {group}")
    print(f"\ntop {top} functions by total (self) time")
    print(f"  {'self s':>8} {'cum s':>8} {'calls':>10}  function")
    for key, (_, calls, own, cumulative, _) in by_self:
        print(f"  {own:8.2f} {cumulative:8.2f} {calls:>10,}  [{label(key)}] {name(key)}")
    print(f"\ntop {top} prodlint functions by cumulative time")
    print(f"  {'cum s':>8} {'self s':>8} {'calls':>10}  function")
    for key, (_, calls, own, cumulative, _) in by_cumulative:
        print(f"  {cumulative:8.2f} {own:8.2f} {calls:>10,}  [{label(key)}] {name(key)}")
    return {
        "tree": tree.label, "wall_seconds": round(total, 3), "gc_seconds": round(gc_time, 3),
        "self_by_family": {k: round(v, 3) for k, v in sorted(self_by_family.items(), key=lambda i: -i[1])},
        "self_by_module": {k: round(v, 3) for k, v in sorted(self_by_group.items(), key=lambda i: -i[1])},
        "on_stack_share": {k: round(v, 4) for k, v in on_stack},
        "top_self": [{"function": name(k), "group": label(k), "self": round(v[2], 3), "cumulative": round(v[3], 3),
                      "calls": v[1]} for k, v in by_self],
        "top_cumulative": [{"function": name(k), "group": label(k), "self": round(v[2], 3),
                            "cumulative": round(v[3], 3), "calls": v[1]} for k, v in by_cumulative],
    }


# --- command line ------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--shape", choices=sorted(generate.SHAPES), default="fastapi", help="generated project shape")
    which.add_argument("--tree", type=Path, help="measure a copy of this existing tree instead")
    parser.add_argument("--files", type=int, default=500, help="files in the generated project")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="process counts to compare")
    parser.add_argument("--repeat", type=int, default=5, help="rounds; medians are taken over them")
    parser.add_argument("--prodlint", help="command that runs prodlint (default: this environment's)")
    parser.add_argument("--semgrep", default="semgrep", help="semgrep executable (default: semgrep on PATH)")
    parser.add_argument("--no-semgrep", action="store_true", help="skip semgrep even when it is installed")
    parser.add_argument("--workdir", type=Path, help="where the tree copy, cache and reports go (kept)")
    parser.add_argument("--json", type=Path, help="write the results to this file")
    parser.add_argument("--profile", action="store_true", help="profile one in-process run instead of timing")
    parser.add_argument("--top", type=int, default=25, help="rows per profile table")
    args = parser.parse_args(argv)
    if args.repeat < 1 or any(j < 1 for j in args.jobs):
        parser.error("--repeat and --jobs take positive numbers")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="prodlint-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        tree = prepare_tree(args, workdir)
        if not tree.sources:
            raise SystemExit("run.py: no Python or TS/JS sources in the tree")
        if args.profile:
            result = profile(args, tree, workdir)
        else:
            result = measure(args, tree, workdir)
            print_table(result)
        if args.json:
            args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
