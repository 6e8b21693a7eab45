"""Command line: `prodlint check|report|rules|rule`.

Exit codes: 0 no finding at or above --fail-on, 1 findings, 2 usage,
configuration or internal error. A file that cannot be parsed is a notification,
not an internal error.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path
from typing import TextIO

from prodlint import __version__, baseline, config as configuration, rules
from prodlint.config import ConfigError
from prodlint.discover import project_root
from prodlint.engine import Analysis, Options, analyse, failed
from prodlint.model.roles import production_code
from prodlint.report import Report, display_prefix
from prodlint.report import github as github_report
from prodlint.report import json as json_report
from prodlint.report import sarif as sarif_report
from prodlint.report import text as text_report

COMMANDS = ("check", "report", "rules", "rule")
EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _codes(value: str) -> tuple[str, ...]:
    return tuple(code.strip() for code in value.split(",") if code.strip())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prodlint", description="Static production-readiness linter for web backends.")
    parser.add_argument("--version", action="version", version=f"prodlint {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = commands.add_parser("check", help="lint a project (the default command)")
    check.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="files or directories (default: .)")
    check.add_argument("--format", choices=("text", "json", "sarif", "github"), default="text")
    check.add_argument("--output", "-o", type=Path, metavar="FILE", help="write the report to FILE")
    check.add_argument("--select", type=_codes, default=(), metavar="CODES", help="rules or families to run, e.g. RT,TN001")
    check.add_argument("--ignore", type=_codes, default=(), metavar="CODES", help="rules or families to skip")
    check.add_argument("--fail-on", choices=("error", "warning", "note"), default="warning",
                       help="lowest severity that makes the exit code 1 (default: warning)")
    check.add_argument("--baseline", type=Path, metavar="FILE", help="report only findings not in FILE")
    check.add_argument("--write-baseline", type=Path, metavar="FILE", help="record current findings in FILE")
    check.add_argument("--diff-base", metavar="REF", help="report only findings on lines changed since the git REF")
    check.add_argument("--jobs", "-j", type=int, default=0, metavar="N", help="extraction processes (default: CPU count)")
    check.add_argument("--no-cache", action="store_true", help="do not read or write .prodlint_cache/")
    check.add_argument("--config", type=Path, metavar="FILE", help="configuration file (default: found at the root)")
    check.add_argument("--statistics", action="store_true", help="print counts per rule instead of findings")
    check.add_argument("--show-files", action="store_true",
                       help="list every file with the role prodlint gives it (request, job, script, test ...) and why")

    _add_report_command(commands)
    commands.add_parser("rules", help="list every rule")
    explain = commands.add_parser("rule", help="explain one rule")
    explain.add_argument("code", metavar="CODE")
    return parser


def _normalise_argv(argv: list[str]) -> list[str]:
    """`prodlint`, `prodlint src/` and `prodlint --format json` all mean `check`."""
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
        return ["check", *argv]
    return argv


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(_normalise_argv(list(sys.argv[1:] if argv is None else argv)))
    try:
        if args.command == "rules":
            return _list_rules(sys.stdout)
        if args.command == "rule":
            return _explain(args.code, sys.stdout)
        if args.command == "report":
            return _report(args)
        return _check(args)
    except ConfigError as error:
        print(f"prodlint: configuration error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except baseline.BaselineError as error:
        print(f"prodlint: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_ERROR


def _check(args: argparse.Namespace) -> int:
    if args.jobs < 0:
        raise ConfigError("--jobs must be 0 (one per CPU) or more")
    paths = args.paths or [Path(".")]
    root = project_root(paths)
    config = configuration.load(root, args.config)
    rules.validate(config)
    options = Options(jobs=args.jobs, use_cache=not args.no_cache, select=args.select, ignore=args.ignore)
    rules.enabled(config, options.select, options.ignore)  # unknown codes on the command line: exit 2 early
    analysis = analyse(paths, config, options, root)

    if args.show_files:
        return _show_files(analysis, sys.stdout)
    results = analysis.reported
    report = Report(analysis, results, prefix=display_prefix(analysis.root), notes=list(analysis.notes))
    if args.diff_base:
        changed = baseline.changed_lines(analysis.root, args.diff_base)
        report.results = [r for r in report.results if baseline.in_diff(r, changed)]
    if args.baseline:
        report.results, report.baselined, report.stale_baseline = baseline.apply(report.results, baseline.read(args.baseline))
        if report.stale_baseline:
            report.notes.append(
                f"{report.stale_baseline} baseline entries no longer match a finding; "
                f"run with --write-baseline {args.baseline} to prune them")
    if args.write_baseline:
        baseline.write(args.write_baseline, analysis.reported)
        print(f"prodlint: wrote {len(analysis.reported)} findings to baseline {args.write_baseline}", file=sys.stderr)
        return EXIT_ERROR if analysis.internal_errors else EXIT_CLEAN

    _emit(report, args)
    if analysis.internal_errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if failed(report.results, args.fail_on) else EXIT_CLEAN


def _emit(report: Report, args: argparse.Namespace) -> None:
    buffer = io.StringIO()
    if args.format == "json":
        json_report.render(report, buffer)
    elif args.format == "sarif":
        sarif_report.render(report, buffer)
    elif args.format == "github":
        github_report.render(report, buffer)
    elif args.output:
        text_report.render(report, buffer, statistics=args.statistics)
    else:
        text_report.render(report, sys.stdout, statistics=args.statistics)
        return
    if args.output:
        args.output.write_text(buffer.getvalue(), encoding="utf-8")
    else:
        sys.stdout.write(buffer.getvalue())


def _show_files(analysis: Analysis, stream: TextIO) -> int:
    """Every file with its role and the reason: the production-code decisions, open to dispute."""
    assert analysis.project is not None
    roles = analysis.project.view(production_code)
    prefix = display_prefix(analysis.root)
    paths = sorted({f.path for f in analysis.project.files} | set(analysis.project.skipped))
    width = max((len(prefix + p) for p in paths), default=0)
    for path in paths:
        role = roles.role_of(path)
        stream.write(escape_text(f"{prefix + path:<{width}}  {role.role:<10}  {role.reason}") + "\n")
    for entry in roles.entrypoints:
        where = f" ({entry.at})" if entry.at else ""
        stream.write(escape_text(f"entrypoint: {prefix + entry.path} [{entry.role}] {entry.evidence}{where}") + "\n")
    if roles.fallback:
        stream.write("no production entrypoint found: every application file is treated as request code\n")
    return EXIT_CLEAN


def escape_text(text: str) -> str:
    """Control characters from analysed text never reach the terminal raw."""
    return "".join(c if c.isprintable() or c == " " else f"\\x{ord(c):02x}" for c in text)


# --- prodlint report -------------------------------------------------------------------------


def _add_report_command(commands: argparse._SubParsersAction) -> None:
    report = commands.add_parser("report", help="the capacity and readiness report")
    report.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="files or directories (default: .)")
    report.add_argument("--format", choices=("text", "markdown", "json", "html"), default="text")
    report.add_argument("--output", "-o", type=Path, metavar="FILE", help="write the report to FILE")
    report.add_argument("--target-concurrency", type=int, metavar="N",
                        help="concurrent requests to plan for: headroom or shortfall of every capacity limit")
    report.add_argument("--fail-on", choices=("error", "warning", "note"), default="warning",
                        help="lowest severity that makes the exit code 1 (default: warning)")
    report.add_argument("--jobs", "-j", type=int, default=0, metavar="N", help="extraction processes (default: CPU count)")
    report.add_argument("--no-cache", action="store_true", help="do not read or write .prodlint_cache/")
    report.add_argument("--config", type=Path, metavar="FILE", help="configuration file (default: found at the root)")


def _report(args: argparse.Namespace) -> int:
    """The same analysis as `check` (same config, same suppressions), rendered as the readiness report."""
    from prodlint.report import readiness

    if args.jobs < 0:
        raise ConfigError("--jobs must be 0 (one per CPU) or more")
    if args.target_concurrency is not None and args.target_concurrency < 1:
        raise ConfigError("--target-concurrency must be 1 or more")
    paths = args.paths or [Path(".")]
    root = project_root(paths)
    config = configuration.load(root, args.config)
    rules.validate(config)
    analysis = analyse(paths, config, Options(jobs=args.jobs, use_cache=not args.no_cache), root)
    report = Report(analysis, analysis.reported, prefix=display_prefix(analysis.root))
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
        args.output.write_text(buffer.getvalue(), encoding="utf-8")
    else:
        sys.stdout.write(buffer.getvalue())
    if analysis.internal_errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if failed(report.results, args.fail_on) else EXIT_CLEAN


def _list_rules(stream: TextIO) -> int:
    for rule in rules.metadata().values():
        stream.write(f"{rule.id}  {rule.name:<34} {rule.severity:<8} {rule.summary}\n")
    return EXIT_CLEAN


def _explain(code: str, stream: TextIO) -> int:
    rule = rules.metadata().get(code.upper())
    if rule is None:
        print(f"prodlint: unknown rule `{code}`; `prodlint rules` lists them", file=sys.stderr)
        return EXIT_ERROR
    references = "".join(f"  - {url}\n" for url in rule.references)
    stream.write(
        f"{rule.id} {rule.name} ({rule.severity})\n\n{rule.summary}\n\n"
        f"Why\n{_indent(rule.rationale)}\n\nBad\n{_indent(rule.bad)}\n\nGood\n{_indent(rule.good)}\n\n"
        f"Fix\n{_indent(rule.fix)}\n\nReferences\n{references}"
    )
    return EXIT_CLEAN


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" if line else "" for line in text.splitlines())


if __name__ == "__main__":
    sys.exit(main())
