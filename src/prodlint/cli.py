"""Command line: `prodlint check|report|rules|rule`.

Exit codes: 0 no finding at or above --fail-on, 1 findings, 2 usage, configuration
or internal error. A file that cannot be parsed is a notification, not an internal
error. No traceback reaches a user unless PRODLINT_DEBUG=1 is set.

Subcommands are rows of `COMMANDS`: a name, its help, how it adds its arguments and
the function that runs it.
"""

from __future__ import annotations

import argparse
import difflib
import io
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO

from prodlint import __version__, baseline, config as configuration, rules
from prodlint.cache import CACHE_DIR
from prodlint.config import ConfigError
from prodlint.discover import project_root
from prodlint.engine import Analysis, Options, analyse, failed
from prodlint.report import Report, display_prefix

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
FORMATS = ("text", "json", "sarif", "github")


class UsageError(Exception):
    """A command line that cannot be run; the message says why."""


@dataclass(frozen=True)
class Command:
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _codes(value: str) -> tuple[str, ...]:
    return tuple(code.strip() for code in value.split(",") if code.strip())


class _Extend(argparse.Action):
    """`--select RT --select TN` means RT and TN: repeats add up."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:  # type: ignore[no-untyped-def]
        setattr(namespace, self.dest, (*getattr(namespace, self.dest), *values))


def _jobs(value: str) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 4:
        raise argparse.ArgumentTypeError(f"must be a number of processes from 0 to 9999, not {value!r}")
    return int(value)


def _check_arguments(check: argparse.ArgumentParser) -> None:
    check.add_argument("paths", nargs="*", metavar="PATH", help="files or directories (default: .)")
    check.add_argument("--format", "--output-format", dest="format", choices=FORMATS, default="text")
    check.add_argument("--output", "-o", type=Path, metavar="FILE", help="write the report to FILE")
    for name in ("json", "sarif", "github", "text"):
        check.add_argument(f"--{name}-output", type=Path, metavar="FILE", dest=f"{name}_output",
                           help=f"also write a {name} report to FILE")
    check.add_argument("--select", type=_codes, action=_Extend, default=(), metavar="CODES",
                       help="rules or families to run, e.g. RT,TN001 (repeats add up)")
    check.add_argument("--ignore", type=_codes, action=_Extend, default=(), metavar="CODES",
                       help="rules or families to skip (repeats add up)")
    check.add_argument("--fail-on", choices=("error", "warning", "note"), default="warning",
                       help="lowest severity that makes the exit code 1 (default: warning)")
    check.add_argument("--exit-zero", action="store_true", help="exit 0 even with findings (errors still exit 2)")
    check.add_argument("--baseline", type=Path, metavar="FILE", help="report only findings not in FILE")
    check.add_argument("--write-baseline", type=Path, metavar="FILE",
                       help="record the current findings in FILE (entries outside this run's selection are kept)")
    check.add_argument("--update-baseline", type=Path, metavar="FILE",
                       help="remove the entries of FILE that no longer match a finding; never add one")
    check.add_argument("--diff-base", metavar="REF", help="report only findings on lines changed since the git REF")
    check.add_argument("--jobs", "-j", type=_jobs, default=0, metavar="N", help="extraction processes (default: CPU count)")
    check.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    check.add_argument("--cache-dir", type=Path, metavar="DIR", help=f"cache folder (default: {CACHE_DIR}/ at the project root)")
    check.add_argument("--config", type=Path, metavar="FILE", help="configuration file (default: found at the root)")
    check.add_argument("--statistics", action="store_true", help="print counts per rule instead of findings")
    check.add_argument("--quiet", "-q", action="store_true", help="print findings only: no summary, notes or progress")
    check.add_argument("--color", choices=("auto", "always", "never"), default="auto", help="colour in text output")
    check.add_argument("--show-settings", action="store_true",
                       help="print the project root, the configuration file and every setting, then exit")
    check.add_argument("--show-files", action="store_true",
                       help="list every file with the role prodlint gives it (request, job, script, test ...) and why")


def _rules_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text")


def _rule_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("code", metavar="CODE", help="a rule code (RT001) or name (unmounted-router)")
    parser.add_argument("--format", choices=("text", "json"), default="text")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prodlint", description="Static production-readiness linter for web backends.")
    parser.add_argument("--version", action="version", version=f"prodlint {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, command in COMMANDS.items():
        sub = commands.add_parser(name, help=command.help)
        sub.add_argument("--version", action="version", version=f"prodlint {__version__}")
        command.arguments(sub)
    return parser


def _normalise_argv(argv: list[str]) -> list[str]:
    """`prodlint`, `prodlint src/` and `prodlint --format json` all mean `check`; `prodlint chekc` is an error."""
    if not argv:
        return ["check"]
    first = argv[0]
    if first in COMMANDS or first in ("-h", "--help", "--version"):
        return argv
    if first.startswith("-") or os.path.lexists(first):
        return ["check", *argv]
    if "/" not in first and "." not in first and "\\" not in first:
        close = difflib.get_close_matches(first, list(COMMANDS), n=1)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        raise UsageError(f"`{first}` is neither a command ({', '.join(COMMANDS)}) nor an existing path{hint}")
    return ["check", *argv]


def _debugging() -> bool:
    return os.environ.get("PRODLINT_DEBUG") == "1"


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(_normalise_argv(list(sys.argv[1:] if argv is None else argv)))
        if args.command is None:
            args = _parser().parse_args(["check"])
        return COMMANDS[args.command].run(args)
    except UsageError as error:
        print(f"prodlint: {error}", file=sys.stderr)
        return EXIT_ERROR
    except ConfigError as error:
        print(f"prodlint: configuration error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except baseline.BaselineError as error:
        print(f"prodlint: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_ERROR
    except BrokenPipeError:
        # `prodlint check | head`: the reader left; say nothing more and let exit not flush into the closed pipe
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_CLEAN
    except Exception as error:  # noqa: BLE001 - a user sees a sentence, not a traceback
        if _debugging():
            raise
        detail = traceback.format_exception_only(type(error), error)[-1].strip()
        print(f"prodlint: internal error: {detail}; please report it (PRODLINT_DEBUG=1 shows the traceback)",
              file=sys.stderr)
        return EXIT_ERROR


# --- check ---------------------------------------------------------------------------------------


def _paths(args: argparse.Namespace) -> list[Path]:
    names: list[str] = args.paths or ["."]
    for name in names:
        if name == "-":
            raise UsageError("reading from standard input is not supported; give files or directories")
        if not os.path.lexists(name):
            raise UsageError(f"{name}: no such file or directory")
    return [Path(name) for name in names]


class _Progress:
    """`extracted 1200/5000 files` on a terminal's stderr, for runs longer than a second."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.start = time.monotonic()
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or time.monotonic() - self.start < 1.0:
            return
        sys.stderr.write(f"\rprodlint: extracted {done}/{total} files")
        sys.stderr.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _check(args: argparse.Namespace) -> int:
    paths = _paths(args)
    root = project_root(paths)
    config = configuration.load(root, args.config)
    rules.validate(config)
    select, ignore = rules.normalise(args.select, "--select"), rules.normalise(args.ignore, "--ignore")
    rules.enabled(config, select, ignore)  # unknown codes on the command line: exit 2 early
    if args.show_settings:
        return _show_settings(root, config, select, ignore)
    for option in ("write_baseline", "update_baseline"):
        if getattr(args, option) and args.diff_base:
            raise UsageError(f"--{option.replace('_', '-')} cannot be combined with --diff-base")
    progress = _Progress(sys.stderr.isatty() and not args.quiet)
    cache_dir = args.cache_dir.absolute() if args.cache_dir else None
    options = Options(jobs=args.jobs, use_cache=not args.no_cache, select=select, ignore=ignore,
                      cache_dir=cache_dir, progress=progress, freeze=True)
    try:
        analysis = analyse(paths, config, options, root)
    finally:
        progress.clear()

    if args.show_files:
        return _show_files(analysis, sys.stdout)
    report = Report(analysis, analysis.reported, prefix=display_prefix(analysis.root),
                    cwd=Path(os.path.realpath(Path.cwd())), notes=list(analysis.notes))
    in_scope = baseline.Scope(rules.enabled(config, select, ignore), analysis.targets)
    if args.baseline:
        known = baseline.read(args.baseline)
        report.results, report.baselined, stale = baseline.apply(report.results, known, in_scope)
        report.stale_baseline = len(stale)
        if stale:
            report.notes.append(
                f"{len(stale)} baseline entries no longer match a finding; "
                f"run with --update-baseline {args.baseline} to remove them")
    if args.diff_base:
        changed = baseline.changed_lines(analysis.root, args.diff_base)
        report.results = [r for r in report.results if baseline.in_diff(r, changed)]
    if args.write_baseline or args.update_baseline:
        return _baseline_command(args, analysis, in_scope)

    _emit(report, args)
    if analysis.internal_errors:
        return EXIT_ERROR
    if args.exit_zero:
        return EXIT_CLEAN
    return EXIT_FINDINGS if failed(report.results, args.fail_on) else EXIT_CLEAN


