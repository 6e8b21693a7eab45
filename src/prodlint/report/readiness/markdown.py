"""The readiness report as markdown: a pull-request comment or a committed READINESS.md."""

from __future__ import annotations

from typing import Any

STATUS = {"pass": "✅ pass", "warn": "⚠️ warn", "fail": "❌ fail"}
LIMIT_TITLES = {"proxy": "proxy (nginx)", "http": "http (workers)", "pool": "pool (connections)", "database": "database"}


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def cell(value: Any) -> str:
    if value is None:
        return "—"
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines


def where(item: dict[str, Any]) -> str:
    return f"`{item['path']}:{item['line']}`" if item.get("path") else "—"


def limit_value(limit: dict[str, Any]) -> str:
    if limit["state"] == "unbounded":
        return "no limit"
    if limit["state"] == "unknown":
        return "unknown"
    return str(limit["value"])


def headline(service: dict[str, Any]) -> str:
    name = f"`{service['name']}`"
    if not service["serves_http"]:
        return f"{name}: runs jobs, serves no requests"
    if service["max_concurrent_requests"] is None and service["complete"] and service["limits"]:
        return f"{name}: no limit along the chain ({service['per_process']['reason']})"
    if service["max_concurrent_requests"] is None:
        return f"{name}: max_concurrent_requests unknown ({service['per_process']['reason']})"
    bound = "" if service["complete"] else "at most "
    source = f" (`{service['bottleneck_source']}`)" if service["bottleneck_source"] else ""
    return (f"{name}: {bound}**{service['max_concurrent_requests']}** concurrent requests, "
            f"bottleneck **{service['bottleneck']}**{source}")


def render(document: dict[str, Any]) -> str:
    out: list[str] = []
    score, summary = document["score"], document["summary"]
    counts = summary["counts"]
    out.append("# Production readiness report")
    out.append("")
    unsuppressed = score["without_suppressions"]
    out.append(f"**Score {score['score']}/100 ({score['grade']})**; {unsuppressed['score']}/100 ({unsuppressed['grade']}) "
               f"without inline suppressions ({score['suppressed']} suppressed). "
               f"{plural(counts['error'], 'error')}, {plural(counts['warning'], 'warning')}, {plural(counts['note'], 'note')}; "
               f"{summary['files_analysed']} files analysed.")
    out.append("")
    out += table(["Area", "Status", "Verdict"], [[v["title"], STATUS[v["status"]], v["verdict"]] for v in summary["verdicts"]])
    out.append("")
    out.append(f"Score formula: {score['formula']}.")
    if summary["blocking"]:
        out += ["", "### Blocking findings", ""]
        out += [f"- {where(f)} **{f['code']}** {f['message']}" for f in summary["blocking"]]
    out += _inventory(document["inventory"])
    out += _capacity(document["capacity"])
    out += _routes(document["routes"])
    out += _tenancy(document["tenancy"])
    out += _data(document["pagination"], document["indexes"])
    out += _operations(document["containers"], document["nginx"])
    out += _findings(document["findings"])
    return "\n".join(out) + "\n"


def _inventory(inventory: dict[str, Any]) -> list[str]:
    out = ["", "## Architecture inventory", ""]
    if inventory["services"]:
        rows = [[f"`{s['name']}`", s["image"] or (f"build {s['build']}" if s["build"] is not None else None),
                 s["replicas"] if s["replicas"] is not None else "1 (default)", f"`{s['command']}`" if s["command"] else None,
                 s["server"], f"{s['workers']} ({s['workers_source']})" if s["workers"] is not None else None,
                 s["memory_limit"], s["cpu_limit"]] for s in inventory["services"]]
        out += table(["Service", "Image / build", "Replicas", "Command", "Server", "Workers", "Memory", "CPUs"], rows)
        out.append("")
    entries = ", ".join(f"{e['framework']} `{e['name']}` ({where(e)})" for e in inventory["entrypoints"]) or "none found"
    out.append(f"- Application entrypoints: {entries}")
    out.append(f"- Frameworks: {', '.join(inventory['frameworks']) or 'none found'}")
    files = inventory["files"]
    out.append(f"- Files analysed by {files['by']}: " + ", ".join(f"{k} {v}" for k, v in files["counts"].items()))
    return out


def _capacity(capacity: dict[str, Any]) -> list[str]:
    out = ["", "## Capacity", ""]
    target = capacity["target_concurrency"]
    if not capacity["services"]:
        out.append("No service that runs a server was found.")
    for service in capacity["services"]:
        out += [f"### {headline(service)}", ""]
        headers = ["Limit", "Allows", "Arithmetic"] + ([f"Target {target}"] if target is not None else [])
        rows = []
        for limit in service["limits"]:
            row = [LIMIT_TITLES[limit["kind"]], limit_value(limit), limit["arithmetic"]]
            if target is not None:
                row.append(limit["target"]["verdict"] if limit.get("target") else "—")
            rows.append(row)
        out += table(headers, rows)
        out += ["", "Inputs:", ""]
        out += table(["Limit", "Input", "Value", "Source"],
                     [[limit["kind"], i["name"], i["value"], i["source"]] for limit in service["limits"] for i in limit["inputs"]])
        out.append("")
    out += ["### Stack", ""]
    out += [f"- {line}" for line in stack_lines(capacity["stack"])]
    return out


