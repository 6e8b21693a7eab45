"""TypeScript and JavaScript sources, parsed once with tree-sitter.

Collectors live one per concern in this package and register with `@collector`.
Grammars come from the `tree-sitter-typescript` / `tree-sitter-javascript` wheels:
nothing is downloaded at run time.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

import tree_sitter

from prodlint.extract import Source, extractor
from prodlint.facts import Location, Notification

if TYPE_CHECKING:
    from prodlint.config import Config

@cache
def language(dialect: str) -> tree_sitter.Language:
    if dialect == "typescript":
        import tree_sitter_typescript as grammar

        return tree_sitter.Language(grammar.language_typescript())
    if dialect == "tsx":
        import tree_sitter_typescript as grammar

        return tree_sitter.Language(grammar.language_tsx())
    import tree_sitter_javascript as grammar

    return tree_sitter.Language(grammar.language())


def dialect_of(path: str) -> str:
    if path.endswith((".ts", ".mts", ".cts")):
        return "typescript"
    if path.endswith(".tsx"):
        return "tsx"
    return "javascript"  # the JavaScript grammar understands JSX too


@cache
def query(dialect: str, text: str) -> tree_sitter.Query:
    """A compiled tree-sitter query, cached per process."""
    return tree_sitter.Query(language(dialect), text)


@dataclass(slots=True)
class TsModule:
    """One parsed TypeScript/JavaScript file, as the collectors see it."""

    path: str
    source: bytes
    tree: tree_sitter.Tree
    dialect: str
    config: Config
    _results: dict[tuple[str, str], object] = field(default_factory=dict, repr=False)  # whole-file query runs
    _merged_run: bool = field(default=False, repr=False)
    _captured: bool = field(default=False, repr=False)
    _ascii: bool | None = field(default=None, repr=False)  # byte columns are character columns

    def text(self, node: tree_sitter.Node | None) -> str:
        if node is None:
            return ""
        return self.source[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def at(self, node: tree_sitter.Node) -> Location:
        # tree-sitter columns are byte offsets; SARIF counts characters.
        start_row, start_col = node.start_point
        end_row, end_col = node.end_point
        return Location(
            self.path,
            start_row + 1,
            self._char_column(node.start_byte, start_col) + 1,
            end_row + 1,
            self._char_column(node.end_byte, end_col) + 1,
        )

    def _char_column(self, byte: int, byte_col: int) -> int:
        if self._ascii is None:
            self._ascii = self.source.isascii()
        if self._ascii:
            return byte_col
        line_start = byte - byte_col
        return len(self.source[line_start:byte].decode("utf-8", "replace"))

    def captures(self, query_text: str, node: tree_sitter.Node | None = None) -> dict[str, list[tree_sitter.Node]]:
        """The query's captures in document order (outer node first); over the whole file, run once
        and shared by every collector (read only).

        Whole-file capture queries run as one, as match queries do: their capture names made
        distinct, so one pass over the tree answers each of them."""
        if node is not None:
            return _in_order(tree_sitter.QueryCursor(query(self.dialect, query_text)).captures(node))
        key = ("captures", query_text)
        if key not in self._results:
            if not self._captured:
                self._captured = True
                merged = _merged_captures(self.dialect)
                if merged is not None:
                    self._results.update(merged.run(self.tree.root_node))
            if key not in self._results:  # a query this process meets for the first time
                self._results[key] = _in_order(tree_sitter.QueryCursor(query(self.dialect, query_text)).captures(self.tree.root_node))
                _SEEN_CAPTURES.setdefault(self.dialect, {})[query_text] = None
        return self._results[key]  # type: ignore[return-value]

    def nodes_of(self, kinds: frozenset[str]) -> list[tree_sitter.Node]:
        """Every named node of these types in the file, in document order (outer first), found by
        one query rather than a walk in Python; shared, never change it."""
        key = ("nodes", kinds)
        found = self._results.get(key)
        if found is None:
            text = _kinds_query(self.dialect, kinds)
            found = self._results[key] = self.captures(text).get("node", []) if text else []
        return found  # type: ignore[return-value]

    def matches(self, query_text: str, node: tree_sitter.Node | None = None) -> list[tuple[int, dict[str, list[tree_sitter.Node]]]]:
        """The query's matches; over the whole file, run once and shared by every collector (read only).

        Whole-file queries run as one: the first whole-file question about a file runs every query
        this process has been asked so far, merged, in a single pass over the tree."""
        if node is not None:
            return tree_sitter.QueryCursor(query(self.dialect, query_text)).matches(node)
        key = ("matches", query_text)
        if key not in self._results:
            if not self._merged_run:
                self._merged_run = True
                merged = _merged(self.dialect)
                if merged is not None:
                    for text, found in merged.run(self.tree.root_node).items():
                        self._results[("matches", text)] = found
            if key not in self._results:  # a query this process meets for the first time
                self._results[key] = tree_sitter.QueryCursor(query(self.dialect, query_text)).matches(self.tree.root_node)
                _SEEN.setdefault(self.dialect, {})[query_text] = None
        return self._results[key]  # type: ignore[return-value]


@cache
def _kinds_query(dialect: str, kinds: frozenset[str]) -> str:
    """`[(a) (b)] @node` over the kinds the dialect's grammar has ("" when it has none)."""
    present = sorted(kind for kind in kinds if language(dialect).id_for_node_kind(kind, True) is not None)
    return f"[{' '.join(f'({kind})' for kind in present)}] @node" if present else ""


