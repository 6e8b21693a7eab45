"""The engine end to end: bad input, suppressions, configuration, cache, determinism, exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, finding_lines, lint_project, standalone
from prodlint import cli
from prodlint.cache import CACHE_DIR
from prodlint.config import Config, ConfigError, from_table
from prodlint.suppress import scan


def prodlint(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real command line, in a fresh process, as a user runs it."""
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("PRODLINT_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "prodlint.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120)


@pytest.fixture
def bad_input(tmp_path: Path) -> Path:
    """The bad-input fixture plus what git cannot store: an unreadable file and a symlink loop."""
    project = tmp_path / "bad_input"
    shutil.copytree(FIXTURES / "engine" / "bad_input", project)
    locked = project / "locked.py"
    locked.write_text("SECRET = 1\n")
    locked.chmod(0)
    (project / "loop").symlink_to("loop")
    (project / "app" / "parent").symlink_to("..", target_is_directory=True)
    (project / "fifo.py").unlink(missing_ok=True)
    os.mkfifo(project / "fifo.py")
    return project


def test_bad_input_is_reported_and_the_rest_analysed(bad_input: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if os.geteuid() == 0:
        # root reads any file: make the locked file fail as it does for every other user.
        from prodlint import engine

        real = engine.read_within

        def read_within(path: Path, limit: int) -> tuple[int, bytes | None]:
            if path.name == "locked.py":
                raise PermissionError(13, "Permission denied")
            return real(path, limit)

        monkeypatch.setattr(engine, "read_within", read_within)
    analysis = lint_project(bad_input)
    notes = [f"{n.path}:{n.line or ''} {n.message}" for n in analysis.notifications]
    assert notes == [
        "app/parent: symlink loop; not followed",
        "binary.py: binary file (contains NUL bytes); skipped",
        "bomb/docker-compose.yml:1 YAML alias expansion exceeds 100000 nodes (possible alias bomb); skipped",
        "broken/docker-compose.yml:4 invalid YAML: did not find expected key; skipped",
        "fifo.py: not a regular file; skipped",
        "huge.py: file is 8003 bytes, over max-file-bytes (4096); skipped",
        "latin1.py:1 not valid UTF-8 (byte 0xe9 at offset 11); skipped",
        "locked.py: cannot read: Permission denied",
        "loop: symlink loop; not followed",
        "syntax_error.py:1 Python syntax error: '(' was never closed",
    ]
    assert finding_lines(analysis) == [
        'app/docker-compose.yml:2:3 DC001 service "api" has no memory limit and no CPU limit; '
        "set deploy.resources.limits.memory and deploy.resources.limits.cpus",
    ]


def test_bad_input_on_the_command_line_has_no_traceback(bad_input: Path) -> None:
    done = prodlint("check", str(bad_input), "--no-cache")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "warning: PL001 " in done.stdout and "binary.py: binary file (contains NUL bytes); skipped" in done.stdout
    sarif = json.loads(prodlint("check", str(bad_input), "--no-cache", "--format", "sarif").stdout)
    messages = [n["message"]["text"] for n in sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]]
    assert "latin1.py: not valid UTF-8 (byte 0xe9 at offset 11); skipped" in messages
    assert all(n["descriptor"]["id"] == "PL001" for n in sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"])


def test_alias_bomb_uses_bounded_memory(tmp_path: Path) -> None:
    project = tmp_path / "bomb"
    shutil.copytree(FIXTURES / "engine" / "bad_input" / "bomb", project)
    limit = "import resource; resource.setrlimit(resource.RLIMIT_AS, (1536 * 2**20, 1536 * 2**20)); "
    code = limit + "import sys; from prodlint.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run([sys.executable, "-c", code, "check", str(project), "--no-cache", "--jobs", "1"],
                          capture_output=True, text=True, timeout=60)
    assert "possible alias bomb" in done.stdout
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stdout


# --- suppressions -----------------------------------------------------------------------------


def test_suppression_comment_syntaxes() -> None:
    text = "\n".join([
        "# prodlint: ignore[DC001] -- limits come from the platform",
        "// prodlint: ignore[TN001, TN002] -- plans are global",
        "-- prodlint: ignore[IX001]",
        "x = 1  # prodlint: ignore[sv001] reason without dashes",
        "# prodlint: ignore-file[NX002] -- internal admin server",
        "# prodlint: ignore -- no codes, no blanket ignore",
    ])
    found = [(s.codes, s.reason, s.at.line, s.whole_file) for s in scan("f", text)]
    assert found == [
        (("DC001",), "limits come from the platform", 1, False),
        (("TN001", "TN002"), "plans are global", 2, False),
        (("IX001",), None, 3, False),
        (("SV001",), "reason without dashes", 4, False),
        (("NX002",), "internal admin server", 5, True),
        ((), None, 6, False),  # no codes: malformed, reported as PL004
    ]


