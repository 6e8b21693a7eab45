"""The data model across files: models by name and table, tenant-scoped models, and
every query on them with how (or whether) it is scoped to a tenant.

Use `project.view(data_model)`. A model is tenant-scoped when it has a field named
by `tenant.keys`; SQLAlchemy mixins and bases are resolved into the models that
inherit them. A query on a tenant-scoped model is, in order of precedence:
scoped by row-level security on its table, scoped by its client (a `$extends`
client that injects the key, or one named in `tenant.scoped-clients`), scoped by
its filter, unknown (part of the filter cannot be seen), or unscoped.
"""

from __future__ import annotations

import fnmatch
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace

from prodlint.facts.data import PRISMA, SQLALCHEMY, Field, IndexDef, Model, Query, RawSql, ScopedClient, SqlTable
from prodlint.model.modules import module_index
from prodlint.project import Project

SCOPED_BY_FILTER = "scoped-by-filter"
SCOPED_BY_EXTENSION = "scoped-by-extension"
SCOPED_BY_RLS = "scoped-by-rls"
UNSCOPED = "unscoped"
UNKNOWN = "unknown"
STATUSES = (SCOPED_BY_FILTER, SCOPED_BY_EXTENSION, SCOPED_BY_RLS, UNSCOPED, UNKNOWN)

# Inserts cannot reach another tenant's rows; they are not tenant reads or writes.
CREATES = frozenset({"create", "createMany", "createManyAndReturn"})


@dataclass(frozen=True, slots=True)
class TenantModel:
    model: Model
    key: Field  # the tenant-key field (`tenantId`, `tenant_id`)

    @property
    def name(self) -> str:
        return self.model.name


@dataclass(frozen=True, slots=True)
class TenantQuery:
    """A query on a tenant-scoped model, with its status. `why` explains an `undefined` key."""

    query: Query
    tenant: TenantModel
    status: str
    why: str | None = None
    extension: ScopedClient | None = None  # a tenant client that does not cover this operation

    @property
    def key(self) -> str:
        return self.tenant.key.name


@dataclass(frozen=True, slots=True)
class TenantRawSql:
    """A raw SQL statement's access to one tenant-scoped table."""

    raw: RawSql
    table: SqlTable
    tenant: TenantModel
    status: str

    @property
    def key(self) -> str:
        return self.tenant.key.column or self.tenant.key.name


def delegate_name(model: str) -> str:
    """Prisma client delegate of a model: `OrderItem` -> `orderItem`."""
    return model[:1].lower() + model[1:]


def normalise_client(text: str) -> str:
    """`await tenantDb(req)` -> `tenantDb()`, `req.user!.prisma` -> `req.user.prisma`."""
    text = re.sub(r"\s+", "", text.replace("await ", ""))
    text = text.replace("?.", ".").replace("!", "")
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1]
    previous = None
    while previous != text:
        previous, text = text, re.sub(r"\([^()]*\)", "()", text)
    return text


