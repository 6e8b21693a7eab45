"""Machine output: one JSON document, stable key order."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from prodlint import __version__
from prodlint.engine import Result
from prodlint.facts import Location
from prodlint.report import Report


def location(report: Report, at: Location) -> dict[str, Any]:
    return {"path": report.display(at.path), "line": at.line, "column": at.column,
            "end_line": at.end_line, "end_column": at.end_column}


def result_json(report: Report, result: Result) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": result.code,
        "name": result.name,
        "severity": result.severity,
        "message": result.message,
        **location(report, result.at),
        "source_line": result.source_line,
        "related": [{"message": r.message, **location(report, r.at)} for r in result.finding.related],
        "fingerprint": result.fingerprint,
    }
    if result.suppression is not None:
        data["suppressed"] = {"reason": result.suppression.reason, "line": result.suppression.at.line}
    return data


def render(report: Report, stream: TextIO = sys.stdout) -> None:
    document = {
        "tool": "prodlint",
        "version": __version__,
        "findings": [result_json(report, r) for r in report.results],
        "suppressed": [result_json(report, r) for r in report.analysis.results if r.suppression is not None],
        "notifications": [
            {"code": n.code, "level": n.level, "path": report.display(n.path), "line": n.line, "message": n.message}
            for n in report.notifications
        ],
        "internal_errors": report.analysis.internal_errors,
        "summary": {
            "findings": len(report.results),
            "error": sum(r.severity == "error" for r in report.results),
            "warning": sum(r.severity == "warning" for r in report.results),
            "note": sum(r.severity == "note" for r in report.results),
            "baselined": report.baselined,
            "stale_baseline_entries": report.stale_baseline,
            "files_analysed": report.analysis.files_analysed,
        },
    }
    json.dump(document, stream, indent=2, ensure_ascii=False)
    stream.write("\n")
