"""Tenant isolation: queries and raw SQL on tenant-scoped models that do not filter by the tenant key."""

from __future__ import annotations

from collections.abc import Iterator

from prodlint.facts.data import PRISMA, READ, WRITE
from prodlint.model.data import UNSCOPED, RequestTenantKey, TenantQuery, TenantRawSql, data_model
from prodlint.project import Project
from prodlint.rules import Finding, Related, rule


@rule("TN001")
def unscoped_tenant_read(project: Project) -> Iterator[Finding]:
    for query in project.view(data_model).tenant_queries():
        if query.query.kind == READ and query.status == UNSCOPED:
            yield _finding("TN001", query, "")


@rule("TN002")
def unscoped_tenant_write(project: Project) -> Iterator[Finding]:
    for query in project.view(data_model).tenant_queries():
        if query.query.kind == WRITE and query.status == UNSCOPED:
            yield _finding("TN002", query, ", so it can change another tenant's rows")


@rule("TN003")
def unscoped_raw_sql(project: Project) -> Iterator[Finding]:
    statements: dict[object, list[TenantRawSql]] = {}
    for access in project.view(data_model).tenant_raw_sql():
        if access.status == UNSCOPED and all(a.table.name != access.table.name for a in statements.get(access.raw.at, ())):
            statements.setdefault(access.raw.at, []).append(access)
    for accesses in statements.values():  # one finding per statement, naming every table it leaves open
        yield _raw_finding(accesses)


@rule("TN004")
def tenant_key_from_request(project: Project) -> Iterator[Finding]:
    for found in project.view(data_model).request_tenant_keys():
        yield _request_finding(found)


def _request_finding(found: RequestTenantKey) -> Finding:
    query, source = found.query, found.source
    where = f"the {source.source} (line {source.at.line})"
    if found.forwarded is not None:
        where = f"the {source.source} {source.name} that {found.forwarded} forwards"
    message = (
        f"{query.operation} on {found.model} is scoped by {found.key} = {found.value}, taken from {where}, "
        "and never compared with the caller's identity, so any user can reach another tenant's rows; "
        f"take {found.key} from the authenticated session or check the caller's membership first"
    )
    return Finding("TN004", message, query.at, (Related(source.at, f"{source.name} read from the {source.source}"),))


def _finding(code: str, tenant_query: TenantQuery, consequence: str) -> Finding:
    query, model, key = tenant_query.query, tenant_query.tenant.model, tenant_query.key
    message = f"{query.operation} on tenant-scoped model {model.name} does not filter by {key}"
    if tenant_query.extension is not None:
        client = tenant_query.extension.name + ("()" if tenant_query.extension.called else "")
        message += f" and its client {client} does not inject {key} into {query.operation}"
    if tenant_query.why:
        message += f": its value {tenant_query.why}, and Prisma ignores an undefined filter"
        fix = f"; require a defined {key} before querying"
    elif query.orm == PRISMA:
        fix = f"; add {key} to the where clause"
    elif query.operation == "get":
        fix = f"; look it up with a filter on {model.name}.{key} instead of get"
    else:
        fix = f"; filter on {model.name}.{key}"
    return Finding(code, message + consequence + fix, query.at, (Related(tenant_query.tenant.key.at, f"tenant key {key} of {model.name}"),))


def _raw_finding(accesses: list[TenantRawSql]) -> Finding:
    verbs = {"reads" if a.table.access == READ else "writes" for a in accesses}
    verb = "reads and writes" if len(verbs) == 2 else verbs.pop()
    noun = "table" if len(accesses) == 1 else "tables"
    tables = ", ".join(f"{a.table.name} (model {a.tenant.model.name})" for a in accesses)
    keys = sorted({a.key for a in accesses})
    predicates = ", ".join(f"{a.table.alias or a.table.name}.{a.key} = <tenant>" for a in accesses)
    message = (
        f"{accesses[0].raw.origin} {verb} tenant-scoped {noun} {tables} without a {' / '.join(keys)} predicate; "
        f"add {predicates} to the WHERE clause"
    )
    related = tuple(Related(a.tenant.key.at, f"tenant key {a.key} of {a.tenant.model.name}") for a in accesses)
    return Finding("TN003", message, accesses[0].raw.at, related)