def _in_order(captures: dict[str, list[tree_sitter.Node]]) -> dict[str, list[tree_sitter.Node]]:
    """tree-sitter's capture lists come out of order now and then (two runs on one tree differ):
    facts follow the document instead."""
    return {name: sorted(nodes, key=lambda n: (n.start_byte, -n.end_byte, n.type)) for name, nodes in captures.items()}


@dataclass(slots=True)
class _Merged:
    """Whole-file queries of one dialect compiled as one: their patterns in order, each query's
    first pattern index and count, so a single run's matches split back into each query's own."""

    texts: tuple[str, ...]
    compiled: tree_sitter.Query
    offsets: dict[str, tuple[int, int]]
    owners: tuple[str, ...] = ()  # the query each merged pattern index comes from

    def run(self, root: tree_sitter.Node) -> dict[str, list[tuple[int, dict[str, list[tree_sitter.Node]]]]]:
        found: dict[str, list[tuple[int, dict[str, list[tree_sitter.Node]]]]] = {text: [] for text in self.texts}
        for pattern, captures in tree_sitter.QueryCursor(self.compiled).matches(root):
            text = self.owners[pattern]
            found[text].append((pattern - self.offsets[text][0], captures))
        return found


_MERGED: dict[str, _Merged] = {}
_SEEN: dict[str, dict[str, None]] = {}  # whole-file match queries met so far, by dialect, in order
_UNMERGEABLE: set[str] = set()  # dialects whose queries would not compile as one


def _merged(dialect: str) -> _Merged | None:
    """The dialect's merged query, rebuilt (between files, so about once a process) when a file
    asked a query it did not hold."""
    seen = tuple(_SEEN.get(dialect, ()))
    merged = _MERGED.get(dialect)
    if seen and (merged is None or merged.texts != seen) and dialect not in _UNMERGEABLE:
        offsets, start = {}, 0
        for text in seen:
            count = query(dialect, text).pattern_count
            offsets[text] = (start, count)
            start += count
        compiled = _compiled_as_one(dialect, seen, start, _UNMERGEABLE)
        if compiled is None:
            return None
        owners = tuple(text for text in seen for _ in range(offsets[text][1]))
        merged = _MERGED[dialect] = _Merged(seen, compiled, offsets, owners)
    return merged if dialect not in _UNMERGEABLE else None


def _compiled_as_one(dialect: str, parts: Iterable[str], patterns: int, unmergeable: set[str]) -> tree_sitter.Query | None:
    """The queries compiled as one, holding exactly their patterns; else None, and the dialect's
    queries of that kind run one by one from then on, as they did alone."""
    try:
        compiled = tree_sitter.Query(language(dialect), "\n".join(parts))
    except Exception:  # noqa: BLE001 - a query the merge breaks: run them separately
        compiled = None
    if compiled is None or compiled.pattern_count != patterns:
        unmergeable.add(dialect)
        return None
    return compiled


@dataclass(slots=True)
class _MergedCaptures:
    """Whole-file capture queries of one dialect compiled as one, each query's capture names
    prefixed with its number, so a single run's captures split back into each query's own."""

    texts: tuple[str, ...]
    compiled: tree_sitter.Query
    owners: dict[str, tuple[str, str]]  # prefixed capture name -> (query, its own capture name)

    def run(self, root: tree_sitter.Node) -> dict[tuple[str, str], dict[str, list[tree_sitter.Node]]]:
        found: dict[tuple[str, str], dict[str, list[tree_sitter.Node]]] = {("captures", text): {} for text in self.texts}
        for name, nodes in tree_sitter.QueryCursor(self.compiled).captures(root).items():
            text, own = self.owners[name]
            found[("captures", text)][own] = nodes
        return {key: _in_order(captures) for key, captures in found.items()}


