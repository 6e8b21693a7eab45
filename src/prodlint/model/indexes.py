"""The index inventory: which indexes each table has, and which index serves each query.

Use `project.view(index_inventory)`. A table's indexes are those its model declares
(Prisma `@id`/`@unique`/`@@id`/`@@unique`/`@@index`, SQLAlchemy `primary_key`,
`unique=True`, `index=True`, `Index`, `UniqueConstraint`) plus what the migrations
leave after applying them in order: SQL files in path order (Prisma migration folders
sort by timestamp), then Alembic revisions along the `down_revision` chain, each drop
removing the index of that name. The model is the schema as it stands today, so a
migration's drop never removes an index the model declares.

An index *covers* a column set when its leading columns are that set, in any order.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from prodlint.facts import Location
from prodlint.facts.capacity import Binding, Pool
from prodlint.facts.columns import ColumnTemplate, TemplatedColumn
from prodlint.facts.data import PRISMA, SQLALCHEMY, Datasource, Field, Model, Query
from prodlint.facts.sql import AlembicRevision, CreatedIndex, DroppedIndex, RenamedIndex
from prodlint.model.capacity import SettingsResolver
from prodlint.model.data import CREATES, data_model
from prodlint.model.modules import module_index
from prodlint.model.roles import production_code
from prodlint.model.services import Known, services
from prodlint.project import Project

POSTGRES = "postgresql"
MYSQL_WITH_FOREIGN_KEYS = "mysql"
MYSQL_WITHOUT_FOREIGN_KEYS = "mysql-relation-mode-prisma"
# Prisma `provider` values other than MySQL, as the database's name in a message.
DATABASE_NAMES = {
    "postgresql": "PostgreSQL",
    "postgres": "PostgreSQL",
    "cockroachdb": "CockroachDB",
    "sqlite": "SQLite",
    "sqlserver": "SQL Server",
    "mongodb": "MongoDB",
}
SEED_DIRECTORIES = frozenset({"seed", "seeds", "seeders", "seeding"})
SQLALCHEMY_POOLS = ("sqlalchemy", "flask-sqlalchemy")


@dataclass(frozen=True, slots=True)
class Index:
    table: str
    columns: tuple[str, ...]
    unique: bool
    primary: bool
    name: str | None
    origin: str
    at: Location

    def covers(self, columns: Iterable[str]) -> bool:
        wanted = {c.lower() for c in columns}
        return bool(wanted) and len(self.columns) >= len(wanted) and {c.lower() for c in self.columns[: len(wanted)]} == wanted

    def pins(self, columns: Iterable[str]) -> bool:
        """A unique index whose every column is pinned: at most one row matches."""
        pinned = {c.lower() for c in columns}
        return self.unique and bool(self.columns) and {c.lower() for c in self.columns} <= pinned


@dataclass(frozen=True, slots=True)
class ForeignKey:
    model: Model
    fields: tuple[Field, ...]  # the scalar fields that hold the key, in order
    target: str  # the referenced model (Prisma) or table (SQLAlchemy)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.column or f.name for f in self.fields)

    @property
    def at(self) -> Location:
        return self.fields[0].at


@dataclass(frozen=True, slots=True)
class QueryIndex:
    """The index a query needs (equality columns, then one sort column) and the one serving it.

    `served_by` is None when no index leads with any equality column: the query scans the table."""

    query: Query
    model: Model
    equality: tuple[Field, ...]  # tenant key first, then in the model's field order
    sort: Field | None
    served_by: Index | None

    @property
    def wanted(self) -> tuple[Field, ...]:
        return self.equality + ((self.sort,) if self.sort is not None else ())

    @property
    def ideal(self) -> bool:
        """Served by a unique lookup or an index that leads with every wanted column."""
        columns = [f.column or f.name for f in self.equality]
        index = self.served_by
        if index is None:
            return False
        return not columns or index.pins(columns) or index.covers([f.column or f.name for f in self.wanted])


@dataclass(frozen=True, slots=True)
class SuggestedIndex:
    """One index that serves several unserved queries of a model: equality columns (soft-delete
    flags last: they never lead), then the sort. `partial`: the soft-delete columns the queries
    pin to "not deleted" when no other column leads, so the index is a partial one on the rest."""

    model: Model
    columns: tuple[Field, ...]
    partial: tuple[Field, ...]
    needs: tuple[QueryIndex, ...]  # the first one is the query that asks for all of it


def is_soft_delete(field: Field) -> bool:
    """`deleted_at`, `deletedAt`, `is_deleted`, `del_flag`: rows the application hides, not a key to look rows up by."""
    return field.name.lower().replace("_", "") in SOFT_DELETE_NAMES or (field.column or "").lower().replace("_", "") in SOFT_DELETE_NAMES


SOFT_DELETE_NAMES = frozenset({"deletedat", "deletedon", "deletedtime", "deleteddate", "deleted", "isdeleted", "delflag", "deleteflag", "isdel"})


class IndexInventory:
    def __init__(self, project: Project) -> None:
        self.project = project
        self.data = project.view(data_model)
        self.tenant_keys = set(project.config.tenant_keys)
        self.migrated: dict[str, list[Index]] = defaultdict(list)
        for created in applied_migrations(project):
            self.migrated[created.table.lower()].append(created)
        self.datasources = list(project.facts_of(Datasource))
        self.sqlalchemy_database = _sqlalchemy_database(project)
        self.revision_paths = {r.at.path for r in project.facts_of(AlembicRevision)}
        self._by_model: dict[int, list[Index]] = {}
        self.modules = project.view(module_index)
        self.templates = {(t.at.path, t.name): t for t in project.facts_of(ColumnTemplate)}
        self.templated: dict[str, list[TemplatedColumn]] = defaultdict(list)
        for use in project.facts_of(TemplatedColumn):
            self.templated[use.model].append(use)
        self.declared_models: dict[str, list[Model]] = defaultdict(list)
        for model in self.data.models:
            if model.orm == SQLALCHEMY:
                self.declared_models[model.name].append(model)

    # --- inventory ----------------------------------------------------------

    def indexes_of(self, model: Model) -> list[Index]:
        if id(model) not in self._by_model:
            declared = [Index(i.table, i.columns, i.unique, i.primary, i.name, i.origin, i.at) for i in model.indexes]
            declared += self.templated_indexes(model) if model.orm == SQLALCHEMY else []
            migrated = self.migrated.get(model.table.lower(), []) if model.table else []
            implicit = [
                Index(model.table or model.name, key.columns, False, False, None, "InnoDB foreign key", key.at)
                for key in self.foreign_keys(model)
            ] if self.database_of(model) == MYSQL_WITH_FOREIGN_KEYS else []
            self._by_model[id(model)] = declared + migrated + implicit
        return self._by_model[id(model)]

    def templated_indexes(self, model: Model) -> list[Index]:
        """Keys declared through a type alias (`id: Mapped[id_key]`) or a helper (`id = primary_key()`)."""
        found: list[Index] = []
        table = model.table or model.name
        for f in model.fields:
            template = self._template(f.at.path, f.type)
            if template is not None and not template.called:
                found.append(Index(table, (f.column or f.name,), template.unique or template.primary, template.primary, None, f"Annotated alias {f.type}", f.at))
        for name in self._lineage(model):
            for use in self.templated.get(name, []):
                template = self._template(use.at.path, use.template)
                if template is not None and template.called:
                    found.append(Index(table, (use.field,), template.unique or template.primary, template.primary, None, f"{use.template}()", use.at))
        return found

    def _template(self, path: str, name: str) -> ColumnTemplate | None:
        if not name.replace(".", "").replace("_", "").isalnum():
            return None
        symbol = self.modules.resolve(path, name, "", lambda p, n, s: (p, n) in self.templates)
        return self.templates.get((symbol.path, symbol.name)) if symbol is not None else None

    def _lineage(self, model: Model) -> list[str]:
        """The class and the classes it inherits from, by name (one definition each)."""
        names, pending = [], [model.name]
        while pending:
            name = pending.pop()
            if name in names:
                continue
            names.append(name)
            found = self.declared_models.get(name, [])
            if len(found) == 1:
                pending.extend(b.rsplit(".", 1)[-1] for b in found[0].bases)
        return names

    def mapped_ancestors(self, model: Model) -> list[Model]:
        """The mapped classes a SQLAlchemy model inherits from, nearest first."""
        found = []
        for name in self._lineage(model)[1:]:
            declared = self.declared_models.get(name, [])
            if len(declared) == 1 and declared[0].kind == "model":
                found.append(declared[0])
        return found

    def inherited(self, model: Model, field: Field) -> bool:
        """The column belongs to a mapped parent: single-table inheritance stores it in the
        parent's table, joined inheritance keeps it there; the parent reports it."""
        return any(any(f.at == field.at for f in parent.fields) for parent in self.mapped_ancestors(model))

    def table_owner(self, model: Model) -> Model:
        """The class whose `__table_args__` declare the table's indexes: a single-table-inheritance
        subclass shares its parent's table and cannot take an index of its own."""
        owner = model
        for parent in self.mapped_ancestors(model):
            if parent.table and model.table and parent.table.lower() == model.table.lower():
                owner = parent
        return owner

    def leading(self, model: Model, columns: Iterable[str]) -> Index | None:
        """The first index that covers the columns."""
        columns = tuple(columns)
        return next((i for i in self.indexes_of(model) if i.covers(columns)), None)

    @property
    def tables(self) -> list[Model]:
        """The application's mapped models; a data migration's local copy of a model is not one."""
        return [m for m in self.data.models if m.kind == "model" and m.at.path not in self.revision_paths]

    # --- foreign keys and tenant keys ---------------------------------------

    def foreign_keys(self, model: Model) -> Iterator[ForeignKey]:
        by_name = {f.name: f for f in model.fields}
        if model.orm == PRISMA:
            for relation in model.relations:
                fields = tuple(by_name[n] for n in relation.fields if n in by_name)
                if fields and len(fields) == len(relation.fields):
                    yield ForeignKey(model, fields, relation.target)
            return
        for f in model.fields:
            if f.foreign_key:
                yield ForeignKey(model, (f,), f.foreign_key.rsplit(".", 1)[0])

    def database_of(self, model: Model) -> str:
        """The model's Prisma datasource provider (same schema folder), or for SQLAlchemy what
        the project's engine URLs say; POSTGRES when nothing says otherwise.

        MySQL (InnoDB) indexes every foreign key it enforces; Prisma's
        `relationMode = "prisma"` (the default is "foreignKeys") creates none for it to index.
        """
        if model.orm != PRISMA:
            return self.sqlalchemy_database
        folder = model.at.path.rpartition("/")[0]
        datasource = max(
            (d for d in self.datasources if d.at.path.rpartition("/")[0] == folder),
            key=lambda d: d.at.path == model.at.path, default=None)
        provider = datasource.provider if datasource is not None else None
        if provider != "mysql":
            return provider if provider in DATABASE_NAMES else POSTGRES
        return MYSQL_WITH_FOREIGN_KEYS if datasource.relation_mode in (None, "foreignKeys") else MYSQL_WITHOUT_FOREIGN_KEYS

    def tenant_key(self, model: Model) -> Field | None:
        tenant = self.data.tenant_model(model)
        return tenant.key if tenant is not None else None

    # --- queries ------------------------------------------------------------

    def query_indexes(self) -> Iterator[QueryIndex]:
        """Each ORM query that filters by equality on columns prodlint can see, with its serving index."""
        for query in self.project.live_facts_of(Query):
            need = self.query_index(query)
            if need is not None:
                yield need

    def query_index(self, query: Query) -> QueryIndex | None:
        """None when the query pins no visible columns or part of its filter cannot be seen."""
        if query.operation in CREATES or query.filter.unknown:
            return None
        model = self.data.model_of(query)
        if model is None or model.kind != "model" or query.at.path in self.revision_paths or is_one_off_script(query.at.path):
            return None
        if query.orm == SQLALCHEMY and query.operation == "get":
            primary = next((i for i in self.indexes_of(model) if i.primary), None)
            # `session.get(M, id)` looks up the primary key; one prodlint cannot see is still there.
            return QueryIndex(query, model, (), None, primary) if primary is not None else None
        if not query.filter.keys:
            return None
        by_name = {f.name: f for f in model.fields if not f.relation and f.column}
        if any(key not in by_name for key in query.filter.keys):
            return None  # a relation filter or a name prodlint cannot map to a column
        keys = [by_name[k] for k in query.filter.keys if indexable(by_name[k])]
        sort = by_name.get(query.order_by[0]) if query.order_by else None
        if sort is not None and sort in keys:
            sort = None
        if all(_is_boolean(f) or is_soft_delete(f) for f in keys):
            # The planner seldom uses an index on a flag alone, nor on "not deleted" (most rows);
            # a partial index on the sort column serves "not deleted, newest first".
            if sort is None or not keys or not all(is_soft_delete(f) and _is_timestamp(f) for f in keys):
                return None
        order = {f.name: position for position, f in enumerate(model.fields)}
        # tenant key first, then foreign keys, then the rest, soft-delete flags last: the leading
        # columns other queries share
        equality = sorted(keys, key=lambda f: (is_soft_delete(f), f.name not in self.tenant_keys, not f.foreign_key, order[f.name]))
        columns = [f.column or f.name for f in equality]
        wanted = columns + ([sort.column or sort.name] if sort is not None else [])
        indexes = self.indexes_of(model)
        # Best first: a unique lookup, the whole compound, the equality columns, then any index
        # that leads with one of them (the database narrows the scan with it: served, if not ideally).
        served = (
            next((i for i in indexes if i.pins(columns)), None)
            or next((i for i in indexes if i.covers(columns) and i.covers(wanted)), None)
            or next((i for i in indexes if i.covers(columns)), None)
            or next((i for i in indexes if any(i.covers((c,)) for c in columns)), None)
        )
        return QueryIndex(query, model, tuple(equality), sort, served)


