"""The data model across files: models by name and table, tenant-scoped models, and
every query on them with how (or whether) it is scoped to a tenant.

Use `project.view(data_model)`. A model is tenant-scoped when it has a field named
by `tenant.keys`; SQLAlchemy mixins and bases are resolved into the models that
inherit them. A query on a tenant-scoped model is, in order of precedence:
scoped by row-level security on its table, scoped by its client (a `$extends`
client that injects the key, or one named in `tenant.scoped-clients`), scoped by
its filter, unknown (part of the filter cannot be seen), or unscoped.

A query without the key is still scoped when its function shows why, read in line
order (intra-procedural): the fetched row's tenant key is compared with the
caller's and the function leaves on mismatch (check); it filters by a row, or an
id, that a scoped query of the same function returned or pinned (parent); it
filters by the verified identity, a `tenant.sub-keys` column, or is the user
lookup of an auth flow (identity); or a project function that takes the tenant
key returned the row, or verified the id (helper).
"""

from __future__ import annotations

import fnmatch
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from prodlint.facts import Location
from prodlint.facts.data import (
    PRISMA, READ, SQLALCHEMY, Calls, ClientInput, CrossTenantEntry, Field, IdentityCall, IndexDef, Model, NewRow, Query, RawSql, RowCheck, ScopedCall,
    ScopedClient, SqlTable,
)
from prodlint.model.modules import module_index
from prodlint.model.roles import JOB, REQUEST, override_of, production_code

if TYPE_CHECKING:
    from prodlint.model.routes import ResolvedRoute
from prodlint.project import Project

SCOPED_BY_FILTER = "scoped-by-filter"
SCOPED_BY_EXTENSION = "scoped-by-extension"
SCOPED_BY_RLS = "scoped-by-rls"
SCOPED_BY_CHECK = "scoped-by-check"
SCOPED_BY_PARENT = "scoped-by-parent"
SCOPED_BY_IDENTITY = "scoped-by-identity"
SCOPED_BY_HELPER = "scoped-by-helper"
UNSCOPED = "unscoped"
UNKNOWN = "unknown"
STATUSES = (
    SCOPED_BY_FILTER, SCOPED_BY_EXTENSION, SCOPED_BY_RLS, SCOPED_BY_CHECK, SCOPED_BY_PARENT, SCOPED_BY_IDENTITY,
    SCOPED_BY_HELPER, UNSCOPED, UNKNOWN,
)
BASE_SCOPED = frozenset({SCOPED_BY_FILTER, SCOPED_BY_EXTENSION, SCOPED_BY_RLS})

# The caller's verified identity as a filter value: the session's user, a decoded token.
VERIFIED_IDENTITY = re.compile(
    r"^(?:req(?:uest)?\.(?:user|auth|session|currentUser|userId)|currentUser|current_user|g\.user|verified-token|"
    r"token_?[dD]ata|principal|res\.locals\.(?:user|auth)|ctx\.state\.user|session\.user)\b"
)
# An optional read of the auth object a guard sets: `req.auth?.tenantId`, `req.user?.orgId`.
AUTH_OBJECT = re.compile(r"\breq\.(?:auth|user|session)\?\.")
# A column that can only hold an id: a row fetched by it is the row the id names.
ID_KEY = re.compile(r"(?:^id|Id|_id|^pk|^uuid)$")
PASSWORD_FIELD = re.compile(r"^(?:password|passwordHash|password_hash|hashed_password|hashedPassword|passwordDigest|pwd_hash)$")
CREDENTIAL_KEY = re.compile(r"^(?:email|username|user_name|userName|login|phone|phoneNumber|phone_number)$|[tT]oken|[cC]ode$")
# Fallback when the id's source cannot be seen: functions of an account flow read the caller's own user.
ACCOUNT_FLOW = re.compile(r"auth|login|logout|sign_?in|sign_?up|register|refresh|password|reset|verif|profile|permission|current|\bme\b|session|account", re.IGNORECASE)

