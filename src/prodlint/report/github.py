"""GitHub Actions workflow commands: annotations on the pull request's lines."""

from __future__ import annotations

import sys
from typing import TextIO

from prodlint.report import Report
from prodlint.report.text import clean, summary

_COMMAND = {"error": "error", "warning": "warning", "note": "notice"}


def _data(value: str) -> str:
    # Control characters spelled out first (ESC never reaches the log), then the workflow-command escapes.
    return clean(value, keep_newlines=True).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(value: str) -> str:
    return _data(value).replace(":", "%3A").replace(",", "%2C")


def render(report: Report, stream: TextIO = sys.stdout, quiet: bool = False) -> None:
    for result in report.results:
        at = result.at
        fields = [f"file={_property(report.display(at.path))}", f"line={at.line}", f"col={at.column}"]
        if at.end_line is not None:
            fields.append(f"endLine={at.end_line}")
        if at.end_column is not None and at.end_line == at.line:
            fields.append(f"endColumn={at.end_column}")
        fields.append(f"title={_property(f'{result.code} {result.name}')}")
        stream.write(f"::{_COMMAND[result.severity]} {','.join(fields)}::{_data(result.message)}\n")
    for notification in report.notifications:
        fields = [f"file={_property(report.display(notification.path))}"]
        if notification.line:
            fields.append(f"line={notification.line}")
        fields.append(f"title={_property(notification.code + ' parse-error')}")
        stream.write(f"::warning {','.join(fields)}::{_data(notification.message)}\n")
    for error in report.analysis.internal_errors:
        stream.write(f"::error title=prodlint internal error::{_data(error)}\n")
    if not quiet:
        stream.write(summary(report) + "\n")
