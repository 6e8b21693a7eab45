"""The pre-commit hook, through a real `pre-commit try-repo` run in a scratch repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.email=ci@example.com", "-c", "user.name=ci", *args],
                   check=True, capture_output=True)


def test_hook_fails_on_a_planted_finding_and_passes_after_the_fix(tmp_path: Path) -> None:
    # try-repo installs the hook from a commit: copy the checkout, with its uncommitted work, into one.
    source = tmp_path / "prodlint"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv", "venv", "*.egg-info", "__pycache__", ".prodlint_cache", ".pytest_cache", "tests"))
    git(source, "init", "-q")
    git(source, "add", ".")
    git(source, "commit", "-qm", "prodlint")

    project = tmp_path / "service"
    project.mkdir()
    git(project, "init", "-q")
    compose = project / "docker-compose.yml"
    compose.write_text("services:\n  db:\n    image: postgres:16\n    ports: [\"5432:5432\"]\n    mem_limit: 1g\n    cpus: 2\n")
    git(project, "add", ".")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "NO_COLOR": "1"}
    env.pop("PRODLINT_DEBUG", None)

    def try_repo() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(source), "prodlint", "--all-files"], cwd=project,
                              capture_output=True, text=True, env=env, timeout=480)

    failing = try_repo()
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "docker-compose.yml:4:" in failing.stdout and "DC002" in failing.stdout

    compose.write_text(compose.read_text().replace('"5432:5432"', '"127.0.0.1:5432:5432"'))
    git(project, "add", ".")
    passing = try_repo()
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "prodlint" in passing.stdout and "Passed" in passing.stdout
