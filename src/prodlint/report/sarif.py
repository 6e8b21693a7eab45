"""SARIF 2.1.0 for code scanning and editors.

Never sets `primaryLocationLineHash`: GitHub computes it and warns on a mismatch.
Our own fingerprint travels in `partialFingerprints["prodlint/v1"]`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import quote
from typing import Any, TextIO

from prodlint import __version__
from prodlint.engine import Result
from prodlint.facts import Location
from prodlint.report import Report
from prodlint.rules import RuleMeta, metadata

INFORMATION_URI = "https://github.com/prodlint/prodlint"
SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"error": "error", "warning": "warning", "note": "note"}


def help_markdown(rule: RuleMeta) -> str:
    references = "\n".join(f"- <{url}>" for url in rule.references)
    return (
        f"**{rule.id} {rule.name}**: {rule.summary}\n\n{rule.rationale}\n\n"
        f"Bad:\n\n```\n{rule.bad}\n```\n\nGood:\n\n```\n{rule.good}\n```\n\n"
        f"Fix: {rule.fix}\n\n{references}\n"
    )


def rule_descriptor(rule: RuleMeta, level: str) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.rationale},
        "help": {"text": f"{rule.summary} Fix: {rule.fix}", "markdown": help_markdown(rule)},
        "helpUri": f"{INFORMATION_URI}/blob/main/rules/{rule.id}.yaml",
        "defaultConfiguration": {"level": _LEVEL[level]},
        "properties": {"tags": ["production-readiness", rule.family.lower()], "precision": "high"},
    }


def artifact_uri(report: Report, path: str) -> str:
    """A relative URI reference: spaces, `%`, `#` and non-ASCII percent-encoded (the bytes of the name)."""
    return quote(report.uri(path).encode("utf-8", "surrogateescape"), safe="/")


def _physical(report: Report, at: Location, source_line: str = "") -> dict[str, Any]:
    end_line = at.end_line or at.line
    end_column = at.end_column or (max(len(source_line), at.column) + 1 if end_line == at.line else 1)
    return {
        "artifactLocation": {"uri": artifact_uri(report, at.path), "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": at.line, "startColumn": at.column, "endLine": end_line, "endColumn": end_column},
    }


def _result(report: Report, result: Result, index: int) -> dict[str, Any]:
    data: dict[str, Any] = {
        "ruleId": result.code,
        "ruleIndex": index,
        "level": _LEVEL[result.severity],
        "message": {"text": result.message},
        "locations": [{"physicalLocation": _physical(report, result.at, result.source_line)}],
    }
    if result.finding.related:
        data["relatedLocations"] = [
            {"id": number, "message": {"text": related.message}, "physicalLocation": _physical(report, related.at)}
            for number, related in enumerate(result.finding.related, start=1)
        ]
    data["partialFingerprints"] = {"prodlint/v1": result.fingerprint}
    if result.suppression is not None:
        suppression: dict[str, Any] = {"kind": "inSource"}
        if result.suppression.reason:
            suppression["justification"] = result.suppression.reason
        data["suppressions"] = [suppression]
    return data


def document(report: Report) -> dict[str, Any]:
    config = report.analysis.config
    rules = [rule for rule in metadata().values() if rule.kind == "rule"]
    index = {rule.id: number for number, rule in enumerate(rules)}
    shown = report.results + [r for r in report.analysis.results if r.suppression is not None]
    shown.sort(key=lambda r: (r.at.path, r.at.line, r.at.column, r.code, r.message))
    parse_error = metadata()["PL001"]
    notifications = []
    for notification in report.notifications:
        entry: dict[str, Any] = {
            "level": _LEVEL.get(notification.level, "warning"),
            "message": {"text": f"{report.uri(notification.path)}: {notification.message}"},
            "descriptor": {"id": notification.code},
        }
        if not notification.path.startswith("/"):  # a path outside the project has no artifact
            entry["locations"] = [{"physicalLocation": {
                "artifactLocation": {"uri": artifact_uri(report, notification.path), "uriBaseId": "%SRCROOT%"},
                **({"region": {"startLine": notification.line}} if notification.line else {}),
            }}]
        notifications.append(entry)
    for error in report.analysis.internal_errors:
        notifications.append({"level": "error", "message": {"text": error}})
    root = (Path.cwd() if report.prefix else report.analysis.root).resolve()
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "prodlint",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [rule_descriptor(rule, config.severity_of(rule.id, rule.severity)) for rule in rules],
                "notifications": [{
                    "id": parse_error.id,
                    "name": parse_error.name,
                    "shortDescription": {"text": parse_error.summary},
                    "fullDescription": {"text": parse_error.rationale},
                    "help": {"text": f"{parse_error.summary} Fix: {parse_error.fix}", "markdown": help_markdown(parse_error)},
                    "defaultConfiguration": {"level": "warning"},
                }],
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": root.as_uri() + "/"}},
            "invocations": [{
                "executionSuccessful": not report.analysis.internal_errors,
                "toolExecutionNotifications": notifications,
            }],
            "columnKind": "unicodeCodePoints",
            "results": [_result(report, r, index[r.code]) for r in shown],
        }],
    }


def render(report: Report, stream: TextIO = sys.stdout) -> None:
    json.dump(document(report), stream, indent=2, ensure_ascii=False)
    stream.write("\n")
