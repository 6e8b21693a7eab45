"""Human output: findings grouped by file, each with the line it points at."""

from __future__ import annotations

import os
import sys
from collections import Counter
from itertools import groupby
from typing import TextIO

from rich.console import Console
from rich.text import Text

from prodlint.report import Report
from prodlint.rules import metadata

_STYLE = {"error": "bold red", "warning": "yellow", "note": "cyan"}


def _console(stream: TextIO) -> Console:
    color = stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
    # soft_wrap: never break a finding line at the terminal width; tools parse these lines.
    return Console(file=stream, force_terminal=color, no_color=not color, highlight=False,
                   soft_wrap=True, emoji=False, markup=False, width=10_000 if not color else None)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary(report: Report) -> str:
    results = report.results
    if not results:
        text = "No findings."
    else:
        by_severity = Counter(r.severity for r in results)
        parts = [_plural(by_severity[s], s) for s in ("error", "warning", "note") if by_severity[s]]
        files = len({r.at.path for r in results})
        text = f"Found {_plural(len(results), 'finding')} ({', '.join(parts)}) in {_plural(files, 'file')}."
    extras = []
    suppressed = sum(1 for r in report.analysis.results if r.suppression is not None)
    if suppressed:
        extras.append(f"{suppressed} suppressed inline")
    if report.baselined:
        extras.append(f"{report.baselined} in the baseline")
    if report.notifications:
        extras.append(_plural(len(report.notifications), "file notification"))
    extras.append(f"{_plural(report.analysis.files_analysed, 'file')} analysed")
    return f"{text} ({'; '.join(extras)})"


def render(report: Report, stream: TextIO = sys.stdout, statistics: bool = False) -> None:
    console = _console(stream)
    if statistics:
        _statistics(report, console)
    else:
        for path, group in groupby(report.results, key=lambda r: r.at.path):
            console.print(Text(report.display(path), style="bold underline"))
            for result in group:
                line = Text()
                line.append(f"{report.display(path)}:{result.at.line}:{result.at.column}", style="bold")
                line.append(" ")
                line.append(result.code, style=_STYLE[result.severity])
                line.append(f" {result.name} ", style="dim")
                line.append(result.message)
                console.print(line)
                if result.source_line.strip():
                    console.print(Text(f"  {result.at.line:>5} | {result.source_line.rstrip()}", style="dim"))
                for related in result.finding.related:
                    console.print(Text(f"        = {related.message}: {report.display(related.at.path)}:{related.at.line}:{related.at.column}", style="dim"))
            console.print()
    for notification in report.notifications:
        where = report.display(notification.path) + (f":{notification.line}" if notification.line else "")
        console.print(Text(f"{notification.level}: {notification.code} {where}: {notification.message}", style=_STYLE.get(notification.level, "")))
    for note in report.notes:
        console.print(Text(note, style="yellow"))
    for error in report.analysis.internal_errors:
        console.print(Text(f"internal error: {error}", style="bold red"))
    console.print(Text(summary(report), style="bold"))


def _statistics(report: Report, console: Console) -> None:
    counts = Counter(r.code for r in report.results)
    meta = metadata()
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        console.print(f"{count:>6}  {code}  {meta[code].name}")
