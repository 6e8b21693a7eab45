"""The readiness report as one plain document (the JSON format), read from the project views.

Every other format (text, markdown, html) renders this document, so they cannot
disagree. Figures come from the views (`prodlint.model.*`) and from the findings
of the same run; nothing here decides what is a finding.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from prodlint import __version__, rules
from prodlint.checks.containers import datastore, publishes_on_all_interfaces
from prodlint.checks.indexes import unindexed_foreign_keys, unindexed_tenant_keys
from prodlint.engine import Result
from prodlint.facts import Location
from prodlint.facts.data import PRISMA, READ, Field, Model
from prodlint.facts.pagination import PageSizeParam
from prodlint.model.capacity import connection_budget
from prodlint.model.capacity_chain import Limit, ServiceCapacity, capacity_chain
from prodlint.model.data import STATUSES, data_model
from prodlint.model.indexes import POSTGRES, index_inventory
from prodlint.model.nginx import inherited, nginx_configuration
from prodlint.model.pagination import CONFIGURED, LIMITED, LOOKUP, pagination
from prodlint.model.roles import production_code
from prodlint.model.routes import could_be_public, route_graph
from prodlint.model.services import Services, services
from prodlint.facts.servers import UNKNOWN
from prodlint.project import Project
from prodlint.report import Report

# Areas in the order a production readiness review reads them, with the rule families in each.
AREAS = (
    ("routes", "Routes", ("RT",)),
    ("capacity", "Capacity and servers", ("CP", "SV")),
    ("tenancy", "Tenant isolation", ("TN",)),
    ("data", "Data: pagination and indexes", ("PG", "IX")),
    ("operations", "Containers and proxy", ("DC", "NX")),
    ("suppressions", "Suppressions", ("PL",)),
)
WEIGHTS = {"error": 2, "warning": 1, "note": 0}
PASS_WEIGHT = 2
GRADES = ((90, "A"), (80, "B"), (70, "C"), (60, "D"), (0, "F"))
SCORE_FORMULA = ("score = 100 × 2·passing / (2·passing + warnings + 2·errors), rounded down; passing = enabled rules "
                 "(PL excepted) with no finding; notes weigh 0; grade A ≥ 90, B ≥ 80, C ≥ 70, D ≥ 60, else F")


def build(report: Report, target: int | None = None, fail_on: str = "warning") -> dict[str, Any]:
    """The whole report. `report.results` are the findings shown (inline suppressions applied)."""
    analysis = report.analysis
    project = analysis.project
    assert project is not None
    builder = _Builder(report, project, target)
    return {
        "tool": "prodlint",
        "version": __version__,
        "score": builder.score(),
        "summary": builder.summary(fail_on),
        "inventory": builder.inventory(),
        "capacity": builder.capacity(),
        "routes": builder.routes(),
        "tenancy": builder.tenancy(),
        "pagination": builder.pagination(),
        "indexes": builder.indexes(),
        "containers": builder.containers(),
        "nginx": builder.nginx(),
        "findings": builder.findings(),
    }


def _area_of(code: str) -> str:
    return next((area for area, _title, families in AREAS if code[:2] in families), "suppressions")


def grade(score: int) -> str:
    return next(letter for floor, letter in GRADES if score >= floor)


def score_of(results: Iterable[Result], codes: set[str]) -> dict[str, Any]:
    """Polaris-style: each passing rule weighs 2 for, each warning 1 and each error 2 against."""
    counted = [r for r in results if not r.code.startswith("PL")]
    rules_run = sorted(c for c in codes if not c.startswith("PL"))
    failing = {r.code for r in counted}
    passing = sum(1 for code in rules_run if code not in failing)
    against = sum(WEIGHTS[r.severity] for r in counted)
    total = PASS_WEIGHT * passing + against
    score = 100 if total == 0 else (100 * PASS_WEIGHT * passing) // total
    return {"score": score, "grade": grade(score), "passing_rules": passing, "rules": len(rules_run),
            "errors": sum(r.severity == "error" for r in counted), "warnings": sum(r.severity == "warning" for r in counted)}


class _Builder:
    def __init__(self, report: Report, project: Project, target: int | None) -> None:
        self.report = report
        self.project = project
        self.target = target
        self.results = report.results
        self.all_results = report.analysis.results  # suppressed ones included
        self.codes = rules.enabled(project.config)
        self.meta = rules.metadata()

    # --- helpers ------------------------------------------------------------------------

    def where(self, at: Location | None) -> dict[str, Any] | None:
        if at is None:
            return None
        return {"path": self.report.display(at.path), "line": at.line}

    def finding(self, result: Result) -> dict[str, Any]:
        return {"code": result.code, "name": result.name, "severity": result.severity, "message": result.message,
                "path": self.report.display(result.at.path), "line": result.at.line, "column": result.at.column,
                "suppressed": result.suppression is not None}

    def located(self, code: str) -> set[Location]:
        """Where the run found `code`, suppressed findings included (the census counts what the code does)."""
        return {r.at for r in self.all_results if r.code == code}

    # --- 1. summary ---------------------------------------------------------------------

    def score(self) -> dict[str, Any]:
        shown = score_of(self.results, self.codes)
        unsuppressed = score_of(self.all_results, self.codes)
        return {**shown, "formula": SCORE_FORMULA,
                "without_suppressions": {"score": unsuppressed["score"], "grade": unsuppressed["grade"]},
                "suppressed": sum(r.suppression is not None for r in self.all_results)}

    def summary(self, fail_on: str) -> dict[str, Any]:
        counts = Counter(r.severity for r in self.results)
        blocking = sorted((r for r in self.results if r.severity == "error"), key=lambda r: (r.at.path, r.at.line, r.code))
        return {
            "counts": {severity: counts[severity] for severity in ("error", "warning", "note")},
            "findings": len(self.results),
            "suppressed": sum(r.suppression is not None for r in self.all_results),
            "files_analysed": self.report.analysis.files_analysed,
            "fail_on": fail_on,
            "target_concurrency": self.target,
            "blocking": [self.finding(r) for r in blocking],
            "verdicts": [self.verdict(area, title, families) for area, title, families in AREAS if area != "suppressions"],
        }

    def verdict(self, area: str, title: str, families: tuple[str, ...]) -> dict[str, Any]:
        found = [r for r in self.results if r.code[:2] in families]
        counts = Counter(r.severity for r in found)
        status = "fail" if counts["error"] else "warn" if counts["warning"] else "pass"
        checked = sorted(c for c in self.codes if c[:2] in families)
        if found:
            parts = [f"{counts[s]} {s}{'s' * (counts[s] != 1)}" for s in ("error", "warning", "note") if counts[s]]
            text = ", ".join(parts) + f" ({', '.join(sorted({r.code for r in found}))})"
        else:
            text = f"no findings from {len(checked)} rules" if checked else "not checked"
        headline = self.headline(area)
        return {"area": area, "title": title, "status": status, "verdict": f"{text}{'; ' + headline if headline else ''}"}

    def headline(self, area: str) -> str:
        """The figure a reviewer reads first in each area."""
        if area == "capacity":
            chain = self.project.view(capacity_chain)
            parts = []
            for service in chain.services:
                if service.serves_http and service.bottleneck is not None:
                    bound = "" if service.complete else "at most "
                    parts.append(f"{service.service.label} {bound}{service.max_concurrent_requests} concurrent requests "
                                 f"({service.bottleneck.kind})")
            return "; ".join(parts)
        if area == "tenancy":
            counts = self.tenancy_counts()
            total = sum(counts.values())
            if not total:
                return ""
            unscoped = counts.get("unscoped", 0)
            return f"{unscoped} of {total} queries on tenant-scoped models unscoped"
        if area == "routes":
            routes = self.routes()
            total = sum(a["routes"] for a in routes["apps"])
            unguarded = sum(a["unguarded"] for a in routes["apps"])
            return f"{unguarded} of {total} routes unguarded" if total else ""
        if area == "data":
            listing, keys = self.pagination()["list_queries"], self.indexes()["foreign_keys"]
            unbounded = listing["unbounded"] if listing["checked"] else "?"
            return (f"{unbounded} of {listing['total']} list queries unbounded, "
                    f"{keys['unindexed']} of {keys['total']} foreign keys unindexed")
        if area == "operations":
            containers = self.containers()["services"]
            unlimited = sum(1 for s in containers if s["memory_limit"] is None or s["cpu_limit"] is None)
            return f"{unlimited} of {len(containers)} services without resource limits" if containers else ""
        return ""

    # --- 2. architecture inventory --------------------------------------------------------

    def inventory(self) -> dict[str, Any]:
        view = self.project.view(services)
        graph = self.project.view(route_graph)
        frameworks = {router.framework for router in graph.routers}
        frameworks |= {model.orm for model in self.project.view(data_model).models}
        frameworks |= {budget.pool.library for budget in self.project.view(connection_budget).pools}
        return {
            "services": [self.service_entry(view, service) for service in view.production()],
            "entrypoints": [{"name": app.name, "framework": app.framework, **(self.where(app.at) or {})} for app in graph.entries],
            "frameworks": sorted(frameworks),
            "files": files_by_role(self.project),
        }

    def service_entry(self, view: Services, service) -> dict[str, Any]:
        launch = next((launch for launch in view.launches() if launch.service is service), None)
        server = launch.process.web_server if launch is not None else None
        workers = view.workers(launch, server) if launch is not None and server is not None and server.program in ("uvicorn", "gunicorn") else None
        image = service.image
        replicas = service.replicas
        return {
            "name": service.name,
            "image": image.raw if image is not None else None,
            "build": (service.context or ".") if service.context is not None else None,
            "replicas": replicas if isinstance(replicas, int) else (None if replicas is None else "unknown"),
            "command": " ".join(service.process.argv) if service.process and service.process.argv else None,
            "server": server.program if server is not None else None,
            "workers": (workers.count if workers.count != UNKNOWN else "unknown") if workers else None,
            "workers_source": workers.evidence if workers else None,
            "memory_limit": service.memory_limit.raw if service.memory_limit else None,
            "cpu_limit": service.cpu_limit.raw if service.cpu_limit else None,
            **(self.where(service.at) or {}),
        }

    # --- 3. capacity ----------------------------------------------------------------------

    def capacity(self) -> dict[str, Any]:
        chain = self.project.view(capacity_chain)
        postgres = chain.postgres
        stack: dict[str, Any] = {
            "connections": chain.connections,
            "connections_complete": chain.connections_complete,
            "database_available": postgres.available if postgres else None,
            "max_connections": self.input_of(postgres.max_connections, "PostgreSQL's default") if postgres else None,
            "superuser_reserved_connections": self.input_of(postgres.reserved, "PostgreSQL's default") if postgres else None,
            "rolling_deploys": [{"service": d.service, "connections": d.connections,
                                 "fits": postgres.available is None or d.connections <= postgres.available if postgres else None}
                                for d in chain.rolling_deploys],
            "proxy": self.limit(chain.proxy) if chain.proxy else None,
            "max_concurrent_requests": chain.max_concurrent_requests,
        }
        return {"target_concurrency": self.target, "services": [self.service_capacity(s) for s in chain.services], "stack": stack}

    def input_of(self, known, why: str) -> dict[str, Any]:
        source = f"{known.at.path}:{known.at.line}" if known.at else f"default of {known.value} ({why})"
        return {"value": known.value, "source": self.display_source(source, known.at)}

    def display_source(self, source: str, at: Location | None) -> str:
        return f"{self.report.display(at.path)}:{at.line}" if at is not None else source

    def service_capacity(self, service: ServiceCapacity) -> dict[str, Any]:
        bottleneck = service.bottleneck
        return {
            "name": service.name or "(application)",
            "program": service.service.server.program,
            "serves_http": service.serves_http,
            "max_concurrent_requests": service.max_concurrent_requests,
            "bottleneck": bottleneck.kind if bottleneck else None,
            "bottleneck_source": self.limit_source(bottleneck) if bottleneck else None,
            "complete": service.complete,
            "connections": service.connections,
            "per_process": {"requests": service.handling.requests, "bounded": service.handling.bounded,
                            "reason": service.handling.reason},
            "limits": [self.limit(limit, service.serves_http) for limit in service.limits],
        }

    def input_source(self, item) -> str:
        source = self.display_source(item.source, item.at)
        if item.evidence is not None:
            source += f", first at {self.report.display(item.evidence.path)}:{item.evidence.line}"
        return source

    def limit_source(self, limit: Limit) -> str | None:
        """Where the limit is configured, else the default it rests on."""
        if limit.at is not None:
            return f"{self.report.display(limit.at.path)}:{limit.at.line}"
        return self.input_source(limit.inputs[0]) if limit.inputs else None

    def limit(self, limit: Limit, serves_http: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": limit.kind, "value": limit.value, "state": limit.state, "arithmetic": limit.arithmetic,
            "source": self.limit_source(limit),
            "unknown": list(limit.unknown),
            "inputs": [{"name": i.name, "value": i.value, "source": self.input_source(i)} for i in limit.inputs],
        }
        if self.target is not None and serves_http:
            against = limit.against(self.target)
            data["target"] = None if against is None else {"headroom": against[0], "verdict": against[1]}
        return data

    # --- 4. routes ------------------------------------------------------------------------

    def routes(self) -> dict[str, Any]:
        graph = self.project.view(route_graph)
        public = self.project.config.route_public
        apps = []
        for app in graph.entries:
            served = [r for r in graph.routes if r.app == app]
            counts = Counter()
            for resolved in served:
                if resolved.guards:
                    counts["guarded"] += 1
                elif resolved.uncertain:
                    counts["unknown"] += 1
                elif could_be_public(resolved, public):
                    counts["public"] += 1
                else:
                    counts["unguarded"] += 1
            apps.append({"app": app.name, "framework": app.framework, **(self.where(app.at) or {}), "routes": len(served),
                         **{k: counts[k] for k in ("guarded", "public", "unguarded", "unknown")}})
        unmounted = [{"router": router.name, "routes": count, **(self.where(router.at) or {})}
                     for router, count, _importers in graph.unmounted_routers()]
        return {"apps": apps, "unmounted_routers": unmounted,
                "duplicate_routes": sum(1 for _ in graph.shadowed_routes()),
                "duplicate_mounts": sum(1 for _ in graph.duplicate_mounts())}

    # --- 5. tenant isolation ----------------------------------------------------------------

    def tenant_accesses(self) -> list[tuple[str, str]]:
        """(model, status) of every ORM query and raw SQL access on a tenant-scoped model."""
        data = self.project.view(data_model)
        roles = self.project.view(production_code)  # the code the TN rules judge: tests, seeds, scripts left out
        accesses = [(q.tenant.name, q.status) for q in data.tenant_queries() if roles.allowed("TN001", q.query.at)]
        accesses += [(raw.tenant.name, raw.status) for raw in data.tenant_raw_sql() if roles.allowed("TN003", raw.raw.at)]
        return accesses

    def statuses(self, seen: Iterable[str]) -> list[str]:
        """The statuses the data model declares, then any other it reports (new ones need no change here)."""
        declared = list(STATUSES)
        return declared + sorted(set(seen) - set(declared))

    def tenancy_counts(self) -> dict[str, int]:
        accesses = self.tenant_accesses()
        counts = Counter(status for _model, status in accesses)
        return {status: counts[status] for status in self.statuses(counts)}

    def tenancy(self) -> dict[str, Any]:
        data = self.project.view(data_model)
        accesses = self.tenant_accesses()
        statuses = self.statuses(status for _m, status in accesses)
        per_model: dict[str, Counter[str]] = {}
        for model, status in accesses:
            per_model.setdefault(model, Counter())[status] += 1
        models = []
        for tenant in data.tenant_scoped_models:
            counts = per_model.get(tenant.name, Counter())
            models.append({"model": tenant.name, "orm": tenant.model.orm, "key": tenant.key.name,
                           **(self.where(tenant.model.at) or {}), "queries": sum(counts.values()),
                           "counts": {status: counts[status] for status in statuses}})
        counts = Counter(status for _m, status in accesses)
        return {
            "statuses": statuses,
            "queries": len(accesses),
            "counts": {status: counts[status] for status in statuses},
            "models": models,
            "exempt": list(self.project.config.tenant_exempt),
            "findings": [self.finding(r) for r in self.results if r.code.startswith("TN")],
        }

    # --- 6. data ----------------------------------------------------------------------------

    def pagination(self) -> dict[str, Any]:
        view = self.project.view(pagination)
        unpaginated = self.located("PG002")
        checked = "PG002" in self.codes
        listing = Counter()
        seen = set()
        roles = self.project.view(production_code)
        for listed in view.list_queries():
            query = listed.query
            if query.kind != READ or not query.returns_many or query.at in seen or not roles.allowed("PG002", query.at):
                continue
            seen.add(query.at)
            status = view.list_status(listed)
            if status == LIMITED:
                listing["bounded"] += 1
            elif query.at in unpaginated:
                listing["unbounded"] += 1
            elif status in (LOOKUP, CONFIGURED):
                listing[status] += 1  # a lookup table by its schema, a model in pagination.bounded-models
            else:
                listing["filtered"] += 1  # a child lookup, a groupBy, a filter prodlint cannot see
        params = list(self.project.facts_of(PageSizeParam))
        unbounded = {p.at for p in view.unbounded_page_sizes()}
        return {
            "list_queries": {"total": sum(listing.values()), "bounded": listing["bounded"],
                             "unbounded": listing["unbounded"], "filtered": listing["filtered"],
                             "lookup": listing[LOOKUP], "configured": listing[CONFIGURED], "checked": checked},
            "page_sizes": {"total": len(params), "bounded": sum(1 for p in params if p.bound),
                           "unbounded": sum(1 for p in params if p.at in unbounded)},
            "findings": [self.finding(r) for r in self.results if r.code.startswith("PG")],
        }

    def indexes(self) -> dict[str, Any]:
        inventory = self.project.view(index_inventory)
        keys = [(model, key) for model in inventory.tables for key in inventory.foreign_keys(model)]
        indexed = sum(1 for model, key in keys if inventory.leading(model, key.columns) is not None)
        suggestions: dict[tuple[int, tuple[str, ...]], tuple[Model, tuple[Field, ...], str]] = {}
        fk_at, tenant_at, filter_at = self.located("IX001"), self.located("IX002"), self.located("IX003")
        for key in unindexed_foreign_keys(inventory):
            if key.at in fk_at:
                suggestions.setdefault((id(key.model), key.columns), (key.model, key.fields, "IX001"))
        for model, key in unindexed_tenant_keys(inventory):
            if key.at in tenant_at:
                suggestions.setdefault((id(model), (key.column or key.name,)), (model, (key,), "IX002"))
        for need in inventory.query_indexes():
            if need.query.at in filter_at:
                columns = tuple(f.column or f.name for f in need.wanted)
                suggestions.setdefault((id(need.model), columns), (need.model, need.wanted, "IX003"))
        ordered = sorted(suggestions.values(), key=lambda s: (s[0].at.path, s[0].at.line, [f.name for f in s[1]]))
        # An index on (tenant_id, status) also serves what one on (tenant_id) would: suggest the longer only.
        ordered = [s for s in ordered if not any(
            o is not s and o[0] is s[0] and len(o[1]) > len(s[1]) and o[1][: len(s[1])] == s[1] for o in ordered)]
        tenant_keys = [(m, inventory.tenant_key(m)) for m in inventory.tables if inventory.tenant_key(m) is not None]
        return {
            "foreign_keys": {"total": len(keys), "indexed": indexed, "unindexed": len(keys) - indexed},
            "tenant_keys": {"total": len(tenant_keys),
                            "indexed": sum(1 for m, k in tenant_keys if inventory.leading(m, (k.column or k.name,)) is not None)},
            "suggested": [{"model": m.name, "table": m.table or m.name, "orm": m.orm, "columns": [f.column or f.name for f in fields],
                           "rule": code, **(self.where(m.at) or {})} for m, fields, code in ordered],
            "blocks": suggestion_blocks(ordered, inventory),
        }

    # --- 7. containers and proxy ----------------------------------------------------------------

    def containers(self) -> dict[str, Any]:
        entries = []
        for service in self.project.view(services).production():
            product = datastore(service)
            exposed = [p.raw or p.target.raw for p in service.ports if product and publishes_on_all_interfaces(p)]
            entries.append({"name": service.name, **(self.where(service.at) or {}),
                            "memory_limit": service.memory_limit.raw if service.memory_limit else None,
                            "cpu_limit": service.cpu_limit.raw if service.cpu_limit else None,
                            "datastore": product, "exposed_ports": exposed})
        return {"services": entries, "findings": [self.finding(r) for r in self.results if r.code.startswith(("DC", "SV"))]}

    def nginx(self) -> dict[str, Any]:
        locations = []
        for location in self.project.view(nginx_configuration).locations:
            proxy = location.passes[0]
            limits = location.rate_limits
            keepalive = proxy.keepalive
            version = inherited(proxy.chain, "proxy_http_version")
            if not limits.known:
                rate = "unknown"
            else:
                rate = "; ".join(" ".join(d.args) for d in limits.directives) or None
            locations.append({
                "location": " ".join(location.location.args), **(self.where(location.location.at) or {}),
                "proxy_pass": proxy.url,
                "upstream": proxy.upstream.args[0] if proxy.upstream is not None and proxy.upstream.args else None,
                "keepalive": keepalive.args[0] if keepalive is not None and keepalive.args else None,
                "http_version": version.directives[-1].args[0] if version.directives and version.directives[-1].args else None,
                "rate_limit": rate,
            })
        chain = self.project.view(capacity_chain)
        return {"locations": locations, "capacity": self.limit(chain.proxy) if chain.proxy else None,
                "findings": [self.finding(r) for r in self.results if r.code.startswith("NX")]}

    # --- 8. findings ----------------------------------------------------------------------------

    def findings(self) -> list[dict[str, Any]]:
        grouped = []
        for area, title, families in AREAS:
            found = [r for r in self.results if r.code[:2] in families]
            suppressed = sum(1 for r in self.all_results if r.code[:2] in families and r.suppression is not None)
            grouped.append({"area": area, "title": title, "suppressed": suppressed,
                            "findings": [self.finding(r) for r in found]})
        return grouped


def files_by_role(project: Project) -> dict[str, Any]:
    """Files by the role the production-code view gives them, skipped generated files and bundles included."""
    roles = project.view(production_code)
    counts = Counter(roles.role_of(path).role for path in {f.path for f in project.files} | set(project.skipped))
    return {"by": "role", "counts": dict(sorted(counts.items()))}


# --- suggested indexes, ready to apply ------------------------------------------------------


def _identifier(name: str) -> str:
    """PostgreSQL folds unquoted names to lower case: quote the ones Prisma writes in camelCase."""
    return name if name.islower() or name.replace("_", "").isdigit() else f'"{name}"'


def _index_name(model: Model, columns: list[str]) -> str:
    table = model.table or model.name
    if model.orm == PRISMA:
        return f"{table}_{'_'.join(columns)}_idx"  # Prisma's default index name
    return "_".join(["ix", table, *columns])


def suggestion_blocks(ordered: list[tuple[Model, tuple[Field, ...], str]], inventory) -> list[dict[str, str]]:
    """One block per schema kind: Prisma `@@index` lines per model, an Alembic migration body, SQL."""
    blocks = []
    prisma = [(m, f) for m, f, _code in ordered if m.orm == PRISMA]
    if prisma:
        lines: list[str] = []
        for path in sorted({m.at.path for m, _f in prisma}):
            lines.append(f"// {path}")
            for name in dict.fromkeys(m.name for m, _f in prisma if m.at.path == path):
                lines.append(f"model {name} {{")
                lines += [f"  @@index([{', '.join(f.name for f in fields)}])" for m, fields in prisma if m.name == name and m.at.path == path]
                lines.append("}")
        blocks.append({"kind": "prisma", "language": "prisma", "text": "\n".join(lines)})
    alembic = [(m, f) for m, f, _code in ordered if m.orm != PRISMA]
    if alembic:
        up, down = [], []
        for model, fields in alembic:
            columns = [f.column or f.name for f in fields]
            name, table = _index_name(model, columns), model.table or model.name
            up.append(f'    op.create_index("{name}", "{table}", [{", ".join(repr(c) for c in columns)}])'.replace("'", '"'))
            down.append(f'    op.drop_index("{name}", table_name="{table}")')
        text = "def upgrade() -> None:\n" + "\n".join(up) + "\n\n\ndef downgrade() -> None:\n" + "\n".join(reversed(down))
        blocks.append({"kind": "alembic", "language": "python", "text": text})
    sql = []
    for model, fields, _code in ordered:
        if inventory.database_of(model) != POSTGRES:
            continue
        columns = [f.column or f.name for f in fields]
        sql.append(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {_identifier(_index_name(model, columns))} "
                   f"ON {_identifier(model.table or model.name)} ({', '.join(_identifier(c) for c in columns)});")
    if sql:
        blocks.append({"kind": "sql", "language": "sql", "text": "\n".join(sql)})
    return blocks