def test_suppressions_on_findings(run) -> None:
    assert run("engine/suppressions") == [
        "docker-compose.yml:10:3 DC001 service \"worker\" has no memory limit and no CPU limit; "
        "set deploy.resources.limits.memory and deploy.resources.limits.cpus",
        "docker-compose.yml:12:3 PL002 suppression of DC002 matched no finding; remove it",
        "docker-compose.yml:17:3 PL003 suppression of DC001 gives no reason; add `-- reason`",
        "worker.py:1:1 PL002 suppression of XX999 matched no finding (XX999 is not a prodlint rule); remove it",
    ]


def test_suppressed_findings_are_kept_with_their_reason(lint) -> None:
    analysis = lint("engine/suppressions", select="DC001")
    suppressed = [(r.at.line, r.suppression.reason) for r in analysis.results if r.suppression]
    assert suppressed == [(3, "limits are set by the platform"), (18, None)]


# --- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize(("table", "message"), [
    ({"selct": ["RT"]}, "unknown configuration key `selct`"),
    ({"tenant": {"key": ["orgId"]}}, "unknown configuration key `tenant.key`"),
    ({"tenant": {"keys": "orgId"}}, "`tenant.keys` must be a list of strings"),
    ({"capacity": {"concurrent-requests": 0}}, "`capacity.concurrent-requests` must be a positive integer"),
    ({"severity": {"DC001": "fatal"}}, "`severity.DC001` must be one of error, warning, note, not 'fatal'"),
    ({"routes": ["x"]}, "`routes` must be a table"),
])
def test_invalid_configuration_names_the_key(table: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=f"^{message.replace('(', '.').replace(')', '.').replace('[', '.')}$"):
        from_table(table)


def test_configuration_extends_recognisers_and_replaces_identities() -> None:
    config = from_table({"tenant": {"keys": ["orgId"]}, "routes": {"guards": ["mustBeStaff"]}})
    assert config.tenant_keys == ("orgId",)
    assert config.route_guards[-1] == "mustBeStaff" and "authGuard" in config.route_guards


