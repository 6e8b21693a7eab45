"""The README rule table, generated from `rules/*.yaml`.

`python -m prodlint.ruledocs README.md` rewrites the table between its markers;
the test suite fails when the README is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

from prodlint.rules import metadata

START = "<!-- rules:start -->"
END = "<!-- rules:end -->"


def rule_table() -> str:
    rows = ["| Code | Name | Severity | What it finds |", "|---|---|---|---|"]
    for rule in metadata().values():
        summary = rule.summary.replace("|", "\\|")
        rows.append(f"| {rule.id} | {rule.name} | {rule.severity} | {summary} |")
    return "\n".join(rows)


def with_table(readme: str) -> str:
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{rule_table()}\n{END}{tail}"


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    target.write_text(with_table(target.read_text(encoding="utf-8")), encoding="utf-8")
