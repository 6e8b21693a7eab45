"""Suppression comments are read with each language's lexical rules; malformed ones are PL004, never silent."""

from __future__ import annotations

import time
from pathlib import Path

from prodlint.suppress import scan


def _found(text: str, kind: str, path: str = "f") -> list[tuple]:
    return [(s.at.line, s.at.column, s.codes, s.reason, s.problem is not None) for s in scan(path, text, kind)]


def test_strings_that_look_like_suppressions_suppress_nothing() -> None:
    python = 'query = "SELECT 1  # prodlint: ignore[TN001] -- no"\nrows = db.all()  # prodlint: ignore[PG002] -- small table\n'
    assert _found(python, "python") == [(2, 18, ("PG002",), "small table", False)]
    ts = ("const a = '// prodlint: ignore[TN001]';\nconst b = `x ${'// prodlint: ignore[TN002]'} // prodlint: ignore[TN003]`;\n"
          "const c = /\\/\\/ prodlint: ignore[TN004]/;\nprisma.plan.findMany(); // prodlint: ignore[TN001] -- global\n"
          "/* prodlint: ignore[PG002] -- five rows */\n")
    assert _found(ts, "typescript") == [(4, 25, ("TN001",), "global", False), (5, 1, ("PG002",), "five rows", False)]
    sql = ("SELECT '-- prodlint: ignore[TN003]' FROM t;\nCREATE FUNCTION f() AS $$ -- prodlint: ignore[TN003] $$;\n"
           "SELECT * FROM orders; -- prodlint: ignore[TN003] -- reporting job\n")
    assert _found(sql, "sql") == [(3, 23, ("TN003",), "reporting job", False)]
    yaml = ('services:\n  api:\n    command: "echo # prodlint: ignore[DC001]"\n    image: x#prodlint: ignore[DC002]\n'
            "  db:  # prodlint: ignore[DC001] -- platform limits\n")
    assert _found(yaml, "compose") == [(5, 8, ("DC001",), "platform limits", False)]
    docker = 'FROM python\nRUN echo "# prodlint: ignore[SV001]"\n# prodlint: ignore[SV001] -- dev image\n'
    assert _found(docker, "dockerfile") == [(3, 1, ("SV001",), "dev image", False)]


def test_malformed_suppressions_are_kept_with_their_problem() -> None:
    text = "\n".join(["x = 1"] * 10 + [
        "# prodlint: ignore -- the platform sets limits",
        "# prodlint: ignore-file[DC001] -- too low in the file",
        "# prodlint: ignore[] -- empty",
        "# prodlint: ignore[DC001 -- unclosed",
        "# prodlint: disable=DC001",
        "# see the prodlint: docs for more",  # prose, not a directive
    ]) + "\n"
    problems = [(s.at.line, s.problem) for s in scan("a.py", text, "python")]
    assert problems == [
        (11, "not a suppression: write `prodlint: ignore[CODE, ...] -- reason`"),
        (12, "ignore-file must be in the first 10 lines; this one applies to nothing"),
        (13, "names no rule code, and there is no blanket ignore: write `prodlint: ignore[CODE, ...] -- reason`"),
        (14, "not a suppression: write `prodlint: ignore[CODE, ...] -- reason`"),
        (15, "not a suppression: write `prodlint: ignore[CODE, ...] -- reason`"),
    ]


def test_malformed_suppression_is_a_pl004_finding(tmp_path: Path, run) -> None:
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n  # prodlint: ignore -- limits are set by the platform\n  api:\n    image: shop/api\n"
        "  # prodlint: ignore[DC001] -- limits are set by the platform\n  worker:\n    image: shop/api\n")
    assert run(tmp_path, select="DC001,PL") == [
        "docker-compose.yml:2:3 PL004 malformed suppression, it suppresses nothing: not a suppression: "
        "write `prodlint: ignore[CODE, ...] -- reason`",
        'docker-compose.yml:3:3 DC001 service "api" has no memory limit and no CPU limit; '
        "set deploy.resources.limits.memory and deploy.resources.limits.cpus",
    ]


def test_scanning_is_linear_in_the_line_length() -> None:
    hostile = "# prodlint: ignore[X] x" + " " * 20000 + "y\n"
    started = time.monotonic()
    for kind in (None, "python", "compose", "typescript", "sql"):
        scan("f", hostile, kind)
    assert time.monotonic() - started < 1.0