def test_unknown_rule_code_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "prodlint.toml").write_text('select = ["DC", "ZZ9"]\n')
    done = prodlint("check", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr == "prodlint: configuration error: `select` names unknown rule `ZZ9`\n"
    done = prodlint("check", str(FIXTURES / "engine" / "suppressions"), "--ignore", "DC009")
    assert (done.returncode, done.stderr) == (2, "prodlint: configuration error: `--ignore` names unknown rule `DC009`\n")


def test_pyproject_configuration_is_found(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.prodlint]\nunknown = 1\n')
    done = prodlint("check", str(tmp_path))
    assert (done.returncode, done.stderr) == (2, f"prodlint: configuration error: {tmp_path / 'pyproject.toml'}: unknown configuration key `unknown`\n")


# --- exit codes and selection -----------------------------------------------------------------


def test_exit_codes_follow_fail_on(tmp_path: Path) -> None:
    project = str(standalone("engine/suppressions", tmp_path))
    assert prodlint("check", project, "--no-cache").returncode == 1
    assert prodlint("check", project, "--no-cache", "--fail-on", "error").returncode == 0
    assert prodlint("check", project, "--no-cache", "--select", "DC002").returncode == 0
    assert prodlint("check", project, "--no-cache", "--format", "nope").returncode == 2


def test_statistics_and_output_file(tmp_path: Path) -> None:
    out = tmp_path / "report.txt"
    done = prodlint("check", str(standalone("engine/suppressions", tmp_path)), "--no-cache", "--statistics", "--output", str(out))
    assert done.stdout == ""
    assert out.read_text().splitlines()[:3] == [
        "     2  PL002  unused-suppression",
        "     1  DC001  missing-resource-limits",
        "     1  PL003  suppression-without-reason",
    ]


def test_rule_commands() -> None:
    listing = prodlint("rules").stdout.splitlines()
    assert any(line.startswith("DC001  missing-resource-limits") for line in listing)
    explained = prodlint("rule", "dc001")
    assert explained.returncode == 0 and explained.stdout.startswith("DC001 missing-resource-limits (warning)\n")
    assert prodlint("rule", "XX001").returncode == 2


# --- cache, parallelism, determinism -------------------------------------------------------------


def _outputs(project: Path, *extra: str) -> list[str]:
    return [prodlint("check", str(project), "--format", fmt, *extra).stdout for fmt in ("text", "json", "sarif")]


def test_output_is_identical_across_jobs_and_cache(tmp_path: Path) -> None:
    project = tmp_path / "examples"
    # A cache left in examples/ by the README's first Quickstart command must not leak in.
    shutil.copytree(Path(__file__).resolve().parents[1] / "examples", project, ignore=shutil.ignore_patterns(CACHE_DIR))
    baseline = _outputs(project, "--no-cache", "--jobs", "1")
    assert not (project / CACHE_DIR).exists()
    assert _outputs(project, "--no-cache", "--jobs", "2") == baseline
    assert _outputs(project, "--jobs", "2") == baseline  # cold cache
    entries = list((project / CACHE_DIR).rglob("*"))
    assert any(entry.is_file() and entry.parent.name != CACHE_DIR for entry in entries)
    assert _outputs(project, "--jobs", "1") == baseline  # warm cache
    for entry in (project / CACHE_DIR).rglob("*.json"):
        entry.write_bytes(b"not a cache")
    assert _outputs(project, "--jobs", "2") == baseline  # corrupt cache is discarded


def test_cache_is_keyed_by_content(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text("services:\n  api:\n    image: shop/api\n    mem_limit: 256m\n    cpus: 1\n")
    assert prodlint("check", str(tmp_path), "--select", "DC001").returncode == 0
    (tmp_path / "docker-compose.yml").write_text("services:\n  api:\n    image: shop/api\n")
    done = prodlint("check", str(tmp_path), "--select", "DC001")
    assert done.returncode == 1 and 'service "api" has no memory limit' in done.stdout


# --- baselines and diffs ------------------------------------------------------------------------


def test_baseline_survives_lines_inserted_above(tmp_path: Path) -> None:
    project = tmp_path / "app"
    shutil.copytree(FIXTURES / "engine" / "suppressions", project)
    baseline_file = tmp_path / "baseline.json"
    assert prodlint("check", str(project), "--no-cache", "--write-baseline", str(baseline_file)).returncode == 0
    compose = project / "docker-compose.yml"
    compose.write_text("# deployment of the shop\n# owned by the platform team\n" + compose.read_text())
    done = prodlint("check", str(project), "--no-cache", "--baseline", str(baseline_file))
    assert done.returncode == 0, done.stdout
    assert "No findings. (2 suppressed inline; 4 in the baseline;" in done.stdout
    compose.write_text(compose.read_text() + "  queue:\n    image: redis:7\n    ports: [\"6379:6379\"]\n")
    done = prodlint("check", str(project), "--no-cache", "--baseline", str(baseline_file), "--format", "json")
    new = [(f["code"], f["line"]) for f in json.loads(done.stdout)["findings"]]
    assert (done.returncode, new) == (1, [("DC001", 23), ("DC002", 25)])
    compose.write_text(compose.read_text().replace("  worker:\n", "  worker:\n    mem_limit: 1g\n    cpus: 2\n", 1))
    done = prodlint("check", str(project), "--no-cache", "--baseline", str(baseline_file))
    assert "1 baseline entries no longer match a finding; run with --update-baseline" in done.stdout


def test_diff_base_reports_only_changed_lines(tmp_path: Path) -> None:
    project = tmp_path / "app"
    shutil.copytree(FIXTURES / "engine" / "suppressions", project)
    git = ["git", "-C", str(project), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "start"], check=True)
    compose = project / "docker-compose.yml"
    compose.write_text(compose.read_text() + "  queue:\n    image: redis:7\n    ports: [\"6379:6379\"]\n")
    done = prodlint("check", str(project), "--no-cache", "--diff-base", "HEAD", "--format", "json")
    assert [(f["code"], f["line"]) for f in json.loads(done.stdout)["findings"]] == [("DC001", 21), ("DC002", 23)]


def test_config_digest_changes_with_settings() -> None:
    assert Config().digest() != from_table({"tenant": {"keys": ["orgId"]}}).digest()


def test_cli_main_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["rule", "PL003"]) == 0
    assert capsys.readouterr().out.startswith("PL003 suppression-without-reason (warning)")


def test_discovery_honours_gitignore_exclude_and_skipped_directories(tmp_path: Path) -> None:
    from prodlint.config import load
    from prodlint.discover import discover

    root = tmp_path / "discovery"
    shutil.copytree(FIXTURES / "engine" / "discovery", root)
    # Files the fixture's own .gitignore keeps out of prodlint's repository, too.
    for ignored in ("generated/models.py", "sub/cache/x.py", "src/api/scratch.local.py", "dist/server.js"):
        (root / ignored).parent.mkdir(parents=True, exist_ok=True)
        (root / ignored).write_text("x = 1\n")
    found = [(c.path, c.kind) for c in discover([root], load(root)).candidates]
    assert found == [
        ("pyproject.toml", "platform"),  # read for [project.scripts] entrypoints
        ("src/api/keep.local.py", "python"),
        ("src/api/orders.py", "python"),
        ("src/app.ts", "typescript"),
        ("sub/app.py", "python"),
    ]


