"""Pagination view: which request page sizes are bounded and which list queries route handlers run."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from prodlint.facts import Location
from prodlint.facts.capacity import Binding
from prodlint.facts.data import PRISMA, Model, Query
from prodlint.facts.pagination import EXPRESS, SCHEMA, Function, PageSizeParam, ParameterUse, QueryModelUse, SchemaBound
from prodlint.model.data import data_model
from prodlint.model.indexes import index_inventory, is_soft_delete
from prodlint.model.modules import module_index
from prodlint.model.routes import route_graph
from prodlint.project import Project


# How a route's list query is bounded (`Pagination.list_status`).
LIMITED, AGGREGATE, CONFIGURED, FILTERED, LOOKUP, UNBOUNDED = "limited", "aggregate", "configured", "filtered", "lookup", "unbounded"
AGGREGATES = frozenset({"groupBy"})  # one row per group, not per record
REACH = 3  # calls from a route handler to the function that runs its query


@dataclass(frozen=True, slots=True)
class ListQuery:
    """A query a route handler runs (itself, or in a function it calls directly)."""

    query: Query
    handler: Function


class Pagination:
    """Functions, route handlers and page-size parameters joined across files."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.index = project.view(module_index)
        self.functions = {(f.at.path, f.name): f for f in project.facts_of(Function)}
        self.functions_at = {_key(f.at): f for f in project.facts_of(Function)}
        by_last: dict[str, list[Function]] = defaultdict(list)
        for function in self.functions.values():
            by_last[function.name.rsplit(".", 1)[-1]].append(function)
        self.by_last = by_last
        self.schema_bounds: dict[str, set[str]] = defaultdict(set)
        for bound in project.facts_of(SchemaBound):
            self.schema_bounds[bound.at.path].add(bound.field)
        self.query_models = list(project.facts_of(QueryModelUse))
        self.parameter_uses = {(_key(u.at), u.index): u for u in project.facts_of(ParameterUse)}
        # module-level service objects: `organisation_service = OrganisationService()` -> the class's name
        self.instances = {(b.at.path, b.name): b.value.text.rsplit(".", 1)[-1]
                          for b in project.facts_of(Binding) if b.value.kind == "instance"}
        self.data = project.view(data_model)
        self.bounded = {name.lower() for name in project.config.bounded_models}
        self.tenant_keys = set(project.config.tenant_keys)

    # --- functions ------------------------------------------------------------

    def resolve(self, path: str, name: str, scope: str = "") -> Function | None:
        """The function `name` (as written in `path`) calls; by a unique method name when the
        receiver cannot be followed (`this.orders.list`)."""
        if name.startswith("this.") and "." in scope:
            # a method of the enclosing class: `this.page()` inside `CustomerService.list`
            found = self.functions.get((path, f"{scope.rsplit('.', 1)[0]}.{name.removeprefix('this.')}"))
            if found is not None:
                return found
        symbol = self.index.resolve(path, name, scope, self._defined)
        if symbol is not None:
            found = self.functions.get((symbol.path, symbol.name))
            return found if found is not None or "." not in symbol.name else self._instance_method(symbol.path, symbol.name)
        candidates = self.by_last.get(name.rsplit(".", 1)[-1], []) if "." in name else []
        return candidates[0] if len(candidates) == 1 else None

    def _defined(self, path: str, name: str, scope: str) -> bool:
        return (path, name) in self.functions

    def _instance_method(self, path: str, name: str) -> Function | None:
        """`organisation_service.list_users` where the module binds `organisation_service = OrganisationService()`."""
        head, _, method = name.partition(".")
        cls = self.instances.get((path, head))
        if cls is None or "." in method:
            return None
        candidates = [f for f in self.by_last.get(method, []) if f.name == f"{cls}.{method}"]
        return candidates[0] if len(candidates) == 1 else None

    def handlers(self) -> Iterator[Function]:
        """The functions that handle a mounted route, in route order."""
        for resolved in self.project.view(route_graph).routes:
            route = resolved.route
            at = route.handler_at
            if at is None:
                continue
            function = self.functions_at.get(_key(at))
            if function is None and route.handler:
                function = self.resolve(route.at.path, route.handler)
            if function is not None:
                yield function

    def list_queries(self) -> Iterator[ListQuery]:
        """Every query in a route handler or a function it reaches (controller -> service ->
        repository, up to three calls deep), once, in path order."""
        # Keyed by where the function is defined: inline handlers are all `<anonymous>`.
        reached: dict[tuple[str, int, int], Function] = {}
        handlers = list(self.handlers())
        for handler in handlers:
            reached.setdefault(_key(handler.at), handler)
        # nearest handler first: a function one handler calls directly is that handler's
        frontiers = [[handler] for handler in handlers]
        for _ in range(REACH):
            for index, frontier in enumerate(frontiers):
                found = []
                for caller in frontier:
                    for call in caller.calls:
                        callee = self.resolve(caller.at.path, call, caller.name)
                        if callee is not None and _key(callee.at) not in reached:
                            reached[_key(callee.at)] = handlers[index]
                            found.append(callee)
                frontiers[index] = found
        for query in self.project.facts_of(Query):
            handler = reached.get(_key(query.function_at)) if query.function_at is not None else None
            if handler is not None:
                yield ListQuery(query, handler)

    def list_status(self, listed: ListQuery) -> str:
        """What a read query a route handler reaches returns: LIMITED (a limit or one row), AGGREGATE
        (a groupBy, a distinct findMany), CONFIGURED (a model in pagination.bounded-models), FILTERED (a parent's children,
        or a filter prodlint cannot see), LOOKUP (a lookup table by its schema) or UNBOUNDED."""
        query = listed.query
        if query.has_limit:
            return LIMITED
        if query.operation in AGGREGATES or query.terminal == "distinct":
            return AGGREGATE
        model = self.data.model_of(query)
        name = model.name if model is not None else query.model.rsplit(".", 1)[-1]
        if name.lower() in self.bounded or query.model.lower() in self.bounded:
            return CONFIGURED
        if query.filter.unknown or query.filter.ranges or self.narrowing_keys(query, model):
            return FILTERED
        lookups = self.project.view(lookup_tables)
        if model is not None and lookups.why_small(model) and (lookups.tenant_key(model) is None or query.filter.keys):
            return LOOKUP  # a lookup table (of this tenant): few rows by nature
        return UNBOUNDED

    def narrowing_keys(self, query: Query, model: Model | None) -> set[str]:
        """The pinned keys that pick a parent's rows: not the tenant key, and not a soft-delete flag
        (`isDeleted: false`, `deletedAt: null`: most rows pass). Another flag may pick few rows
        (`is_builtin == True`): it stays a filter."""
        fields = {f.name: f for f in model.fields} if model is not None else {}
        return {key for key in query.filter.keys if key not in self.tenant_keys and not (key in fields and is_soft_delete(fields[key]))}

    # --- page sizes -----------------------------------------------------------

    def unbounded_page_sizes(self) -> Iterator[PageSizeParam]:
        for param in self.project.facts_of(PageSizeParam):
            if param.bound or param.unknown or self._clamped_by_helper(param) is not False:
                continue
            if param.passed_to and self.reaches_page_size(param.at.path, param.function, param.passed_to) is None:
                continue
            if param.framework == SCHEMA and not self._used_as_query_model(param):
                continue
            if param.framework == EXPRESS and self._validated(param):
                continue
            yield param

    def reaches_page_size(self, path: str, scope: str, calls: tuple[tuple[str, int], ...], depth: int = 0) -> str | None:
        """The callee chain through which a value handed to `calls` is used as a page size
        unbounded (`BookingService.listByBranch`), None when no callee does or one cannot be
        followed (a bound anywhere on the way, or an unknown callee, keeps it silent)."""
        if depth > 3:
            return None
        found = None
        for callee, index in calls:
            function = self.resolve(path, callee, scope)
            use = self.parameter_uses.get((_key(function.at), index)) if function is not None else None
            if function is None or use is None or use.bounded or function.clamps:
                return None
            if use.sink:
                found = found or function.name
            elif use.passed_to:
                further = self.reaches_page_size(function.at.path, function.name, use.passed_to, depth + 1)
                if further is None:
                    return None
                found = found or f"{function.name} -> {further}"
            else:
                return None
        return found

    def _clamped_by_helper(self, param: PageSizeParam) -> bool | None:
        """True when a helper it passes through clamps; None when one cannot be found (unknown)."""
        found = [self.resolve(param.at.path, helper, param.function) for helper in param.helpers]
        if any(f is not None and f.clamps for f in found):
            return True
        return None if any(f is None for f in found) else False

    def _used_as_query_model(self, field: PageSizeParam) -> bool:
        for use in self.query_models:
            symbol = self.index.resolve(use.at.path, use.schema, use.function, lambda p, n, s: (p, n) == (field.at.path, field.schema))
            if symbol is not None and (symbol.path, symbol.name) == (field.at.path, field.schema):
                return True
        return False

    def _validated(self, param: PageSizeParam) -> bool:
        """A schema in this file or a module it imports caps the field (`.max()`, `isInt({ max })`, `@Max`)."""
        path = param.at.path
        sources = {self.index.resolve_module(path, i.source) for i in self.index.imports[path].values()}
        return any(param.name in self.schema_bounds.get(p or "", ()) for p in sources | {path})


