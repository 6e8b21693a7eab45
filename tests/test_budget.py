"""Inputs whose analysis would take minutes: each is skipped or bounded with a notification
naming it, and the rest of the project is still analysed. Inputs are generated small; the
tests assert the notification, never a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import finding_lines, lint_project
from prodlint import extract

COMPOSE = 'services:\n  api:\n    build: .\n    command: ["gunicorn", "-w", "4", "main:app"]\n'
COMPOSE_FINDING = ('docker-compose.yml:2:3 DC001 service "api" has no memory limit and no CPU limit; '
                   "set deploy.resources.limits.memory and deploy.resources.limits.cpus")
# A budget far below what the inputs below take (seconds of CPU each without it).
SMALL_BUDGET = 0.05


def _project(root: Path, files: dict[str, str]) -> Path:
    for name, text in {**files, "docker-compose.yml": COMPOSE}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _notes(root: Path) -> tuple[list[str], list[str]]:
    analysis = lint_project(root)
    return [f"{n.path}: {n.message}" for n in analysis.notifications], finding_lines(analysis)


def _use_chain(links: int) -> str:
    middleware = "".join(f"\n  .use(m{i})" for i in range(links))
    return f"const express = require('express');\nconst app = express();\napp{middleware};\napp.get('/x', (req, res) => res.send('x'));\n"


def _nested_ts(depth: int) -> str:
    arrows = "".join(f"\n{' ' * (i % 40)}(x) => " for i in range(depth))
    return f"export const f = {arrows}x;\n" + "function h() {\n" * depth + "}\n" * depth


def _nested_python(depth: int, copies: int) -> str:
    """A function nested `depth` ifs deep, repeated: deep but under the parser's recursion limit."""
    body = "".join("    " * (level + 1) + f"if x{level}:\n" for level in range(depth)) + "    " * (depth + 1) + "run(x)\n"
    return "".join(f"def f{i}(x):\n{body}" for i in range(copies))


@pytest.mark.parametrize(("name", "text"), [
    ("app.js", _use_chain(3000)),  # a long `.use()` chain
    ("deep.ts", _nested_ts(300)),  # deep TypeScript nesting
    ("deep.py", _nested_python(90, 80)),  # deep Python nesting
    ("vendor.js", "".join(f"function a{i}(x) {{ return b{i}(x) + {i} }}\n" for i in range(8000))),  # a bundle the heuristics let through
])
def test_file_over_the_work_budget_is_skipped_and_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, text: str) -> None:
    monkeypatch.setattr(extract, "WORK_BUDGET_SECONDS", SMALL_BUDGET)
    notes, findings = _notes(_project(tmp_path, {name: text}))
    assert f"{name}: too complex to analyse in 0.05 s; skipped" in notes
    assert COMPOSE_FINDING in findings  # the run went on


def test_small_files_are_within_the_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extract, "WORK_BUDGET_SECONDS", 5.0)
    notes, findings = _notes(_project(tmp_path, {"app.js": _use_chain(5), "deep.py": _nested_python(3, 2)}))
    assert not any("too complex" in note for note in notes)
    assert COMPOSE_FINDING in findings


def _doubling_routers(levels: int) -> str:
    """Each router includes the next one twice: 2**levels routes once expanded."""
    lines = ["from fastapi import APIRouter, FastAPI", "", "app = FastAPI()"]
    lines += [f"r{i} = APIRouter()" for i in range(levels)]
    lines += ["", f"@r{levels - 1}.get('/leaf')", "def leaf():", "    return 1", ""]
    for i in range(levels - 1):
        lines += [f"r{i}.include_router(r{i + 1}, prefix='/a')", f"r{i}.include_router(r{i + 1}, prefix='/b')"]
    lines.append("app.include_router(r0)")
    return "\n".join(lines) + "\n"


def test_routers_mounted_twice_per_level_are_bounded(tmp_path: Path) -> None:
    notes, findings = _notes(_project(tmp_path, {"main.py": _doubling_routers(24)}))
    assert notes == ["main.py: routes: application app reaches its routers more than 20000 times over "
                     "(routers mounted repeatedly at each level); the routes past that were not checked"]
    assert COMPOSE_FINDING in findings


def test_routers_mounted_twice_within_the_bound_are_all_walked(tmp_path: Path) -> None:
    notes, _ = _notes(_project(tmp_path, {"main.py": _doubling_routers(6)}))
    assert not any("times over" in note for note in notes)
