"""Facts about application servers: what a command line starts, and `app.run(...)` in code."""

from __future__ import annotations

from dataclasses import dataclass

from prodlint.facts import Location

UNKNOWN = "unknown"  # a count set at run time (`--workers $WEB_CONCURRENCY`): never guessed


@dataclass(frozen=True, slots=True)
class ServerCommand:
    """One program a command line runs, with the server options prodlint understands.

    `workers` / `threads`: an int when given literally, None when not given (the server's
    default applies), `UNKNOWN` when given but not knowable. `dev` names the development
    mode when the program is a development server (`"uvicorn --reload"`, `"flask run"`).
    `script` is the Python file (`python app.py`) or module (`python -m pkg.app`) it runs.
    """

    program: str  # uvicorn | gunicorn | hypercorn | daphne | flask | django | python | node | npm | ...
    argv: tuple[str, ...]  # the program's own words, wrappers removed
    workers: int | str | None = None
    threads: int | str | None = None
    worker_class: str | None = None
    reload: bool = False
    dev: str | None = None
    config_file: str | None = None
    app: str | None = None
    script: str | None = None
    module: str | None = None
    environment: tuple[tuple[str, str], ...] = ()  # `env X=1 prog` / `X=1 prog` set for this program


@dataclass(frozen=True, slots=True)
class ServerRun:
    """`app.run(debug=True)`, `uvicorn.run("app:app", reload=True)` in a Python module.

    `dev` names why it is a development server (`"debug=True"`, `"reload=True"`), None
    when the call is a production-safe one. `workers`: as in `ServerCommand`.
    """

    kind: str  # flask | uvicorn | werkzeug
    module: str  # dotted name of the module
    at: Location  # the `.run(` call
    dev: str | None
    workers: int | str | None = None
    under_main: bool = False  # inside `if __name__ == "__main__":`
