"""The extraction cache is data only: it round-trips every fact, and anything hostile is a miss."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import shutil
from pathlib import Path

import pytest

from conftest import FIXTURES
from prodlint import cache as cache_module
from prodlint.cache import CACHE_DIR, JOURNAL, RUNS, STORE, Cache, cache_key, decode, encode
from prodlint.config import load
from prodlint.discover import discover
from prodlint.engine import Options, _read, analyse, extract_file

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _all_facts() -> list:
    out = []
    for root in (EXAMPLES, *sorted(p for p in FIXTURES.glob("*/*") if p.is_dir())):
        config = load(root)
        for candidate in discover([root], config, root).candidates:  # each fixture is its own project
            _, text, refusal = _read(candidate, config)
            if refusal is None:
                out.append(extract_file((candidate.path, candidate.kind, text, config)))
    return out


def test_every_fixture_fact_round_trips() -> None:
    files = _all_facts()
    assert len(files) > 100
    kinds = set()
    for facts in files:
        entry = encode(facts)
        assert entry is not None, facts.path
        assert decode(entry) == facts
        kinds.update(type(f).__name__ for f in facts.facts)
    assert {"Route", "Model", "ComposeService", "NginxFile"} <= kinds


class _Boom:
    def __reduce__(self):
        return (Path.touch, (Path(os.environ["PRODLINT_CANARY"]),))


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "app"
    shutil.copytree(FIXTURES / "engine" / "suppressions", project)
    return project


def _lines(project: Path, use_cache: bool = True) -> list[str]:
    analysis = analyse([project], load(project), Options(jobs=1, use_cache=use_cache), project)
    return [f"{r.at} {r.code}" for r in analysis.reported] + [n.message for n in analysis.notifications]


def test_a_committed_pickle_never_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = _project(tmp_path)
    canary = tmp_path / "ran"
    monkeypatch.setenv("PRODLINT_CANARY", str(canary))
    expected = _lines(project, use_cache=False)
    store = project / CACHE_DIR / STORE
    # The key is computable from the repository: put a pickle where the old layout read it, and in the store.
    key = cache_key("docker-compose.yml", "compose", (project / "docker-compose.yml").read_bytes(), load(project).digest())
    for target in (store, project / CACHE_DIR / RUNS, project / CACHE_DIR / "v1" / key[:2] / key[2:]):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(pickle.dumps(_Boom()))
    assert _lines(project) == expected
    assert not canary.exists()


def test_entries_naming_other_classes_or_wrong_types_are_misses(tmp_path: Path) -> None:
    project = _project(tmp_path)
    expected = _lines(project)  # writes a real store
    store = project / CACHE_DIR / STORE
    data = json.loads(store.read_text())
    path, (key, entry) = next(iter(data["entries"].items()))
    assert entry[:2] == [path, "compose"]  # a FileFacts is the list of its fields
    hostile = [
        ["os.system", ["touch /tmp/x"]],
        {"t": "facts.FileFacts", "v": [path, "compose", [], [], []]},  # the old form
        [path, "compose", [], [], [], "extra"],
        [path, 7, [], [], []],
        [path, "compose", [["builtins.eval", ["1"]]], [], []],
        [path, "compose", [["facts.Location", ["x", "one"]]], [], []],
        [path, "compose", [], [[path, "not a line"]], []],
        ["other.yml", "compose", [], [], []],
    ]
    for value in hostile:
        data["entries"][path] = [key, value]
        store.write_text(json.dumps(data))
        _remove_runs(project)
        assert _lines(project) == expected
    for garbage in ("[1, 2]", '{"prodlint-cache": 3, "entries": {"%s": 5}}' % path, "{" * 100000, "\xff"):
        store.write_text(garbage, errors="surrogateescape")
        _remove_runs(project)
        assert _lines(project) == expected


def _remove_runs(project: Path) -> None:
    (project / CACHE_DIR / RUNS).unlink(missing_ok=True)


def test_hostile_whole_run_entries_are_misses(tmp_path: Path) -> None:
    project = _project(tmp_path)
    expected = _lines(project, use_cache=False)
    assert _lines(project) == expected  # writes both stores
    runs = project / CACHE_DIR / RUNS
    data = json.loads(runs.read_text())
    [[key, record, basis]] = data["runs"]
    assert len(record) == 4  # results, notifications, notes, files analysed
    assert sorted(basis) == ["facts", "files", "settings"]
    results = record[0]
    hostile = [
        [results, record[1], record[2], "7"],
        [results[:1] + [["builtins.eval", ["1"]]], record[1], record[2], record[3]],
        [[[r[0], r[1], r[2], r[3], r[4], ["os.system", ["x"]]] for r in results], record[1], record[2], record[3]],
        [results, record[1], record[2]],
        "not a run",
    ]
    for value in hostile:
        runs.write_text(json.dumps({"prodlint-runs": 4, "runs": [[key, value, basis]]}))
        assert _lines(project) == expected
    # What a run was computed from is data too: odd shapes only cost an extraction.
    for odd in ("x", [], {"settings": basis["settings"]}, {**basis, "files": [1]}, {**basis, "facts": 7},
                {**basis, "files": {path: "x" for path in basis["files"]}},
                {**basis, "files": {path: [None, ["eval"]] for path in basis["files"]}}):
        runs.write_text(json.dumps({"prodlint-runs": 4, "runs": [["0" * 64, record, odd]]}))
        assert _lines(project) == expected
    # A well-formed record with other findings is only reached through the key: a forged key is still a miss.
    runs.write_text(json.dumps({"prodlint-runs": 4, "runs": [["0" * 64, [[], [], [], 0], {}]]}))
    assert _lines(project) == expected
    for garbage in ("[1, 2]", "{" * 100000, "\xff"):
        runs.write_text(garbage, errors="surrogateescape")
        assert _lines(project) == expected


def test_whole_run_cache_answers_an_unchanged_tree_from_one_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from prodlint import engine

    project = _project(tmp_path)
    cold = analyse([project], load(project), Options(jobs=1, use_cache=False), project)
    first = analyse([project], load(project), Options(jobs=1), project)
    monkeypatch.setattr(cache_module.Cache, "entry", lambda *args: pytest.fail("read a file's facts"))
    monkeypatch.setattr(engine, "_run_rules", lambda *args: pytest.fail("ran the rules"))
    warm = analyse([project], load(project), Options(jobs=1), project)
    for run in (first, warm):
        assert run.results == cold.results  # findings, suppressed ones, fingerprints, source lines
        assert run.notifications == cold.notifications
        assert run.notes == cold.notes and run.files_analysed == cold.files_analysed
    assert [r for r in warm.results if r.suppression is not None]
    assert warm.built is None  # answered whole
    monkeypatch.undo()
    assert warm.project is not None  # built on demand for --show-files and the report
    assert [f.path for f in warm.project.files] == [f.path for f in cold.project.files]


@pytest.mark.parametrize("change", ["edit", "add", "remove", "config", "version", "select"])
def test_whole_run_cache_is_invalidated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    project = _project(tmp_path)
    options, config = Options(jobs=1), load(project)
    analyse([project], config, options, project)
    assert (project / CACHE_DIR / RUNS).is_file()
    compose = project / "docker-compose.yml"
    if change == "edit":  # same size, same second: only the content says it changed
        compose.write_text(compose.read_text().replace("api", "apx", 1))
    elif change == "add":
        (project / "docker-compose.prod.yml").write_text("services:\n  web:\n    image: shop/web\n")
    elif change == "remove":
        compose.unlink()
    elif change == "config":
        config = dataclasses.replace(config, severity=(("DC001", "note"),))
    elif change == "version":
        monkeypatch.setattr(cache_module, "_BUILD", "another build")
    else:
        options = Options(jobs=1, select=("DC",))
    warm = analyse([project], config, options, project)
    cold = analyse([project], config, Options(jobs=1, use_cache=False, select=options.select), project)
    assert warm.results == cold.results and warm.notifications == cold.notifications
    assert warm.built is not None and warm.rebuild is None  # extracted, not answered whole


@pytest.mark.parametrize("shape", ["store-dir", "store-fifo", "store-link", "cache-file", "version-file", "cache-link"])
def test_odd_cache_shapes_are_no_cache(tmp_path: Path, shape: str) -> None:
    project = _project(tmp_path)
    expected = _lines(project, use_cache=False)
    base = project / CACHE_DIR
    store = base / STORE
    outside = tmp_path / "outside"
    outside.mkdir()
    if shape.startswith("store"):
        store.parent.mkdir(parents=True)
        if shape == "store-dir":
            store.mkdir()
        elif shape == "store-fifo":
            os.mkfifo(store)
        else:
            store.symlink_to("/dev/zero")
    elif shape == "cache-file":
        base.write_text("not a folder\n")
    elif shape == "version-file":
        base.mkdir()
        store.parent.write_text("x")
    else:
        base.symlink_to(outside, target_is_directory=True)
    assert _lines(project) == expected
    assert _lines(project) == expected
    assert list(outside.iterdir()) == []  # a linked cache folder is never written through


def test_read_only_cache_folder_still_lints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = _project(tmp_path)
    expected = _lines(project, use_cache=False)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(cache_module.tempfile, "mkstemp", refuse)  # root ignores chmod
    assert _lines(project) == expected
    assert not (project / CACHE_DIR / STORE).exists()


def test_warm_cache_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = _project(tmp_path)
    expected = _lines(project)
    from prodlint import engine

    def no_extraction(task):
        raise AssertionError(f"extracted {task[0]} again")

    monkeypatch.setattr(engine, "extract_file", no_extraction)
    assert _lines(project) == expected
    assert Cache(project / CACHE_DIR).entry("docker-compose.yml", "0" * 64) is None


def test_two_workers_give_what_one_process_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from prodlint import engine

    monkeypatch.setattr(engine, "POOL_MIN_WORK", 0)  # the examples are small: use the pool all the same
    config = load(EXAMPLES)
    one = analyse([EXAMPLES], config, Options(jobs=1, use_cache=False), EXAMPLES)
    two = analyse([EXAMPLES], config, Options(jobs=2, use_cache=False), EXAMPLES)
    cached = analyse([EXAMPLES], config, Options(jobs=2, cache_dir=tmp_path / "cache"), EXAMPLES)
    for run in (two, cached):
        assert run.results == one.results and run.notifications == one.notifications and run.notes == one.notes
        # Facts sent back encoded decode to the same facts (compared as sets: the TS extractor's
        # order of captures is not stable from run to run, which no rule depends on).
        assert [(f.path, sorted(map(repr, f.facts)), f.notifications, f.suppressions) for f in run.project.files] == \
            [(f.path, sorted(map(repr, f.facts)), f.notifications, f.suppressions) for f in one.project.files]
    assert len(one.results) > 10


def test_available_cpus_reads_the_affinity_mask(monkeypatch: pytest.MonkeyPatch) -> None:
    from prodlint import engine

    monkeypatch.setattr(engine.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert engine.available_cpus() == 1


def _pagination_project(tmp_path: Path) -> Path:
    project = tmp_path / "shop"
    shutil.copytree(FIXTURES / "pagination" / "fastapi_app", project)
    return project


@pytest.mark.parametrize("edit", ["trailing comment", "comment on a finding's line", "equal line moved text"])
def test_an_edit_that_leaves_the_facts_alone_takes_the_last_runs_findings(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: str) -> None:
    from prodlint import engine

    project = _pagination_project(tmp_path)
    orders = project / "app" / "api" / "orders.py"
    analyse([project], load(project), Options(jobs=1), project)
    text = orders.read_text()
    if edit == "trailing comment":
        orders.write_text(text + "# reviewed\n")
    elif edit == "comment on a finding's line":
        orders.write_text(text.replace("def list_orders(limit: int = 100, offset: int = 0, db: Session = Depends(get_db)):",
                                       "def list_orders(limit: int = 100, offset: int = 0, db: Session = Depends(get_db)):  # page",
                                       1))
    else:  # the text above a finding changes: its context (and so its baseline match) does
        orders.write_text(text.replace('@router.get("/")\n', '@router.get("/")  # the list\n', 1))
    monkeypatch.setattr(engine, "_run_rules", lambda *args: pytest.fail("ran the rules"))
    warm = analyse([project], load(project), Options(jobs=1), project)
    monkeypatch.undo()
    cold = analyse([project], load(project), Options(jobs=1, use_cache=False), project)
    assert warm.results == cold.results  # source lines, fingerprints and contexts of the edited file included
    assert warm.notifications == cold.notifications and warm.notes == cold.notes
    assert [r for r in warm.results if r.at.path == "app/api/orders.py" and r.code == "PG001"][0].at.line == 19
    assert warm.built is None and warm.project is not None  # the project is built on demand, as for an unchanged tree
    if edit == "comment on a finding's line":
        assert [r.source_line for r in warm.results if r.at.line == 19 and r.code == "PG001"] == [
            "def list_orders(limit: int = 100, offset: int = 0, db: Session = Depends(get_db)):  # page"]
    # The edited tree's own run is saved: the next run answers it from one read.
    monkeypatch.setattr(engine, "_extract_all", lambda *args: pytest.fail("extracted"))
    monkeypatch.setattr(engine, "_run_rules", lambda *args: pytest.fail("ran the rules"))
    assert analyse([project], load(project), Options(jobs=1), project).results == cold.results


@pytest.mark.parametrize("edit", ["line inserted", "finding fixed", "suppression added"])
def test_an_edit_that_changes_the_facts_runs_the_rules(tmp_path: Path, edit: str) -> None:
    project = _pagination_project(tmp_path)
    orders = project / "app" / "api" / "orders.py"
    analyse([project], load(project), Options(jobs=1), project)
    text = orders.read_text()
    if edit == "line inserted":  # every finding below moves down a line
        orders.write_text(text.replace('router = APIRouter(prefix="/orders")\n', 'router = APIRouter(prefix="/orders")\nPAGE = 20\n', 1))
    elif edit == "finding fixed":
        orders.write_text(text.replace("limit: int = 100,", "limit: int = Query(100, le=100),", 1))
    else:
        orders.write_text(text.replace('@router.get("/")\n', '@router.get("/")  # prodlint: ignore[PG001] -- admin only\n', 1))
    warm = analyse([project], load(project), Options(jobs=1), project)
    cold = analyse([project], load(project), Options(jobs=1, use_cache=False), project)
    assert warm.built is not None  # the rules ran
    assert warm.results == cold.results and warm.notifications == cold.notifications
    pg001 = [r.at.line for r in warm.results if r.at.path == "app/api/orders.py" and r.code == "PG001" and r.suppression is None]
    assert pg001 == {"line inserted": [20, 25, 80, 88, 94, 111], "finding fixed": [24, 79, 87, 93, 110],
                     "suppression added": [24, 79, 87, 93, 110]}[edit]


def test_the_saved_run_whose_facts_match_answers_not_only_the_newest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from prodlint import engine

    project = _pagination_project(tmp_path)
    orders = project / "app" / "api" / "orders.py"
    text = orders.read_text()
    analyse([project], load(project), Options(jobs=1), project)
    orders.write_text("# moved\n" + text)  # every finding in the file moves: the newest saved run is of these facts
    analyse([project], load(project), Options(jobs=1), project)
    orders.write_text(text + "# reviewed\n")  # the facts of the first run again
    monkeypatch.setattr(engine, "_run_rules", lambda *args: pytest.fail("ran the rules"))
    warm = analyse([project], load(project), Options(jobs=1), project)
    monkeypatch.undo()
    assert warm.results == analyse([project], load(project), Options(jobs=1, use_cache=False), project).results


def test_a_few_changed_files_are_journalled_not_rewritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from prodlint import engine

    project = _pagination_project(tmp_path)
    orders = project / "app" / "api" / "orders.py"
    store, journal = project / CACHE_DIR / STORE, project / CACHE_DIR / JOURNAL
    analyse([project], load(project), Options(jobs=1), project)
    written = store.read_bytes()
    assert not journal.exists()
    for lines in range(1, 4):  # each edit moves the file's facts: extracted, then kept
        orders.write_text("# edited\n" * lines + orders.read_text())
        warm = analyse([project], load(project), Options(jobs=1), project)
        assert warm.results == analyse([project], load(project), Options(jobs=1, use_cache=False), project).results
    assert store.read_bytes() == written  # the store was not rewritten
    assert [json.loads(line)[0] for line in journal.read_text().splitlines()] == ["app/api/orders.py"] * 3
    # The journal is read over the store: the latest entry serves, nothing is extracted again.
    _remove_runs(project)
    monkeypatch.setattr(engine, "extract_file", lambda task: pytest.fail(f"extracted {task[0]} again"))
    assert analyse([project], load(project), Options(jobs=1), project).results == warm.results
    monkeypatch.undo()
    # Past the journal's length the store takes its entries and the journal goes.
    monkeypatch.setattr(cache_module, "JOURNAL_MAX_ENTRIES", 3)
    orders.write_text("# once more\n" + orders.read_text())
    analyse([project], load(project), Options(jobs=1), project)
    assert not journal.exists() and store.read_bytes() != written
    assert json.loads(store.read_text())["entries"]["app/api/orders.py"][1][0] == "app/api/orders.py"


@pytest.mark.parametrize("shape", ["half a line", "not an entry", "a link", "a directory"])
def test_an_odd_journal_is_a_miss(tmp_path: Path, shape: str) -> None:
    project = _pagination_project(tmp_path)
    expected = _lines(project, use_cache=False)
    _lines(project)
    journal = project / CACHE_DIR / JOURNAL
    outside = tmp_path / "outside.txt"
    outside.write_text("")
    if shape == "half a line":
        journal.write_text('["app/api/orders.py","' + "0" * 64 + '",["app/api/orders.py","python",[')
    elif shape == "not an entry":
        journal.write_text('{"os.system": "touch /tmp/x"}\n[1, 2, 3]\n')
    elif shape == "a link":
        journal.symlink_to(outside)
    else:
        journal.mkdir()
    _remove_runs(project)
    assert _lines(project) == expected
    (project / "app" / "api" / "orders.py").write_text("# edited\n" + (project / "app" / "api" / "orders.py").read_text())
    _lines(project)  # a journal that cannot be appended to: the store is rewritten instead
    assert outside.read_text() == ""  # a linked journal is never written through
    if shape in ("half a line", "not an entry"):
        assert not journal.exists()  # a spoilt journal is dropped with the rewrite
    _remove_runs(project)
    assert _lines(project) == _lines(project, use_cache=False)
