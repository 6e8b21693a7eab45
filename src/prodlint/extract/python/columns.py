"""Column templates: `Annotated` aliases and helper functions that declare a column's keys.

Only what every branch agrees on counts (`Annotated[int, a if X else b]` is a primary key
only when both `a` and `b` say so).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator

from prodlint.extract.python import PyModule, collector
from prodlint.extract.python.models import COLUMN_CALLS, RELATION_CALLS, call_name, dotted, is_true, keyword
from prodlint.facts.columns import ColumnTemplate, TemplatedColumn

KEYS = ("primary_key", "unique", "index")


def _keys(node: ast.expr | None) -> tuple[bool, bool, bool] | None:
    """What a column expression declares, or None when it is no column."""
    if isinstance(node, ast.IfExp):
        a, b = _keys(node.body), _keys(node.orelse)
        if a is None or b is None:
            return None
        return (a[0] and b[0], a[1] and b[1], a[2] and b[2])
    if isinstance(node, ast.Call) and call_name(node) in COLUMN_CALLS:
        primary, unique, index = (is_true(keyword(node, k)) for k in KEYS)
        return primary, unique, index
    return None


def _annotated(node: ast.expr | None) -> tuple[bool, bool, bool] | None:
    if not isinstance(node, ast.Subscript) or dotted(node.value).rsplit(".", 1)[-1] != "Annotated":
        return None
    parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else []
    found = [k for k in (_keys(p) for p in parts[1:]) if k is not None]
    return found[0] if found else None


class ColumnTemplates:
    def __init__(self, module: PyModule) -> None:
        self.module = module

    def templates(self) -> Iterator[ColumnTemplate]:
        for statement in self.module.tree.body:
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
                name, keys = statement.targets[0].id, _annotated(statement.value)
            elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                name, keys = statement.target.id, _annotated(statement.value)
            elif isinstance(statement, ast.FunctionDef):
                name, keys = statement.name, self._returned(statement)
                if keys is not None and any(keys):
                    yield ColumnTemplate(name, *keys, self.module.at(statement), called=True)
                continue
            else:
                continue
            if keys is not None and any(keys):
                yield ColumnTemplate(name, *keys, self.module.at(statement))

    def _returned(self, function: ast.FunctionDef) -> tuple[bool, bool, bool] | None:
        returns = [n.value for n in self.module.walk_of(function, (ast.Return,))]  # type: ignore[attr-defined]
        found = [_keys(r) for r in returns]
        if not found or any(k is None for k in found):
            return None
        return tuple(all(k[i] for k in found) for i in range(3))  # type: ignore[index, return-value]

    def uses(self) -> Iterator[TemplatedColumn]:
        for cls in (n for n in self.module.nodes if isinstance(n, ast.ClassDef)):
            for statement in cls.body:
                if not isinstance(statement, ast.Assign) or len(statement.targets) != 1 or not isinstance(statement.targets[0], ast.Name):
                    continue
                value = statement.value
                if isinstance(value, ast.Call) and isinstance(value.func, ast.Name | ast.Attribute):
                    called = call_name(value)
                    if called and called not in COLUMN_CALLS and called not in RELATION_CALLS:
                        yield TemplatedColumn(cls.name, statement.targets[0].id, dotted(value.func), self.module.at(statement))


@collector
def collect_column_templates(module: PyModule) -> Iterable[object]:
    if "primary_key" not in module.text and "unique" not in module.text and "index" not in module.text:
        return []
    reader = ColumnTemplates(module)
    return [*reader.templates(), *reader.uses()]
