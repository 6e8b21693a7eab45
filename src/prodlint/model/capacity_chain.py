"""The capacity chain of each service: proxy → HTTP workers → pools → database.

Each link caps the requests a service can have in flight at once:

- `proxy`: nginx `worker_processes × worker_connections`, halved because a proxied
  request holds two connections (client and upstream), where nginx passes to the service;
- `http`: replicas × worker processes × the requests one process runs at once
  (`Handling` of the connection budget: threads, the 40-thread pool of sync FastAPI
  handlers, gevent connections; an event loop caps nothing here);
- `pool`: replicas × worker processes × the sum of the service's pool maxima;
- `database`: PostgreSQL `max_connections − superuser_reserved_connections`, less what
  the other services' pools may hold.

`max_concurrent_requests` is the smallest known limit and `bottleneck` the link that
sets it (on a tie, the one a request meets first); neither is given when the server's
command cannot be read, since then nothing says the service answers requests at all. Every input carries its source: the
line that sets it, or the documented default that applies. A limit with an unknown
factor is unknown, never guessed; the maximum is then an upper bound (`complete` False).

Use `project.view(capacity_chain)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from prodlint.facts import Location
from prodlint.model.capacity import Handling, Known, PoolBudget, PostgresLimit, Service, ServiceBudget, connection_budget
from prodlint.model.nginx import ProxyPass, nginx_configuration, nginx_processes, proxied_hosts

if TYPE_CHECKING:
    from prodlint.project import Project

PROXY, HTTP, POOL, DATABASE = "proxy", "http", "pool", "database"
CHAIN = (PROXY, HTTP, POOL, DATABASE)
POOL_DEFAULTS = {  # library -> (what the size is called, whose default it is)
    "sqlalchemy": ("pool_size", "SQLAlchemy's default"),
    "flask-sqlalchemy": ("pool_size", "SQLAlchemy's default"),
    "node-postgres": ("max", "node-postgres's default"),
    "knex": ("pool.max", "knex's default"),
    "prisma": ("connection_limit", "Prisma's default"),
}


@dataclass(frozen=True, slots=True)
class Input:
    """One factor of a limit and where it comes from.

    `at` is the line that sets it; without one, `origin` says which default applies
    (`default of 1 (uvicorn's default)`) or how it is computed.
    """

    name: str
    value: str
    at: Location | None = None
    origin: str = ""
    evidence: Location | None = None  # why a default applies here (the first sync handler)

    @property
    def source(self) -> str:
        return f"{self.at.path}:{self.at.line}" if self.at is not None else self.origin


@dataclass(frozen=True, slots=True)
class Limit:
    """One link of the chain. `value` None: unbounded (`bounded` False) or unknown."""

    kind: str
    value: int | None
    arithmetic: str
    inputs: tuple[Input, ...]
    bounded: bool = True
    unknown: tuple[str, ...] = ()
    at: Location | None = None  # where the limit is configured (the pool, the command, the setting)

    @property
    def state(self) -> str:
        if self.value is not None:
            return "known"
        return "unknown" if self.bounded else "unbounded"

    def against(self, target: int) -> tuple[int, str] | None:
        """(headroom, words) against a target concurrency: `(+35, "35 to spare")`, `(-245, "50× short")`."""
        if self.value is None:
            return None
        if self.value >= target:
            return self.value - target, f"{self.value - target} to spare"
        if self.value == 0:
            return -target, "no capacity"
        ratio = target / self.value
        shown = f"{ratio:.0f}" if abs(ratio - round(ratio)) < 0.05 else f"{ratio:.1f}"
        return self.value - target, f"{shown}× short"


@dataclass(frozen=True, slots=True)
class ServiceCapacity:
    service: Service
    handling: Handling
    limits: tuple[Limit, ...]  # in chain order; a link that does not apply is absent
    connections: int | None  # what its pools may hold; None: a factor is unknown

    @property
    def name(self) -> str:
        return self.service.name

    @property
    def serves_http(self) -> bool:
        return self.handling.serves_http

    @property
    def bottleneck(self) -> Limit | None:
        """None for a job worker, and when how the server handles requests is not known
        (a command prodlint cannot read): the other links alone would be a guess."""
        http = self.limit(HTTP)
        if not self.serves_http or http is None or (http.state == "unknown" and "requests per process" in http.unknown):
            return None
        known = [limit for limit in self.limits if limit.value is not None]
        return min(known, key=lambda limit: (limit.value, CHAIN.index(limit.kind)), default=None)

    @property
    def max_concurrent_requests(self) -> int | None:
        bottleneck = self.bottleneck
        return bottleneck.value if bottleneck is not None else None

    @property
    def complete(self) -> bool:
        """Every limit is known or unbounded: the maximum is exact, not an upper bound."""
        return all(limit.state != "unknown" for limit in self.limits)

    def limit(self, kind: str) -> Limit | None:
        return next((limit for limit in self.limits if limit.kind == kind), None)


@dataclass(frozen=True, slots=True)
class RollingDeploy:
    """While a service with replicas > 1 rolls out, old and new replicas hold connections at once."""

    service: str
    connections: int  # every pool of the stack, with this service's counted twice


@dataclass(frozen=True, slots=True)
class CapacityChain:
    services: tuple[ServiceCapacity, ...]
    postgres: PostgresLimit | None
    connections: int  # every known pool of the stack (a lower bound unless `connections_complete`)
    connections_complete: bool
    rolling_deploys: tuple[RollingDeploy, ...]
    proxy: Limit | None  # nginx's own capacity, shared by every service it fronts

    @property
    def max_concurrent_requests(self) -> int | None:
        """The services' maxima added up, those behind nginx together capped by nginx
        (None when one of them is not known exactly)."""
        serving = [s for s in self.services if s.serves_http]
        if not serving or any(s.max_concurrent_requests is None or not s.complete for s in serving):
            return None
        fronted = sum(s.max_concurrent_requests or 0 for s in serving if s.limit(PROXY) is not None)
        direct = sum(s.max_concurrent_requests or 0 for s in serving if s.limit(PROXY) is None)
        if self.proxy is not None and self.proxy.value is not None:
            fronted = min(fronted, self.proxy.value)  # one nginx carries every service behind it
        return fronted + direct


def capacity_chain(project: Project) -> CapacityChain:
    budget = project.view(connection_budget)
    by_service = {b.service: b for b in budget.services()}
    proxy = _proxy_limit(project)
    passes = list(project.view(nginx_configuration).proxy_passes())
    several_services = len(budget.servers) > 1 or any(s.name for s, _ in budget.servers)
    total = budget.total
    services = []
    for service, handling in budget.servers:
        pools = by_service.get(service)
        connections = pools.connections if pools is not None and pools.complete else None
        own = pools.connections if pools is not None else 0
        limits = [
            _fronted(proxy, passes, service, several_services),
            _http_limit(service, handling) if handling.serves_http else None,
            _pool_limit(pools) if pools is not None else None,
            # A service without a pool does not wait for the database.
            _database_limit(budget.postgres, total - own, budget.unknowns(), service) if budget.postgres and pools else None,
        ]
        services.append(ServiceCapacity(service, handling, tuple(limit for limit in limits if limit is not None), connections))
    deploys = tuple(
        RollingDeploy(s.service.name, total + s.connections)
        for s in budget.services() if (s.service.replicas.number or 1) > 1 and s.connections
    )
    return CapacityChain(tuple(services), budget.postgres, total, not budget.unknowns(), deploys, proxy)


# --- the links --------------------------------------------------------------------------


def _default(value: str, why: str) -> str:
    return f"default of {value} ({why})" if why else f"default of {value}"


def _known_input(name: str, known: Known | None, why: str) -> Input:
    if known is None:
        return Input(name, "?", None, "not known")
    if known.at is not None:
        return Input(name, known.value, known.at)
    formula = known.source if known.source and known.source != "environment" else ""
    return Input(name, known.value, None, _default(known.value, f"{why}: {formula}" if formula else why))


def _processes(service: Service) -> tuple[list[Input], int | None, list[str], str]:
    """Replicas and workers: the inputs, their product, what is unknown, and `1 replica × 2 workers`."""
    server = service.server
    replicas = _known_input("replicas", service.replicas, "no deploy.replicas or scale")
    workers = _known_input("workers", server.workers, f"{server.program}'s default" if server.program else "")
    unknown = []
    if service.replicas.number is None:
        unknown.append("replicas")
    if server.workers is None or server.workers.number is None:
        unknown.append("workers")
    product = service.replicas.number * server.workers.number if not unknown else None  # type: ignore[union-attr,operator]
    words = f"{_count(replicas.value, 'replica')} × {_count(workers.value, 'worker')}"
    return [replicas, workers], product, unknown, words


def _count(value: str, noun: str) -> str:
    return f"{value} {noun}{'' if value == '1' else 's'}"


def _http_limit(service: Service, handling: Handling) -> Limit:
    inputs, processes, unknown, words = _processes(service)
    if not handling.bounded:
        return Limit(HTTP, None, f"{words}; {handling.reason}, which caps no requests here",
                     (*inputs, Input("requests per process", "no limit", handling.at, handling.reason)), bounded=False,
                     at=service.server.at)
    if handling.requests is None:
        return Limit(HTTP, None, f"{words} × ? requests per process ({handling.reason})",
                     (*inputs, Input("requests per process", "?", handling.at, handling.reason)), unknown=("requests per process",),
                     at=service.server.at)
    per_process = Input("requests per process", str(handling.requests), handling.at,
                        "" if handling.at else _default(str(handling.requests), handling.reason), handling.evidence)
    value = processes * handling.requests if processes is not None else None
    arithmetic = f"{words} × {handling.requests} requests per process ({handling.reason})"
    return Limit(HTTP, value, arithmetic + (f" = {value}" if value is not None else ""), (*inputs, per_process),
                 unknown=tuple(unknown), at=handling.at or service.server.at)


def _pool_limit(budget: ServiceBudget) -> Limit:
    inputs, processes, unknown, words = _processes(budget.service)
    terms = []
    for pool in budget.pools:
        setting, whose = POOL_DEFAULTS.get(pool.pool.library, ("size", ""))
        inputs.append(_known_input(setting, pool.size, whose))
        if pool.pool.library in ("sqlalchemy", "flask-sqlalchemy"):
            inputs.append(_known_input("max_overflow", pool.overflow, whose))
        terms.append(_pool_term(pool))
        if pool.maximum is None:
            unknown.append(f"{setting} of the pool at {pool.at.path}:{pool.at.line}")
    value = processes * sum(p.maximum for p in budget.pools) if not unknown and processes is not None else None  # type: ignore[misc]
    pools = " + ".join(terms) if len(terms) == 1 else f"({' + '.join(terms)})"
    arithmetic = f"{words} × {pools} connections" + (f" = {value}" if value is not None else "")
    return Limit(POOL, value, arithmetic, tuple(inputs), unknown=tuple(unknown), at=budget.pools[0].at)


def _pool_term(pool: PoolBudget) -> str:
    """`(5 + 10)` for SQLAlchemy, `10` otherwise; `?` for what is not known."""
    size = pool.size.value if pool.size is not None else "?"
    if pool.pool.library in ("sqlalchemy", "flask-sqlalchemy"):
        return f"({size} + {pool.overflow.value if pool.overflow is not None else '?'})"
    return size


def _database_limit(postgres: PostgresLimit, others: int, unknowns: list[str], service: Service) -> Limit:
    inputs = (
        _known_input("max_connections", postgres.max_connections, "PostgreSQL's default"),
        _known_input("superuser_reserved_connections", postgres.reserved, "PostgreSQL's default"),
        Input("held by other services", str(others), None, "their pool limits"),
    )
    available = postgres.available
    if available is None:
        return Limit(DATABASE, None, "max_connections is not a number", inputs, unknown=("max_connections",),
                     at=postgres.max_connections.at)
    others_unknown = tuple(u for u in unknowns if not u.endswith(f" of {service.label}"))
    value = max(0, available - others)
    arithmetic = (f"{postgres.max_connections.value} max_connections − {postgres.reserved.value} reserved"
                  f" − {others} held by other services = {value}")
    # Other services' unknown pools may hold more: this is then an upper bound, not unknown.
    if others_unknown:
        arithmetic += " at most (other services' unknown pools may hold more)"
    return Limit(DATABASE, value, arithmetic, inputs, at=postgres.max_connections.at)


def _proxy_limit(project: Project) -> Limit | None:
    """nginx's own capacity, when the tree has nginx in front of something."""
    passes = list(project.view(nginx_configuration).proxy_passes())
    if not passes:
        return None
    processes = nginx_processes(project)
    if processes is None:
        return Limit(PROXY, None, "the nginx.conf that sets worker_processes is not in the tree", (),
                     unknown=("worker_processes",))
    inputs = []
    numbers = []
    for name, directive in (("worker_processes", processes.worker_processes), ("worker_connections", processes.worker_connections)):
        value = processes.value(name)
        inputs.append(Input(name, value, directive.at if directive else None, "" if directive else _default(value, "nginx's default")))
        numbers.append(int(value) if value.isdigit() else None)
    if numbers[0] is None or numbers[1] is None:
        return Limit(PROXY, None, f"worker_processes {inputs[0].value} (one per CPU) × worker_connections {inputs[1].value} / 2",
                     tuple(inputs), unknown=("worker_processes",))
    value = numbers[0] * numbers[1] // 2
    arithmetic = (f"{numbers[0]} worker_processes × {numbers[1]} worker_connections / 2 "
                  f"(a proxied request holds a client and an upstream connection) = {value}")
    at = processes.worker_connections or processes.worker_processes
    return Limit(PROXY, value, arithmetic, tuple(inputs), at=at.at if at else None)


def _fronted(proxy: Limit | None, passes: list[ProxyPass], service: Service, compose: bool) -> Limit | None:
    """The proxy limit, with the proxy_pass that reaches the service, if nginx fronts it.

    nginx reaches a compose service by its name; without compose, nginx fronts the one application.
    """
    if proxy is None:
        return None
    reaching = [p for p in passes if service.name in proxied_hosts(p)] if compose else passes
    if not reaching:
        return None
    first = reaching[0]
    via = Input("proxy_pass", first.url, first.directive.at)
    return Limit(proxy.kind, proxy.value, proxy.arithmetic, (*proxy.inputs, via), proxy.bounded, proxy.unknown,
                 proxy.at or first.directive.at)