def test_every_kind_has_its_extractor_and_a_warm_run_loads_no_parser(tmp_path: Path) -> None:
    # Discovery classifies by path alone (prodlint.kinds); each kind's module registers the reader.
    from prodlint.extract import extractors
    from prodlint.extract.platform import _READERS
    from prodlint.kinds import BY_NAME, PLATFORM_FILES

    assert sorted(extractors()) == sorted(BY_NAME)
    assert sorted(_READERS) == sorted(PLATFORM_FILES)
    # A run answered by the whole-run cache imports neither a parser nor the fact classes.
    project = tmp_path / "app"
    project.mkdir()
    (project / "main.py").write_text("from fastapi import FastAPI\napp = FastAPI()\n")
    (project / "schema.sql").write_text("CREATE INDEX ix_a ON a (b);\n")
    probe = ("import sys; from prodlint.cli import main; main(['check', '.']); "
             "print(sorted(m for m in ('sqlglot', 'tree_sitter', 'crossplane', 'yaml', 'prodlint.facts.data', "
             "'prodlint.model.roles', 'prodlint.extract.python') if m in sys.modules))")
    subprocess.run([sys.executable, "-c", probe], cwd=project, capture_output=True, check=False)
    warm = subprocess.run([sys.executable, "-c", probe], cwd=project, capture_output=True, text=True, check=False)
    assert warm.stdout.splitlines()[-1] == "[]"


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 4097, 70_000])
def test_reading_stops_at_the_limit(tmp_path: Path, size: int) -> None:
    from prodlint.reading import read_regular, read_within

    target = tmp_path / "file.py"
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    target.write_bytes(data)
    assert read_within(target, 4096) == ((size, data) if size <= 4096 else (size, None))
    assert read_regular(target, 4096) == data[:4097]  # one byte over the limit says "too big"
    with pytest.raises(OSError):
        read_within(tmp_path, 4096)  # a folder is no regular file


def test_merged_typescript_queries_give_the_facts_of_separate_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    # Whole-file match and capture queries run merged, one pass per tree; split back by pattern
    # index or capture name they must be exactly what each query finds alone.
    from prodlint.config import Config
    from prodlint.extract import Source, extractor_for
    import prodlint.extract.typescript as typescript

    sources = sorted(p for p in FIXTURES.rglob("*") if p.suffix in (".ts", ".tsx", ".js") and p.is_file())
    assert len(sources) > 40
    extract = extractor_for("typescript").extract

    def facts() -> list[list[object]]:
        return [list(extract(Source(str(p.relative_to(FIXTURES)), p.read_text()), Config())) for p in sources]

    merged = facts()
    assert typescript._MERGED and typescript._MERGED_CAPTURES  # the merged queries did run
    dialects = {"typescript", "tsx", "javascript"}
    monkeypatch.setattr(typescript, "_UNMERGEABLE", dialects)
    monkeypatch.setattr(typescript, "_CAPTURES_UNMERGEABLE", dialects)
    assert facts() == merged


def test_capture_names_are_renamed_outside_strings_only() -> None:
    import prodlint.extract.typescript as typescript

    renamed = typescript._CAPTURE_NAME.sub(lambda m: m.group(0) if m.group(1) is None else f"@q_{m.group(1)}",
                                           '(pair key: (property_identifier) @key value: (string) @value) "@x" "a\\"@b"')
    assert renamed == '(pair key: (property_identifier) @q_key value: (string) @q_value) "@x" "a\\"@b"'


def test_only_a_run_asked_to_freezes_its_facts_out_of_garbage_collection(tmp_path: Path) -> None:
    import gc

    from prodlint.config import load
    from prodlint.engine import Options, analyse

    project = FIXTURES / "pagination" / "fastapi_app"
    assert gc.get_freeze_count() == 0
    analysis = analyse([project], load(project), Options(jobs=1, use_cache=False), project)
    assert analysis.results and gc.get_freeze_count() == 0  # a host that analyses again and again keeps no garbage
    try:
        frozen = analyse([project], load(project), Options(jobs=1, use_cache=False, freeze=True), project)  # the command line
        assert gc.get_freeze_count() > 1000 and frozen.results == analysis.results
    finally:
        gc.unfreeze()
