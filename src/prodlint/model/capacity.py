"""The connection budget: which processes open which pools, and what PostgreSQL allows.

For every compose service that runs code from the tree (its build context), the
budget is replicas × worker processes × the pool maximum of each pool in that
code. A project without compose is one service running the whole tree.

Values are resolved through settings modules, BaseSettings fields (overridden by
the service's environment and env_file), `os.getenv` defaults and `.env` files.
A value that cannot be resolved is unknown: a budget with an unknown factor is
only reported when its known part already exceeds the limit (it is a lower bound).
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from prodlint.facts import Location
from prodlint.facts.capacity import Binding, EnvFile, GunicornSettings, Handlers, Pool, PostgresSetting, Value
from prodlint.extract.commands import Invocation, option_value, programs, read_server
from prodlint.facts.compose import Build, ComposeService, Dockerfile, DockerStage, ProcfileEntry, Text
from prodlint.facts.servers import ServerCommand
from prodlint import numbers
from prodlint.model.services import script_server, services

if TYPE_CHECKING:
    from prodlint.project import Project

try:  # the Prisma schema's datasource names the URL variable
    from prodlint.facts.data import Datasource
except ImportError:  # pragma: no cover - the schema extractor is optional
    Datasource = None

SQLALCHEMY_DEFAULT = (5, 10)  # QueuePool pool_size, max_overflow
NODE_POSTGRES_DEFAULT = 10
KNEX_DEFAULT = 10
STARLETTE_THREADS = 40  # anyio's default thread limiter, where sync FastAPI handlers run
GEVENT_CONNECTIONS = 1000  # gunicorn worker_connections default
POSTGRES_DEFAULTS = {"max_connections": 100, "superuser_reserved_connections": 3}
UNPOOLED = frozenset({"NullPool", "StaticPool", "SingletonThreadPool", "AssertionPool"})
POSTGRES_IMAGES = re.compile(r"(^|/)(postgres|postgis|postgresql|timescaledb[\w-]*|pgvector)(:|$)")
MAX_DEPTH = 8


@dataclass(frozen=True, slots=True)
class Known:
    """A resolved number or string and where it was written (None: a documented default)."""

    value: str
    at: Location | None = None
    source: str = ""

    @property
    def number(self) -> int | None:
        return numbers.count(self.value)


Env = Mapping[str, tuple[str | None, Location | None]]  # value None: set, but not known here


class SettingsResolver:
    """Resolves `Value`s written in code against the bindings of every module and one environment."""

    def __init__(self, owners: dict[str, dict[str, Binding]], env: Env, env_unknown: bool = False) -> None:
        self.owners = owners
        self.env = {key.upper(): value for key, value in env.items()}
        self.env_unknown = env_unknown  # an env_file outside the tree may set any variable

    @staticmethod
    def index(bindings: Iterable[Binding]) -> dict[str, dict[str, Binding]]:
        owners: dict[str, dict[str, Binding]] = {}
        for binding in bindings:
            owners.setdefault(binding.owner, {})[binding.name] = binding
        return owners

    def resolve(self, value: Value | None, depth: int = 0) -> Known | None:
        if value is None or depth > MAX_DEPTH:
            return None
        if value.kind == "literal":
            return Known(value.text, value.at)
        if value.kind == "env":
            return self.from_env((value.text,), lambda: self.resolve(value.default, depth + 1))
        if value.kind == "name":
            binding, rest = self.lookup(value.text, depth)
            if binding is None or rest:
                return None
            return self.from_env(binding.env, lambda: self.resolve(binding.value, depth + 1))
        return None

    def from_env(self, names: tuple[str, ...], otherwise: Callable[[], Known | None]) -> Known | None:
        """The environment's value; a variable set from an unknown source is unknown, not the default."""
        for name in names:
            if name.upper() in self.env:
                text, at = self.env[name.upper()]
                return None if text is None else Known(text, at, "environment")
        return None if names and self.env_unknown else otherwise()

    def lookup(self, dotted: str, depth: int = 0) -> tuple[Binding | None, list[str]]:
        """The binding a dotted name ends at: `app.config.settings.pool_size` through `settings = Settings()`."""
        parts = dotted.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            for owner in self.owners_named(".".join(parts[:cut])):
                binding = self.owners[owner].get(parts[cut])
                if binding is not None:
                    return self.follow(binding, parts[cut + 1 :], depth)
        return None, parts

    def follow(self, binding: Binding, rest: list[str], depth: int) -> tuple[Binding | None, list[str]]:
        if not rest or depth > MAX_DEPTH:
            return binding, rest
        target = binding.value
        if target.kind not in ("instance", "name"):
            return None, rest
        found, left = self.lookup(target.text, depth + 1) if target.kind == "instance" else (None, [])
        if found is not None and not left and found.value.kind == "instance":
            target = found.value  # `settings = get_settings()` where get_settings returns `Settings()`
        for owner in self.owners_named(target.text):
            member = self.owners[owner].get(rest[0])
            if member is not None:
                return self.follow(member, rest[1:], depth + 1)
        return self.lookup(".".join([target.text, *rest]), depth + 1) if target.kind == "name" else (None, rest)

    def owners_named(self, dotted: str) -> list[str]:
        """Owners a dotted import path names: exactly, or under a source root (`src.app.config`)."""
        if dotted in self.owners:
            return [dotted]
        return sorted(owner for owner in self.owners if owner.endswith("." + dotted))


