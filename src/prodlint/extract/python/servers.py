"""Servers started from Python code: `app.run(debug=True)`, `uvicorn.run(..., reload=True)`.

Only calls that run when the file is executed as a script count: module-level
statements, `if __name__ == "__main__":` blocks, and the module's own functions
called from that block. A call under any other `if` runs only sometimes and is left alone. A Flask application's `.run()` is always Werkzeug's
development server; with `debug=True` it also serves the interactive debugger.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from prodlint.extract.python import PyModule, collector
from prodlint.facts.servers import UNKNOWN, ServerRun

_FLASK_MODULES = frozenset({"flask", "flask_socketio", "quart"})


@collector
def collect_server_runs(module: PyModule) -> Iterator[ServerRun]:
    if "run(" in module.text:
        yield from _RunFinder(module).runs()


class _RunFinder:
    def __init__(self, module: PyModule) -> None:
        self.module = module
        self.uvicorn_names: set[str] = set()  # `import uvicorn` / `import uvicorn as uv`
        self.uvicorn_run_names: set[str] = set()  # `from uvicorn import run`
        self.imports_flask = False
        self.flask_apps: set[str] = set()
        self.functions = {s.name: s for s in module.tree.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)}
        for node in module.nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == "uvicorn":
                        self.uvicorn_names.add(alias.asname or "uvicorn")
                    self.imports_flask |= alias.name.split(".")[0] in _FLASK_MODULES
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                root = node.module.split(".")[0]
                self.imports_flask |= root in _FLASK_MODULES
                if node.module == "uvicorn":
                    self.uvicorn_run_names |= {a.asname or a.name for a in node.names if a.name == "run"}
            elif isinstance(node, ast.Assign) and _is_flask_call(node.value):
                self.flask_apps |= {t.id for t in node.targets if isinstance(t, ast.Name)}

    def runs(self) -> Iterator[ServerRun]:
        for statement, under_main in self._executed(self.module.tree.body, False, set()):
            for node in ast.walk(statement):
                if isinstance(node, ast.Call):
                    run = self._server_run(node, under_main)
                    if run is not None:
                        yield run

    def _executed(self, body: list[ast.stmt], under_main: bool, seen: set[str]) -> Iterator[tuple[ast.stmt, bool]]:
        """Statements that run when the module is executed, skipping function and class bodies."""
        for statement in body:
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            if isinstance(statement, ast.If) and _is_main_guard(statement.test):
                yield from self._executed(statement.body, True, seen)
                for call in _called_names(statement.body):
                    if call in self.functions and call not in seen:
                        seen.add(call)
                        yield from self._executed(self.functions[call].body, True, seen)
                continue
            if isinstance(statement, ast.If):
                continue  # `if settings.DEBUG: app.run(debug=True)` runs only sometimes: not guessed
            if isinstance(statement, ast.With | ast.Try):
                yield from self._executed([*statement.body, *getattr(statement, "orelse", [])], under_main, seen)
                continue
            yield statement, under_main

    def _server_run(self, call: ast.Call, under_main: bool) -> ServerRun | None:
        function = call.func
        keywords = {k.arg: k.value for k in call.keywords if k.arg}
        is_uvicorn = (
            isinstance(function, ast.Attribute) and function.attr == "run"
            and isinstance(function.value, ast.Name) and function.value.id in self.uvicorn_names
        ) or (isinstance(function, ast.Name) and function.id in self.uvicorn_run_names)
        if is_uvicorn:
            dev = "reload=True" if _is_true(keywords.get("reload")) else None
            return ServerRun("uvicorn", self.module.dotted, self.module.at(call), dev, _count(keywords.get("workers")), under_main)
        if not (isinstance(function, ast.Attribute) and function.attr == "run" and self.imports_flask):
            return None
        receiver = function.value
        if _is_true(keywords.get("debug")):
            return ServerRun("flask", self.module.dotted, self.module.at(call), "debug=True", None, under_main)
        if isinstance(receiver, ast.Name) and receiver.id in self.flask_apps:
            return ServerRun("flask", self.module.dotted, self.module.at(call), "app.run()", None, under_main)
        return None


def _is_flask_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    function = node.func
    name = function.attr if isinstance(function, ast.Attribute) else function.id if isinstance(function, ast.Name) else ""
    return name == "Flask"


def _is_main_guard(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__"
        and len(test.comparators) == 1 and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


def _called_names(body: list[ast.stmt]) -> list[str]:
    return sorted({
        node.func.id for statement in body for node in ast.walk(statement)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    })


def _is_true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _count(node: ast.expr | None) -> int | str | None:
    if node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value
    return UNKNOWN
