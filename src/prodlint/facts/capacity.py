"""Connection capacity facts: pools, the settings their sizes come from, servers, PostgreSQL limits.

A value is recorded as written (`Value`), never evaluated: `pool_size=settings.DB_POOL_SIZE`
names a setting that the project model resolves against other files' facts and the
service's environment. What cannot be resolved stays unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

from prodlint.facts import Location


@dataclass(frozen=True, slots=True)
class Value:
    """A setting as written.

    kind `literal`: `text` is the value (`"20"`, `"postgresql://..."`);
    `name`: `text` is an absolute dotted name (`app.config.settings.pool_size`); `env`: `text` is an environment variable, `default` its fallback;
    `instance`: a call of the class or function named by `text`; `ini`: `text` is `section/KEY` of an
    INI file the code reads, `default` the value when the file leaves it empty; `unknown`: computed at run time.
    """

    kind: str
    text: str = ""
    default: Value | None = None
    at: Location | None = None


UNKNOWN = Value("unknown")


@dataclass(frozen=True, slots=True)
class Pool:
    """A database connection pool and how it is configured.

    `size` / `overflow`: None means the library's default applies. `url` is the connection
    string when it is passed here (Prisma's `connection_limit` lives in it).
    """

    library: str  # sqlalchemy | flask-sqlalchemy | node-postgres | knex | prisma
    at: Location
    module: str  # dotted module or path of the file creating it
    size: Value | None = None
    overflow: Value | None = None
    poolclass: str | None = None  # SQLAlchemy: NullPool, StaticPool, QueuePool, ...
    is_async: bool = False
    url: Value | None = None
    # How long the engine lives: "shared" (module or class level, or handed on), "call" (a local
    # of one function call, used there and dropped), "instance" (`self.engine` of `owner`,
    # a dotted class name). `opt_in`: the parameter, falsy by default, whose branch creates it.
    lifetime: str = "shared"
    owner: str = ""
    opt_in: str | None = None
    options: bool = False  # Flask-SQLAlchemy: an engine-options dict (`SQLALCHEMY_ENGINE_OPTIONS`), not the SQLAlchemy() call


@dataclass(frozen=True, slots=True)
class Binding:
    """A module- or class-level `NAME = value` (settings modules, config classes, pydantic fields).

    `owner` is the dotted module, or `module.Class` for class attributes; `env` is the
    environment variable a BaseSettings field reads (already prefixed), if any.
    """

    owner: str
    name: str
    value: Value
    at: Location
    env: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Handlers:
    """FastAPI route handlers in one file: sync ones run in Starlette's thread pool."""

    path: str
    sync: int
    asynchronous: int
    first_sync: Location | None


@dataclass(frozen=True, slots=True)
class GunicornSettings:
    """A gunicorn configuration file (`gunicorn.conf.py`): the values it sets."""

    path: str
    workers: Value | None
    threads: Value | None
    worker_class: Value | None
    worker_connections: Value | None
    at: Location


@dataclass(frozen=True, slots=True)
class EnvFile:
    """A dotenv file: `KEY=VALUE` lines, with where each value is."""

    path: str
    values: tuple[tuple[str, str, Location], ...]

    def get(self, key: str) -> tuple[str, Location] | None:
        for name, value, at in reversed(self.values):
            if name == key:
                return value, at
        return None


@dataclass(frozen=True, slots=True)
class PostgresSetting:
    """`max_connections` / `superuser_reserved_connections` set in postgresql.conf or ALTER SYSTEM."""

    name: str
    value: str
    at: Location
    origin: str = "postgresql.conf"  # or "alter-system" (init SQL), which PostgreSQL applies after the file


@dataclass(frozen=True, slots=True)
class IniValue:
    """`KEY = value` in a `[section]` of an INI file (`config.ini`); value "" when left empty."""

    path: str
    section: str
    key: str
    value: str
    at: Location