class LookupTables:
    """Which tables stay small by what the schema says of them: lookup and config tables.

    A table is a lookup table when it
    - belongs to nothing: no foreign key to another table (a self-reference, a parent
      category, and the tenant key are allowed);
    - owns nothing: no other table's row needs one of its rows (every foreign key to it
      is optional, a classification like `groupId?` rather than a child's owner);
    - is no account table (a unique email grows with every sign-up) and not the tenant table.
    A table other rows need, or one with an optional reference of its own (an assignee,
    a default), still passes when nothing requires it to belong anywhere and
    - people order its rows by hand (an integer `displayOrder` / `sortOrder`): a curated
      list (service categories); or
    - it is narrow and global: no tenant key, a text label and at most six columns of its
      own besides keys and timestamps (departments, security questions, custom field
      definitions: what an administrator sets up once and other rows point to).
    Customers, orders and invoices fail one of these (a required parent, many columns of
    their own, a tenant key); currencies, tax rates, settings and server lists pass. A
    lookup table with a tenant key is small per tenant only: listing it across tenants is
    still a list. A schema with no foreign key at all gives no such evidence, and then no
    table is taken for a lookup.
    """

    def __init__(self, project: Project) -> None:
        self.data = project.view(data_model)
        inventory = project.view(index_inventory)
        self.tenant_keys = set(project.config.tenant_keys)
        self.belongs: dict[int, str] = {}  # model -> the required key that makes it a child
        self.refers: dict[int, str] = {}  # model -> an optional key to another table
        self.owns: dict[int, str] = {}  # model -> the required key that points to it
        self.tenants: set[int] = set()  # the tables tenant keys point to
        self.referrers: dict[int, set[int]] = defaultdict(set)  # model -> the tables with a key to it
        self.parents: dict[int, set[int]] = defaultdict(set)  # model -> the tables it needs a row of
        self.needed_by: dict[int, list[Model]] = defaultdict(list)  # model -> the tables that need one of its rows
        by_name = {(m.orm, m.name): m for m in inventory.tables}
        self.related_orms: set[str] = set()
        for model in inventory.tables:
            for key in inventory.foreign_keys(model):
                self.related_orms.add(model.orm)
                target = self._target(model, key.target, by_name)
                if target is model:
                    continue
                required = not any(f.optional for f in key.fields)
                if target is not None:
                    self.referrers[id(target)].add(id(model))
                if target is not None and required:
                    self.owns.setdefault(id(target), f"{model.name}.{key.fields[0].name}")
                    self.parents[id(model)].add(id(target))
                    self.needed_by[id(target)].append(model)
                columns = {f.column or f.name for f in key.fields} | {f.name for f in key.fields}
                if columns & self.tenant_keys:  # a tenant's own table still belongs to nothing else
                    if target is not None:
                        self.tenants.add(id(target))
                elif required:
                    self.belongs.setdefault(id(model), f"{model.name}.{key.fields[0].name}")
                else:
                    self.refers.setdefault(id(model), f"{model.name}.{key.fields[0].name}")

    def _target(self, model: Model, target: str, by_name: dict[tuple[str, str], Model]) -> Model | None:
        if model.orm == PRISMA:
            return by_name.get((PRISMA, target))
        return self.data.by_table.get(target.lower())

    def why_small(self, model: Model) -> str | None:
        """The evidence that the table is a lookup table, or None."""
        if id(model) in self.belongs or model.orm not in self.related_orms or id(model) in self.tenants:
            return None  # a schema without foreign keys says nothing about which tables are small
        if any(f.unique and "email" in f.name.lower() for f in model.fields):
            return None
        if id(model) not in self.owns:
            if id(model) in self.refers:
                return None  # nothing points to it and it points somewhere: a record (a user's notifications)
            return f"{model.name} references no other table and no table's row needs one of its rows"
        # rows someone puts in order by hand (`displayOrder`) are a curated list, however many rows need one
        ordered = next((f for f in model.fields if f.name.lower().replace("_", "") in HAND_ORDER and _is_integer(f)), None)
        if ordered is not None and id(model) not in self.refers:
            return f"{model.name} belongs to nothing and its rows are ordered by hand ({ordered.name})"
        own = self._own_columns(model)
        if self.tenant_key(model) is None and len(own) <= NARROW and any(_is_text(f) for f in own) and self._a_dimension(model):
            needed = f"{self.owns[id(model)].split('.')[0]} rows need one"
            columns = f"{len(own)} column" + "s" * (len(own) != 1)
            return f"{model.name} is a narrow global table ({columns} of its own besides keys and timestamps) that {needed}"
        return None

    def _a_dimension(self, model: Model) -> bool:
        """Every row that needs one of its rows belongs to a bigger table: a ticket needs a department
        and a client that more tables point to, so the client owns it and the department classifies
        it. A client that invoices need and nothing else owns is the owner itself."""
        size = len(self.referrers[id(model)])
        return all(
            any(p != id(model) and len(self.referrers[p]) > size for p in self.parents[id(child)])
            for child in self.needed_by[id(model)]
        )

    def _own_columns(self, model: Model) -> list:
        """Columns that are neither a key (primary, foreign, tenant) nor a creation/update timestamp."""
        foreign = {f.name for f in model.fields if f.foreign_key}
        for relation in model.relations:
            foreign |= set(relation.fields)
        return [
            f for f in model.fields
            if not f.relation and not f.primary and f.name not in foreign and not f.is_list
            and f.name.lower().replace("_", "") not in TIMESTAMPS
        ]

    def tenant_key(self, model: Model) -> str | None:
        return next((f.name for f in model.fields if not f.relation and (f.name in self.tenant_keys or f.column in self.tenant_keys)), None)


NARROW = 6
TIMESTAMPS = frozenset({"createdat", "updatedat", "createdon", "updatedon", "created", "updated", "modifiedat", "deletedat"})
HAND_ORDER = frozenset({"displayorder", "sortorder", "sortindex", "ordering"})


def _is_integer(field) -> bool:
    return field.type.split("(", 1)[0].rsplit(".", 1)[-1].lower() in ("int", "integer", "smallint", "biginteger", "bigint")


def _is_text(field) -> bool:
    return field.type.split("(", 1)[0].rsplit(".", 1)[-1].lower() in ("string", "str", "text", "varchar", "unicode", "unicodetext", "char")


def lookup_tables(project: Project) -> LookupTables:
    return LookupTables(project)


def _key(at: Location) -> tuple[str, int, int]:
    return at.path, at.line, at.column


def pagination(project: Project) -> Pagination:
    return Pagination(project)