# A B-tree index on these serves no equality filter (`payload: { path, equals }` on Json).
_UNINDEXABLE = {"json", "jsonb", "bytes", "largebinary", "array"}


def indexable(field: Field) -> bool:
    base = field.type.split("(", 1)[0].split("[", 1)[0].rsplit(".", 1)[-1].lower()
    return base not in _UNINDEXABLE and base != "unsupported" and not field.is_list


def _is_timestamp(field: Field) -> bool:
    return any(t in field.type.lower() for t in ("date", "time"))


def _is_boolean(field: Field) -> bool:
    return field.type.split("(", 1)[0].rsplit(".", 1)[-1].lower() in ("boolean", "bool")


def is_one_off_script(path: str) -> bool:
    """Seed scripts: they run against a small database, so their queries need no index.
    (Tests are left out by the production-code view, which reads queries of live files only.)"""
    *directories, name = path.split("/")
    stem = name.split(".", 1)[0]
    return (
        any(d in SEED_DIRECTORIES for d in directories)
        or stem in SEED_DIRECTORIES or stem.startswith(("seed_", "seed-")) or ".seed." in name
    )


MYSQL_SCHEMES = frozenset({"mysql", "mariadb"})
DATABASE_URL = re.compile(r"^([a-z][a-z0-9]*)(?:\+[\w-]+)?://", re.IGNORECASE)
# Images of database servers, by what they speak.
DATABASE_IMAGES = {"mysql": "mysql", "mariadb": "mariadb", "percona": "mysql", "postgres": "postgresql",
                   "postgis/postgis": "postgresql", "timescale/timescaledb": "postgresql", "bitnami/postgresql": "postgresql",
                   "bitnami/mysql": "mysql", "bitnami/mariadb": "mariadb"}


