"""Python imports and name aliases, for cross-file name resolution.

Imports inside functions are kept with their scope: Flask application factories
import their blueprints there to avoid import cycles.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from prodlint.extract.python import PyModule, collector
from prodlint.facts.modules import Alias, DynamicImport, Import


def dotted_name(node: ast.AST) -> str | None:
    """`a.b.c` for a Name/Attribute chain, else None."""
    kind = type(node)
    if kind is ast.Name:
        return node.id  # type: ignore[attr-defined]
    if kind is not ast.Attribute:
        return None
    parts = []
    while type(node) is ast.Attribute:
        parts.append(node.attr)  # type: ignore[attr-defined]
        node = node.value  # type: ignore[attr-defined]
    if type(node) is not ast.Name:
        return None
    parts.append(node.id)  # type: ignore[attr-defined]
    return ".".join(reversed(parts))


def scoped_statements(tree: ast.Module) -> Iterator[tuple[str, ast.stmt]]:
    """Every statement with the dotted name of its enclosing function or class ("" at module level)."""
    stack: list[tuple[str, list[ast.stmt]]] = [("", list(tree.body))]
    while stack:
        scope, body = stack.pop()
        for statement in body:
            yield scope, statement
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                inner = f"{scope}.{statement.name}" if scope else statement.name
                stack.append((inner, statement.body))
            else:
                for field in ("body", "orelse", "finalbody", "handlers"):
                    block = getattr(statement, field, None)
                    if isinstance(block, list):
                        nested = [s for s in block if isinstance(s, ast.stmt)]
                        nested += [s for h in block if isinstance(h, ast.ExceptHandler) for s in h.body]
                        stack.append((scope, nested))
                if isinstance(statement, ast.Match):
                    stack.append((scope, [s for case in statement.cases for s in case.body]))


@collector
def python_imports(module: PyModule) -> Iterator[object]:
    for scope, statement in module.scoped_statements:
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                # `import a.b` binds `a` but code then writes `a.b.x`: keep the dotted name.
                yield Import(alias.asname or alias.name, alias.name, "*", module.at(statement), scope)
        elif isinstance(statement, ast.ImportFrom):
            source = "." * statement.level + (statement.module or "")
            for alias in statement.names:
                local = "*" if alias.name == "*" else alias.asname or alias.name
                yield Import(local, source, alias.name, module.at(statement), scope)
        elif isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            value = dotted_name(statement.value)
            if isinstance(target, ast.Name) and value is not None and value != target.id:
                yield Alias(target.id, value, module.at(statement), scope)
            elif isinstance(target, ast.Name) and isinstance(statement.value, ast.Call):
                # `user_service = UserService()`: `user_service.get_user` is the class's method.
                called = dotted_name(statement.value.func)
                if called and called.rsplit(".", 1)[-1][:1].isupper() and called != target.id:
                    yield Alias(target.id, called, module.at(statement), scope, instance=True)
                elif called and called != target.id:
                    # `router = build_router()`: what the function returns.
                    yield Alias(target.id, called, module.at(statement), scope, called=True)


@collector
def python_dynamic_imports(module: PyModule) -> Iterator[object]:
    if "import_module" not in module.text and "__import__" not in module.text:
        return
    for node in module.of_type(ast.Call):
        if isinstance(node, ast.Call) and (dotted_name(node.func) or "").rsplit(".", 1)[-1] in ("import_module", "__import__"):
            if node.args and not isinstance(node.args[0], ast.Constant):
                yield DynamicImport(module.at(node), _module_pattern(node.args[0]))


def _module_pattern(node: ast.expr) -> str | None:
    """`f"app.plugins.{name}"` -> "app.plugins.*"; None when nothing of the name is literal."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        pattern = "".join(v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "*" for v in node.values)
        return pattern if pattern.strip("*") else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        pattern = (_module_pattern(node.left) or "*") + (_module_pattern(node.right) or "*")
        return pattern if pattern.strip("*") else None
    return None