def stack_lines(stack: dict[str, Any]) -> list[str]:
    """The whole stack: connections against PostgreSQL, rolling deploys, nginx, all services together."""
    lines = []
    more = "" if stack["connections_complete"] else " or more"
    if stack["database_available"] is not None:
        mc, reserved = stack["max_connections"], stack["superuser_reserved_connections"]
        over = stack["connections"] - stack["database_available"]
        verdict = f", {over} over" if over > 0 else ""
        lines.append(f"Database connections: {stack['connections']}{more} of {stack['database_available']} available{verdict} "
                     f"(max_connections {mc['value']}: {mc['source']}; superuser_reserved_connections {reserved['value']}: "
                     f"{reserved['source']})")
    else:
        lines.append(f"Database connections: {stack['connections']}{more} (the database is not known to be PostgreSQL)")
    for deploy in stack["rolling_deploys"]:
        fits = "fits" if deploy["fits"] else "does not fit"
        lines.append(f"Rolling deploy of {deploy['service']}: old and new replicas hold {deploy['connections']} connections, "
                     f"which {fits}")
    if stack["proxy"] is not None:
        lines.append(f"nginx: {stack['proxy']['arithmetic']}")
    if stack["max_concurrent_requests"] is not None:
        lines.append(f"All services together: {stack['max_concurrent_requests']} concurrent requests")
    return lines


def _routes(routes: dict[str, Any]) -> list[str]:
    out = ["", "## Routes", ""]
    if routes["apps"]:
        out += table(["App", "Framework", "Routes", "Guarded", "Public by config", "Unguarded", "Unknown"],
                     [[f"`{a['app']}` {where(a)}", a["framework"], a["routes"], a["guarded"], a["public"], a["unguarded"],
                       a["unknown"]] for a in routes["apps"]])
    else:
        out.append("No application entrypoint was found.")
    unmounted = ", ".join(f"`{r['router']}` ({r['routes']} route{'s' * (r['routes'] != 1)}, {where(r)})" for r in routes["unmounted_routers"]) or "none"
    out += ["", f"- Unmounted routers: {unmounted}",
            f"- Duplicate routes: {routes['duplicate_routes']}; duplicate mounts: {routes['duplicate_mounts']}"]
    return out


def _tenancy(tenancy: dict[str, Any]) -> list[str]:
    out = ["", "## Tenant isolation", ""]
    if not tenancy["models"]:
        out.append("No tenant-scoped model (no model has a tenant key).")
        return out
    statuses = tenancy["statuses"]
    out.append(f"{tenancy['queries']} queries on {len(tenancy['models'])} tenant-scoped models:")
    out.append("")
    out += table(["Model", "Tenant key", "Queries", *statuses],
                 [[f"`{m['model']}`", m["key"], m["queries"], *(m["counts"][s] for s in statuses)] for m in tenancy["models"]]
                 + [["**all**", "", tenancy["queries"], *(tenancy["counts"][s] for s in statuses)]])
    if tenancy["exempt"]:
        out += ["", f"Not counted (`tenant.exempt`): {', '.join(f'`{p}`' for p in tenancy['exempt'])}"]
    return out


def _data(pages: dict[str, Any], indexes: dict[str, Any]) -> list[str]:
    listing, sizes, keys = pages["list_queries"], pages["page_sizes"], indexes["foreign_keys"]
    out = ["", "## Data", ""]
    unbounded = f"{listing['unbounded']} unbounded" if listing["checked"] else "unbounded ones not checked (PG002 is off)"
    out.append(f"- List queries in route handlers: {listing['total']} ({listing['bounded']} with a limit, "
               f"{unbounded}, {listing['filtered']} filtered by a parent, {listing['lookup']} on lookup tables, "
               f"{listing['configured']} on models in pagination.bounded-models)")
    out.append(f"- Page-size parameters: {sizes['total']} ({sizes['bounded']} bounded, {sizes['unbounded']} unbounded)")
    out.append(f"- Foreign keys: {keys['total']} ({keys['indexed']} indexed, {keys['unindexed']} unindexed); "
               f"tenant keys indexed: {indexes['tenant_keys']['indexed']} of {indexes['tenant_keys']['total']}")
    if indexes["blocks"]:
        out += ["", "Suggested indexes:"]
        for block in indexes["blocks"]:
            out += ["", f"```{block['language']}", block["text"], "```"]
    return out


def _operations(containers: dict[str, Any], nginx: dict[str, Any]) -> list[str]:
    out = ["", "## Containers and proxy", ""]
    if containers["services"]:
        out += table(["Service", "Memory limit", "CPU limit", "Exposed datastore ports"],
                     [[f"`{s['name']}`", s["memory_limit"], s["cpu_limit"], ", ".join(s["exposed_ports"]) or None]
                      for s in containers["services"]])
    else:
        out.append("No compose service was found.")
    if nginx["locations"]:
        out.append("")
        out += table(["nginx location", "proxy_pass", "Upstream keepalive", "proxy_http_version", "Rate limit"],
                     [[f"`{loc['location']}` {where(loc)}", loc["proxy_pass"], loc["keepalive"] or "none",
                       loc["http_version"] or "1.0 (default)", loc["rate_limit"] or "none"] for loc in nginx["locations"]])
    return out


def _findings(groups: list[dict[str, Any]]) -> list[str]:
    out = ["", "## Findings"]
    for group in groups:
        if not group["findings"] and not group["suppressed"]:
            continue
        suppressed = f", {group['suppressed']} suppressed" if group["suppressed"] else ""
        out += ["", f"### {group['title']} ({len(group['findings'])}{suppressed})", ""]
        if group["findings"]:
            out += table(["Location", "Rule", "Severity", "Message"],
                         [[where(f), f"{f['code']} {f['name']}", f["severity"], f["message"]] for f in group["findings"]])
    return out
