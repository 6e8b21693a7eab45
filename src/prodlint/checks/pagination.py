"""Pagination rules: PG001 unbounded-page-size, PG002 unpaginated-list-query."""

from __future__ import annotations

from collections.abc import Iterator

from prodlint.facts.data import PRISMA, READ, Query
from prodlint.facts.pagination import EXPRESS, FASTAPI, FLASK, SCHEMA, Function
from prodlint.model.data import data_model
from prodlint.model.pagination import UNBOUNDED, pagination
from prodlint.project import Project
from prodlint.rules import Finding, Related, rule

FIXES = {
    FASTAPI: "declare a maximum, e.g. Query(20, ge=1, le=100)",
    SCHEMA: "declare a maximum, e.g. Field(20, ge=1, le=100)",
    FLASK: "clamp it, e.g. min(value, MAX_PAGE_SIZE)",
    EXPRESS: "clamp it with Math.min(value, MAX_PAGE_SIZE) or validate it with a schema .max()",
}


@rule("PG001")
def unbounded_page_size(project: Project) -> Iterator[Finding]:
    view = project.view(pagination)
    for param in view.unbounded_page_sizes():
        through = view.reaches_page_size(param.at.path, param.function, param.passed_to) if param.passed_to else None
        via = f", and {through} uses it as the page size" if through else ""
        yield Finding(
            "PG001",
            f"page size {param.name} ({param.read}) has no upper bound{via}, so one request can ask for every row; {FIXES[param.framework]}",
            param.at,
        )


@rule("PG002")
def unpaginated_list_query(project: Project) -> Iterator[Finding]:
    data = project.view(data_model)
    view = project.view(pagination)
    for listed in view.list_queries():
        query = listed.query
        if query.kind != READ or not query.returns_many or view.list_status(listed) != UNBOUNDED:
            continue
        model = data.model_of(query)
        name = model.name if model is not None else query.model.rsplit(".", 1)[-1]
        yield Finding("PG002", _unpaginated_message(query, name, listed.handler), query.at, _related(query, listed.handler))


def _unpaginated_message(query: Query, model: str, handler: Function) -> str:
    direct = query.function_at == handler.at
    where = f"route handler {_display(handler)}" if direct else f"{query.function} (called by route handler {_display(handler)})"
    limit = "take" if query.orm == PRISMA else ".limit()"
    return (
        f"{query.operation} on {model} in {where} returns every row with no limit; paginate it with {limit} "
        f"(or list {model} in pagination.bounded-models if the table stays small)"
    )


def _related(query: Query, handler: Function) -> tuple[Related, ...]:
    if query.function_at == handler.at:
        return ()
    return (Related(handler.at, f"route handler {_display(handler)}"),)


def _display(handler: Function) -> str:
    return handler.name if "<anonymous>" not in handler.name else f"at line {handler.at.line}"

