"""Safe YAML with line numbers, for every extractor that reads YAML.

pyyaml's safe loader composes the node graph (nothing is constructed, no tags
are honoured beyond the core schema), so every key and value keeps where it was
written. An alias is one shared node in that graph; expanded, nine levels of nine
aliases ("billion laughs") are 9**9 nodes. The expanded size is counted on the
shared graph with memoisation, so the bomb is refused before anything walks it,
and a recursive alias is refused rather than followed forever.

Merge keys (`<<: *defaults`, `<<: [*a, *b]`) are resolved as YAML 1.1 and docker
compose do: keys written in the mapping win, then the first merged mapping.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import yaml

from prodlint.extract import ParseError
from prodlint.facts import Location

MAX_EXPANDED_NODES = 100_000
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CORE = "tag:yaml.org,2002:"
_MERGE = _CORE + "merge"


@dataclass(frozen=True, slots=True)
class YScalar:
    """A scalar as written. `tag` is the core-schema type: str, int, float, bool, null (or a full tag)."""

    value: str
    tag: str
    line: int
    column: int
    end_line: int
    end_column: int
    quoted: bool = False

    @property
    def is_null(self) -> bool:
        return self.tag == "null"

    def at(self, path: str) -> Location:
        return Location(path, self.line, self.column, self.end_line, self.end_column)


@dataclass(frozen=True, slots=True)
class YSeq:
    items: tuple[YNode, ...]
    line: int
    column: int

    def at(self, path: str) -> Location:
        return Location(path, self.line, self.column)


@dataclass(frozen=True, slots=True)
class YMap:
    """A mapping with merge keys resolved. Keys are usually scalars; complex keys are kept but never found by name."""

    entries: tuple[tuple[YNode, YNode], ...]
    line: int
    column: int

    def at(self, path: str) -> Location:
        return Location(path, self.line, self.column)

    def items(self) -> Iterator[tuple[YScalar, YNode]]:
        """(key, value) for every scalar key, in document order."""
        for key, value in self.entries:
            if isinstance(key, YScalar):
                yield key, value

    def entry(self, name: str) -> tuple[YScalar, YNode] | None:
        found = None
        for key, value in self.items():
            if key.value == name:
                found = (key, value)  # the last duplicate wins, as in pyyaml
        return found

    def get(self, name: str) -> YNode | None:
        found = self.entry(name)
        return found[1] if found else None

    def scalar(self, name: str) -> YScalar | None:
        """The value under `name` when it is a non-null scalar."""
        value = self.get(name)
        return value if isinstance(value, YScalar) and not value.is_null else None

    def mapping(self, name: str) -> YMap | None:
        value = self.get(name)
        return value if isinstance(value, YMap) else None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.entry(name) is not None


YNode = YScalar | YSeq | YMap


def load_documents(text: str, limit: int = MAX_EXPANDED_NODES) -> tuple[YNode | None, ...]:
    """Every document of a YAML stream (None for an empty one).

    Raises ParseError for invalid YAML (with the line), an alias bomb or a recursive alias.
    """
    loader = _Loader(text)
    documents: list[YNode | None] = []
    try:
        while loader.check_node():
            root = loader.get_node()
            if root is None:
                documents.append(None)
                continue
            _check_expansion(root, limit)
            documents.append(_Converter().convert(root))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        reason = error.problem or error.context or "cannot be parsed"
        raise ParseError(f"invalid YAML: {reason}; skipped", mark.line + 1 if mark else None) from None
    except yaml.YAMLError as error:
        raise ParseError(f"invalid YAML: {_first_line(error)}; skipped", _line_of(error, text)) from None
    finally:
        loader.dispose()
    return tuple(documents)


def load_first(text: str, limit: int = MAX_EXPANDED_NODES) -> YNode | None:
    """The first non-empty document, or None."""
    return next((doc for doc in load_documents(text, limit) if doc is not None), None)


def _first_line(error: yaml.YAMLError) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _line_of(error: yaml.YAMLError, text: str) -> int | None:
    # A ReaderError (a control character) knows the offset, not the line.
    position = getattr(error, "position", None)
    return None if not isinstance(position, int) else text.count("\n", 0, position) + 1


def _check_expansion(root: yaml.Node, limit: int) -> None:
    """Count the nodes the document has with every alias expanded, without expanding any.

    Memoised per shared node, so the count costs one pass over the composed graph.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    start = root.start_mark.line + 1

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise ParseError("YAML alias refers to a node that contains it (recursive alias); skipped", start)
        open_nodes.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            children: list[yaml.Node] = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            children = []
        for child in children:
            total += size(child)
            if total > limit:
                raise ParseError(f"YAML alias expansion exceeds {limit} nodes (possible alias bomb); skipped", start)
        open_nodes.discard(key)
        sizes[key] = total
        return total

    size(root)


class _Converter:
    """Composed nodes to `YNode`s; a node shared by aliases is converted once and shared."""

    def __init__(self) -> None:
        self.done: dict[int, YNode] = {}

    def convert(self, node: yaml.Node) -> YNode:
        key = id(node)
        if key not in self.done:
            self.done[key] = self._convert(node)
        return self.done[key]

    def _convert(self, node: yaml.Node) -> YNode:
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
        if isinstance(node, yaml.ScalarNode):
            tag = node.tag[len(_CORE):] if node.tag.startswith(_CORE) else node.tag
            end = node.end_mark
            return YScalar(node.value, tag, line, column, end.line + 1, end.column + 1, node.style in ("'", '"'))
        if isinstance(node, yaml.SequenceNode):
            return YSeq(tuple(self.convert(item) for item in node.value), line, column)
        return YMap(self._merged_entries(node), line, column)

    def _merged_entries(self, node: yaml.MappingNode) -> tuple[tuple[YNode, YNode], ...]:
        explicit: list[tuple[YNode, YNode]] = []
        merged: list[tuple[YNode, YNode]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for source in sources:
                    converted = self.convert(source)
                    if isinstance(converted, YMap):
                        merged.extend(converted.entries)
                continue
            explicit.append((self.convert(key_node), self.convert(value_node)))
        if not merged:
            return tuple(explicit)
        taken = {_name(key) for key, _ in explicit}
        inherited: list[tuple[YNode, YNode]] = []
        for key, value in merged:
            name = _name(key)
            if name is None or name not in taken:  # the first merged mapping wins
                inherited.append((key, value))
                if name is not None:
                    taken.add(name)
        return tuple(inherited + explicit)


def _name(key: YNode) -> str | None:
    return key.value if isinstance(key, YScalar) else None
