"""Shared test helpers: run prodlint on a fixture project and get its findings as lines."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from prodlint import config as configuration
from prodlint.engine import Analysis, Options, analyse

FIXTURES = Path(__file__).parent / "fixtures"
# The official OASIS schema, kept in the repository (tests/schemas/README.md says where it comes from).
SARIF_SCHEMA = Path(__file__).parent / "schemas" / "sarif-schema-2.1.0.json"

# Internal errors raise in tests instead of becoming notifications.
os.environ["PRODLINT_DEBUG"] = "1"


def standalone(name: str, tmp: Path) -> Path:
    """A copy of a fixture project outside prodlint's own tree, where it is its own project root.

    Inside the tree the root is prodlint's checkout, and a fixture under `tests/` is test code.
    """
    import shutil

    source = Path(__file__).resolve().parents[1] / name if name == "examples" else FIXTURES / name
    target = tmp / Path(name).name
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".prodlint_cache"))
    return target


def _codes(value: str | tuple[str, ...] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(c.strip() for c in value.split(",")) if isinstance(value, str) else tuple(value)


def lint_project(project: str | Path, select: str | tuple[str, ...] | None = None, **overrides: object) -> Analysis:
    root = project if isinstance(project, Path) else FIXTURES / project
    config = configuration.load(root)
    if overrides:
        config = dataclasses.replace(config, **overrides)
    return analyse([root], config, Options(jobs=1, use_cache=False, select=_codes(select)), root)


def finding_lines(analysis: Analysis) -> list[str]:
    return [f"{r.at.path}:{r.at.line}:{r.at.column} {r.code} {r.message}" for r in analysis.reported]


@pytest.fixture
def lint():
    """`lint("containers/compose_app", select="DC")` -> the whole Analysis."""
    return lint_project


@pytest.fixture
def run():
    """`run("containers/compose_app", select="DC")` -> ["path:line:col CODE message", ...]."""

    def run(project: str | Path, select: str | tuple[str, ...] | None = None, **overrides: object) -> list[str]:
        return finding_lines(lint_project(project, select, **overrides))

    return run


@pytest.fixture(autouse=True)
def _thaw_after_test():
    """The command line freezes its facts out of garbage collection (its process ends with the run);
    in the test process that would keep each test's cyclic garbage, so it is undone."""
    yield
    import gc

    if gc.get_freeze_count():
        gc.unfreeze()