@dataclass(frozen=True, slots=True)
class Server:
    """How one replica of a service runs its code."""

    program: str | None  # gunicorn, uvicorn, node, ... None: not known
    workers: Known | None  # None: unknown
    threads: int = 1
    worker_class: str = ""
    worker_connections: int | None = None
    at: Location | None = None


@dataclass(frozen=True, slots=True)
class Service:
    name: str  # "" for a project without compose
    at: Location | None
    code_dir: str | None  # build context; None: runs no code from the tree
    replicas: Known
    server: Server
    env: tuple[tuple[str, tuple[str | None, Location | None]], ...] = ()
    cpus: float | None = None
    env_unknown: bool = False  # an env_file outside the tree may set any variable
    stack: str = ""  # the compose file its stack starts from; "" for the implicit service

    @property
    def environment(self) -> Env:
        return dict(self.env)

    def runs(self, path: str) -> bool:
        if self.code_dir is None:
            return False
        return self.code_dir in ("", ".") or path.startswith(self.code_dir.rstrip("/") + "/")

    @property
    def label(self) -> str:
        return f'service "{self.name}"' if self.name else "the application"


@dataclass(frozen=True, slots=True)
class Concurrency:
    """How many requests one process can run against a pool at once, and why."""

    requests: int
    reason: str


@dataclass(frozen=True, slots=True)
class PoolBudget:
    """One pool as one service runs it."""

    pool: Pool
    service: Service
    at: Location  # where the pool size is configured
    size: Known | None  # None: unknown
    overflow: Known | None  # SQLAlchemy max_overflow; Known("0") for other libraries
    pooled: bool  # False: NullPool / StaticPool, no pool to be small
    concurrency: Concurrency | None
    related: tuple[tuple[Location, str], ...] = ()

    @property
    def maximum(self) -> int | None:
        if self.size is None or self.overflow is None or self.size.number is None or self.overflow.number is None:
            return None
        return self.size.number + self.overflow.number

    @property
    def arithmetic(self) -> str:
        """`5 + 10` for SQLAlchemy, `10` otherwise."""
        if self.pool.library in ("sqlalchemy", "flask-sqlalchemy"):
            return f"{self.size.value} + {self.overflow.value}"
        return self.size.value if self.size else "?"


@dataclass(frozen=True, slots=True)
class ServiceBudget:
    """The connections one service may hold: replicas × workers × the sum of its pools' maxima."""

    service: Service
    pools: tuple[PoolBudget, ...]  # pooled ones, known or not

    @property
    def processes(self) -> int:
        """Replicas × worker processes; an unknown factor counts as 1 (a lower bound)."""
        workers = self.service.server.workers
        return (self.service.replicas.number or 1) * ((workers.number if workers else None) or 1)

    @property
    def known_pools(self) -> tuple[PoolBudget, ...]:
        return tuple(p for p in self.pools if p.maximum is not None)

    @property
    def connections(self) -> int:
        """Connections the known pools may hold (a lower bound unless `complete`)."""
        return self.processes * sum(p.maximum for p in self.known_pools)

    @property
    def complete(self) -> bool:
        return not self.unknowns()

    def unknowns(self) -> list[str]:
        """What the lower bound leaves out: `replicas of service "api"`, `a pool size of the application`."""
        workers, missing = self.service.server.workers, []
        if self.service.replicas.number is None:
            missing.append("replicas")
        if workers is None or workers.number is None:
            missing.append("workers")
        if len(self.known_pools) < len(self.pools):
            missing.append("a pool size")
        return [f"{what} of {self.service.label}" for what in missing]

    def term(self) -> str:
        """`3 replicas × 4 workers × (10 + 20) = 360`."""
        if len(self.known_pools) == 1:
            pool = self.known_pools[0].arithmetic
            pool = f"({pool})" if "+" in pool else pool
        else:
            pool = f"({' + '.join(str(p.maximum) for p in self.known_pools)})"
        workers = self.service.server.workers
        return f"{_count(self.service.replicas, 'replica')} × {_count(workers, 'worker')} × {pool} = {self.connections}"

    def related(self) -> Iterator[tuple[Location, str]]:
        for known, what in ((self.service.replicas, "replicas"), (self.service.server.workers, "workers")):
            if known is not None and known.at is not None:
                yield known.at, f"{known.value} {what}"