def compose_databases(project: Project) -> tuple[set[str], set[str]]:
    """The database schemes production compose services name: (URLs in their environment,
    `DATABASE_URL=mysql+pymysql://...`; the database images they run)."""
    urls: set[str] = set()
    images: set[str] = set()
    for service in project.view(services).production():
        for name in service.environment:
            value = service.env_value(name)
            match = DATABASE_URL.match(value.value) if isinstance(value, Known) else None
            if match and match.group(1).lower() in (*MYSQL_SCHEMES, "postgres", "postgresql", "sqlite"):
                urls.add(match.group(1).lower())
        image = service.image.value if service.image is not None else None
        if image:
            repository = image.split("@", 1)[0].rsplit(":", 1)[0].removeprefix("docker.io/").removeprefix("library/")
            if repository in DATABASE_IMAGES:
                images.add(DATABASE_IMAGES[repository])
    return {"postgresql" if u == "postgres" else u for u in urls}, images


def _sqlalchemy_database(project: Project) -> str:
    """MySQL when what production runs says MySQL/MariaDB, asking in order: the database URLs
    of the production compose stack, the SQLAlchemy URLs the code spells out
    (`create_engine("mysql+pymysql://...")`, `SQLALCHEMY_DATABASE_URI`, through settings and
    their defaults; a SQLite fallback says nothing of production), the database images the
    stack runs. Else POSTGRES."""
    deployed, images = compose_databases(project)
    bindings = list(project.facts_of(Binding))
    resolver = SettingsResolver(SettingsResolver.index(bindings), {})
    live = project.view(production_code).is_live
    urls = [p.url for p in project.facts_of(Pool) if p.library in SQLALCHEMY_POOLS and p.url is not None and live(p.at.path)]
    urls += [b.value for b in bindings if b.name == "SQLALCHEMY_DATABASE_URI" and live(b.at.path)]
    resolved = (resolver.resolve(url) for url in urls)
    written = {known.value.split(":", 1)[0].split("+", 1)[0].lower() for known in resolved if known is not None} - {"sqlite"}
    schemes = deployed or written or images
    return MYSQL_WITH_FOREIGN_KEYS if schemes and schemes <= MYSQL_SCHEMES else POSTGRES


