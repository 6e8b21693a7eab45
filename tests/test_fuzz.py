"""Fuzzing: mutated copies of the fixture projects never break prodlint.

Each example copies one fixture project, damages a few of its files (hostile text, invalid
UTF-8, NUL bytes, truncation, duplicated lines, long runs) and runs `prodlint check` in this
process, where PRODLINT_DEBUG=1 turns any internal error into a failing traceback. It asserts:
no exception, exit 0 or 1 (never 2: the input is analysable), every file that cannot be read
named in a notification, and byte-identical JSON across --jobs 1/2 and a cold/warm cache.
Examples are derandomised and few, so the suite is bounded (well under a minute) in CI.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings, strategies as st

from conftest import FIXTURES, standalone
from prodlint import cli, config as configuration
from prodlint.discover import discover

PROJECTS = sorted(str(p.relative_to(FIXTURES)) for p in (
    FIXTURES / "routes" / "fastapi_app", FIXTURES / "routes" / "express_app", FIXTURES / "containers" / "compose_app",
    FIXTURES / "capacity" / "compose_stack", FIXTURES / "nginx" / "edge_proxy", FIXTURES / "indexes" / "prisma_app",
    FIXTURES / "tenant" / "sqlalchemy_app", FIXTURES / "engine" / "suppressions", FIXTURES / "pagination" / "flask_app",
))

HOSTILE = st.sampled_from([
    "\f", "\u2028", "\u2029", "\x85", "\r", "\r\n", "\x1b[31m", "\t", "\v", "\ufeff", "\u200b",
    "# prodlint: ignore[", "# prodlint: ignore-file", "// prodlint: ignore[RT001]", "-- prodlint: ignore[XX]",
    "${A:-${B:-", "{", "}", "[", "]", "(", ")", "<", ">", "&", "`", "'", '"', '"""', "\\", ":", "::error file=x::",
    "%", "#", "*", "**", " " * 3000, "a" * 3000, "9" * 400, "\n" * 50, "-1", "1e309", "²", "é", "\U0001f600",
    "    ", "\n  - \n", "<<EOF\n", "location / {", ";", "=", "include_router(", "app.use(", "@router.get(",
])
CHARACTERS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\0")  # NUL is the "binary" mutation
TEXT = st.lists(st.one_of(HOSTILE, st.text(CHARACTERS, max_size=20)), min_size=1, max_size=6).map("".join)


@st.composite
def mutation(draw: st.DrawFn) -> tuple[str, str, int, float, bytes | str]:
    kind = draw(st.sampled_from(["insert", "insert", "insert", "delete", "truncate", "duplicate", "binary", "invalid"]))
    payload: bytes | str = draw(TEXT) if kind == "insert" else b""
    return kind, "", draw(st.integers(0, 10_000)), draw(st.floats(0, 1)), payload


def _mutate(path: Path, kind: str, at: float, size: int, payload: bytes | str) -> bool:
    """Damage `path`; True when the file can no longer be read as text (it must then be named in a notification)."""
    data = path.read_bytes()
    cut = int(len(data) * at)
    if kind == "insert":
        data = data[:cut] + str(payload).encode("utf-8") + data[cut:]
    elif kind == "delete":
        data = data[:cut] + data[cut + size % 200:]
    elif kind == "truncate":
        data = data[:cut]
    elif kind == "duplicate":
        lines = data.split(b"\n")
        index = int(len(lines) * at) % max(len(lines), 1)
        data = b"\n".join(lines[:index + 1] + lines[index:])
    elif kind == "binary":
        data = data[:cut] + b"\0" + data[cut:]
    elif kind == "invalid":
        data = data[:cut] + b"\xff\xfe" + data[cut:]
    path.write_bytes(data)
    return kind in ("binary", "invalid")


def _run(root: Path, out: Path, *args: str) -> tuple[int, bytes]:
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.chdir(root):  # report paths are relative to the root
        code = cli.main(["check", ".", "--format", "json", "--output", str(out), *args])
    assert "Traceback" not in stderr.getvalue(), stderr.getvalue()
    return code, out.read_bytes()


@settings(max_examples=20, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@example(project="routes/fastapi_app", picks=[(0, ("invalid", "", 0, 0.5, b"")), (1, ("binary", "", 0, 0.3, b"")),
                                             (2, ("insert", "", 0, 0.5, "\f\u2028# prodlint: ignore[RT001]\x1b[2J"))])
@given(project=st.sampled_from(PROJECTS), picks=st.lists(st.tuples(st.integers(0, 1000), mutation()),
                                                          min_size=1, max_size=4))
def test_mutated_fixture_projects(project: str, picks: list[tuple[int, tuple[str, str, int, float, bytes | str]]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = standalone(project, Path(tmp))
        # Files prodlint reads: damaging one of them must show in the report.
        files = sorted(root / c.path for c in discover([root], configuration.load(root), root).candidates)
        unreadable = set()
        for index, (kind, _, size, at, payload) in picks:
            target = files[index % len(files)]
            if _mutate(target, kind, at, size, payload):
                unreadable.add(target.relative_to(root).as_posix())
        cache = Path(tmp) / "cache"
        one, plain = _run(root, Path(tmp) / "one.json", "--jobs", "1", "--no-cache")
        cold_code, cold = _run(root, Path(tmp) / "cold.json", "--jobs", "2", "--cache-dir", str(cache))
        warm_code, warm = _run(root, Path(tmp) / "warm.json", "--jobs", "2", "--cache-dir", str(cache))
        assert one in (0, 1), plain.decode("utf-8", "replace")[-2000:]
        assert (cold_code, warm_code) == (one, one)
        assert cold == plain and warm == plain
        report = json.loads(plain)
        assert report["internal_errors"] == []
        noted = {n["path"] for n in report["notifications"]}
        assert unreadable <= noted, (unreadable, report["notifications"])