def _baseline_command(args: argparse.Namespace, analysis, in_scope: baseline.Scope) -> int:  # type: ignore[no-untyped-def]
    target: Path = args.write_baseline or args.update_baseline
    if target.is_dir():
        raise UsageError(f"cannot write {target}: Is a directory")
    old = baseline.read(target) if target.exists() or args.update_baseline else []
    if args.write_baseline:
        entries, added, removed = baseline.record(old, analysis.reported, in_scope)
    else:
        entries, added, removed = baseline.prune(old, analysis.reported, in_scope)
    _write(target, baseline.dumps(entries))
    if not args.quiet:
        print(f"prodlint: baseline {target}: {len(entries)} entries ({added} added, {removed} removed)", file=sys.stderr)
    return EXIT_ERROR if analysis.internal_errors else EXIT_CLEAN


def _show_settings(root: Path, config: configuration.Config, select: tuple[str, ...], ignore: tuple[str, ...]) -> int:
    settings = {key: value for key, value in asdict(config).items() if key != "source"}
    document = {"root": str(root), "config-file": config.source, **settings,
                "command-line": {"select": list(select), "ignore": list(ignore)},
                "rules-enabled": sorted(rules.enabled(config, select, ignore))}
    sys.stdout.write(json.dumps(document, indent=2, default=list) + "\n")
    return EXIT_CLEAN


