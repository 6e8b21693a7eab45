"""Data-model facts: Prisma and SQLAlchemy models, their indexes, the queries on them, raw SQL.

Extractors record what one file says, names as written (`prisma.orderItem`,
`models.Order`); `prodlint.model.data` joins them: delegate names to models,
mixins into their subclasses, queries to the tenant-scoped models they touch.
Column lists are database column names (after `@map` / `Column("name")`), in
declaration order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prodlint.facts import Location

PRISMA = "prisma"
SQLALCHEMY = "sqlalchemy"

READ = "read"
WRITE = "write"


@dataclass(frozen=True, slots=True)
class Datasource:
    """`datasource db { provider = "postgresql" url = env("DATABASE_URL") relationMode = "prisma" }`.

    `url` is the literal URL when written inline, `url_env` the variable of `env("X")`.
    """

    name: str
    provider: str | None
    relation_mode: str | None
    url: str | None
    url_env: str | None
    at: Location


@dataclass(frozen=True, slots=True)
class Generator:
    name: str
    provider: str | None
    at: Location


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a model. A Prisma relation field (`customer Customer @relation(...)`)
    has `relation=True` and no column of its own (`column` is None).

    `type` is as written (`String`, `Int`, `Customer`; SQLAlchemy `Integer`, `String(64)`,
    `Mapped[int]`'s `int`). `foreign_key` is `"table.column"` (SQLAlchemy `ForeignKey`)
    or `"Model.field"` (Prisma relation scalar, resolved by the model view).
    """

    name: str
    column: str | None
    type: str
    at: Location
    optional: bool = False
    is_list: bool = False
    primary: bool = False
    unique: bool = False
    index: bool = False
    foreign_key: str | None = None
    default: str | None = None
    relation: bool = False
    db_type: str | None = None  # `@db.VarChar(255)` -> "VarChar(255)"


@dataclass(frozen=True, slots=True)
class IndexDef:
    """An index, unique constraint or primary key the model declares.

    `origin` names where it comes from: `@id`, `@unique`, `@@id`, `@@unique`, `@@index`,
    `primary_key`, `unique=True`, `index=True`, `Index`, `UniqueConstraint`,
    `PrimaryKeyConstraint`. `columns` are database column names, ordered; `fields` the
    same columns by field name. `descending` lists the columns sorted descending.
    """

    model: str
    table: str
    columns: tuple[str, ...]
    unique: bool
    primary: bool
    origin: str
    at: Location
    name: str | None = None
    fields: tuple[str, ...] = ()
    descending: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Relation:
    """`customer Customer @relation(fields: [customerId], references: [id], onDelete: Cascade)`."""

    model: str
    field: str
    target: str
    fields: tuple[str, ...]
    references: tuple[str, ...]
    at: Location
    name: str | None = None
    on_delete: str | None = None


@dataclass(frozen=True, slots=True)
class Model:
    """A Prisma `model`/`view`/`type`, or a SQLAlchemy / SQLModel declarative class.

    `kind`: "model", "view", "type" (Prisma composite type), or "mixin" for a
    SQLAlchemy class that declares columns but maps no table of its own (a mixin,
    an `__abstract__` base). `bases` are the class bases as written; the model
    view resolves mixin columns into the models that inherit them. `table` is
    None when the table name cannot be known statically.
    """

    name: str
    table: str | None
    orm: str
    fields: tuple[Field, ...]
    at: Location
    indexes: tuple[IndexDef, ...] = ()
    relations: tuple[Relation, ...] = ()
    bases: tuple[str, ...] = ()
    kind: str = "model"
    schema: str | None = None  # `@@schema("x")` / `__table_args__ = {"schema": "x"}`
    table_explicit: bool = True  # False when the table name is the ORM's default
    dynamic_table: bool = False  # defines `__tablename__` as a function for its subclasses
    abstract: bool = False  # SQLAlchemy `__abstract__ = True`
    core: bool = False  # a SQLAlchemy Core `name = Table("table", metadata, ...)`: indexes go inside the call


