"""Python sources: parsed once with stdlib `ast`, then read by every collector.

Collectors live one per concern in this package (routes, models, queries, pools,
servers ...) and register themselves with `@collector`; the package imports them
all, in name order, so adding a concern never edits this file.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import sys
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prodlint.extract import ParseError, Source, extractor
from prodlint.facts import Location
from prodlint.lines import split_lines

if TYPE_CHECKING:
    from prodlint.config import Config


# Nested scopes: a function's own nodes stop at these (they are yielded, not entered).
NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


# Fields that never hold a node: names, flags, a constant's value, and the `ctx` of a name
# (Load/Store/Del singletons that say nothing a collector reads, yet are a third of all nodes).
_LEAF_FIELDS = frozenset({"ctx", "id", "attr", "name", "arg", "asname", "module", "level", "kind", "type_comment",
                          "is_async", "conversion", "simple", "names", "kwd_attrs", "rest"})
_NODE_LISTS = frozenset({"names"})  # `import a` / `from a import b`: aliases are nodes; Global/Nonlocal names are not
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(kind: type) -> tuple[str, ...]:
    fields = _CHILD_FIELDS.get(kind)
    if fields is None:
        leaf = _LEAF_FIELDS | ({"value"} if kind in (ast.Constant, ast.MatchSingleton) else set())
        if kind in (ast.Import, ast.ImportFrom):
            leaf = leaf - _NODE_LISTS
        fields = _CHILD_FIELDS[kind] = tuple(name for name in kind._fields if name not in leaf)
    return fields


def child_nodes(node: ast.AST) -> list[ast.AST]:
    """`ast.iter_child_nodes` as a list, in the same order, without expression contexts."""
    found: list[ast.AST] = []
    for name in _CHILD_FIELDS.get(type(node)) or _child_fields(type(node)):
        value = getattr(node, name, None)
        if type(value) is list:
            found += [item for item in value if isinstance(item, ast.AST)]
        elif value is not None and isinstance(value, ast.AST):
            found.append(value)
    return found


@dataclass(slots=True)
class PyModule:
    """One parsed Python file, as the collectors see it.

    The tree is walked once (`nodes`, `parents`, each node's children); collectors read
    those, and `walk` / `own_nodes` replay subtrees from them instead of walking again.
    """

    path: str
    text: str
    tree: ast.Module
    config: Config
    _nodes: tuple[ast.AST, ...] | None = field(default=None, repr=False)
    _parents: dict[ast.AST, ast.AST] | None = field(default=None, repr=False)
    _children: dict[ast.AST, list[ast.AST]] | None = field(default=None, repr=False)
    _own: dict[ast.AST, list[ast.AST]] = field(default_factory=dict, repr=False)
    _by_type: dict[type, list[ast.AST]] | None = field(default=None, repr=False)
    _walks: dict[ast.AST, list[ast.AST]] = field(default_factory=dict, repr=False)
    _kinds: dict[tuple[ast.AST, tuple[type, ...]], list[ast.AST]] = field(default_factory=dict, repr=False)
    _scoped: list[tuple[str, ast.stmt]] | None = field(default=None, repr=False)

    def _index(self) -> None:
        """One breadth-first walk (the order of `ast.walk`) recording every node's children and parent."""
        children: dict[ast.AST, list[ast.AST]] = {}
        parents: dict[ast.AST, ast.AST] = {}
        order: list[ast.AST] = [self.tree]
        position = 0
        while position < len(order):
            node = order[position]
            position += 1
            kids = children[node] = child_nodes(node)
            for kid in kids:
                parents[kid] = node
            order += kids
        self._nodes, self._parents, self._children = tuple(order), parents, children

    @property
    def nodes(self) -> tuple[ast.AST, ...]:
        """Every node of the tree in `ast.walk` order, walked once and shared by all collectors."""
        if self._nodes is None:
            self._index()
        return self._nodes  # type: ignore[return-value]

    @property
    def parents(self) -> dict[ast.AST, ast.AST]:
        """Each node's parent."""
        if self._parents is None:
            self._index()
        return self._parents  # type: ignore[return-value]

    def children(self, node: ast.AST) -> list[ast.AST]:
        if self._children is None:
            self._index()
        found = self._children.get(node)  # type: ignore[union-attr]
        return found if found is not None else child_nodes(node)  # a node built by a collector

    @property
    def child_index(self) -> dict[ast.AST, list[ast.AST]]:
        """Node -> children, for hot loops (nodes a collector built itself are not in it: use `children`)."""
        if self._children is None:
            self._index()
        return self._children  # type: ignore[return-value]

    def of_type(self, kind: type) -> list[ast.AST]:
        """The nodes of exactly this class, in `nodes` order."""
        if self._by_type is None:
            by_type: dict[type, list[ast.AST]] = {}
            for node in self.nodes:
                by_type.setdefault(type(node), []).append(node)
            self._by_type = by_type
        return self._by_type.get(kind, [])

    def of_types(self, *kinds: type) -> list[ast.AST]:
        """The nodes of exactly these classes, in `nodes` order; shared, never change it."""
        return self.of_type(kinds[0]) if len(kinds) == 1 else self.walk_of(self.tree, kinds)

    @property
    def scoped_statements(self) -> list[tuple[str, ast.stmt]]:
        """Every statement with the dotted name of its function or class (`modules.scoped_statements`), listed once."""
        if self._scoped is None:
            from prodlint.extract.python.modules import scoped_statements

            self._scoped = list(scoped_statements(self.tree))
        return self._scoped

    def walk(self, node: ast.AST) -> Sequence[ast.AST]:
        """`ast.walk(node)` from the index: the same nodes in the same order. Walked once per node
        (several collectors walk the same function); the list is shared, never change it."""
        if node is self.tree:
            return self.nodes
        order = self._walks.get(node)
        if order is not None:
            return order
        order = [node]
        position = 0
        get = self.child_index.get
        while position < len(order):
            current = order[position]
            kids = get(current)
            order += kids if kids is not None else child_nodes(current)
            position += 1
        self._walks[node] = order
        return order

    def walk_of(self, node: ast.AST, kinds: tuple[type, ...]) -> list[ast.AST]:
        """The nodes of `walk(node)` of exactly these classes, in order; shared, never change it."""
        key = (node, kinds)
        found = self._kinds.get(key)
        if found is None:
            found = self._kinds[key] = [n for n in self.walk(node) if type(n) in kinds]
        return found

    def own_nodes(self, function: ast.AST) -> list[ast.AST]:
        """A function's nodes, not those of scopes nested in it (the nested definition itself is
        included, its inside is not); depth first, last child first. Built once per function."""
        found = self._own.get(function)
        if found is None:
            found = self._own[function] = []
            stack = list(self.children(function))
            get = self.child_index.get
            while stack:
                node = stack.pop()
                found.append(node)
                if not isinstance(node, NESTED_SCOPES):
                    kids = get(node)
                    stack += kids if kids is not None else child_nodes(node)
        return found

    @property
    def dotted(self) -> str:
        """Module name derived from the path (`src/app/api/orders.py` -> `src.app.api.orders`)."""
        stem = self.path[:-3] if self.path.endswith(".py") else self.path
        if stem.endswith("/__init__"):
            stem = stem[: -len("/__init__")]
        return stem.replace("/", ".")

    @property
    def is_package(self) -> bool:
        return self.path.endswith("/__init__.py") or self.path == "__init__.py"

    def at(self, node: ast.AST) -> Location:
        """The node's location, 1-based columns."""
        line = getattr(node, "lineno", 1)
        col = getattr(node, "col_offset", 0) + 1
        end_line = getattr(node, "end_lineno", None) or line
        end_col = getattr(node, "end_col_offset", None)
        return Location(self.path, line, col, end_line, end_col + 1 if end_col is not None else None)


Collector = Callable[[PyModule], Iterable[object]]
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


def parse_python(source: Source) -> ast.Module:
    try:
        with warnings.catch_warnings():
            # Invalid escape sequences in analysed code are not prodlint's to report.
            warnings.simplefilter("ignore")
            return ast.parse(source.text, filename=source.path)
    except SyntaxError as error:
        raise ParseError(_newer_python(source.text, error) or f"Python syntax error: {error.msg}", error.lineno) from None
    except (ValueError, RecursionError, MemoryError) as error:
        raise ParseError(f"Python source cannot be parsed: {type(error).__name__}") from None


@extractor("python")
def extract_python(source: Source, config: Config) -> Iterable[object]:
    module = PyModule(source.path, source.text, parse_python(source), config)
    for collect in collectors():
        yield from collect(module)


# PEP 695 (3.12): `class Box[T]:`, `def first[T](...)`, `type Alias = ...`.
_PEP695 = re.compile(r"\s*+(?:(?:async\s++)?def|class)\s++\w++\s*+\[|\s*+type\s++\w++\s*+[\[=]")


def _newer_python(text: str, error: SyntaxError) -> str | None:
    """The message for valid code of a newer Python than the one running prodlint."""
    if not error.lineno:
        return None
    lines = split_lines(text)
    line = lines[error.lineno - 1] if error.lineno <= len(lines) else ""
    if sys.version_info < (3, 12) and _PEP695.match(line):
        needed = "3.12"
    elif sys.version_info < (3, 14) and "must be parenthesized" in (error.msg or "") and line.lstrip().startswith("except"):
        needed = "3.14"  # PEP 758: `except A, B:` without parentheses
    else:
        return None
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return (f"needs a newer Python (running {running}); run prodlint under {needed}+, "
            f"e.g. pre-commit language_version / uvx --python {needed}")