def applied_migrations(project: Project) -> list[Index]:
    """Indexes the migrations leave: SQL files in path order, then Alembic revisions in chain order."""
    revisions = {r.at.path: r for r in project.facts_of(AlembicRevision)}
    sql: list[object] = []
    alembic: dict[str, list[object]] = defaultdict(list)
    for fact in project.facts_of(CreatedIndex, DroppedIndex, RenamedIndex):
        if fact.at.path in revisions:
            alembic[fact.at.path].append(fact)
        else:
            sql.append(fact)
    steps = sql + [fact for path in revision_order(list(revisions.values())) for fact in alembic[path]]
    alive: list[Index] = []
    for step in steps:
        if isinstance(step, CreatedIndex):
            alive.append(Index(step.table, step.columns, step.unique, step.primary, step.name, step.origin, step.at))
        elif isinstance(step, DroppedIndex):
            alive = [i for i in alive if not _dropped_by(i, step)]
        elif isinstance(step, RenamedIndex):
            alive = [replace(i, name=step.new_name) if _named(i, step.name) else i for i in alive]
    return alive


def _named(index: Index, name: str) -> bool:
    return index.name is not None and index.name.lower() == name.lower()


def _dropped_by(index: Index, drop: DroppedIndex) -> bool:
    if not _named(index, drop.name):
        return False
    return drop.table is None or drop.table.lower() == index.table.lower()