SCRIPT_SUFFIXES = (".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs")

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
    evidence: Location | None = None  # check, parent, helper: the line that makes it scoped
    how: str | None = None  # and what that line does

    @property
    def key(self) -> str:
        return self.tenant.key.name


@dataclass(frozen=True, slots=True)
class RequestTenantKey:
    """TN004: a query whose tenant key comes from client input that nothing compares with the caller."""

    query: Query
    model: str
    key: str
    value: str
    source: ClientInput
    forwarded: str | None = None  # the route handler that hands the value to the query's function


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
        self._tenant_queries: list[TenantQuery] | None = None
        self._routes_by_handler: dict[tuple[str, int], list[ResolvedRoute]] | None = None
        self._entries: dict[tuple[str, str], str] | None = None
        self._handler_entries: dict[str, list[tuple[str, str]]] = {}
        self._callers: dict[str, list[tuple[str, str, str]]] = {}
        self._owners: dict[tuple[str, str], str] = {}
        self._function_at: dict[tuple[str, str], Location] = {}
        self._cross_memo: dict[tuple[str, str], str | None] = {}
        self._identity_passed: dict[tuple[str, str, str, int | str], IdentityCall] | None = None
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

    def cross_tenant(self, path: str, function: str) -> str | None:
        """Why the function works across tenants by design, or None: it is a startup hook, a
        `__main__` block or a platform-admin route handler, or every production caller of its
        name is such code (by name, so a name called anywhere else counts as called from there)."""
        if not function or override_of(self.project, path) is not None:
            return None  # what the roles config says a file is wins
        self._call_graph()
        return self._cross_tenant(path, function, set())

    def called(self, path: str, function: str) -> bool:
        """Does other production code call the function, or hand it on (a route's handler), by its name?
        (A controller calling the service method of its own name does not call itself.)"""
        self._call_graph()
        name = function.rsplit(".", 1)[-1]
        return bool(function) and (name in self._handler_entries or any((p, f) != (path, function) for _, p, f in self._callers.get(name, ())))

    def _call_graph(self) -> None:
        if self._entries is None:
            roles = self.project.view(production_code)
            self._entries = {}
            self._handler_entries = defaultdict(list)
            for entry in self.project.facts_of(CrossTenantEntry):
                if entry.handler:
                    cls, _, name = entry.handler.rpartition(".")
                    self._handler_entries[name].append((cls, entry.how))
                else:
                    self._entries[(entry.at.path, entry.function)] = entry.how
            self._callers = defaultdict(list)
            for calls in self.project.facts_of(Calls):
                if calls.owner:
                    self._owners[(calls.at.path, calls.function)] = calls.owner
                if calls.function_at is not None:
                    self._function_at[(calls.at.path, calls.function)] = calls.function_at
                # tests, scripts and modules nothing reaches (a separate frontend) run no tenant's request
                if roles.role_of(calls.at.path).role in (REQUEST, JOB) and calls.at.path not in roles.unreached:
                    for callee in calls.callees:
                        cls, _, name = callee.rpartition(".")
                        self._callers[name].append((cls, calls.at.path, calls.function))

    def _cross_tenant(self, path: str, function: str, visiting: set[tuple[str, str]]) -> str | None:
        key = (path, function)
        if key in self._entries:
            return self._entries[key]
        if key in self._cross_memo:
            return self._cross_memo[key]
        admin = self._admin_route(key)
        if admin is not None:
            self._cross_memo[key] = admin
            return admin
        owner, _, name = function.rpartition(".")
        owner = self._owners.get(key) or owner.rsplit(".", 1)[-1]
        # a call through a receiver of a known class calls that class's method only
        script = path.endswith(SCRIPT_SUFFIXES)  # Python calls no TypeScript function, and the other way round
        callers = [(p, f) for cls, p, f in self._callers.get(name, ())
                   if (p, f) != key and (not cls or cls == owner) and p.endswith(SCRIPT_SUFFIXES) == script]
        routes = [how for cls, how in self._handler_entries.get(name, []) if not cls or cls == owner]
        if (not callers and not routes) or key in visiting or len(visiting) > 12:
            return None  # never called (a route handler, an entry point), or a cycle
        reasons = list(routes)
        for caller_path, caller in callers:
            reason = self._cross_tenant(caller_path, caller, visiting | {key}) if caller else None
            if reason is None:
                self._cross_memo[key] = None
                return None
            reasons.append(f"{caller} ({reason})" if not reason.startswith("reached") else f"{caller}, {reason}")
        found = f"reached only from {reasons[0]}"
        self._cross_memo[key] = found
        return found

    def _admin_route(self, key: tuple[str, str]) -> str | None:
        """Why the function, a route handler, serves platform admins only: every route it handles has a
        guard that rejects callers without an admin flag (`if not current_user.is_admin: raise ...`)."""
        routes = self._handled_routes(self._function_at.get(key))
        flagged = [next((g for g in r.guards if g.requires), None) for r in routes]
        if not routes or not all(flagged):
            return None
        guard = flagged[0]
        return f"a route handler behind {guard.name}, which rejects callers without {guard.requires}"  # type: ignore[union-attr]

    def tenant_queries(self) -> Iterator[TenantQuery]:
        """Every read and write on a tenant-scoped model outside `tenant.exempt`, in path order."""
        if self._tenant_queries is None:
            self._tenant_queries = sorted(self._scope_queries(), key=lambda t: (t.query.at.path, t.query.at.line, t.query.at.column))
        return iter(self._tenant_queries)

    def _scope_queries(self) -> Iterator[TenantQuery]:
        every = [q for q in self.project.facts_of(Query) if not self.exempt(q.at.path) and self.cross_tenant(q.at.path, q.function) is None]
        queries = [q for q in every if q.operation not in CREATES]
        base: dict[int, TenantQuery | None] = {}
        for query in queries:
            tenant = self.tenant_model(self.model_of(query))
            base[id(query)] = self._status(query, tenant) if tenant is not None else None
        helpers = _helpers(queries, base)
        checks = self._owned_rows(every)
        calls: dict[tuple[str, str, int], list[ScopedCall]] = defaultdict(list)
        for call in self.project.facts_of(ScopedCall):
            if call.callee in helpers and call.callee != call.function.rsplit(".", 1)[-1]:
                calls[_function_key(call)].append(call)
        functions: dict[tuple[str, str, int], list[Query]] = defaultdict(list)
        for query in queries:
            functions[_function_key(query)].append(query)
        for group, members in functions.items():
            if not group[1]:
                yield from (t for q in members if (t := base[id(q)]) is not None)
                continue
            yield from self._scope_function(members, base, checks[group], calls[group], helpers)

    def _owned_rows(self, queries: list[Query]) -> dict[tuple[str, str, int], list[RowCheck]]:
        """Per function, the rows it may use: ownership checks, and rows it builds or creates itself."""
        checks: dict[tuple[str, str, int], list[RowCheck]] = defaultdict(list)
        for check in self.project.facts_of(RowCheck):
            checks[_function_key(check)].append(check)
        for row in self.project.facts_of(NewRow):
            checks[_function_key(row)].append(RowCheck(row.variable, "", row.function, row.at, f"{row.variable} is a {row.model} this function builds"))
        for query in queries:
            if query.operation in CREATES and query.binds and query.function:  # the row it creates is its caller's own
                checks[_function_key(query)].append(
                    RowCheck(query.binds, "", query.function, query.at, f"{query.binds} is the {query.model} this function creates"))
        return checks

    def _scope_function(
        self, queries: list[Query], base: dict[int, TenantQuery | None], checks: list[RowCheck], calls: list[ScopedCall],
        helpers: dict[str, bool],
    ) -> Iterator[TenantQuery]:
        """Reads one function in line order: rows and ids proven the tenant's make later queries scoped."""
        checked = {c.variable: c for c in checks if c.key}
        rows: dict[str, list[Proof]] = defaultdict(list)  # a local name holding the tenant's row
        ids: dict[str, list[Proof]] = defaultdict(list)  # a value proven to be an id of the tenant's
        for check in checks:
            rows[check.variable].append(Proof(check.at.line, SCOPED_BY_CHECK, check.at, check.how))
        for call in calls:
            how = f"{call.callee}() takes the tenant key and returns the tenant's rows"
            if call.binds:
                rows[call.binds].append(Proof(call.at.line, SCOPED_BY_HELPER, call.at, how))
            if not helpers.get(call.callee):
                continue
            for argument in call.arguments:
                if argument.rsplit(".", 1)[-1] not in self.config.tenant_keys:
                    ids[argument].append(Proof(call.at.line, SCOPED_BY_HELPER, call.at, f"{call.callee}() verifies {argument} with the tenant key"))
        scoped_before: list[Query] = []
        for query in sorted(queries, key=lambda q: (q.at.line, q.at.column)):
            tenant_query = base[id(query)]
            if tenant_query is not None and tenant_query.status == UNSCOPED and tenant_query.why is None:
                tenant_query = self._scope_in_function(query, tenant_query, checked, rows, ids, scoped_before) or tenant_query
            if tenant_query is not None and tenant_query.status == SCOPED_BY_FILTER:
                scoped_before.append(query)
            scoped = tenant_query.status not in (UNSCOPED, UNKNOWN) if tenant_query is not None else self._pins_tenant(query, rows, ids)
            if scoped:
                how = f"{query.operation} on {query.model} at line {query.at.line} is scoped"
                if query.binds:
                    rows[query.binds].append(Proof(query.at.line, SCOPED_BY_PARENT, query.at, how))
                # an empty list proves nothing about the ids it was asked for
                for key, value in query.filter.values if _single_row(query) else ():
                    if ID_KEY.search(key.rsplit(".", 1)[-1]):
                        ids[value].append(Proof(query.at.line, SCOPED_BY_PARENT, query.at, how))
            if tenant_query is not None:
                yield tenant_query

    def _scope_in_function(
        self, query: Query, tenant_query: TenantQuery, checked: dict[str, RowCheck],
        rows: dict[str, list[Proof]], ids: dict[str, list[Proof]], scoped_before: list[Query],
    ) -> TenantQuery | None:
        if query.binds in checked:
            check = checked[query.binds]
            return replace(tenant_query, status=SCOPED_BY_CHECK, evidence=check.at, how=check.how)
        for key, value in query.filter.values:
            if value == "self":
                return replace(tenant_query, status=SCOPED_BY_PARENT, how=f"{key} = self: the row that owns it")
            found = _earlier(ids.get(value, ()), query) or _earlier(rows.get(_root(value), ()), query)
            if found is not None:
                status = SCOPED_BY_HELPER if found.status == SCOPED_BY_HELPER else SCOPED_BY_PARENT
                return replace(tenant_query, status=status, evidence=found.at, how=f"{key} = {value}: {found.how}")
        how = self._identity(query, tenant_query.tenant)
        if how is not None:
            return replace(tenant_query, status=SCOPED_BY_IDENTITY, how=how)
        how = self._owned_parent(query, tenant_query.tenant)
        if how is not None:
            return replace(tenant_query, status=SCOPED_BY_PARENT, how=how)
        keys = set(query.filter.keys)
        for earlier in scoped_before:
            # `findFirst({ where: { id, tenantId } })` then `update({ where: { id } })`: the same lookup, verified first
            if keys and earlier.model == query.model and keys <= set(earlier.filter.keys) and earlier.at.line < query.at.line:
                return replace(tenant_query, status=SCOPED_BY_PARENT, evidence=earlier.at, how=f"the same {', '.join(sorted(keys))} lookup was scoped at line {earlier.at.line}")
        return None

    def _pins_tenant(self, query: Query, rows: dict[str, list[Proof]], ids: dict[str, list[Proof]]) -> bool:
        """A query on a model without a tenant key returns the tenant's row when it pins a tenant value,
        a verified id or row (`prisma.tenant.findUnique({ where: { id: tenantId } })`)."""
        for _, value in query.filter.values:
            if value.rsplit(".", 1)[-1] in self.config.tenant_keys or _earlier(ids.get(value, ()), query):
                return True
            if _root(value) != value and _earlier(rows.get(_root(value), ()), query):
                return True
        return False

    def _identity(self, query: Query, tenant: TenantModel) -> str | None:
        """Why the filter pins the caller's own rows, or None."""
        keys = set(query.filter.keys)
        for key in sorted(keys):
            if key.rsplit(".", 1)[-1] in self.config.tenant_sub_keys:
                return f"filters by the sub-tenant key {key}"
        for key, value in query.filter.values:
            if VERIFIED_IDENTITY.search(value):
                return f"filters {key} by the verified identity {value}"
        forwarded = self._forwarded_identity(query)
        if forwarded is not None:
            return forwarded
        model = tenant.model
        if not keys or not _has_password(model):
            return None
        credentials = self._credential_lookup(query, tenant)
        if credentials:
            return f"looks the user up by {', '.join(credentials)} (sign-in, sign-up, reset)"
        primary = {f.name for f in model.fields if f.primary} | {"id"}
        if keys <= primary and (ACCOUNT_FLOW.search(query.function) or ACCOUNT_FLOW.search(query.at.path.rsplit("/", 1)[-1])):
            return f"reads the caller's own user in an account flow ({query.function})"
        return None

    def _forwarded_identity(self, query: Query) -> str | None:
        """`findById(id)` filtering by a parameter that every production caller fills with the
        caller's own id (`this.users.findById(req.user.id)`, `get_user(db, current_user.id)`): the
        caller's own row."""
        if not query.function:
            return None
        owner, _, method = query.function.rpartition(".")
        owner = owner.rsplit(".", 1)[-1]
        script = query.at.path.endswith(SCRIPT_SUFFIXES)
        self._call_graph()
        for key, value in query.filter.values:
            if value not in query.parameters or not ID_KEY.search(key.rsplit(".", 1)[-1]):
                continue
            # a call through a receiver of another known class calls another method
            callers = sorted({(p, f) for cls, p, f in self._callers.get(method, ())
                              if (not cls or cls == owner) and p.endswith(SCRIPT_SUFFIXES) == script and (p, f) != (query.at.path, query.function)})
            position = query.parameters.index(value)
            calls = self._identity_calls()
            passed = [calls.get((p, f, method, position)) or calls.get((p, f, method, value)) for p, f in callers]
            if callers and all(passed):
                first = passed[0]
                return (f"filters {key} by {value}, which every caller fills with the verified identity "
                        f"({first.value} at {first.at.path}:{first.at.line})")  # type: ignore[union-attr]
        return None

    def _identity_calls(self) -> dict[tuple[str, str, str, int | str], IdentityCall]:
        """(file, function, callee, position or keyword) -> a call there passing the verified identity there."""
        if self._identity_passed is None:
            self._identity_passed = {}
            for call in self.project.facts_of(IdentityCall):
                if VERIFIED_IDENTITY.search(call.value):
                    self._identity_passed.setdefault((call.at.path, call.function, call.callee, call.keyword or call.position), call)
        return self._identity_passed

    def _owned_parent(self, query: Query, tenant: TenantModel) -> str | None:
        """A sub-tenant key the object holds: `Meal.household_id == self.household_id`, where
        `household_id` references a tenant-scoped table and the value is the repository's own
        state (set where it was built from the identity), not an argument the caller passes."""
        for key, value in query.filter.values:
            if _root(value) not in ("self", "this") or value.count(".") != 1 or value in ("self.id", "this.id"):
                continue
            parent = self._referenced(tenant.model, key.rsplit(".", 1)[-1])
            if parent is not None:
                return f"{key} = {value}: the object's own {parent.name}, itself tenant-scoped (by {parent.key.name})"
        return None

    def _referenced(self, model: Model, name: str) -> TenantModel | None:
        """The tenant-scoped model a field references: by its foreign key, or (fallback, a
        proxy or a column without one) by name, `household_id` -> `Household` / `households`."""
        field = next((f for f in model.fields if name in (f.name, f.column)), None)
        if field is not None and field.foreign_key:
            target = field.foreign_key.rsplit(".", 1)[0]
            found = self.by_table.get(target.lower()) or self.sqlalchemy_by_name.get(target)
            if found is None and model.orm == PRISMA:
                found = next(iter(self.prisma_by_delegate.get(delegate_name(target), ())), None)
            return self.tenant_model(found)
        stem = re.sub(r"_?[iI]d$", "", name)
        if not stem or stem == name or stem in self.config.tenant_keys:
            return None
        candidates = [stem, stem + "s", stem + "es", stem.replace("_", "")]
        for candidate in candidates:
            found = self.by_table.get(candidate.lower()) or next(
                (m for n, m in self.sqlalchemy_by_name.items() if n.lower() == candidate.lower()), None)
            if found is not None and found is not model:
                return self.tenant_model(found)
        return None

    def _credential_lookup(self, query: Query, tenant: TenantModel) -> list[str]:
        """The credential keys (email, username, a token) a user lookup pins, or [] when it is no such lookup."""
        keys = {k for k in query.filter.keys if k not in self.config.tenant_keys}
        if not keys or not _has_password(tenant.model) or not all(CREDENTIAL_KEY.search(k) for k in keys):
            return []
        return sorted(keys)

    def request_tenant_keys(self) -> Iterator[RequestTenantKey]:
        """TN004: queries pinning a tenant key to client input that the function (or the route
        handler that forwards it) never compares with the caller's identity."""
        inputs: dict[tuple[str, str, int], dict[str, ClientInput]] = defaultdict(dict)
        forwarded: dict[tuple[str, str], list[ClientInput]] = defaultdict(list)
        for found in self.project.facts_of(ClientInput):
            routes = self._handled_routes(found.function_at)
            if found.compared or (routes and not any(r.guards for r in routes)):
                continue  # checked, or a public route: what it serves is public by design
            if self.cross_tenant(found.at.path, found.function) is not None:
                continue  # a platform admin picks the tenant on purpose
            if found.passed_to and not routes and found.at.path.endswith(SCRIPT_SUFFIXES) and not self.called(found.at.path, found.function):
                continue  # Express registers a handler by its name: one nothing names serves no request
            inputs[_function_key(found)].setdefault(found.name, found)
            for callee, position in found.passed_to:
                forwarded[(callee, position)].append(found)
        for query in self.project.facts_of(Query):
            if query.operation in CREATES or self.exempt(query.at.path) or self.scoped_client(query):
                continue
            if self.cross_tenant(query.at.path, query.function) is not None:
                continue
            model = self.model_of(query)
            if model is not None and model.table and model.table.lower() in self.rls_tables:
                continue
            tenant = self.tenant_model(model)
            if tenant is not None and self._credential_lookup(query, tenant):
                continue  # signing in to the tenant the client names is how login works
            for key, value in query.filter.values:
                if key.rsplit(".", 1)[-1] not in self.config.tenant_keys:
                    continue
                source = inputs[_function_key(query)].get(value)
                name = model.name if model is not None else query.model
                if source is not None:
                    yield RequestTenantKey(query, name, key, value, source)
                    break
                if value in query.parameters and value not in query.compared and query.function:
                    position = str(query.parameters.index(value))
                    owner, _, method = query.function.rpartition(".")
                    targets = (method, f"{owner.rsplit('.', 1)[-1]}.{method}") if owner else (method,)  # `C.m`: that class's method only
                    callers = [c for target in targets for at in (position, value) for c in forwarded.get((target, at), [])]
                    if callers:
                        yield RequestTenantKey(query, name, key, value, callers[0], callers[0].function)
                        break

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
        # the relationship behind the key: SQLAlchemy `Dashboard.org == current_org`, Prisma `tenant: { id }`
        relation = {k.removesuffix(".id") for k in keys}
        if any(key in (f"{r}_id", f"{r}Id") for r in relation):
            return TenantQuery(query, tenant, SCOPED_BY_FILTER)
        why = dict(query.filter.undefined).get(key)
        if why is not None:
            guards = self._auth_guards(query) if AUTH_OBJECT.search(why) else ()
            if guards:
                how = f"{why.removeprefix('may be undefined ')}, but {', '.join(guards)} on the route rejects requests without it"
                return TenantQuery(query, tenant, SCOPED_BY_FILTER, how=how)
            return TenantQuery(query, tenant, UNSCOPED, why, extension)
        if query.filter.unknown:
            return TenantQuery(query, tenant, UNKNOWN)
        return TenantQuery(query, tenant, UNSCOPED, None, extension)

    def _auth_guards(self, query: Query) -> tuple[str, ...]:
        """Guards in effect on the route whose handler runs the query (they set the auth object or reject)."""
        routes = self._handled_routes(query.function_at)
        return tuple(dict.fromkeys(g.name for r in routes for g in r.guards)) if routes and all(r.guards for r in routes) else ()

    def _handled_routes(self, function_at: Location | None) -> list[ResolvedRoute]:
        """The resolved routes whose handler is the function starting at `function_at`."""
        if function_at is None:
            return []
        if self._routes_by_handler is None:
            from prodlint.model.routes import route_graph  # routes are read only for these questions

            self._routes_by_handler = defaultdict(list)
            for route in self.project.view(route_graph).routes:
                if route.route.handler_at is not None:
                    self._routes_by_handler[(route.route.handler_at.path, route.route.handler_at.line)].append(route)
        return self._routes_by_handler.get((function_at.path, function_at.line), [])

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
            if self.exempt(raw.at.path) or not raw.parsed or self.cross_tenant(raw.at.path, raw.function) is not None:
                continue
            filtered = self._pinned_by_sql(raw)
            client_scoped = raw.orm == PRISMA and self.scoped_client(raw)
            for index, table in enumerate(raw.tables):
                tenant = self.tenant_model(self.by_table.get(table.name.lower()))
                if tenant is None or table.access == "insert" or (raw.discarded and table.access == READ):
                    continue  # inserts reach no other row; rows nobody looks at leak nothing
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


