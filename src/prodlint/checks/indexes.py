"""Indexes: foreign keys, tenant keys and query filters that no index serves."""

from __future__ import annotations

from collections.abc import Iterator

from prodlint.facts import Location
from prodlint.facts.data import PRISMA, Field, Model
from prodlint.model.indexes import DATABASE_NAMES, MYSQL_WITHOUT_FOREIGN_KEYS, ForeignKey, IndexInventory, index_inventory, suggested_indexes
from prodlint.model.pagination import pagination
from prodlint.project import Project
from prodlint.rules import Finding, Related, rule


@rule("IX001")
def unindexed_foreign_key(project: Project) -> Iterator[Finding]:
    inventory = project.view(index_inventory)
    for key in unindexed_foreign_keys(inventory):
        model = key.model
        database = inventory.database_of(model)
        if database == MYSQL_WITHOUT_FOREIGN_KEYS:
            why = 'relationMode = "prisma" creates no foreign key for MySQL to index'
        else:
            why = f"{DATABASE_NAMES[database]} does not index foreign keys itself"
        yield Finding(
            "IX001",
            f"foreign key {_names(key.fields)} of {model.name} (references {key.target}) has no index that leads with it, "
            f"and {why}; add {suggested_index(inventory.table_owner(model), key.fields)}",
            key.at,
        )


@rule("IX002")
def unindexed_tenant_key(project: Project) -> Iterator[Finding]:
    inventory = project.view(index_inventory)
    for model, key in unindexed_tenant_keys(inventory):
        yield Finding(
            "IX002",
            f"tenant-scoped model {model.name} has no index that leads with {key.name}, so every tenant's query "
            f"scans all tenants' rows; add {suggested_index(inventory.table_owner(model), (key,))}",
            key.at,
        )


@rule("IX003")
def unindexed_query_filter(project: Project) -> Iterator[Finding]:
    inventory = project.view(index_inventory)
    # Their fix serves these queries too.
    reported_elsewhere = {(id(k.model), k.columns) for k in unindexed_foreign_keys(inventory)}
    reported_elsewhere |= {(id(m), (k.column or k.name,)) for m, k in unindexed_tenant_keys(inventory)}
    unserved = [
        need for need in inventory.query_indexes()
        if need.served_by is None and (id(need.model), tuple(f.column or f.name for f in need.equality)) not in reported_elsewhere
    ]
    # Of queries that want the same index, the one a route handler runs itself is shown: every
    # request of that route pays for the scan (the merge keeps the first of equals).
    handlers = {_key(f.at) for f in project.view(pagination).handlers()}
    unserved.sort(key=lambda need: need.query.function_at is None or _key(need.query.function_at) not in handlers)
    for suggestion in suggested_indexes(unserved):
        first, others = suggestion.needs[0], suggestion.needs[1:]
        sorted_by = f" and sorts by {first.sort.name}" if first.sort is not None else ""
        more = {0: "", 1: " (1 more query needs it)"}.get(len(others), f" ({len(others)} more queries need it)")
        owner = inventory.table_owner(first.model)
        yield Finding(
            "IX003",
            f"{first.query.operation} on {first.model.name} filters on {_names(first.equality)}{sorted_by}, but no index serves that"
            f"{more}; add {suggested_index(owner, suggestion.columns, suggestion.partial)}",
            first.query.at,
            tuple(Related(n.query.at, f"{n.query.operation} on {n.model.name} needs the same index") for n in others),
        )


def unindexed_foreign_keys(inventory: IndexInventory) -> Iterator[ForeignKey]:
    """Foreign keys no index leads with, except tenant keys (IX002 reports those)."""
    for model in inventory.tables:
        tenant_key = inventory.tenant_key(model)
        for key in inventory.foreign_keys(model):
            if any(inventory.inherited(model, f) for f in key.fields):
                continue
            if key.fields != (tenant_key,) and inventory.leading(model, key.columns) is None:
                yield key


def unindexed_tenant_keys(inventory: IndexInventory) -> Iterator[tuple[Model, Field]]:
    for model in inventory.tables:
        key = inventory.tenant_key(model)
        if key is not None and not inventory.inherited(model, key) and inventory.leading(model, (key.column or key.name,)) is None:
            yield model, key


def suggested_index(model: Model, fields: tuple[Field, ...], partial: tuple[Field, ...] = ()) -> str:
    """The index in the model's own syntax; a partial one for rows not soft-deleted."""
    if partial:
        table = model.table or model.name
        where = " AND ".join(f'"{f.column or f.name}" IS NULL' for f in partial)
        columns = ", ".join(f'"{f.column or f.name}"' for f in fields)
        return f'a partial index in a migration: CREATE INDEX ON "{table}" ({columns}) WHERE {where}'
    if model.orm == PRISMA:
        return f"@@index([{', '.join(f.name for f in fields)}]) to model {model.name}"
    columns = [f.column or f.name for f in fields]
    name = "_".join(["ix", model.table or model.name.lower(), *columns])
    arguments = ", ".join(f'"{c}"' for c in [name, *columns])
    if model.core:
        return f'Index({arguments}) inside {model.name} = Table("{model.table or model.name}", ...)'
    return f"Index({arguments}) to {model.name}.__table_args__"


def _key(at: Location) -> tuple[str, int, int]:
    return at.path, at.line, at.column


def _names(fields: tuple[Field, ...]) -> str:
    return ", ".join(f.name for f in fields)