class DataModel:
    def __init__(self, project: Project) -> None:
        self.project = project
        self.config = project.config
        # Models of copies, tests and migration snapshots are not the schema the application runs on.
        raw_models = list(project.live_facts_of(Model))
        loose_indexes = list(project.live_facts_of(IndexDef))
        self.models: list[Model] = self._resolve(raw_models, loose_indexes)
        self.prisma_by_delegate: dict[str, list[Model]] = defaultdict(list)
        for model in self.models:
            if model.orm == PRISMA and model.kind in ("model", "view"):
                self.prisma_by_delegate[delegate_name(model.name)].append(model)
        sqlalchemy_names: dict[str, list[Model]] = defaultdict(list)
        for model in self.models:
            if model.orm == SQLALCHEMY and model.kind == "model":
                sqlalchemy_names[model.name].append(model)
        self.sqlalchemy_by_name = {name: found[0] for name, found in sqlalchemy_names.items() if len(found) == 1}
        self.by_table: dict[str, Model] = {}
        for model in self.models:
            if model.table and model.kind in ("model", "view"):
                self.by_table.setdefault(model.table.lower(), model)
        self.tenant_models = {id(m): t for m in self.models if (t := self._tenant_model(m)) is not None}
        self.rls_tables = rls_tables(project)
        self._scoped_clients = list(project.facts_of(ScopedClient))
        # module-level bindings, which other files can import: (path, name) -> (is a function, client)
        self._scoped_keys = {
            (c.at.path, c.name): (c.called, c) for c in self._scoped_clients if not c.scope and not c.name.startswith("this.")
        }

    # --- models -------------------------------------------------------------

    def _resolve(self, models: list[Model], loose_indexes: list[IndexDef]) -> list[Model]:
        """SQLAlchemy: inherit mixin/base columns; attach module-level `Index(...)`; STI subclasses."""
        by_name: dict[str, list[Model]] = defaultdict(list)
        for model in models:
            if model.orm == SQLALCHEMY:
                by_name[model.name].append(model)

        def ancestors(model: Model, seen: frozenset[str] = frozenset()) -> Iterator[Model]:
            for base in model.bases:
                found = by_name.get(base.rsplit(".", 1)[-1], [])
                if len(found) == 1 and found[0].name not in seen:
                    yield found[0]
                    yield from ancestors(found[0], seen | {model.name})

        prisma_models = {m.name for m in models if m.orm == PRISMA and m.kind in ("model", "view")}
        resolved: list[Model] = []
        for model in models:
            if model.orm == PRISMA:
                # A relation to a model in another file of a multi-file schema has no column.
                fields = tuple(replace(f, relation=True, column=None) if f.type in prisma_models and not f.relation else f for f in model.fields)
                resolved.append(replace(model, fields=fields))
                continue
            if model.orm != SQLALCHEMY:
                resolved.append(model)
                continue
            parents = list(ancestors(model))
            table, kind = model.table, model.kind
            if kind == "mixin" and not model.abstract:
                mapped = next((p for p in parents if p.kind == "model"), None)
                if mapped is not None:
                    table, kind = mapped.table, "model"  # single-table inheritance
                elif any(p.dynamic_table for p in parents) and model.fields:
                    kind = "model"  # `__tablename__` comes from a declared_attr on a base
            own = {f.name for f in model.fields}
            inherited = tuple(f for p in parents for f in p.fields if f.name not in own)
            fields = tuple(dict((f.name, f) for f in model.fields + inherited).values())
            indexes = model.indexes + tuple(i for p in parents for i in p.indexes)
            column_of = {f.name: f.column or f.name for f in fields}
            indexes += tuple(i for i in loose_indexes if i.model.rsplit(".", 1)[-1] == model.name)
            indexes = tuple(
                replace(i, model=model.name, table=table or "", columns=tuple(column_of.get(f, c) for f, c in zip(i.fields or i.columns, i.columns, strict=False)))
                for i in indexes
            )
            resolved.append(replace(model, table=table, kind=kind, fields=fields, indexes=indexes))
        return resolved

    def _tenant_model(self, model: Model) -> TenantModel | None:
        if model.kind not in ("model", "view"):
            return None
        for key in self.config.tenant_keys:
            for f in model.fields:
                if not f.relation and (f.name == key or f.column == key):
                    return TenantModel(model, f)
        return None

    def model_of(self, query: Query) -> Model | None:
        if query.orm == PRISMA:
            # A monorepo has a schema per app: the one nearest the query is its schema.
            candidates = self.prisma_by_delegate.get(query.model, [])
            return max(candidates, key=lambda m: (_shared_prefix(m.at.path, query.at.path), m.at.path), default=None)
        return self.sqlalchemy_by_name.get(query.model.rsplit(".", 1)[-1])

    def tenant_model(self, model: Model | None) -> TenantModel | None:
        return self.tenant_models.get(id(model)) if model is not None else None

    @property
    def tenant_scoped_models(self) -> list[TenantModel]:
        return [self.tenant_models[id(m)] for m in self.models if id(m) in self.tenant_models]

    # --- queries ------------------------------------------------------------

    def exempt(self, path: str) -> bool:
        return self.project.matches_any(path, self.config.tenant_exempt)

    def tenant_queries(self) -> Iterator[TenantQuery]:
        """Every read and write on a tenant-scoped model outside `tenant.exempt`, in path order."""
        checked: dict[tuple[str, str, str], list[Query]] = defaultdict(list)
        for query in self.project.facts_of(Query):
            if query.operation in CREATES or self.exempt(query.at.path):
                continue
            tenant = self.tenant_model(self.model_of(query))
            if tenant is None:
                continue
            status = self._status(query, tenant)
            group = (query.at.path, query.function, tenant.name)
            if status.status == SCOPED_BY_FILTER and query.function:
                checked[group].append(query)
            elif status.status == UNSCOPED and status.why is None and self._checked_before(query, checked[group]):
                status = replace(status, status=SCOPED_BY_FILTER)
            yield status

    def _checked_before(self, query: Query, earlier: list[Query]) -> bool:
        """`findFirst({ where: { id, tenantId } })` then `update({ where: { id } })` in one function:
        the row was verified to be the tenant's before it is touched by id."""
        keys = set(query.filter.keys)
        return bool(keys) and any(keys <= set(e.filter.keys) and e.at.line < query.at.line for e in earlier)

    def _status(self, query: Query, tenant: TenantModel) -> TenantQuery:
        if tenant.model.table and tenant.model.table.lower() in self.rls_tables:
            return TenantQuery(query, tenant, SCOPED_BY_RLS)
        scoped, extension = self.client_scope(query)
        if scoped:
            return TenantQuery(query, tenant, SCOPED_BY_EXTENSION)
        key = tenant.key.name
        keys = query.filter.keys
        if key in keys or any(k.rsplit(".", 1)[-1] in self.config.tenant_keys for k in keys if "." in k):
            return TenantQuery(query, tenant, SCOPED_BY_FILTER)
        why = dict(query.filter.undefined).get(key)
        if why is not None:
            return TenantQuery(query, tenant, UNSCOPED, why, extension)
        if query.filter.unknown:
            return TenantQuery(query, tenant, UNKNOWN)
        return TenantQuery(query, tenant, UNSCOPED, None, extension)

    def scoped_client(self, query: Query | RawSql) -> bool:
        """Does the query's client scope it to a tenant (configured, or an extension that covers it)?"""
        return self.client_scope(query)[0]

    def client_scope(self, query: Query | RawSql) -> tuple[bool, ScopedClient | None]:
        """(scoped by its client, the tenant extension behind the client if there is one)."""
        sources = [query.client] + ([query.client_source] if isinstance(query, Query) and query.client_source else [])
        for source in sources:
            client = normalise_client(source)
            if not client:
                continue
            if any(client == normalise_client(p) or fnmatch.fnmatchcase(client, p) for p in self.config.tenant_scoped_clients):
                return True, None
            extension = self._extension(query, client)
            if extension is not None:
                delegate, operation = (query.model, query.operation) if isinstance(query, Query) else ("$raw", query.origin)
                return extension.scopes(delegate, operation), extension
        return False, None

    def _extension(self, query: Query | RawSql, client: str) -> ScopedClient | None:
        """The `$extends` client that `client` (as written in the query's file) is."""
        called = client.endswith("()")
        name = client[:-2] if called else client
        path = query.at.path
        for scoped in self._scoped_clients:
            if scoped.at.path != path or scoped.called != called:
                continue
            if scoped.scope and not (query.function == scoped.scope or query.function.startswith(scoped.scope + ".")):
                continue
            if name == scoped.name or (scoped.name.startswith("this.") and name.endswith("." + scoped.name[5:])):
                return scoped
        if "." in name or name.startswith("this") or not self._scoped_keys:
            return None
        index = self.project.view(module_index)
        symbol = index.resolve(path, name, "", lambda p, n, s: (p, n) in self._scoped_keys)
        if symbol is not None and self._scoped_keys.get((symbol.path, symbol.name), (None,))[0] == called:
            return self._scoped_keys[(symbol.path, symbol.name)][1]
        # A workspace package (`@acme/db/tenantGuard`) the resolver cannot follow: trust the
        # imported name when the project defines exactly one scoped client by that name.
        imported = index.imports[path].get(("", name))
        if imported is None or index.resolve_module(path, imported.source) is not None:
            return None
        same_name = [c for (_, n), c in self._scoped_keys.items() if n == imported.imported]
        return same_name[0][1] if len(same_name) == 1 and same_name[0][0] == called else None

    # --- raw SQL ------------------------------------------------------------

    def tenant_raw_sql(self) -> Iterator[TenantRawSql]:
        """Each raw statement's read or write of a tenant-scoped table (inserts excluded)."""
        for raw in self.project.facts_of(RawSql):
            if self.exempt(raw.at.path) or not raw.parsed:
                continue
            filtered = self._pinned_by_sql(raw)
            client_scoped = raw.orm == PRISMA and self.scoped_client(raw)
            for index, table in enumerate(raw.tables):
                tenant = self.tenant_model(self.by_table.get(table.name.lower()))
                if tenant is None or table.access == "insert":
                    continue
                if table.name.lower() in self.rls_tables:
                    status = SCOPED_BY_RLS
                elif client_scoped:
                    status = SCOPED_BY_EXTENSION  # a tenant client may set `app.tenant_id` for RLS
                else:
                    status = SCOPED_BY_FILTER if index in filtered else UNSCOPED
                yield TenantRawSql(raw, table, tenant, status)

    def _pinned_by_sql(self, raw: RawSql) -> set[int]:
        """Tables (by index) whose rows the statement restricts to one tenant.

        Directly (`o.tenant_id = $1`), through the tenants table (`o.tenant_id = t.id AND
        t.slug = $1`), or by a join that every row must match to a restricted table
        (`JOIN orders o ON o.id = i.order_id` with `o` restricted restricts `i`).
        """
        tables = raw.tables
        tenants = [self.tenant_model(self.by_table.get(t.name.lower())) for t in tables]
        named: dict[str, list[int]] = defaultdict(list)
        for index, table in enumerate(tables):
            named[table.alias or table.name].append(index)
        pinned: set[int] = set()
        for index, (table, tenant) in enumerate(zip(tables, tenants, strict=True)):
            if tenant is None:
                continue
            key = (tenant.key.column or tenant.key.name).lower()
            if key in {c.lower() for c in table.constrained}:
                pinned.add(index)
            for column, other in table.joins:
                if column.lower() == key and any(tenants[o] is None and tables[o].constrained for o in named.get(other, ())):
                    pinned.add(index)
        changed = True
        while changed:
            changed = False
            for index, table in enumerate(tables):
                if index not in pinned and any(o in pinned for _, other in table.joins for o in named.get(other, ())):
                    pinned.add(index)
                    changed = True
        return pinned

    # --- the readiness report ----------------------------------------------

    def status_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for query in self.tenant_queries():
            counts[query.status] += 1
        for raw in self.tenant_raw_sql():
            counts[raw.status] += 1
        return counts


