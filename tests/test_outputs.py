"""Reporters: SARIF validates against the official schema; text, json and github carry the same findings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import SARIF_SCHEMA, standalone
from prodlint.report import Report
from prodlint.report import github
from prodlint.rules import metadata
from prodlint.ruledocs import rule_table, with_table

ROOT = Path(__file__).resolve().parents[1]


def check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "prodlint.cli", "check", *args], capture_output=True, text=True,
                          env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"}, timeout=120)


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads(SARIF_SCHEMA.read_text())


@pytest.mark.parametrize("project", ["examples", "fixtures/engine/suppressions", "fixtures/engine/bad_input"])
def test_sarif_is_valid(project: str, schema: dict, tmp_path: Path) -> None:
    path = standalone(project.removeprefix("fixtures/"), tmp_path)
    document = json.loads(check(str(path), "--no-cache", "--format", "sarif").stdout)
    jsonschema.validate(document, schema)
    run = document["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert "primaryLocationLineHash" not in result["partialFingerprints"]
        assert set(result["partialFingerprints"]) == {"prodlint/v1"}
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].startswith("file:///")


def test_sarif_carries_rule_metadata_and_suppressions(schema: dict, tmp_path: Path) -> None:
    document = json.loads(check(str(standalone("engine/suppressions", tmp_path)), "--no-cache", "--format", "sarif").stdout)
    run = document["runs"][0]
    dc001 = next(rule for rule in run["tool"]["driver"]["rules"] if rule["id"] == "DC001")
    assert dc001["name"] == "missing-resource-limits"
    assert dc001["defaultConfiguration"] == {"level": "warning"}
    assert {"shortDescription", "fullDescription", "help", "helpUri", "properties"} <= set(dc001)
    assert "Bad:" in dc001["help"]["markdown"]
    suppressed = [(r["locations"][0]["physicalLocation"]["region"]["startLine"], r["suppressions"]) for r in run["results"] if "suppressions" in r]
    assert suppressed == [
        (3, [{"kind": "inSource", "justification": "limits are set by the platform"}]),
        (18, [{"kind": "inSource"}]),
    ]


def test_json_and_text_agree(tmp_path: Path) -> None:
    project = str(standalone("engine/suppressions", tmp_path))
    data = json.loads(check(project, "--no-cache", "--format", "json").stdout)
    text = check(project, "--no-cache").stdout
    for finding in data["findings"]:
        assert f"{finding['path'].split('/')[-1]}:{finding['line']}:{finding['column']} {finding['severity']} {finding['code']} {finding['name']} {finding['message']}" in text
    assert data["summary"]["findings"] == len(data["findings"]) == 4
    assert text.splitlines()[-1].startswith("Found 4 findings (4 warnings) in 2 files. (2 suppressed inline;")


def test_github_annotations_escape_their_fields(lint) -> None:
    analysis = lint("engine/suppressions", select="DC001")
    lines = []

    class Sink:
        def write(self, text: str) -> None:
            lines.append(text)

    github.render(Report(analysis, analysis.reported, prefix="deploy/"), Sink())
    first = "".join(lines).splitlines()[0]
    assert first.startswith("::warning file=deploy/docker-compose.yml,line=10,col=3,")
    assert "title=DC001 missing-resource-limits::service \"worker\" has no memory limit" in first
    assert github._property("a,b:c%") == "a%2Cb%3Ac%25"
    assert github._data("two\nlines") == "two%0Alines"


def test_readme_rule_table_is_current() -> None:
    readme = (ROOT / "README.md").read_text()
    assert with_table(readme) == readme, "run: python -m prodlint.ruledocs README.md"
    assert all(f"| {code} |" in rule_table() for code in metadata())


def test_every_rule_has_a_function_and_complete_metadata() -> None:
    from prodlint.rules import functions

    codes = {code for code, rule in metadata().items() if rule.kind == "rule"}
    engine_rules = {"PL002", "PL003", "PL004"}
    assert set(functions()) | engine_rules == codes
    for rule in metadata().values():
        assert rule.severity in ("error", "warning", "note")
        assert rule.references and all(url.startswith("https://") for url in rule.references)
        assert rule.name == rule.name.lower() and " " not in rule.name


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    command = next(line for line in readme.splitlines() if 'pip install -e ".[test]"' in line)
    assert command in (ROOT / ".ci" / "run").read_text()


def test_analysed_text_cannot_inject_commands_or_escapes(tmp_path: Path) -> None:
    # A service name that tries to start a workflow command on its own line, and a file name
    # that carries a terminal escape and a bidi override.
    (tmp_path / "docker-compose.yml").write_text(
        'services:\n  "db\\n::error file=x,line=1::FAKE\\u001b[2J":\n    image: postgres:16\n    ports: ["5432:5432"]\n')
    (tmp_path / "evil\x1b[31m\u202e").mkdir()
    (tmp_path / "evil\x1b[31m\u202e" / "docker-compose.yml").write_text("services:\n  api:\n    image: shop/api\n")
    text = check(str(tmp_path), "--no-cache", "--select", "DC").stdout
    annotations = check(str(tmp_path), "--no-cache", "--select", "DC", "--format", "github").stdout
    for output in (text, annotations):
        assert "\x1b" not in output and "\u202e" not in output
        assert "FAKE" in output
    assert not [line for line in text.splitlines() if line.startswith("::")]
    # One command per finding (DC001 twice, DC002 once), none smuggled in by the service name.
    assert [line.split(" ", 1)[0] for line in annotations.splitlines() if line.startswith("::")] == ["::warning", "::error", "::warning"]
    assert 'service "db\\n::error file=x,line=1::FAKE\\x1b[2J" has no memory limit' in text
    assert "evil\\x1b[31m\\u202e/docker-compose.yml:2:3 warning DC001" in text
    assert "file=evil\\x1b[31m\\u202e/docker-compose.yml,line=2" in annotations


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")) | st.just("\t")),
                          st.sampled_from(["", "bold", "dim"])), max_size=4))
def test_plain_text_lines_are_what_rich_writes(parts):
    # Without colour the text report writes lines itself; they must be rich's, byte for byte.
    import io

    from rich.console import Console
    from rich.text import Text

    from prodlint.report.text import _Lines

    ours, theirs = io.StringIO(), io.StringIO()
    _Lines(ours, color=False).line(*parts)
    line = Text()
    for text, style in parts:
        line.append(text, style=style)
    Console(file=theirs, force_terminal=False, no_color=True, highlight=False, soft_wrap=True, emoji=False,
            markup=False, width=10_000).print(line)
    assert ours.getvalue() == theirs.getvalue()
