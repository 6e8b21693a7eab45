"""Human output: findings grouped by file, each with the line it points at."""

from __future__ import annotations

import os
import re
import sys
from collections import Counter
from itertools import groupby
from typing import TYPE_CHECKING, TextIO

from prodlint.report import Report
from prodlint.rules import metadata

if TYPE_CHECKING:
    from rich.console import Console

_STYLE = {"error": "bold red", "warning": "yellow", "note": "cyan"}

# What analysed text may carry that a terminal or a CI log would obey: C0/C1 controls (ESC, CR,
# LF...), line and paragraph separators, bidi overrides (Trojan Source) and undecodable bytes.
_OTHER_UNSAFE = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069\\ud800-\\udfff"
_UNSAFE = re.compile(f"[\\r\\n{_OTHER_UNSAFE}]")
_UNSAFE_IN_LINES = re.compile(f"[{_OTHER_UNSAFE}]")
_NAMED = {"\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"  # a byte of a non-UTF-8 file name
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def clean(text: str, keep_newlines: bool = False) -> str:
    """Analysed text made inert for a terminal or a log: every control character spelled out.

    `keep_newlines` leaves CR and LF for a caller that encodes them itself (GitHub's `%0A`).
    """
    return (_UNSAFE_IN_LINES if keep_newlines else _UNSAFE).sub(_escape, text)


def _start(text: str) -> str:
    """A line of ours never starts with `::`, which GitHub Actions reads as a workflow command."""
    return f"./{text}" if text.startswith("::") else text


class _Lines:
    """Writes the report line by line: through rich when coloured, and as plain text otherwise,
    the text rich would write (rich is loaded only for colour or a tab, which it expands by cell width)."""

    def __init__(self, stream: TextIO, color: bool | None = None) -> None:
        if color is None:  # auto
            color = stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
        self.stream = stream
        self.color = color
        self._console: Console | None = None

    def line(self, *parts: tuple[str, str]) -> None:
        """One line of (text, style) parts."""
        if self.color or any("\t" in text for text, _ in parts):
            self._rich_line(parts)
        else:
            self.stream.write("".join(text for text, _ in parts) + "\n")

    def _rich_line(self, parts: tuple[tuple[str, str], ...]) -> None:
        from rich.console import Console
        from rich.text import Text

        if self._console is None:
            # soft_wrap: never break a finding line at the terminal width; tools parse these lines.
            self._console = Console(file=self.stream, force_terminal=self.color, no_color=not self.color, highlight=False,
                                    soft_wrap=True, emoji=False, markup=False, width=10_000 if not self.color else None)
        line = Text()
        for text, style in parts:
            line.append(text, style=style)
        self._console.print(line)


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


def render(report: Report, stream: TextIO = sys.stdout, statistics: bool = False, quiet: bool = False,
           color: bool | None = None) -> None:
    """`quiet`: findings only. `color`: None decides by the stream (a terminal, NO_COLOR, TERM=dumb)."""
    lines = _Lines(stream, color)
    if statistics:
        _statistics(report, lines)
    else:
        for path, group in groupby(report.results, key=lambda r: r.at.path):
            shown = _start(clean(report.display(path)))
            lines.line((shown, "bold underline"))
            for result in group:
                # The severity in words too: logs, pre-commit and NO_COLOR lose the colour.
                lines.line((f"{shown}:{result.at.line}:{result.at.column}", "bold"), (" ", ""),
                           (f"{result.severity} {result.code}", _STYLE[result.severity]),
                           (f" {result.name} ", "dim"), (clean(result.message), ""))
                if result.source_line.strip():
                    lines.line((f"  {result.at.line:>5} | {clean(result.source_line.rstrip())}", "dim"))
                for related in result.finding.related:
                    where = f"{clean(report.display(related.at.path))}:{related.at.line}:{related.at.column}"
                    lines.line((f"        = {clean(related.message)}: {where}", "dim"))
            lines.line()
    if quiet:
        return
    for notification in report.notifications:
        where = clean(report.display(notification.path)) + (f":{notification.line}" if notification.line else "")
        lines.line((f"{notification.level}: {notification.code} {where}: {clean(notification.message)}", _STYLE.get(notification.level, "")))
    for note in report.notes:
        lines.line((clean(note), "yellow"))
    for error in report.analysis.internal_errors:
        lines.line((f"internal error: {clean(error)}", "bold red"))
    lines.line((summary(report), "bold"))


def _statistics(report: Report, lines: _Lines) -> None:
    counts = Counter(r.code for r in report.results)
    meta = metadata()
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        lines.line((f"{count:>6}  {code}  {meta[code].name}", ""))