def _shared_prefix(a: str, b: str) -> int:
    """Number of leading path segments two paths share."""
    count = 0
    for left, right in zip(a.split("/")[:-1], b.split("/")[:-1], strict=False):
        if left != right:
            break
        count += 1
    return count


def rls_tables(project: Project) -> frozenset[str]:
    """Tables with row-level security enabled and a policy on a tenant key (SQL migrations).

    Reads the migration facts of `prodlint.facts.sql` when that module is present.
    """
    try:
        from prodlint.facts import sql as sql_facts
    except ImportError:
        return frozenset()
    enabled_type = getattr(sql_facts, "RowLevelSecurity", None)
    policy_type = getattr(sql_facts, "Policy", None)
    if enabled_type is None or policy_type is None:
        return frozenset()
    keys = {k.lower() for k in project.config.tenant_keys}
    enabled = {_table_name(f).lower() for f in project.facts_of(enabled_type) if getattr(f, "enabled", True)}
    policed = {
        _table_name(f).lower() for f in project.facts_of(policy_type)
        if keys & {c.lower() for c in getattr(f, "columns", ())}
    }
    return frozenset(enabled & policed)


def _table_name(fact: object) -> str:
    return str(getattr(fact, "table", "")).rsplit(".", 1)[-1].strip('"')


def data_model(project: Project) -> DataModel:
    return DataModel(project)
