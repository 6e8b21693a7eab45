"""The extraction cache is data only: it round-trips every fact, and anything hostile is a miss."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import pytest

from conftest import FIXTURES
from prodlint import cache as cache_module
from prodlint.cache import CACHE_DIR, STORE, Cache, cache_key, decode, encode
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
    for target in (store, project / CACHE_DIR / "v1" / key[:2] / key[2:]):
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
    hostile = [
        {"t": "os.system", "v": ["touch /tmp/x"]},
        {"t": "facts.FileFacts", "v": [path, "compose", [], [], [], "extra"]},
        {"t": "facts.FileFacts", "v": [path, 7, [], [], []]},
        {"t": "facts.FileFacts", "v": [path, "compose", [{"t": "builtins.eval", "v": ["1"]}], [], []]},
        {"t": "facts.FileFacts", "v": ["other.yml", "compose", [], [], []]},
    ]
    for value in hostile:
        data["entries"][path] = [key, json.dumps(value)]
        store.write_text(json.dumps(data))
        assert _lines(project) == expected
    for garbage in ("[1, 2]", '{"prodlint-cache": 2, "entries": {"%s": 5}}' % path, "{" * 100000, "\xff"):
        store.write_text(garbage, errors="surrogateescape")
        assert _lines(project) == expected


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
    assert Cache(project / CACHE_DIR).get("docker-compose.yml", "0" * 64) is None