def _count(known: Known | None, noun: str) -> str:
    number = known.number if known else None
    if number is None:
        return f"at least 1 {noun}"
    return f"{number} {noun}{'s' * (number != 1)}"


@dataclass(frozen=True, slots=True)
class PostgresLimit:
    max_connections: Known
    reserved: Known

    @property
    def available(self) -> int | None:
        if self.max_connections.number is None or self.reserved.number is None:
            return None
        return self.max_connections.number - self.reserved.number

    def describe(self) -> str:
        default = "PostgreSQL's default " if self.max_connections.at is None else ""
        return (f"{self.available} available ({default}max_connections {self.max_connections.value} "
                f"− {self.reserved.value} reserved)")


@dataclass(frozen=True, slots=True)
class Handling:
    """How many requests one process of a service runs at once (for the readiness report).

    `requests` None with `bounded` False: an event loop, nothing at this level caps
    requests; None with `bounded` True: not known. `at` None: a documented default.
    """

    requests: int | None
    bounded: bool
    reason: str
    at: Location | None = None
    serves_http: bool = True  # False: a job worker (celery), which answers no requests
    evidence: Location | None = None  # why a default applies (the first sync handler)


@dataclass(frozen=True, slots=True)
class ConnectionBudget:
    pools: tuple[PoolBudget, ...]  # one per pool and service that runs it
    postgres: PostgresLimit | None  # None: the database is not known to be PostgreSQL
    # For the readiness report: every service that runs a server, with or without a pool,
    # and how one of its processes handles requests.
    servers: tuple[tuple[Service, Handling], ...] = ()

    def services(self) -> tuple[ServiceBudget, ...]:
        grouped: dict[Service, list[PoolBudget]] = {}
        for budget in self.pools:
            if budget.pooled:
                grouped.setdefault(budget.service, []).append(budget)
        return tuple(ServiceBudget(service, tuple(pools)) for service, pools in grouped.items())

    def stacks(self) -> tuple[tuple[ServiceBudget, ...], ...]:
        """The service budgets of each compose stack that runs at once (alternative stacks never do);
        the implicit service (pools no compose service claims) counts in each."""
        grouped: dict[str, list[ServiceBudget]] = {}
        for budget in self.services():
            grouped.setdefault(budget.service.stack, []).append(budget)
        implicit = grouped.pop("", [])
        if not grouped:
            return (tuple(implicit),) if implicit else ()
        return tuple(tuple(budgets + implicit) for _stack, budgets in sorted(grouped.items()))

    @property
    def total(self) -> int:
        """Connections every known pool of the largest stack may hold at once (a lower bound unless `complete`)."""
        return max((sum(s.connections for s in stack) for stack in self.stacks()), default=0)

    def unknowns(self) -> list[str]:
        return [unknown for service in self.services() for unknown in service.unknowns()]


def connection_budget(project: Project) -> ConnectionBudget:
    return _BudgetBuilder(project).build()