@dataclass(frozen=True, slots=True)
class Enum:
    name: str
    values: tuple[str, ...]
    at: Location
    orm: str = PRISMA


@dataclass(frozen=True, slots=True)
class Filter:
    """What a query's filter guarantees, as far as the source shows it.

    `keys`: field names (Prisma fields, SQLAlchemy mapped attributes; `Model.fields` maps
    them to columns) constrained by equality (or `in`) in every branch; a key on another
    SQLAlchemy model is written `Customer.tenant_id`; a compound unique input `tenantId_id: {...}` contributes each part.
    A filter through a relation is written `relation.key` (`{ project: { tenantId } }`
    gives `project.tenantId`). `ranges`: fields constrained otherwise (`gte`, `lt`,
    `contains`...). `undefined`: `(key, why)` for keys whose value is or may be
    `undefined`, which Prisma drops from the filter at run time. `unknown`: part of the
    filter cannot be seen (a spread, a helper call, a variable from elsewhere), so
    absence of a key proves nothing. `values`: `(key, value)` for pinned keys, the value
    expression as written with `await`, `?.` and `!` dropped (`order.customerId`,
    `current_user`, `req.params.tenantId`): it tells a parent row or the identity apart.
    """

    keys: tuple[str, ...] = ()
    ranges: tuple[str, ...] = ()
    undefined: tuple[tuple[str, str], ...] = ()
    unknown: bool = False
    values: tuple[tuple[str, str], ...] = ()


@dataclass(slots=True)
class FilterParts:
    """A filter as an extractor reads it (mutable); `freeze()` makes the `Filter` fact."""

    keys: set[str] = field(default_factory=set)
    ranges: set[str] = field(default_factory=set)
    undefined: dict[str, str] = field(default_factory=dict)
    unknown: bool = False
    values: dict[str, str] = field(default_factory=dict)

    def pin(self, key: str, value: str | None) -> None:
        self.keys.add(key)
        if value:
            self.values.setdefault(key, value)

    def add(self, other: FilterParts, prefix: str = "") -> None:
        """Both must hold (`AND`, chained `.filter()`)."""
        self.keys |= {prefix + key for key in other.keys}
        self.ranges |= {prefix + key for key in other.ranges}
        for key, why in other.undefined.items():
            self.undefined.setdefault(prefix + key, why)
        for key, value in other.values.items():
            self.values.setdefault(prefix + key, value)
        self.unknown |= other.unknown

    @staticmethod
    def either(branches: list[FilterParts]) -> FilterParts:
        """One of them holds (`OR`): only what every branch pins is pinned."""
        if not branches:
            return FilterParts()
        merged = FilterParts(set.intersection(*(b.keys for b in branches)), set.union(*(b.ranges for b in branches)))
        merged.unknown = any(b.unknown for b in branches)
        for key in merged.keys:
            # `OR: [{ tenantId: null }, { tenantId }]`: shared rows or the tenant's; the value that varies is the tenant's
            values = {b.values.get(key) for b in branches} - {None, "null", "None"}
            if len(values) == 1:
                merged.values[key] = values.pop()
        return merged

    def freeze(self) -> Filter:
        undefined = {key: why for key, why in self.undefined.items() if key not in self.keys}
        values = tuple(sorted((k, v) for k, v in self.values.items() if k in self.keys))
        return Filter(tuple(sorted(self.keys)), tuple(sorted(self.ranges - self.keys)), tuple(sorted(undefined.items())), self.unknown, values)