_CAPTURE_NAME = re.compile(r'"(?:[^"\\]|\\.)*"|@([\w.-]+)')  # a capture, not an `@` inside a string
_MERGED_CAPTURES: dict[str, _MergedCaptures] = {}
_SEEN_CAPTURES: dict[str, dict[str, None]] = {}  # whole-file capture queries met so far, by dialect, in order
_CAPTURES_UNMERGEABLE: set[str] = set()


def _merged_captures(dialect: str) -> _MergedCaptures | None:
    seen = tuple(_SEEN_CAPTURES.get(dialect, ()))
    merged = _MERGED_CAPTURES.get(dialect)
    if seen and (merged is None or merged.texts != seen) and dialect not in _CAPTURES_UNMERGEABLE:
        owners: dict[str, tuple[str, str]] = {}
        parts = []
        for number, text in enumerate(seen):
            def rename(match: re.Match[str], number: int = number, text: str = text) -> str:
                if match.group(1) is None:
                    return match.group(0)
                owners[f"q{number}_{match.group(1)}"] = (text, match.group(1))
                return f"@q{number}_{match.group(1)}"

            parts.append(_CAPTURE_NAME.sub(rename, text))
        compiled = _compiled_as_one(dialect, parts, sum(query(dialect, text).pattern_count for text in seen),
                                    _CAPTURES_UNMERGEABLE)
        if compiled is None:
            return None
        merged = _MERGED_CAPTURES[dialect] = _MergedCaptures(seen, compiled, owners)
    return merged if dialect not in _CAPTURES_UNMERGEABLE else None


Collector = Callable[[TsModule], Iterable[object]]
_COLLECTORS: list[tuple[str, Collector]] = []
_loaded = False


def collector(fn: Collector) -> Collector:
    _COLLECTORS.append((f"{fn.__module__}.{fn.__qualname__}", fn))
    return fn


def collectors() -> list[Collector]:
    global _loaded
    if not _loaded:
        _loaded = True
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
            importlib.import_module(f"{__name__}.{info.name}")
        _COLLECTORS.sort(key=lambda item: item[0])
    return [fn for _, fn in _COLLECTORS]


_LONE_AMPERSAND = re.compile(rb"(?<!&)&(?![&=]|#?\w++;)")  # not `&&`, `&=` or an entity (`&amp;`)


def _valid_anyway(node: tree_sitter.Node) -> bool:
    """An error of the grammar on code TypeScript accepts: `tag<T>`...`` (a typed tagged template)."""
    parent = node.parent
    if parent is None:
        return False
    if node.is_missing and parent.type == "non_null_expression" and parent.parent is not None:
        call = parent.parent
        arguments = call.child_by_field_name("arguments")
        return (call.type == "call_expression" and arguments is not None and arguments.type == "template_string"
                and any(child.type == "instantiation_expression" for child in parent.children))
    return False


def _first_error(node: tree_sitter.Node) -> tree_sitter.Node | None:
    stack = [node]
    while stack:
        current = stack.pop()
        if (current.is_error or current.is_missing) and not _valid_anyway(current):
            return current
        if current.has_error:
            stack.extend(reversed(current.children))
    return None


@extractor("typescript")
def extract_typescript(source: Source, config: Config) -> Iterable[object]:
    if source.path.endswith(".d.ts"):
        return
    dialect = dialect_of(source.path)
    data = source.text.encode("utf-8")
    parser = tree_sitter.Parser(language(dialect))
    tree = parser.parse(data)
    error = _first_error(tree.root_node) if tree.root_node.has_error else None
    if error is not None and dialect == "tsx" and b"&" in data:
        # JSX text may hold a bare `&` (`<h1>Doors & Windows</h1>`) that the grammar refuses. Read the file
        # again with each lone `&` as a letter (same length, offsets unchanged); keep that tree only if it parses.
        retry = parser.parse(_LONE_AMPERSAND.sub(b"x", data))
        if not retry.root_node.has_error or _first_error(retry.root_node) is None:
            tree, error = retry, None
    if error is not None:
        line = error.start_point[0] + 1
        # tree-sitter recovers: facts from the rest of the file are still used.
        yield Notification(source.path, f"syntax error at line {line}; the rest of the file was analysed", line)
    module = TsModule(source.path, data, tree, dialect, config)
    for collect in collectors():
        yield from collect(module)