class _BudgetBuilder:
    def __init__(self, project: Project) -> None:
        self.project = project
        self.owners = SettingsResolver.index(project.facts_of(Binding))
        self.env_files = {f.path: f for f in project.facts_of(EnvFile)}
        self.handlers = list(project.facts_of(Handlers))
        self.gunicorn = list(project.facts_of(GunicornSettings))
        self.datasources = list(project.facts_of(Datasource)) if Datasource is not None else []
        self.dockerfiles = {d.path: d for d in project.facts_of(Dockerfile)}
        self.compose: list[Service] = []

    def build(self) -> ConnectionBudget:
        services = self.compose = list(self.services())
        budgets: list[PoolBudget] = []
        one_shot = self.one_shot_files()
        # Pools of tests, scripts and seeds hold no connection of a running service.
        for pool in self.project.live_facts_of(Pool):
            if self.serves_no_requests(pool) or pool.at.path in one_shot:
                continue
            runners = _runners(services, pool.at.path) or [self.implicit_service]
            budgets.extend(self.budget(pool, service) for service in runners)
        several = len({name for _file, name in self.postgres_services()}) > 1  # which one the pools reach is unknown
        postgres = self.postgres_limit() if not several and any(self.uses_postgres(b) for b in budgets) else None
        servers = list(services)
        if not services or any(b.service == self.implicit_service for b in budgets):
            servers.append(self.implicit_service)
        return ConnectionBudget(tuple(budgets), postgres, tuple((s, self.handling(s)) for s in servers))

    def one_shot_files(self) -> set[str]:
        """Python files an entrypoint script runs as a step before its server (`python ping.py`):
        their engines live for that step only."""
        view = self.project.view(services)
        found: set[str] = set()
        for launch in view.launches():
            if launch.script is None or launch.code_dir is None:
                continue
            for simple in launch.script.commands:
                words = simple.command.argv or ()
                if len(words) >= 2 and words[0].startswith("python") and words[1].endswith(".py"):
                    relative = words[1] if not words[1].startswith("/") else None
                    if relative:
                        found.add(posixpath.normpath(posixpath.join(launch.code_dir, relative)).removeprefix("./"))
        return found

    def serves_no_requests(self, pool: Pool) -> str | None:
        """Why the engine serves no requests: one function call's own, an instance nothing keeps
        at module level, or a branch only a caller's flag opens. None when it may serve them."""
        if pool.opt_in:
            return f"created only when {pool.opt_in} is passed"
        if pool.lifetime == "call":
            return "created and dropped within one call"
        if pool.lifetime == "instance":
            cls = pool.owner.rsplit(".", 1)[-1]
            kept = any(b.value.kind == "instance" and b.value.text.rsplit(".", 1)[-1] == cls
                       for bindings in self.owners.values() for b in bindings.values())
            return None if kept else f"created per {cls} instance, and no module keeps one"
        return None

    # --- services -------------------------------------------------------------------------

    def services(self) -> Iterator[Service]:
        """Compose services that build code from the tree (see `_compose_services`)."""
        yield from _compose_services(self)

    @cached_property
    def implicit_service(self) -> Service:
        """The tree run as one process group: no compose service claims it."""
        env = self.env_file_values(".env")
        dockerfile = self.dockerfiles.get("Dockerfile")
        web = [p for p in self.project.facts_of(ProcfileEntry) if p.path == "Procfile" and p.process == "web"]
        if dockerfile is not None and dockerfile.final is not None:
            env = {**{v.name: (_interpolate(v.value, {}), v.at) for v in dockerfile.final.env}, **env}
            server = self.server([], dockerfile.final, "", env)
        elif web and web[0].command.argv is not None:
            # the platform sets WEB_CONCURRENCY: without a flag the worker count is unknown
            server = self.server_of_argv(web[0].command.argv, "", {**env, "WEB_CONCURRENCY": (None, None)}, web[0].command.at)
        elif len(self.gunicorn) == 1:
            server = self.server_from_gunicorn_file(env, self.gunicorn[0])
        else:
            server = None
        return Service("", None, "", Known("1"), server or Server(None, None), tuple(sorted(env.items())))

    def server_from_gunicorn_file(self, env: Env, conf: GunicornSettings) -> Server:
        """What gunicorn.conf.py sets: workers, threads, worker class."""
        resolver = SettingsResolver(self.owners, env)
        workers = resolver.resolve(conf.workers) if conf.workers else Known("1")
        threads = resolver.resolve(conf.threads) if conf.threads else Known("1")
        worker_class = resolver.resolve(conf.worker_class) if conf.worker_class else None
        connections = resolver.resolve(conf.worker_connections) if conf.worker_connections else None
        return Server("gunicorn", workers, threads.number or 1 if threads else 1,
                      worker_class.value if worker_class else "", connections.number if connections else None, conf.at)

    def compose_service(self, directory: str, definitions: list[ComposeService], stack: str) -> Iterator[Service]:
        build = _last(definitions, "build")
        if build is None or build.context is None:
            return  # an image built elsewhere runs no code from this tree
        dotenv = self.env_file_values(posixpath.join(directory, ".env") if directory else ".env")
        stage = self.docker_stage(build)
        env: dict[str, tuple[str | None, Location | None]] = {}
        for variable in stage.env if stage else ():
            env[variable.name] = (_interpolate(variable.value, {}), variable.at)
        env_unknown = False
        for definition in definitions:
            for path in definition.env_files:
                env_unknown |= path not in self.env_files
                env.update(self.env_file_values(path))
            for variable in definition.environment:
                # `postgresql://u:${PASSWORD}@db/x?connection_limit=5`: the unknown part is kept as written
                value = _interpolate(variable.value, dotenv) or (variable.value.raw if variable.value else None)
                env[variable.name] = (value, variable.value.at if variable.value else variable.at)
        server = self.server(definitions, stage, build.context, {**dotenv, **env})
        if server is None:
            return  # a one-shot job (migrations), not a process that holds connections
        replicas_text = _last(definitions, "replicas") or _last(definitions, "scale")
        replicas = Known("1")
        if replicas_text is not None:
            value = _interpolate(replicas_text, dotenv)
            replicas = Known(value, replicas_text.at) if value is not None else Known("?", replicas_text.at)
        cpus_text = _last(definitions, "cpus_limit") or _last(definitions, "cpus")
        cpus = _interpolate(cpus_text, dotenv)
        yield Service(definitions[0].name, definitions[0].at, build.context, replicas, server, tuple(sorted(env.items())),
                      numbers.decimal(cpus), env_unknown, stack)

    def env_file_values(self, path: str) -> dict[str, tuple[str | None, Location | None]]:
        found = self.env_files.get(path)
        return {key: (value, at) for key, value, at in found.values} if found else {}

    def docker_stage(self, build: Build) -> DockerStage | None:
        path = build.dockerfile or posixpath.join(build.context, "Dockerfile").removeprefix("./")
        dockerfile = self.dockerfiles.get(posixpath.normpath(path))
        return dockerfile.stage(build.target) if dockerfile else None

    def server(self, definitions: list[ComposeService], stage: DockerStage | None, code_dir: str, env: Env) -> Server | None:
        entrypoint = _last(definitions, "entrypoint")
        command = _last(definitions, "command")
        if entrypoint is None and stage is not None:
            entrypoint = stage.entrypoint
            command = command or stage.cmd  # compose's entrypoint drops the image's CMD
        if command is None and entrypoint is None:
            return Server(None, None)
        argv = [*(entrypoint.argv or () if entrypoint else ()), *(command.argv or () if command else ())]
        if (entrypoint and entrypoint.argv is None) or (command and command.argv is None):
            return Server(None, None, at=(command or entrypoint).at)
        script = self.project.view(services).entrypoint_script(tuple(argv), code_dir, stage.workdir if stage else None)
        started = script_server(script) if script is not None else None
        if script is not None and started is not None and started.argv is not None:
            # the entrypoint script's server, with the script's defaults under the service's environment
            defaults = {v.name: (v.value, v.at) for v in script.variables if v.default}
            assigned = {v.name: (v.value, v.at) for v in script.variables if not v.default}
            return self.server_of_argv(list(started.argv), code_dir, {**defaults, **env, **assigned}, started.at)
        return self.server_of_argv(argv, code_dir, env, (command or entrypoint).at)

    def server_of_argv(self, argv: Sequence[str], code_dir: str, env: Env, at: Location) -> Server | None:
        """The server a command line starts; None for a one-shot job."""
        invocations = programs(argv)
        for invocation in invocations:
            server = self.server_of(read_server(invocation), code_dir, {**env, **dict(_env_pairs(invocation))}, at)
            if server is not None:
                return server
        if invocations and all(i.program in ONE_SHOT or "migrate" in i.argv or _runs_no_tasks(i) for i in invocations):
            return None
        return Server(None, None, at=at)

    def server_of(self, command: ServerCommand, code_dir: str, env: Env, at: Location) -> Server | None:
        """The processes and threads one replica runs, if prodlint knows the program."""
        words = list(command.argv)

        def count(written: int | str | None, *flags: str) -> Known | None:
            if isinstance(written, int):
                return Known(str(written), at)
            raw = option_value(words, *flags)  # `--workers ${WEB_CONCURRENCY:-4}`: the service environment decides
            value = _interpolate(Text(raw, at, None, None), env) if raw else None
            return Known(value, at) if numbers.count(value) is not None else None

        web_concurrency = env.get("WEB_CONCURRENCY")  # read by gunicorn and uvicorn when no flag is given
        default_workers = (Known(*web_concurrency) if web_concurrency[0] else None) if web_concurrency else Known("1")
        if command.program == "gunicorn":
            extra = env.get("GUNICORN_CMD_ARGS", (None, None))[0]
            if extra:
                return self.server_of(read_server(programs(["gunicorn", *shlex.split(extra), *words[1:]])[0]),
                                      code_dir, {k: v for k, v in env.items() if k != "GUNICORN_CMD_ARGS"}, at)
            conf = self.gunicorn_file(command.config_file, code_dir)
            server = self.server_from_gunicorn_file(env, conf) if conf else Server("gunicorn", default_workers)
            if command.workers is not None:
                server = replace(server, workers=count(command.workers, "-w", "--workers"))
            elif conf is not None and conf.workers is None:
                server = replace(server, workers=default_workers)
            if command.threads is not None:
                threads = count(command.threads, "--threads")
                server = replace(server, threads=threads.number if threads and threads.number else 1)
            if command.worker_class:
                written = _interpolate(Text(command.worker_class, at, None, None), env) if "$" in command.worker_class else command.worker_class
                server = replace(server, worker_class=_worker_class(written) if written else "")
            return replace(server, at=at)
        if command.program in ("uvicorn", "hypercorn"):
            if command.workers is None:
                return Server(command.program, default_workers if command.program == "uvicorn" else Known("1"), at=at)
            return Server(command.program, count(command.workers, "--workers", "-w"), at=at)
        if command.program == "celery" and "worker" in words:
            return Server("celery", count(None, "-c", "--concurrency"), at=at)  # default: one per CPU
        if command.program == "pm2-runtime":
            instances = option_value(words, "-i", "--instances")
            return Server("pm2-runtime", count(None, "-i", "--instances") if instances else Known("1"), at=at)
        if command.program == "granian":  # its --workers is not read by the command parser
            return Server("granian", count(None, "--workers") if option_value(words, "--workers") else Known("1"), at=at)
        if command.program in ("node", "bun", "deno", "daphne", "waitress-serve"):
            return Server(command.program, Known("1"), at=at)
        return None

    def gunicorn_file(self, named: str | None, code_dir: str) -> GunicornSettings | None:
        """`-c FILE`, or the gunicorn.conf.py gunicorn reads from its working directory."""
        base = "" if code_dir in ("", ".") else code_dir.rstrip("/") + "/"
        wanted = posixpath.normpath(base + named.removeprefix("python:").replace(".", "/") + ".py") \
            if named and named.startswith("python:") else posixpath.normpath(base + (named or "gunicorn.conf.py"))
        return next((g for g in self.gunicorn if g.path == wanted or (named and g.path.endswith("/" + named))), None)

    # --- pools ----------------------------------------------------------------------------

    def budget(self, pool: Pool, service: Service) -> PoolBudget:
        resolver = SettingsResolver(self.owners, service.environment, service.env_unknown)
        related: list[tuple[Location, str]] = []
        at = pool.at
        if pool.library in ("sqlalchemy", "flask-sqlalchemy"):
            size = resolver.resolve(pool.size) if pool.size else Known(str(SQLALCHEMY_DEFAULT[0]))
            overflow = resolver.resolve(pool.overflow) if pool.overflow else Known(str(SQLALCHEMY_DEFAULT[1]))
            pooled = pool.poolclass is None or pool.poolclass not in UNPOOLED and pool.poolclass != "?"
            if pool.library == "flask-sqlalchemy" and not pool.options and self.has_engine_options(pool, service):
                pooled = False  # the SQLAlchemy() call defers to an options dict counted on its own
        elif pool.library == "prisma":
            size, at, related = self.prisma_limit(pool, service, resolver)
            overflow = Known("0")
            pooled = True
        else:
            default = NODE_POSTGRES_DEFAULT if pool.library == "node-postgres" else KNEX_DEFAULT
            size = resolver.resolve(pool.size) if pool.size else Known(str(default))
            overflow, pooled = Known("0"), True
        for known, what in ((size, "pool size"), (overflow, "max_overflow")):
            if known is not None and known.at is not None and known.at.path not in (pool.at.path, at.path):
                related.append((known.at, f"{what} {known.value} set here"))
        return PoolBudget(pool, service, at, size, overflow, pooled, self.concurrency(pool, service), tuple(related))

    def has_engine_options(self, pool: Pool, service: Service) -> bool:
        return any(other.library == "flask-sqlalchemy" and other.options and service.runs(other.at.path)
                   for other in self.project.facts_of(Pool))

    def prisma_limit(self, pool: Pool, service: Service, resolver: SettingsResolver) -> tuple[Known | None, Location, list]:
        """`connection_limit` in the datasource URL, else Prisma's default of 2 × CPUs + 1."""
        url_value = pool.url
        if url_value is not None and url_value.kind == "env" and url_value.text == "DATABASE_URL" and self.datasources:
            env_names = {d.url_env for d in self.datasources if d.url_env}
            if len(env_names) == 1:
                url_value = Value("env", env_names.pop())
        url = resolver.resolve(url_value)
        if url is None:
            return None, pool.at, []
        try:
            limit = parse_qs(urlsplit(url.value).query).get("connection_limit")
        except ValueError:  # `postgresql://u@[db:5432/x`: not a URL we can read
            return None, url.at or pool.at, []
        at = url.at or pool.at
        if limit:
            return Known(limit[-1], url.at), at, []
        if service.cpus is not None:
            cpus = max(1, int(-(-service.cpus // 1)))
            return Known(str(2 * cpus + 1), None, f"2 × {cpus} CPUs + 1"), at, []
        return None, at, []  # the default depends on the machine

    def concurrency(self, pool: Pool, service: Service) -> Concurrency | None:
        """Requests one process can run against the pool at once (see docs/capacity-nginx.md)."""
        configured = self.project.config.concurrent_requests
        if configured:
            return Concurrency(configured, f"capacity.concurrent-requests is {configured}")
        server = service.server
        if server.worker_class in ("gevent", "eventlet") and not pool.is_async:
            connections = server.worker_connections or GEVENT_CONNECTIONS
            return Concurrency(connections, f"each {server.worker_class} worker serves {connections} requests at once")
        if server.threads > 1 and not pool.is_async:
            return Concurrency(server.threads, f"gunicorn runs {server.threads} threads per worker")
        if pool.library in ("sqlalchemy", "flask-sqlalchemy") and not pool.is_async:
            sync = sum(h.sync for h in self.handlers if service in (_runners(self.compose, h.path) or [service]))
            if sync:
                handlers = "1 sync FastAPI handler runs" if sync == 1 else f"{sync} sync FastAPI handlers run"
                return Concurrency(STARLETTE_THREADS, f"{handlers} in a {STARLETTE_THREADS}-thread pool")
        return None

    # --- request handling, for the readiness report ----------------------------------------

    def handling(self, service: Service) -> Handling:
        """Requests one process runs at once: the figure `concurrency` judges pools against,
        and for servers that no thread count bounds, why."""
        configured = self.project.config.concurrent_requests
        if configured:
            return Handling(configured, True, f"capacity.concurrent-requests is {configured}")
        server = service.server
        if server.program == "celery":
            return Handling(None, True, "a celery worker runs jobs, not requests", server.at, serves_http=False)
        if server.program is None:
            return Handling(None, True, "the server command is not known", server.at)
        if server.worker_class in ("gevent", "eventlet"):
            connections = server.worker_connections or GEVENT_CONNECTIONS
            default = "" if server.worker_connections else " (gunicorn's default worker_connections)"
            return Handling(connections, True, f"each {server.worker_class} worker serves {connections} requests at once{default}",
                            server.at if server.worker_connections else None)
        if server.threads > 1:
            return Handling(server.threads, True, f"gunicorn runs {server.threads} threads per worker", server.at)
        asgi = server.program in ("uvicorn", "hypercorn", "granian") or (server.program == "gunicorn" and server.worker_class == "uvicorn")
        if asgi:
            handlers = [h for h in self.handlers if service in (_runners(self.compose, h.path) or [service])]
            sync = sum(h.sync for h in handlers)
            if sync:
                first = min((h.first_sync for h in handlers if h.first_sync is not None), default=None)
                noun = "1 sync FastAPI handler runs" if sync == 1 else f"{sync} sync FastAPI handlers run"
                return Handling(STARLETTE_THREADS, True, f"{noun} in anyio's default {STARLETTE_THREADS}-thread pool",
                                evidence=first)
            if any(h.asynchronous for h in handlers):
                return Handling(None, False, "async handlers run on the event loop", server.at)
            return Handling(None, True, "no FastAPI handlers found to tell sync from async", server.at)
        if server.program == "gunicorn":
            return Handling(1, True, "gunicorn's sync worker runs 1 request at a time", server.at)
        if server.program in ("node", "bun", "deno", "pm2-runtime"):
            return Handling(None, False, f"{server.program} runs requests on one event loop", server.at)
        return Handling(None, True, f"how {server.program} handles requests is not known", server.at)

    # --- PostgreSQL -------------------------------------------------------------------------

    def uses_postgres(self, budget: PoolBudget) -> bool:
        if budget.pool.library in ("node-postgres", "knex"):
            return True
        if budget.pool.library == "prisma":
            return any((d.provider or "").startswith("postgres") for d in self.datasources) or not self.datasources
        url = SettingsResolver(self.owners, budget.service.environment, budget.service.env_unknown).resolve(budget.pool.url)
        if url is not None:
            return url.value.startswith("postgres")
        return bool(self.postgres_services())  # a URL built at run time, next to a PostgreSQL service

    def postgres_limit(self) -> PostgresLimit:
        """Command line over ALTER SYSTEM over postgresql.conf over the defaults, as PostgreSQL reads them."""
        found: dict[str, Known] = {}
        settings = sorted(self.project.facts_of(PostgresSetting), key=lambda s: s.origin == "alter-system")
        for setting in settings:
            name = "superuser_reserved_connections" if setting.name == "reserved_connections" else setting.name
            found[name] = Known(setting.value, setting.at)
        found.update(self.postgres_command_settings())
        return PostgresLimit(*(found.get(name) or Known(str(default)) for name, default in POSTGRES_DEFAULTS.items()))


    def postgres_services(self) -> dict[tuple[str, str], ComposeService]:
        view = self.project.view(services)
        return {(s.file, s.name): s for s in self.project.facts_of(ComposeService)
                if s.image is not None and POSTGRES_IMAGES.search(s.image.raw) and view.stack_of(s.file)}

    def postgres_command_settings(self) -> dict[str, Known]:
        """`command: postgres -c max_connections=200` (or `--max_connections=200`, `-N 200`) of the one postgres service."""
        services = self.postgres_services()
        if len({name for _file, name in services}) != 1:
            return {}  # which database the pools reach is not known
        found: dict[str, Known] = {}
        for service in sorted(services.values(), key=lambda s: s.file):
            variable = service.env("POSTGRESQL_MAX_CONNECTIONS")  # bitnami/postgresql
            if variable is not None and variable.value is not None and variable.value.value:
                found["max_connections"] = Known(variable.value.value, variable.at)
            command = service.command
            words = [word for invocation in programs(command.argv or ()) for word in invocation.argv] if command else []
            for index, word in enumerate(words):
                setting = None
                if word == "-c" and index + 1 < len(words):
                    setting = words[index + 1]
                elif word.startswith("--") and "=" in word:
                    setting = word[2:]
                elif word == "-N" and index + 1 < len(words):
                    setting = f"max_connections={words[index + 1]}"
                name, _, value = (setting or "").replace("-", "_").partition("=")
                if name in POSTGRES_DEFAULTS and value:
                    found[name] = Known(value, command.at)
        return found


# --- compose services and the servers they run ---------------------------------------------

ONE_SHOT = frozenset({"alembic", "migrate", "collectstatic", "prisma", "knex", "sequelize", "typeorm", "pytest",
                      "psql", "pg_dump", "createdb"})
_VARIABLE = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}|\$(\w+)")


def _compose_services(builder: _BudgetBuilder) -> Iterator[Service]:
    """Production compose services that build code from the tree, overlays folded into their stack's base."""
    view = builder.project.view(services)
    groups: dict[tuple[str, str, str], list[ComposeService]] = {}
    for service in builder.project.facts_of(ComposeService):
        stack = view.stack_of(service.file)
        if stack:
            groups.setdefault((posixpath.dirname(service.file), stack, service.name), []).append(service)
    for (directory, stack, _name), definitions in sorted(groups.items()):
        definitions.sort(key=lambda d: (d.build is None and d.image is None, d.file))  # the base first
        yield from builder.compose_service(directory, definitions, stack)


def _runners(services: list[Service], path: str) -> list[Service]:
    """The services whose build context holds the file; a nested context wins over `.`."""
    running = [s for s in services if s.runs(path)]
    deepest = max((len(s.code_dir.strip("./")) for s in running), default=0)
    return [s for s in running if len(s.code_dir.strip("./")) == deepest]


def _last(definitions: list[ComposeService], attribute: str) -> object:
    found = [getattr(d, attribute) for d in definitions if getattr(d, attribute)]
    return found[-1] if found else None


def _interpolate(text: Text | None, dotenv: Env) -> str | None:
    """Compose interpolation with the project's `.env`; None when a variable has no value."""
    if text is None:
        return None
    if text.value is not None:
        return text.value
    missing = False

    def substitute(match: re.Match[str]) -> str:
        nonlocal missing
        name = match[1] or match[3]
        known = dotenv.get(name)
        if known is not None and known[0] is not None:
            return known[0]
        if match[2] is not None:
            return match[2]
        missing = True
        return ""

    value = _VARIABLE.sub(substitute, text.raw)
    return None if missing else value


def _runs_no_tasks(invocation: Invocation) -> bool:
    """`celery beat` schedules tasks, `celery flower` monitors them: neither runs one that queries the pools."""
    return invocation.program == "celery" and bool({"beat", "flower", "events", "inspect", "status"} & set(invocation.argv))


def _env_pairs(invocation: Invocation) -> Iterator[tuple[str, tuple[str | None, Location | None]]]:
    """`env WEB_CONCURRENCY=4 gunicorn ...`: variables set for this program."""
    for name, value in invocation.environment:
        yield name, (value, None)


def _worker_class(written: str) -> str:
    """`uvicorn.workers.UvicornWorker` -> `uvicorn`, `gevent` -> `gevent`, `gthread` -> `gthread`."""
    last = written.rsplit(".", 1)[-1].lower()
    return last.removesuffix("worker") or written.split(".", 1)[0].lower()