def _render(report: Report, fmt: str, stream: TextIO, args: argparse.Namespace) -> None:
    # each format loads only what it writes with (rich for text)
    from prodlint.report import github as github_report, json as json_report, sarif as sarif_report, text as text_report

    if fmt == "json":
        json_report.render(report, stream)
    elif fmt == "sarif":
        sarif_report.render(report, stream)
    elif fmt == "github":
        github_report.render(report, stream, quiet=args.quiet)
    else:
        color = {"always": True, "never": False}.get(args.color)
        text_report.render(report, stream, statistics=args.statistics, quiet=args.quiet, color=color)


def _write(path: Path, content: str) -> None:
    try:
        with open(path, "w", encoding="utf-8", errors="backslashreplace") as out:
            out.write(content)
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror or error}") from None


def _emit(report: Report, args: argparse.Namespace) -> None:
    outputs: list[tuple[str, Path | None]] = [(args.format, args.output)]
    outputs += [(fmt, getattr(args, f"{fmt}_output")) for fmt in FORMATS if getattr(args, f"{fmt}_output")]
    for fmt, target in outputs:
        if target is None and fmt == "text":
            text_stream = sys.stdout
            if hasattr(text_stream, "reconfigure"):
                text_stream.reconfigure(errors="backslashreplace")
            _render(report, fmt, text_stream, args)
            continue
        buffer = io.StringIO()
        _render(report, fmt, buffer, args)
        if target is None:
            if hasattr(sys.stdout, "reconfigure"):
                sys.stdout.reconfigure(errors="backslashreplace")
            sys.stdout.write(buffer.getvalue())
        else:
            _write(target, buffer.getvalue())


# --- prodlint report -------------------------------------------------------------------------


def _report_arguments(report: argparse.ArgumentParser) -> None:
    report.add_argument("paths", nargs="*", metavar="PATH", help="files or directories (default: .)")
    report.add_argument("--format", choices=("text", "markdown", "json", "html"), default="text")
    report.add_argument("--output", "-o", type=Path, metavar="FILE", help="write the report to FILE")
    report.add_argument("--target-concurrency", type=int, metavar="N",
                        help="concurrent requests to plan for: headroom or shortfall of every capacity limit")
    report.add_argument("--fail-on", choices=("error", "warning", "note"), default="warning",
                        help="lowest severity that makes the exit code 1 (default: warning)")
    report.add_argument("--jobs", "-j", type=_jobs, default=0, metavar="N", help="extraction processes (default: CPU count)")
    report.add_argument("--no-cache", action="store_true", help="do not read or write .prodlint_cache/")
    report.add_argument("--config", type=Path, metavar="FILE", help="configuration file (default: found at the root)")