def revision_order(revisions: list[AlembicRevision]) -> list[str]:
    """Paths of Alembic revision files, each after the revisions it revises (path order among equals)."""
    by_id = {r.revision: r for r in revisions}
    placed: list[str] = []
    done: set[str] = set()
    pending = sorted(revisions, key=lambda r: r.at.path)
    while pending:
        ready = [r for r in pending if all(d in done or d not in by_id for d in r.down_revisions)]
        if not ready:  # a cycle: the rest in path order rather than nothing
            ready = pending
        for r in ready:
            placed.append(r.at.path)
            done.add(r.revision)
        pending = [r for r in pending if r.revision not in done]
    return placed


def suggested_indexes(needs: Iterable[QueryIndex]) -> list[SuggestedIndex]:
    """The fewest indexes per model that serve all its unserved queries.

    Widest first, a query joins an index already suggested when that index holds all its
    equality columns and leads with the ones that are no soft-delete flag; a sorted query
    joins only the index of the same columns and sort."""
    by_model: dict[int, list[QueryIndex]] = defaultdict(list)
    for need in needs:
        by_model[id(need.model)].append(need)
    suggestions: list[SuggestedIndex] = []
    for group in by_model.values():
        placed: list[list[QueryIndex]] = []
        for need in sorted(group, key=lambda n: -len(n.wanted)):
            home = next((members for members in placed if _joins(members, need)), None)
            if home is None:
                placed.append([need])
            else:
                home.append(need)
        suggestions.extend(_suggestion(members) for members in placed)
    return sorted(suggestions, key=lambda s: s.needs[0].query.at)


def _core(need: QueryIndex) -> frozenset[str]:
    return frozenset(f.name for f in need.equality if not is_soft_delete(f))


def _joins(members: list[QueryIndex], need: QueryIndex) -> bool:
    """The widest query's index leads with the need's equality columns (soft-delete flags, which
    the index holds after them, aside) and, for a sorted need, is the same index."""
    widest = members[0]
    if need.sort is not None:
        return need.sort == widest.sort and {f.name for f in need.equality} == {f.name for f in widest.equality}
    if not {f.name for f in need.equality} <= {f.name for f in widest.equality}:
        return False
    leading = [f.name for f in widest.equality if not is_soft_delete(f)]
    return set(leading[: len(_core(need))]) == _core(need)


def _suggestion(members: list[QueryIndex]) -> SuggestedIndex:
    widest = members[0]
    if all(is_soft_delete(f) for f in widest.equality):
        return SuggestedIndex(widest.model, (widest.sort,) if widest.sort else (), widest.equality, tuple(members))
    return SuggestedIndex(widest.model, widest.wanted, (), tuple(members))


def index_inventory(project: Project) -> IndexInventory:
    return IndexInventory(project)
