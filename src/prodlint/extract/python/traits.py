"""What a Python file says about itself: a `__main__` guard, a worker application."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from prodlint.extract.python import PyModule, collector
from prodlint.extract.python.modules import dotted_name
from prodlint.facts.roles import SourceTraits

# Constructors whose process runs jobs, not requests: name -> the library it must come from.
JOB_APPS = {
    "Celery": "celery", "BlockingScheduler": "apscheduler", "BackgroundScheduler": "apscheduler",
    "AsyncIOScheduler": "apscheduler", "Worker": "rq", "Dramatiq": "dramatiq", "Huey": "huey",
    "RedisHuey": "huey", "WorkerSettings": "arq",
}


def _is_main_guard(test: ast.expr) -> bool:
    if not isinstance(test, ast.Compare) or len(test.ops) != 1 or not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, test.comparators[0]]
    return any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides) and any(
        isinstance(s, ast.Constant) and s.value == "__main__" for s in sides)


PROGRAM_CALLS = frozenset({"main", "run", "asyncio.run", "anyio.run", "trio.run", "sys.exit", "exit", "print", "typer.run", "fire.Fire"})


def _program_call(module: PyModule) -> ast.stmt | None:
    """A top-level statement that does work when the file runs: `main()`, `asyncio.run(fix())`, `with Session() ...`."""
    defined = {s.name for s in module.tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}
    for statement in module.tree.body:
        if isinstance(statement, (ast.With, ast.AsyncWith)):
            return statement  # `with Session() as s: ...` at module level runs when the file runs
        call = statement.value if isinstance(statement, ast.Expr) else None
        if isinstance(call, ast.Await):
            call = call.value
        if isinstance(call, ast.Call):
            name = dotted_name(call.func) or ""
            if name in PROGRAM_CALLS or name in defined:
                return statement
    return None


@collector
def python_traits(module: PyModule) -> Iterator[object]:
    main = next((module.at(s) for s in module.tree.body if isinstance(s, ast.If) and _is_main_guard(s.test)), None)
    program = _program_call(module)
    job = None
    for statement in module.tree.body:
        value = statement.value if isinstance(statement, (ast.Assign, ast.AnnAssign, ast.Expr)) else None
        if isinstance(value, ast.Call):
            name = (dotted_name(value.func) or "").rsplit(".", 1)[-1]
            library = JOB_APPS.get(name)
            if library is not None and library in module.text:
                job = (f"{name}(...) from {library}", module.at(statement))
                break
    yield SourceTraits(module.path, (), main, module.at(program) if program is not None else None, job)