@dataclass(frozen=True, slots=True)
class Proof:
    """Why a row or an id in a function is the tenant's, from which line on."""

    line: int
    status: str
    at: Location
    how: str


def _helpers(queries: list[Query], base: dict[int, TenantQuery | None]) -> dict[str, bool]:
    """Functions (by name) that read a tenant model scoped, so they return the tenant's rows; True when
    they read one row (returned, or they throw), so the ids they were handed are the tenant's too."""
    helpers: dict[str, bool] = {}
    for query in queries:
        if query.function and (found := base[id(query)]) is not None and found.status in BASE_SCOPED:
            name = query.function.rsplit(".", 1)[-1]
            helpers[name] = helpers.get(name, False) or _single_row(query)
    return helpers


def _has_password(model: Model) -> bool:
    """A user model: it stores a password (hash)."""
    return any(PASSWORD_FIELD.match(f.name) or PASSWORD_FIELD.match(f.column or "") for f in model.fields)


def _earlier(proofs: Iterable[Proof], query: Query) -> Proof | None:
    return next((p for p in proofs if p.line < query.at.line), None)


PRISMA_SINGLE_ROW = frozenset({"findFirst", "findFirstOrThrow", "findUnique", "findUniqueOrThrow", "update", "delete", "upsert"})
SQLALCHEMY_SINGLE_ROW = frozenset({"first", "one", "one_or_none", "scalar", "scalar_one", "scalar_one_or_none", "get", "first_or_404", "one_or_404", "get_or_404"})


def _single_row(query: Query) -> bool:
    """Returns one row (or fails): finding it proves the ids it was asked for."""
    if query.orm == PRISMA:
        return query.operation in PRISMA_SINGLE_ROW
    return query.operation == "get" or query.terminal in SQLALCHEMY_SINGLE_ROW


def _function_key(fact: Query | RowCheck | ScopedCall | NewRow | ClientInput) -> tuple[str, str, int]:
    """Which function a fact is in: its file, qualname, and first line (anonymous handlers share a name)."""
    return fact.at.path, fact.function, fact.function_at.line if fact.function_at is not None else 0


def _root(value: str) -> str:
    """`order.customer.id` -> `order`."""
    return re.split(r"[.\[]", value, maxsplit=1)[0]


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
