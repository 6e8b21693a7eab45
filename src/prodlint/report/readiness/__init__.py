"""`prodlint report`: the capacity and readiness report, in text, markdown, json or html.

`document.build` reads the project views and the run's findings into one plain
document; each format renders that document.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from prodlint.report import Report
from prodlint.report.readiness.document import build

FORMATS = ("text", "markdown", "json", "html")


def render(report: Report, stream: TextIO, format: str = "text", target: int | None = None,
           fail_on: str = "warning", color: bool = False) -> dict[str, Any]:
    document = build(report, target, fail_on)
    if format == "json":
        json.dump(document, stream, indent=2, ensure_ascii=False)
        stream.write("\n")
    elif format == "markdown":
        from prodlint.report.readiness import markdown

        stream.write(markdown.render(document))
    elif format == "html":
        from prodlint.report.readiness import html

        stream.write(html.render(document))
    else:
        from prodlint.report.readiness import text

        text.render(document, stream, color)
    return document