def _report(args: argparse.Namespace) -> int:
    """The same analysis as `check` (same config, same suppressions), rendered as the readiness report."""
    from prodlint.report import readiness

    if args.target_concurrency is not None and args.target_concurrency < 1:
        raise ConfigError("--target-concurrency must be 1 or more")
    paths = _paths(args)
    root = project_root(paths)
    config = configuration.load(root, args.config)
    rules.validate(config)
    analysis = analyse(paths, config, Options(jobs=args.jobs, use_cache=not args.no_cache, freeze=True), root)
    report = Report(analysis, analysis.reported, prefix=display_prefix(analysis.root), cwd=Path(os.path.realpath(Path.cwd())))
    buffer = io.StringIO()
    color = args.format == "text" and not args.output and sys.stdout.isatty()
    try:
        readiness.render(report, buffer, args.format, args.target_concurrency, args.fail_on, color)
    except Exception as error:  # noqa: BLE001 - a bug in the report is an internal error, not a traceback
        if os.environ.get("PRODLINT_DEBUG") == "1":
            raise
        print(f"prodlint: internal error while writing the report ({type(error).__name__}: {error}); please report it",
              file=sys.stderr)
        return EXIT_ERROR
    if args.output:
        _write(args.output, buffer.getvalue())
    else:
        sys.stdout.write(buffer.getvalue())
    if analysis.internal_errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if failed(report.results, args.fail_on) else EXIT_CLEAN


def _show_files(analysis: Analysis, stream: TextIO) -> int:
    """Every file with its role and the reason: the production-code decisions, open to dispute."""
    from prodlint.model.roles import production_code
    from prodlint.report import text as text_report

    assert analysis.project is not None
    roles = analysis.project.view(production_code)
    prefix = display_prefix(analysis.root)
    paths = sorted({f.path for f in analysis.project.files} | set(analysis.project.skipped))
    width = max((len(prefix + p) for p in paths), default=0)
    for path in paths:
        role = roles.role_of(path)
        stream.write(text_report.clean(f"{prefix + path:<{width}}  {role.role:<10}  {role.reason}") + "\n")
    for entry in roles.entrypoints:
        where = f" ({entry.at})" if entry.at else ""
        stream.write(text_report.clean(f"entrypoint: {prefix + entry.path} [{entry.role}] {entry.evidence}{where}") + "\n")
    if roles.fallback:
        stream.write("no production entrypoint found: every application file is treated as request code\n")
    return EXIT_CLEAN


# --- rules and rule ------------------------------------------------------------------------------


def _rule_json(rule: rules.RuleMeta) -> dict[str, object]:
    return {"code": rule.id, "name": rule.name, "kind": rule.kind, "severity": rule.severity, "summary": rule.summary,
            "rationale": rule.rationale, "bad": rule.bad, "good": rule.good, "fix": rule.fix,
            "references": list(rule.references)}


def _list_rules(args: argparse.Namespace, stream: TextIO | None = None) -> int:
    stream = stream or sys.stdout
    if getattr(args, "format", "text") == "json":
        stream.write(json.dumps([_rule_json(rule) for rule in rules.metadata().values()], indent=2) + "\n")
        return EXIT_CLEAN
    for rule in rules.metadata().values():
        stream.write(f"{rule.id}  {rule.name:<34} {rule.severity:<8} {rule.summary}\n")
    return EXIT_CLEAN


def _explain(args: argparse.Namespace, stream: TextIO | None = None) -> int:
    stream = stream or sys.stdout
    code = args.code
    meta = rules.metadata()
    rule = meta.get(code.upper()) or next((r for r in meta.values() if r.name == code.lower()), None)
    if rule is None:
        raise UsageError(f"unknown rule `{code}`; `prodlint rules` lists them")
    if getattr(args, "format", "text") == "json":
        stream.write(json.dumps(_rule_json(rule), indent=2) + "\n")
        return EXIT_CLEAN
    references = "".join(f"  - {url}\n" for url in rule.references)
    stream.write(
        f"{rule.id} {rule.name} ({rule.severity})\n\n{rule.summary}\n\n"
        f"Why\n{_indent(rule.rationale)}\n\nBad\n{_indent(rule.bad)}\n\nGood\n{_indent(rule.good)}\n\n"
        f"Fix\n{_indent(rule.fix)}\n\nReferences\n{references}"
    )
    return EXIT_CLEAN


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" if line else "" for line in text.split("\n"))


COMMANDS: dict[str, Command] = {
    "check": Command("lint a project (the default command)", _check_arguments, _check),
    "report": Command("the capacity and readiness report", _report_arguments, _report),
    "rules": Command("list every rule", _rules_arguments, _list_rules),
    "rule": Command("explain one rule, by code or name", _rule_arguments, _explain),
}


if __name__ == "__main__":
    sys.exit(main())
