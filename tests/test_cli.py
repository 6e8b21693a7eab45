"""The command line as a new user and a hostile input meet it: usage errors exit 2 with a sentence, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES
from prodlint import cli, engine

ROOT = Path(__file__).resolve().parents[1]


def prodlint(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "NO_COLOR": "1", **(env or {})}
    environment.pop("PRODLINT_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "prodlint.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=environment, timeout=120, errors="replace")


def no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout, done.stderr


@pytest.fixture
def project(tmp_path: Path) -> Path:
    target = tmp_path / "app"
    shutil.copytree(FIXTURES / "engine" / "suppressions", target)
    return target


# --- usage errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "message"), [
    (("chekc",), "prodlint: `chekc` is neither a command (check, report, rules, rule) nor an existing path; did you mean `check`?\n"),
    (("reprot",), "prodlint: `reprot` is neither a command (check, report, rules, rule) nor an existing path; did you mean `report`?\n"),
    (("frobnicate",), "prodlint: `frobnicate` is neither a command (check, report, rules, rule) nor an existing path\n"),
    (("check", "does-not-exist/"), "prodlint: does-not-exist/: no such file or directory\n"),
    (("does-not-exist/",), "prodlint: does-not-exist/: no such file or directory\n"),
    (("check", "-"), "prodlint: reading from standard input is not supported; give files or directories\n"),
    (("rule", "no-such-rule"), "prodlint: unknown rule `no-such-rule`; `prodlint rules` lists them\n"),
])
def test_usage_errors_exit_2_with_a_message(project: Path, args: tuple[str, ...], message: str) -> None:
    done = prodlint(*args, cwd=project)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", message)


@pytest.mark.parametrize("target", ["missing/report.json", "."])
@pytest.mark.parametrize("flag", ["--output", "--write-baseline", "--sarif-output"])
def test_writing_where_no_file_can_be_is_a_usage_error(project: Path, flag: str, target: str) -> None:
    done = prodlint("check", ".", "--no-cache", flag, target, cwd=project)
    no_traceback(done)
    assert done.returncode == 2
    assert done.stderr.startswith(f"prodlint: cannot write {target}: ")


def test_odd_jobs_values_are_usage_errors(project: Path) -> None:
    for value in ("²", "1" * 5000, "-1"):
        done = prodlint("check", ".", "--jobs", value, cwd=project)
        no_traceback(done)
        assert done.returncode == 2 and "must be a number of processes from 0 to 9999" in done.stderr


# --- hostile configuration ------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "content", "message"), [
    ("pyproject.toml", "tool = 5\n[project]\nname = 'x'\n", None),
    ("prodlint.toml", "tool = 5\n", "prodlint.toml: unknown configuration key `tool`\n"),
    ("prodlint.toml", "a = " + "[" * 5000 + "]" * 5000 + "\n", "is nested too deeply to read\n"),
    ("prodlint.toml", "max-file-bytes = 99999999999999999999\n", "`max-file-bytes` must be at most 1073741824\n"),
    ("prodlint.toml", "max-file-bytes = 1e400\n", "`max-file-bytes` must be a positive integer"),
])
def test_odd_configuration_is_a_message(project: Path, name: str, content: str, message: str | None) -> None:
    (project / name).write_text(content)
    done = prodlint("check", ".", "--no-cache", cwd=project)
    no_traceback(done)
    if message is None:
        assert done.returncode == 1 and "Found 4 findings" in done.stdout
    else:
        assert done.returncode == 2 and message in done.stderr


def test_config_that_is_not_a_regular_file(project: Path) -> None:
    for special in ("/dev/zero", "/dev/null", str(project)):
        done = prodlint("check", ".", "--no-cache", "--config", special, cwd=project)
        no_traceback(done)
        assert (done.returncode, done.stderr) == (2, f"prodlint: configuration error: cannot read {special}: not a regular file\n") \
            or (special == str(project) and done.returncode == 2 and "cannot read" in done.stderr)


# --- hostile trees --------------------------------------------------------------------------------


def test_gitignore_lines_git_accepts_but_pathspec_does_not(project: Path) -> None:
    (project / ".gitignore").write_text("build\\\n!\n[z-a]\nscratch/\n")
    (project / "prodlint.toml").write_text('exclude = ["[z-a]", "!", "legacy\\\\"]\n')
    (project / "scratch").mkdir()
    (project / "scratch" / "docker-compose.yml").write_text("services:\n  x:\n    image: y\n")
    done = prodlint("check", ".", "--no-cache", cwd=project)
    no_traceback(done)
    assert done.returncode == 1 and "Found 4 findings" in done.stdout and "scratch" not in done.stdout


def test_gitignore_that_is_a_fifo_or_a_device_never_blocks(project: Path) -> None:
    os.mkfifo(project / ".gitignore")
    (project / "sub").mkdir()
    (project / "sub" / ".gitignore").symlink_to("/dev/zero")
    done = prodlint("check", ".", "--no-cache", cwd=project)
    no_traceback(done)
    assert done.returncode == 1 and "Found 4 findings" in done.stdout


def test_non_utf8_file_names(project: Path) -> None:
    name = os.fsdecode(b"caf\xe9-compose")
    (project / name).mkdir()
    (project / name / "docker-compose.yml").write_text("services:\n  api:\n    image: shop/api\n")
    for fmt in ("text", "json", "sarif", "github"):
        done = prodlint("check", ".", "--format", fmt, cwd=project)  # with the cache: its key encodes the name
        no_traceback(done)
        assert done.returncode == 1, (fmt, done.stderr)
    text = prodlint("check", ".", cwd=project).stdout
    assert "caf\\xe9-compose/docker-compose.yml:2:3 warning DC001" in text
    sarif = json.loads(prodlint("check", ".", "--format", "sarif", cwd=project).stdout)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]}
    assert "caf%E9-compose/docker-compose.yml" in uris


def test_directories_a_thousand_deep(project: Path) -> None:
    deep = project
    for _ in range(600):
        deep = deep / "d"
    deep.mkdir(parents=True)
    (deep / "docker-compose.yml").write_text("services:\n  api:\n    image: shop/api\n")
    done = prodlint("check", ".", "--no-cache", "--format", "json", cwd=project)
    no_traceback(done)
    paths = {f["path"] for f in json.loads(done.stdout)["findings"]}
    assert "d/" * 600 + "docker-compose.yml" in paths


def test_symlinked_paths_behave_like_their_targets(project: Path, tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to(project, target_is_directory=True)
    (tmp_path / "compose-link.yml").symlink_to(project / "docker-compose.yml")
    real = prodlint("check", str(project), "--no-cache", cwd=tmp_path)
    linked = prodlint("check", "link", "--no-cache", cwd=tmp_path)
    no_traceback(linked)
    assert (linked.returncode, linked.stdout.replace("link/", "app/")) == (real.returncode, real.stdout)
    single = prodlint("check", "compose-link.yml", "--no-cache", cwd=tmp_path)
    no_traceback(single)
    assert single.returncode == 1


def test_ignored_unreadable_directory_is_never_probed(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / ".gitignore").write_text("secret/\n")
    (project / "secret").mkdir()
    real_exists = Path.exists

    def exists(self: Path, *args, **kwargs) -> bool:
        if "secret" in self.parts:
            raise PermissionError(13, "Permission denied")  # as for any user but root
        return real_exists(self, *args, **kwargs)

    monkeypatch.setattr(Path, "exists", exists)
    from conftest import lint_project

    assert [n.message for n in lint_project(project).notifications] == []


def test_nginx_nested_too_deep_to_send_between_processes(project: Path) -> None:
    (project / "nginx").mkdir()
    body = "location /a { " * 250 + "return 200; " + "} " * 250
    (project / "nginx" / "nginx.conf").write_text(f"events {{}}\nhttp {{ server {{ listen 80; {body} }} }}\n")
    (project / "nginx" / "other.conf").write_text("server { listen 81; location / { return 200; } }\n")
    one = prodlint("check", ".", "--no-cache", "--jobs", "1", "--format", "json", cwd=project)
    two = prodlint("check", ".", "--no-cache", "--jobs", "2", "--format", "json", cwd=project)
    no_traceback(two)
    assert two.returncode in (0, 1) and two.stdout == one.stdout


def test_a_worker_killed_mid_run_is_survived(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parent = os.getpid()
    real = engine.extract_chunk

    def killed(tasks):
        if os.getpid() != parent:
            os._exit(9)  # as the OOM killer does
        return real(tasks)

    monkeypatch.setattr(engine, "extract_chunk", killed)
    from conftest import finding_lines, lint_project

    expected = finding_lines(lint_project(project))
    analysis = engine.analyse([project], lint_project(project).config, engine.Options(jobs=2, use_cache=False), project)
    assert finding_lines(analysis) == expected


def test_internal_error_is_a_sentence_and_exit_2(project: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    def broken(*args, **kwargs):
        raise ValueError("something prodlint did not expect")

    monkeypatch.setattr(cli, "analyse", broken)
    monkeypatch.delenv("PRODLINT_DEBUG")
    assert cli.main(["check", str(project)]) == 2
    assert capsys.readouterr().err == ("prodlint: internal error: ValueError: something prodlint did not expect; "
                                       "please report it (PRODLINT_DEBUG=1 shows the traceback)\n")
    monkeypatch.setenv("PRODLINT_DEBUG", "1")
    with pytest.raises(ValueError):
        cli.main(["check", str(project)])


def test_a_reader_that_stops_early_is_no_error(tmp_path: Path) -> None:
    for number in range(800):  # more output than a pipe holds, so the write after `head` left fails
        (tmp_path / f"module_with_a_rather_long_name_to_fill_the_pipe_{number:04}.py").write_text("x = 1\n")
    done = subprocess.run(f"{sys.executable} -m prodlint.cli check --no-cache --jobs 1 --show-files | head -1",
                          shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.stderr == ""
    assert len(done.stdout.splitlines()) == 1
