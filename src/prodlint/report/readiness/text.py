"""The readiness report for a terminal: rich tables, colour only on a terminal."""

from __future__ import annotations

import os
from typing import Any, TextIO

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from prodlint.report.readiness.markdown import LIMIT_TITLES, limit_value, plural

STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "error": "bold red", "warning": "yellow", "note": "cyan"}
WIDTH = 120  # fixed off a terminal, so the output is the same everywhere


def render(document: dict[str, Any], stream: TextIO, color: bool = False) -> None:
    color = color and "NO_COLOR" not in os.environ
    console = Console(file=stream, force_terminal=color, no_color=not color, highlight=False, emoji=False,
                      width=None if color else WIDTH, color_system="standard" if color else None)
    score, summary = document["score"], document["summary"]
    counts = summary["counts"]
    unsuppressed = score["without_suppressions"]
    console.print(Text("Production readiness report", style="bold underline"))
    console.print(Text(f"Score {score['score']}/100 ({score['grade']}); {unsuppressed['score']}/100 "
                       f"({unsuppressed['grade']}) without inline suppressions. {counts['error']} errors, "
                       f"{plural(counts['warning'], 'warning')}, {plural(counts['note'], 'note')}; {summary['files_analysed']} files analysed.",
                       style="bold"))
    verdicts = _table("Area", "Status", "Verdict")
    for verdict in summary["verdicts"]:
        verdicts.add_row(verdict["title"], Text(verdict["status"], style=STYLE[verdict["status"]]), verdict["verdict"])
    console.print(verdicts)
    if summary["blocking"]:
        console.print(Text("Blocking findings", style="bold"))
    for finding in summary["blocking"]:
        console.print(Text(f"  {finding['path']}:{finding['line']} {finding['code']} {finding['message']}", style="red"),
                      soft_wrap=True)

    _section(console, "Capacity")
    for service in document["capacity"]["services"]:
        console.print(Text(_headline(service), style="bold"))
        limits = _table("Limit", "Allows", "Arithmetic", *(["Target"] if document["capacity"]["target_concurrency"] else []))
        for limit in service["limits"]:
            style = "bold red" if limit["kind"] == service["bottleneck"] else ""
            row = [Text(LIMIT_TITLES[limit["kind"]], style=style), limit_value(limit), limit["arithmetic"]]
            if document["capacity"]["target_concurrency"]:
                row.append(limit["target"]["verdict"] if limit.get("target") else "—")
            limits.add_row(*row)
        console.print(limits)
        inputs = _table("Input", "Value", "Source")
        for limit in service["limits"]:
            for item in limit["inputs"]:
                inputs.add_row(f"{limit['kind']}: {item['name']}", item["value"], item["source"])
        console.print(inputs)

    inventory = document["inventory"]
    _section(console, "Architecture inventory")
    services = _table("Service", "Image / build", "Replicas", "Server", "Workers", "Memory", "CPUs")
    for s in inventory["services"]:
        services.add_row(s["name"], s["image"] or f"build {s['build']}" if s["image"] or s["build"] is not None else "—",
                         str(s["replicas"] if s["replicas"] is not None else "1"), s["server"] or "—",
                         str(s["workers"]) if s["workers"] is not None else "—", s["memory_limit"] or "—", s["cpu_limit"] or "—")
    console.print(services)
    console.print(f"Entrypoints: {', '.join(e['framework'] + ' ' + e['name'] + ' ' + e['path'] for e in inventory['entrypoints']) or 'none'}")
    console.print(f"Frameworks: {', '.join(inventory['frameworks']) or 'none'}")

    _section(console, "Routes")
    routes = _table("App", "Framework", "Routes", "Guarded", "Public", "Unguarded", "Unknown")
    for app in document["routes"]["apps"]:
        routes.add_row(f"{app['app']} {app['path']}:{app['line']}", app["framework"], *(str(app[k]) for k in
                       ("routes", "guarded", "public", "unguarded", "unknown")))
    console.print(routes)
    for router in document["routes"]["unmounted_routers"]:
        console.print(f"Unmounted router {router['router']} at {router['path']}:{router['line']}")

    tenancy = document["tenancy"]
    _section(console, "Tenant isolation")
    census = _table("Model", "Key", "Queries", *tenancy["statuses"])
    for model in tenancy["models"]:
        census.add_row(model["model"], model["key"], str(model["queries"]), *(str(model["counts"][s]) for s in tenancy["statuses"]))
    census.add_row("all", "", str(tenancy["queries"]), *(str(tenancy["counts"][s]) for s in tenancy["statuses"]))
    console.print(census)

    _section(console, "Data")
    listing, keys = document["pagination"]["list_queries"], document["indexes"]["foreign_keys"]
    console.print(f"List queries: {listing['total']} ({listing['bounded']} with a limit, {listing['unbounded']} unbounded, "
                  f"{listing['filtered']} filtered, {listing['lookup']} on lookup tables, {listing['configured']} on bounded models)")
    console.print(f"Foreign keys: {keys['total']} ({keys['indexed']} indexed, {keys['unindexed']} unindexed)")
    for block in document["indexes"]["blocks"]:
        console.print(Text(f"-- {block['kind']}", style="dim"))
        console.print(Text(block["text"]))

    _section(console, "Containers and proxy")
    containers = _table("Service", "Memory", "CPUs", "Exposed datastore ports")
    for s in document["containers"]["services"]:
        containers.add_row(s["name"], s["memory_limit"] or "—", s["cpu_limit"] or "—", ", ".join(s["exposed_ports"]) or "—")
    console.print(containers)
    locations = _table("Location", "proxy_pass", "Keepalive", "Rate limit")
    for loc in document["nginx"]["locations"]:
        locations.add_row(f"{loc['location']} {loc['path']}:{loc['line']}", loc["proxy_pass"], loc["keepalive"] or "none",
                          loc["rate_limit"] or "none")
    if document["nginx"]["locations"]:
        console.print(locations)

    _section(console, "Findings")
    for group in document["findings"]:
        if not group["findings"]:
            continue
        console.print(Text(f"{group['title']} ({len(group['findings'])})", style="bold"))
        for f in group["findings"]:
            line = Text(f"  {f['path']}:{f['line']}:{f['column']} ")
            line.append(f["code"], style=STYLE[f["severity"]])
            line.append(f" {f['message']}")
            console.print(line, soft_wrap=True)


def _table(*headers: str) -> Table:
    table = Table(box=box.SIMPLE, show_edge=False, pad_edge=False)
    for header in headers:
        table.add_column(header, overflow="fold")
    return table


def _section(console: Console, title: str) -> None:
    console.print()
    console.print(Text(title, style="bold underline"))


def _headline(service: dict[str, Any]) -> str:
    if not service["serves_http"]:
        return f"{service['name']}: runs jobs, serves no requests"
    if service["max_concurrent_requests"] is None and service["complete"] and service["limits"]:
        return f"{service['name']}: no limit along the chain ({service['per_process']['reason']})"
    if service["max_concurrent_requests"] is None:
        return f"{service['name']}: max_concurrent_requests unknown ({service['per_process']['reason']})"
    bound = "" if service["complete"] else "at most "
    source = f" at {service['bottleneck_source']}" if service["bottleneck_source"] else ""
    return f"{service['name']}: {bound}{service['max_concurrent_requests']} concurrent requests, bottleneck {service['bottleneck']}{source}"
