"""Safe YAML with lines: invalid input, alias bombs, recursive aliases, merge keys, several documents."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from prodlint.extract import ParseError
from prodlint.extract.yaml_lines import YMap, YScalar, YSeq, load_documents, load_first

BILLION_LAUGHS = "\n".join([
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    *(f"{chr(ord('a') + i + 1)}: &{chr(ord('a') + i + 1)} [{','.join(['*' + chr(ord('a') + i)] * 9)}]" for i in range(8)),
    "bomb: *i",
])


def test_invalid_yaml_names_the_line():
    with pytest.raises(ParseError) as error:
        load_documents("services:\n  api:\n    image: x\n   ports:\n      - 80\n")
    assert (error.value.message, error.value.line) == ("invalid YAML: did not find expected key; skipped", 4)


def test_control_character_names_the_line():
    with pytest.raises(ParseError) as error:
        load_documents("a: 1\nb: \x07\n")
    assert error.value.line == 2 and error.value.message.startswith("invalid YAML: unacceptable character")


def test_alias_bomb_is_refused_quickly_in_bounded_memory():
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(ParseError) as error:
        load_documents(BILLION_LAUGHS)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert error.value.message == "YAML alias expansion exceeds 100000 nodes (possible alias bomb); skipped"
    assert elapsed < 1 and peak < 5 * 2**20


def test_many_aliases_under_the_limit_are_fine():
    four_levels = "\n".join(BILLION_LAUGHS.splitlines()[:4]) + "\nuse: *d\n"  # 9**4 = 6561 leaves
    document = load_first(four_levels)
    assert isinstance(document, YMap) and isinstance(document.get("use"), YSeq)


@pytest.mark.parametrize("text", ["a: &x [1, *x]\n", "a: &x {b: *x}\n", "a: &x\n  <<: *x\n  b: 1\n"])
def test_recursive_alias_is_refused_not_followed(text):
    with pytest.raises(ParseError, match="recursive alias"):
        load_documents(text)


def test_merge_keys_explicit_keys_win_then_the_first_merged_mapping():
    document = load_first(
        "x-a: &a {mem_limit: 1g, cpus: '1'}\n"
        "x-b: &b {mem_limit: 2g, image: shop/api}\n"
        "services:\n"
        "  api:\n"
        "    <<: [*a, *b]\n"
        "    cpus: '2'\n"
    )
    api = document.mapping("services").mapping("api")
    values = {key.value: (value.value, value.line) for key, value in api.items()}
    assert values == {"mem_limit": ("1g", 1), "image": ("shop/api", 2), "cpus": ("2", 6)}


def test_scalars_keep_text_type_and_position():
    document = load_first("ports:\n  - 22:22\n  - '5432'\nreplicas: 3\nflag: yes\nempty:\n")
    ports = document.get("ports").items
    assert [(p.value, p.tag, p.line, p.column, p.quoted) for p in ports] == [("22:22", "int", 2, 5, False), ("5432", "str", 3, 5, True)]
    assert document.scalar("replicas").tag == "int" and document.scalar("flag").tag == "bool"
    assert document.scalar("empty") is None and isinstance(document.get("empty"), YScalar)


def test_several_documents():
    documents = load_documents("a: 1\n---\n---\nb: [2]\n")
    assert [type(d).__name__ for d in documents] == ["YMap", "YScalar", "YMap"]
    assert documents[2].get("b").line == 4
    assert load_documents("") == ()