@dataclass(frozen=True, slots=True)
class Query:
    """One ORM query.

    `model` is as written: the Prisma delegate (`orderItem`) or the SQLAlchemy class
    name (`Order`, `models.Order`). `operation` is the Prisma method (`findMany`,
    `updateMany`...) or the SQLAlchemy form (`query`, `select`, `get`, `update`,
    `delete`, `filter_by` for `Model.query.filter_by`). `client` is the expression the
    query goes through as written (`this.prisma`, `tx`, `db.session`); `client_source`
    what a local `const db = ...` in the same function binds it to (`tenantDb(req)`).
    `function` is the enclosing function's qualname (`OrderService.list`, "" at module
    level). `order_by` are sort fields/columns in order; `has_limit` is True for
    `take` / `.limit()` / a single-row operation, and when the arguments cannot be seen. `returns_many` is True for a list
    (`findMany`, `.all()`, `.scalars().all()`).
    """

    orm: str
    model: str
    operation: str
    kind: str
    client: str
    filter: Filter
    at: Location
    function: str = ""
    function_at: Location | None = None
    order_by: tuple[str, ...] = ()
    has_limit: bool = False
    returns_many: bool = False
    client_source: str | None = None
    terminal: str | None = None  # SQLAlchemy: `all`, `first`, `one`, `scalars.all`, ...; Prisma: `distinct` for `findMany({ distinct })`
    binds: str = ""  # the local name the result is assigned to (`const order = await ...`)
    parameters: tuple[str, ...] = ()  # the enclosing function's parameters in order (no `self`)
    compared: tuple[str, ...] = ()  # names the function compares with the caller's identity


@dataclass(frozen=True, slots=True)
class RowCheck:
    """A function verifies a fetched row belongs to the caller's tenant and leaves otherwise.

    `if (!order || order.tenantId !== tenantId) throw ...`, `if obj.org_id != current_org.id:
    abort(404)`, or the row's tenant key handed to a verifying call as a statement
    (`check_admin_access(user, message.org_id)`). `variable` is the row's local name.
    """

    variable: str
    key: str
    function: str
    at: Location
    how: str
    function_at: Location | None = None  # tells apart anonymous handlers of one file



@dataclass(frozen=True, slots=True)
class ScopedCall:
    """A call that hands the tenant key to another function: `await this.getBookingById(id, tenantId)`.

    `callee` is the called name's last part; `arguments` the argument expressions as
    written (normalised like filter values); `binds` the local name of its result.
    When the callee is a project function that reads the row scoped, its result and
    the other arguments are the tenant's.
    """

    callee: str
    arguments: tuple[str, ...]
    function: str
    at: Location
    binds: str = ""
    function_at: Location | None = None  # tells apart anonymous handlers of one file



@dataclass(frozen=True, slots=True)
class IdentityCall:
    """A call that hands the caller's identity to another function: `this.users.findById(req.user.id)`.

    `callee` is the called name's last part, `position` the argument's index, `value` the
    argument as written (normalised like filter values, locals bound to the session resolved).
    A function every caller of which passes the identity at that position reads the caller's own row.
    """

    callee: str
    position: int  # -1 for a keyword argument
    value: str
    function: str
    at: Location
    function_at: Location | None = None
    keyword: str = ""  # Python `get_user(db, user_id=current_user.id)`



@dataclass(frozen=True, slots=True)
class NewRow:
    """A row the function builds and adds itself: `schedule = PMSchedule(...); db.add(schedule)`.

    Re-reading it by its id (`select(PMSchedule).filter(PMSchedule.id == schedule.id)`) reads
    the caller's own row. (Prisma `create` results are the `binds` of their `Query`.)
    """

    variable: str
    model: str
    function: str
    at: Location
    function_at: Location | None = None  # tells apart anonymous handlers of one file



@dataclass(frozen=True, slots=True)
class ClientInput:
    """A value read from client-controlled input: `const { tenantId } = req.params`,
    `request.args.get("org_id")`, a FastAPI path parameter `org_id` of `/{org_id}/users`.

    `name` is the local name it is bound to, or the expression when used inline;
    `source`: "path parameter", "query string", "body", "header", "cookie".
    `compared`: the function compares it with the caller's identity (or hands both to
    one call). `passed_to`: `(callee, position)` of calls that forward it (position is
    the argument index, or the keyword).
    """

    name: str
    source: str
    function: str
    at: Location
    compared: bool = False
    passed_to: tuple[tuple[str, str], ...] = ()
    function_at: Location | None = None  # tells apart anonymous handlers of one file



