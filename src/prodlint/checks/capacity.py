"""Connection capacity: pools smaller than their concurrency (CP001), more connections than PostgreSQL allows (CP002)."""

from __future__ import annotations

from collections.abc import Iterator

from prodlint.model.capacity import PoolBudget, connection_budget
from prodlint.project import Project
from prodlint.rules import Finding, Related, rule

SIZE_SETTING = {
    "sqlalchemy": "pool_size + max_overflow", "flask-sqlalchemy": "pool_size + max_overflow",
    "node-postgres": "max", "knex": "pool.max", "prisma": "connection_limit",
}


def _pool_size(budget: PoolBudget) -> str:
    if "+" in budget.arithmetic:
        return f"{budget.arithmetic} = {budget.maximum}"
    default = f" ({budget.size.source})" if budget.size and budget.size.source else ""
    return f"{budget.maximum}{default}"


@rule("CP001")
def small_connection_pool(project: Project) -> Iterator[Finding]:
    reported = set()
    for budget in project.view(connection_budget).pools:
        if not budget.pooled or budget.maximum is None or budget.concurrency is None:
            continue
        wanted = budget.concurrency.requests
        if wanted <= budget.maximum or budget.at in reported:
            continue
        reported.add(budget.at)
        yield Finding(
            "CP001",
            f"pool allows {_pool_size(budget)} connections but {wanted} requests can use it at once "
            f"({budget.concurrency.reason}); raise {SIZE_SETTING[budget.pool.library]} to at least {wanted} "
            f"or lower the concurrency",
            budget.at,
            tuple(Related(at, message) for at, message in budget.related),
        )


@rule("CP002")
def database_connections_exhausted(project: Project) -> Iterator[Finding]:
    budget = project.view(connection_budget)
    limit = budget.postgres
    if limit is None or limit.available is None:
        return
    reported = set()
    for stack in budget.stacks():  # alternative compose stacks never run together
        services = [s for s in stack if s.connections]
        total = sum(s.connections for s in services)
        if total <= limit.available:
            continue
        labelled = len(services) > 1 or any(s.service.name for s in services)
        terms = " + ".join(f"{s.service.label}: {s.term()}" if labelled else s.term() for s in services)
        arithmetic = terms if len(services) == 1 else f"{terms} = {total}"
        unknowns = [unknown for s in stack for unknown in s.unknowns()]
        unknown = f" or more (unknown: {', '.join(unknowns)})" if unknowns else ""
        related = [Related(at, message) for s in services for at, message in s.related()]
        if limit.max_connections.at:
            related.append(Related(limit.max_connections.at, f"max_connections {limit.max_connections.value}"))
        for at in dict.fromkeys(p.at for s in services for p in s.known_pools if p.at not in reported):
            reported.add(at)
            yield Finding(
                "CP002",
                f"{arithmetic} connections{unknown} > {limit.describe()}; lower the pool sizes, workers or replicas, "
                f"raise max_connections, or put PgBouncer in front",
                at,
                tuple(related),
            )
