"""The command line on generated hostile input and everyday use: hangs, line splitting, the project root,
--diff-base across files, baseline semantics, configuration codes, parsers on valid code, flags and SARIF."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from conftest import SARIF_SCHEMA, standalone
from test_cli import no_traceback, prodlint


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _fastapi(root: Path, mount_users: bool = True, users_prefix: str = "", users_first: bool = False) -> Path:
    """A FastAPI app that mounts two routers from main.py; `users_prefix` goes above the users router."""
    mounts = ["app.include_router(items.router)\n"] + (["app.include_router(users.router)\n"] if mount_users else [])
    mounts = "".join(reversed(mounts) if users_first else mounts)
    return _write(root, {
        "app/__init__.py": "", "app/routers/__init__.py": "",
        "app/main.py": f"from fastapi import FastAPI\n\nfrom app.routers import items, users\n\napp = FastAPI()\n{mounts}",
        "app/routers/items.py": "from fastapi import APIRouter\n\nrouter = APIRouter()\n\n\n"
                                "@router.get(\"/items\")\ndef list_items():\n    return []\n",
        "app/routers/users.py": f"from fastapi import APIRouter\n{users_prefix}\nrouter = APIRouter()\n\n\n"
                                "@router.get(\"/users\")\ndef list_users():\n    return []\n",
    })


def _findings(done: subprocess.CompletedProcess[str]) -> list[tuple[str, str, int]]:
    no_traceback(done)
    return [(f["code"], f["path"], f["line"]) for f in json.loads(done.stdout)["findings"]]


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args], cwd=root, check=True,
                   capture_output=True)


# --- 6: no hang on long runs, many lines, deep nesting -------------------------------------------


@pytest.mark.parametrize(("name", "text"), [
    # Each took minutes (quadratic backtracking or copying) before; linear now.
    (".env", "DATABASE_URL=postgres://x" + " " * 200_000 + "y\nA=" + " " * 100_000 + "=\nB=x" + " " * 100_000 + "#c\n"),
    ("postgresql.conf", "max_connections = " + " " * 200_000 + "x\nshared_buffers" + " " * 200_000 + "\n"),
    ("Dockerfile", "FROM python:3.12\n" + "".join(f"ENV V{i}=x\n" for i in range(150_000)) + 'CMD ["gunicorn", "app:app"]\n'),
    ("migrations/001_big.sql", "CREATE TABLE t (id int, name text);\nINSERT INTO t VALUES "
     + ",".join(f"({i}, 'name {i}')" for i in range(110_000)) + ";\n"),
    ("docker-compose.yml", "services:\n  api:\n    image: shop/api\n    environment:\n      A: \""
     + "${A:-" * 5000 + "}" * 5000 + "\"\n"),
])
def test_long_and_repetitive_files_do_not_hang(tmp_path: Path, name: str, text: str) -> None:
    root = _write(tmp_path / "p", {name: text})
    done = prodlint("check", ".", "--no-cache", "--jobs", "1", cwd=root)  # the helper times out after 120 s
    no_traceback(done)
    assert done.returncode in (0, 1), done.stderr


def test_backtracking_glob_in_gitignore_exclude_and_per_file_ignores(tmp_path: Path) -> None:
    glob = "*a*a*a*a*a*a*a*a*a*a*a*b"
    root = _fastapi(tmp_path / "p", mount_users=False)
    deep = "/".join(["a" * 200] * 8)
    _write(root, {".gitignore": glob + "\n", f"{deep}/docker-compose.yml": "services:\n  x:\n    image: y\n",
                  "prodlint.toml": f'exclude = ["{glob}"]\nper-file-ignores = {{ "{glob}" = ["DC"] }}\n'})
    done = prodlint("check", ".", "--no-cache", "--format", "json", cwd=root)
    assert _findings(done) == [("RT001", "app/routers/users.py", 3), ("DC001", f"{deep}/docker-compose.yml", 2),
                               ("DC002", f"{deep}/docker-compose.yml", 2)] or sorted(_findings(done)) == sorted(
        [("RT001", "app/routers/users.py", 3), ("DC001", f"{deep}/docker-compose.yml", 2)])


# --- 7: form feed and U+2028 are not line breaks ---------------------------------------------------


def test_form_feed_and_line_separator_do_not_move_lines(tmp_path: Path) -> None:
    # Line 2 is a form feed, line 3 holds U+2028 in a comment, line 4 in a string: editors count 5 lines above.
    prefix = '\f\n# a comment\u2028with a separator\nLABEL = "\u2028"  # \f\n'
    root = _fastapi(tmp_path / "p", mount_users=False, users_prefix=prefix)
    done = prodlint("check", ".", "--no-cache", "--format", "json", cwd=root)
    [finding] = json.loads(done.stdout)["findings"]
    assert (finding["code"], finding["line"], finding["source_line"]) == ("RT001", 6, "router = APIRouter()")
    sarif = json.loads(prodlint("check", ".", "--no-cache", "--format", "sarif", cwd=root).stdout)
    region = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert region["startLine"] == 6
    # A suppression on line 5 (after the separators) covers line 6.
    users = root / "app" / "routers" / "users.py"
    users.write_text(users.read_text().replace("\nrouter = ", "# prodlint: ignore[RT001] -- mounted by a plugin\nrouter = ", 1))
    done = prodlint("check", ".", "--no-cache", "--format", "json", cwd=root)
    report = json.loads(done.stdout)
    assert (report["findings"], [(s["code"], s["line"]) for s in report["suppressed"]]) == ([], [("RT001", 6)])


def test_fingerprint_does_not_change_when_a_form_feed_is_added_elsewhere(tmp_path: Path) -> None:
    root = _fastapi(tmp_path / "p", mount_users=False, users_prefix="# one\n")
    before = json.loads(prodlint("check", ".", "--no-cache", "--format", "json", cwd=root).stdout)["findings"]
    users = root / "app" / "routers" / "users.py"
    users.write_text(users.read_text().replace("# one\n", "# one\f\u2028two\n"))
    after = json.loads(prodlint("check", ".", "--no-cache", "--format", "json", cwd=root).stdout)["findings"]
    assert [(f["line"], f["fingerprint"]) for f in after] == [(f["line"], f["fingerprint"]) for f in before]


# --- 8: the project root, `..`, symlinks, clean paths ---------------------------------------------


def _normalised(done: subprocess.CompletedProcess[str], cwd: Path) -> list[tuple[str, str, int, str]]:
    no_traceback(done)
    return [(f["code"], str((cwd / f["path"]).resolve()), f["line"], f["message"])
            for f in json.loads(done.stdout)["findings"]]


def test_running_inside_a_subfolder_finds_the_root_and_reports_only_that_folder(tmp_path: Path) -> None:
    examples = standalone("examples", tmp_path)
    _git(examples, "init", "-q", ".")
    from_root = prodlint("check", "app", "--no-cache", "--format", "json", cwd=examples)
    inside = prodlint("--no-cache", "--format", "json", cwd=examples / "app")
    dotdot = prodlint("check", "../../app", "--no-cache", "--format", "json", cwd=examples / "app" / "db")
    expected = _normalised(from_root, examples)
    assert expected and all(path.startswith(str((examples / "app").resolve())) for _, path, _, _ in expected)
    # Routers are mounted in app/main.py, a sibling: only the router nothing imports is unmounted.
    assert {path for code, path, _, _ in expected if code == "RT001"} == {str((examples / "app/api/reports.py").resolve())}
    assert _normalised(inside, examples / "app") == expected
    assert _normalised(dotdot, examples / "app" / "db") == expected
    paths = [f["path"] for f in json.loads(dotdot.stdout)["findings"]]
    assert "../api/admin.py" in paths and "models.py" in paths, paths
    assert all("/../" not in p and "/./" not in p and not p.startswith("./") for p in paths), paths
    assert all("/../" not in f["path"] for f in json.loads(inside.stdout)["findings"])
    # Text output reads the same, relative to where it runs.
    text = prodlint("--no-cache", cwd=examples / "app").stdout
    assert "api/admin.py:14:12 note IX003" in text and "app/api" not in text


def test_symlinked_folder_inside_the_project_reports_like_the_folder(tmp_path: Path) -> None:
    examples = standalone("examples", tmp_path)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "app-link").symlink_to(examples / "app", target_is_directory=True)
    real = prodlint("check", str(examples / "app"), "--no-cache", "--format", "json", cwd=tmp_path)
    linked = prodlint("check", "elsewhere/app-link", "--no-cache", "--format", "json", cwd=tmp_path)
    assert _normalised(linked, tmp_path) == _normalised(real, tmp_path)


# --- 9: --diff-base and related locations ---------------------------------------------------------


@pytest.mark.parametrize("users_first", [False, True])  # the deleted mount ends or starts the block
def test_removing_a_mount_reports_the_router_in_an_unchanged_file(tmp_path: Path, users_first: bool) -> None:
    root = _fastapi(tmp_path / "p", users_first=users_first)
    _git(root, "init", "-q", ".")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "routers")
    assert _findings(prodlint("check", ".", "--no-cache", "--format", "json", "--diff-base", "HEAD", cwd=root)) == []
    main = root / "app" / "main.py"
    main.write_text(main.read_text().replace("app.include_router(users.router)\n", ""))  # a pure deletion
    done = prodlint("check", ".", "--no-cache", "--format", "json", "--diff-base", "HEAD", cwd=root)
    assert _findings(done) == [("RT001", "app/routers/users.py", 3)]
    [finding] = json.loads(done.stdout)["findings"]
    assert [(r["path"], r["line"], r["message"]) for r in finding["related"]] == [
        ("app/main.py", 6, "1 other router is mounted here")]
    assert done.returncode == 1
    # An unrelated deletion elsewhere does not surface it.
    _git(root, "commit", "-qam", "drop the mount")
    items = root / "app" / "routers" / "items.py"
    items.write_text(items.read_text().replace("\n\n\n@router", "\n\n@router"))
    assert _findings(prodlint("check", ".", "--no-cache", "--format", "json", "--diff-base", "HEAD", cwd=root)) == []


# --- 10: the baseline only changes when asked ---------------------------------------------------


def _entries(path: Path) -> list[tuple[str, str]]:
    return [(e["code"], e["path"]) for e in json.loads(path.read_text())["findings"]]


def test_baseline_outside_the_selection_is_untouched_and_update_only_shrinks(tmp_path: Path) -> None:
    examples = standalone("examples", tmp_path)
    base = tmp_path / "baseline.json"
    assert prodlint("check", ".", "--no-cache", "--write-baseline", str(base), cwd=examples).returncode == 0
    everything = _entries(base)
    assert len(everything) > 5 and len({code for code, _ in everything}) > 3
    # A selected run neither calls the rest stale nor erases it.
    done = prodlint("check", ".", "--no-cache", "--select", "IX", "--baseline", str(base), cwd=examples)
    assert (done.returncode, "no longer match" in done.stdout) == (0, False), done.stdout
    done = prodlint("check", "app/api", "--no-cache", "--baseline", str(base), cwd=examples)
    assert (done.returncode, "no longer match" in done.stdout) == (0, False), done.stdout
    assert prodlint("check", ".", "--no-cache", "--select", "IX", "--write-baseline", str(base), cwd=examples).returncode == 0
    assert sorted(_entries(base)) == sorted(everything)
    assert prodlint("check", "app/api", "--no-cache", "--update-baseline", str(base), cwd=examples).returncode == 0
    assert sorted(_entries(base)) == sorted(everything)
    # --update-baseline never adds a new finding, and removes a fixed one.
    admin = examples / "app" / "api" / "admin.py"
    admin.write_text(admin.read_text().replace('Order.status == "stuck"', 'Order.id == 1'))
    compose = examples / "docker-compose.yml"
    compose.write_text(compose.read_text().replace("services:\n", "services:\n  extra:\n    image: redis:7\n", 1))
    done = prodlint("check", ".", "--no-cache", "--update-baseline", str(base), cwd=examples)
    assert done.returncode == 0 and "(0 added, 1 removed)" in done.stderr, done.stderr
    assert sorted(_entries(base)) == sorted(e for e in everything if e != ("IX003", "app/api/admin.py"))
    assert _findings(prodlint("check", ".", "--no-cache", "--baseline", str(base), "--format", "json", cwd=examples)) \
        == [("DC001", "docker-compose.yml", _line_of(compose, "  extra:"))]


def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().split("\n"), 1) if line == text)


def test_duplicate_inserted_above_a_baselined_line_is_the_new_one(tmp_path: Path) -> None:
    examples = standalone("examples", tmp_path)
    base = tmp_path / "baseline.json"
    assert prodlint("check", ".", "--no-cache", "--write-baseline", str(base), cwd=examples).returncode == 0
    customers = examples / "app" / "api" / "customers.py"
    text = customers.read_text()
    head, export = text.split('\n\n@router.get("/export")')
    assert [(c, line) for c, p, line in _findings(prodlint("check", ".", "--no-cache", "--format", "json", cwd=examples))
            if p == "app/api/customers.py"] == [("PG002", 13), ("RT004", 16), ("PG002", 18), ("TN001", 18)]
    # The export handler goes (nothing else in the file moves with the copy), and a copy of the list query
    # goes above the baselined one: the copy, on line 13, is new; the original, now on line 18, is not.
    copy = ('@router.get("/all")\ndef all_customers(db: Session = Depends(get_db), user: User = Depends(get_current_user)):\n'
            '    return db.query(Customer).filter(Customer.tenant_id == user.tenant_id).all()\n\n\n')
    customers.write_text(head.replace('@router.get("")', copy + '@router.get("")') + "\n")
    done = prodlint("check", ".", "--no-cache", "--baseline", str(base), "--format", "json", cwd=examples)
    assert _findings(done) == [("PG002", "app/api/customers.py", 13)]


# --- 11: codes and families mean the same everywhere ---------------------------------------------


def test_per_file_ignores_with_families_lowercase_and_repeated_flags(tmp_path: Path) -> None:
    examples = standalone("examples", tmp_path)
    full = _findings(prodlint("check", ".", "--no-cache", "--format", "json", cwd=examples))
    api = {c for c, p, _ in full if p.startswith("app/api/")}
    assert {"IX003", "PG002"} <= api
    pyproject = examples / "pyproject.toml"
    original = pyproject.read_text()
    pyproject.write_text(original + '\n[tool.prodlint.per-file-ignores]\n"app/api/**" = ["IX", "pg002"]\n')
    done = _findings(prodlint("check", ".", "--no-cache", "--format", "json", cwd=examples))
    assert done == [f for f in full if not (f[1].startswith("app/api/") and (f[0].startswith("IX") or f[0] == "PG002"))]
    pyproject.write_text(original)
    selected = _findings(prodlint("check", ".", "--no-cache", "--format", "json", "--select", "ix", "--select", "PG002",
                                  "--ignore", "ix001", "--ignore", "IX002", cwd=examples))
    assert selected == [f for f in full if f[0] in ("IX003", "PG002")] and selected
    bad = prodlint("check", ".", "--no-cache", "--select", "zz9", cwd=examples)
    assert bad.returncode == 2 and "ZZ9" in bad.stderr.upper() and not bad.stdout


# --- 13: parsers on valid code --------------------------------------------------------------------


def test_valid_tsx_tagged_templates_and_newer_python_syntax(tmp_path: Path) -> None:
    root = _write(tmp_path / "p", {
        "package.json": '{"name": "x", "scripts": {"start": "node dist/index.js"}}\n',
        "src/Title.tsx": "export function Title() {\n  return <h1>Doors & Windows, R&D &amp; more &</h1>;\n}\n",
        "src/db.ts": 'import { PrismaClient } from "@prisma/client";\nconst prisma = new PrismaClient();\n'
                     "type Row = { id: number };\nexport async function rows() {\n"
                     "  return prisma.$queryRaw<Row[]>`SELECT id FROM t`;\n}\n",
        "src/broken.tsx": "export const A = () => <div>{</div>;\n",
        "gen.py": "import os\n\n\nclass Box[T]:\n    def get[U](self, x: U) -> T | U: ...\n\n\ntype Alias = list[int]\n",
        "broken.py": "def f(:\n    pass\n",
        "handlers.py": "def f():\n    try:\n        pass\n    except KeyError, ValueError:\n        pass\n",
    })
    done = prodlint("check", ".", "--no-cache", "--format", "json", cwd=root)
    no_traceback(done)
    notes = [(n["path"], n["line"], n["message"]) for n in json.loads(done.stdout)["notifications"]]
    expected = [("broken.py", 1, "Python syntax error: invalid syntax")]
    if sys.version_info < (3, 12):
        running = f"{sys.version_info[0]}.{sys.version_info[1]}"
        expected.append(("gen.py", 4, f"needs a newer Python (running {running}); run prodlint under 3.12+, "
                                      "e.g. pre-commit language_version / uvx --python 3.12"))
    if sys.version_info < (3, 14):  # PEP 758
        running = f"{sys.version_info[0]}.{sys.version_info[1]}"
        expected.append(("handlers.py", 4, f"needs a newer Python (running {running}); run prodlint under 3.14+, "
                                           "e.g. pre-commit language_version / uvx --python 3.14"))
    expected.append(("src/broken.tsx", 1, "syntax error at line 1; the rest of the file was analysed"))
    assert notes == expected


# --- 15: severity words and flags -----------------------------------------------------------------


def test_text_says_the_severity_and_flags_work(tmp_path: Path) -> None:
    examples = standalone("examples", tmp_path)
    done = prodlint("check", ".", "--no-cache", "--color", "never", cwd=examples)
    assert done.returncode == 1 and "\x1b[" not in done.stdout
    assert "app/api/admin.py:14:12 note IX003" in done.stdout and " error RT" in done.stdout
    coloured = prodlint("check", ".", "--no-cache", "--color", "always", cwd=examples).stdout
    plain = re.sub(r"\x1b\[[0-9;]*m", "", coloured)
    assert "\x1b[" in coloured and "app/api/admin.py:14:12 note IX003" in plain  # the word stays with colour
    assert prodlint("check", ".", "--no-cache", "--exit-zero", cwd=examples).returncode == 0
    quiet = prodlint("check", ".", "--no-cache", "-q", cwd=examples)
    assert quiet.returncode == 1 and "Found" not in quiet.stdout and quiet.stderr == ""
    version = prodlint("--version")
    assert version.returncode == 0 and version.stdout.startswith("prodlint ")
    settings = json.loads(prodlint("check", ".", "--show-settings", "--select", "ix", cwd=examples).stdout)
    assert settings["config-file"].endswith("pyproject.toml") and settings["rules-enabled"] == ["IX001", "IX002", "IX003"]
    sarif, text = tmp_path / "out.sarif", tmp_path / "out.txt"
    both = prodlint("check", ".", "--no-cache", "--format", "json", "--sarif-output", str(sarif),
                    "--text-output", str(text), cwd=examples)
    assert json.loads(both.stdout)["findings"] and json.loads(sarif.read_text())["runs"][0]["results"]
    assert "note IX003" in text.read_text()
    rules = json.loads(prodlint("rules", "--format", "json").stdout)
    assert {"code": "RT001", "name": "unmounted-router", "severity": "error"}.items() <= \
        next(r for r in rules if r["code"] == "RT001").items()
    by_name = prodlint("rule", "unmounted-router")
    assert by_name.returncode == 0 and by_name.stdout.startswith("RT001 unmounted-router (error)\n")
    # One cache at the project root, or where --cache-dir says; none in analysed subfolders.
    assert prodlint("check", "app", cwd=examples).returncode == 1
    assert (examples / ".prodlint_cache").is_dir() and not (examples / "app" / ".prodlint_cache").exists()
    elsewhere = tmp_path / "cache"
    assert prodlint("check", "app", "--cache-dir", str(elsewhere), cwd=examples).returncode == 1
    assert any(elsewhere.iterdir())
    # No progress when stderr is not a terminal.
    assert prodlint("check", ".", "--no-cache", cwd=examples).stderr == ""


# --- 16: SARIF ------------------------------------------------------------------------------------


def test_sarif_uris_and_pl001_descriptor(tmp_path: Path) -> None:
    root = _write(tmp_path / "p", {
        "my app/100% #1/caf\u00e9/docker-compose.yml": "services:\n  api:\n    image: shop/api\n",
        "broken.py": "def f(:\n    pass\n",
    })
    done = prodlint("check", ".", "--no-cache", "--format", "sarif", cwd=root)
    no_traceback(done)
    sarif = json.loads(done.stdout)
    jsonschema.validate(sarif, json.loads(SARIF_SCHEMA.read_text()))
    run = sarif["runs"][0]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert uris == {"my%20app/100%25%20%231/caf%C3%A9/docker-compose.yml"}
    everything = json.dumps(sarif)
    assert "file://" not in everything.replace(run.get("originalUriBaseIds", {}).get("%SRCROOT%", {}).get("uri", "#"), "")
    # PL001 is a notification, so its descriptor is among the driver's notifications (GH2012 wants text in both).
    [pl001] = [d for d in run["tool"]["driver"]["notifications"] if d["id"] == "PL001"]
    assert pl001["fullDescription"]["text"] and pl001["help"]["text"]
    notes = [n for n in run["invocations"][0].get("toolExecutionNotifications", [])]
    assert [(n["descriptor"]["id"], n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) for n in notes] \
        == [("PL001", "broken.py")]


def test_sarif_for_a_missing_path_has_no_absolute_uri(tmp_path: Path) -> None:
    root = _write(tmp_path / "p", {"docker-compose.yml": "services:\n  api:\n    image: shop/api\n"})
    (root / "dangling.yml").symlink_to(root / "nowhere.yml")
    done = prodlint("check", ".", "--no-cache", "--format", "sarif", cwd=root)
    no_traceback(done)
    sarif = json.loads(done.stdout)
    jsonschema.validate(sarif, json.loads(SARIF_SCHEMA.read_text()))
    for location in _artifact_locations(sarif["runs"][0]):
        assert not location["uri"].startswith(("/", "file:")), location


def _artifact_locations(node: object):
    if isinstance(node, dict):
        if "artifactLocation" in node:
            yield node["artifactLocation"]
        for value in node.values():
            yield from _artifact_locations(value)
    elif isinstance(node, list):
        for value in node:
            yield from _artifact_locations(value)