@dataclass(frozen=True, slots=True)
class SqlTable:
    """A table a SQL statement touches, with the columns its predicates pin by equality.

    `access` is "read", "write" or "insert". `constrained` holds columns constrained by
    an equality/IN predicate that applies to this table (qualified by its alias, or
    unqualified) and that every row must satisfy (not under OR/NOT). `joins` holds
    `(own column, other alias or table)` for join equalities that every row of this
    table must match (`JOIN c ON c.id = o.customer_id` gives o `("customer_id", "c")`
    and c `("id", "o")`; a LEFT JOIN only links the joined table).
    """

    name: str
    alias: str | None
    access: str
    constrained: tuple[str, ...] = ()
    joins: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class RawSql:
    """A raw SQL string run against the database.

    `origin`: `$queryRaw`, `$executeRaw`, `$queryRawUnsafe`, `$executeRawUnsafe`,
    `Prisma.sql`, `text`, `execute`. `text` has interpolations replaced by
    placeholders. `parsed` is False when sqlglot cannot parse it or the string is
    built at run time: then `tables` is empty and nothing is known.
    """

    origin: str
    text: str
    at: Location
    tables: tuple[SqlTable, ...] = ()
    parsed: bool = True
    client: str = ""
    function: str = ""
    function_at: Location | None = None
    orm: str = PRISMA
    discarded: bool = False  # run as a statement, its rows never looked at (`await db.execute(text("SELECT col ..."))`)


@dataclass(frozen=True, slots=True)
class ScopedClient:
    """A Prisma client whose queries the project scopes to a tenant below the query.

    `prisma.$extends({ query: { $allModels: { ... args.where = { ...args.where, tenantId } } } })`
    bound to `name` (a variable, or a function that returns such a client: `called=True`).
    `keys` are the tenant keys the extension injects. `scope` is the enclosing
    function of a local binding (`const db = prisma.$extends(...)` inside a handler):
    the name means that client only there. `covers` lists the `(delegate, operation)`
    pairs whose handler injects the key: "*" for `$allModels` / `$allOperations`, and
    `("$all", "*")` for a top-level `$allOperations`, which also sees raw queries.
    """

    name: str
    keys: tuple[str, ...]
    at: Location
    called: bool = False
    scope: str = ""
    covers: tuple[tuple[str, str], ...] = (("*", "*"),)

    def scopes(self, delegate: str, operation: str) -> bool:
        delegate = delegate[:1].lower() + delegate[1:]
        return any(
            model in ("$all", "*", delegate) and op in ("*", operation) and (model == "$all" or not delegate.startswith("$"))
            for model, op in self.covers
        )


@dataclass(frozen=True, slots=True)
class Calls:
    """The names one function calls or hands on as a function (`safe_try(fix)`, a route's handler).

    `callees` are last name parts (`init_db.main()` gives "main"), `C.m` when the receiver's class
    is known (TypeScript `this.service.m()` with `constructor(private service: C)`). `function` is "" for module
    level and "__main__" for an `if __name__ == "__main__":` block. Who calls a function is read
    from these by name, so a name called anywhere else counts as called from there.
    """

    function: str
    callees: tuple[str, ...]
    at: Location
    function_at: Location | None = None
    owner: str = ""  # TypeScript: the class it is a member of; a callee `C.m` names method m of class C


@dataclass(frozen=True, slots=True)
class CrossTenantEntry:
    """Code that works across tenants by design: a startup hook, a `__main__` block, a route handler
    behind a platform-admin guard. `function` is the entry's qualname; `how` says why. With
    `handler` set, the entry is the route registered at `at` and `handler` the last name of its
    handler (TypeScript: `router.get('/x', requireRole('SUPER_ADMIN'), ctrl.list)`)."""

    function: str
    how: str
    at: Location
    function_at: Location | None = None
    handler: str = ""
