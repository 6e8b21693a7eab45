"""The readiness report as one self-contained HTML page: no external scripts, fonts or styles.

Each service gets an inline SVG of its capacity chain (proxy → workers → pools →
database), each box with its limit, the bottleneck in red.
"""

from __future__ import annotations

from html import escape
from typing import Any

from prodlint.report.readiness.markdown import LIMIT_TITLES, limit_value, plural, stack_lines

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 8px}h2{font-size:19px;margin:32px 0 8px;border-bottom:1px solid #d6dae1;padding-bottom:4px}
h3{font-size:15px;margin:20px 0 6px}
table{border-collapse:collapse;width:100%;background:#fff;margin:8px 0;font-size:13px}
th,td{border:1px solid #e1e4ea;padding:4px 8px;text-align:left;vertical-align:top}th{background:#eef0f4}
td.num{text-align:right;font-variant-numeric:tabular-nums}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
pre{background:#fff;border:1px solid #e1e4ea;padding:8px;overflow:auto}
.score{display:flex;gap:16px;align-items:center;margin:12px 0}
.grade{font-size:40px;font-weight:700;width:72px;height:72px;border-radius:12px;display:flex;align-items:center;justify-content:center;color:#fff}
.A,.B{background:#2e7d32}.C{background:#b7791f}.D,.F{background:#c53030}
.pass{color:#2e7d32;font-weight:600}.warn{color:#b7791f;font-weight:600}.fail{color:#c53030;font-weight:600}
.error{color:#c53030}.warning{color:#b7791f}.note{color:#2b6cb0}
svg{background:#fff;border:1px solid #e1e4ea;margin:6px 0}
"""

BOX_W, BOX_H, GAP, PAD = 200, 74, 46, 16
BOTTLENECK, BOTTLENECK_FILL, LINK = "#e11d48", "#ffe4e6", "#6366f1"  # used nowhere else on the page


def render(document: dict[str, Any]) -> str:
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             "<title>Production readiness report</title>", f"<style>{CSS}</style></head><body><main>"]
    parts += _summary(document)
    parts += _capacity(document["capacity"])
    parts += _inventory(document["inventory"])
    parts += _routes(document["routes"])
    parts += _tenancy(document["tenancy"])
    parts += _data(document["pagination"], document["indexes"])
    parts += _operations(document["containers"], document["nginx"])
    parts += _findings(document["findings"])
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


def _e(value: Any) -> str:
    return "—" if value is None else escape(str(value))


def _table(headers: list[str], rows: list[list[Any]], numeric: set[int] = frozenset()) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{_e(v)}</td>' if i in numeric else f"<td>{_e(v)}</td>" for i, v in enumerate(row)) + "</tr>"
        for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _where(item: dict[str, Any]) -> str:
    return f"{item['path']}:{item['line']}" if item.get("path") else "—"


def _summary(document: dict[str, Any]) -> list[str]:
    score, summary = document["score"], document["summary"]
    counts, unsuppressed = summary["counts"], score["without_suppressions"]
    out = ["<h1>Production readiness report</h1>",
           f'<div class="score"><div class="grade {score["grade"]}">{score["grade"]}</div><div>'
           f'<div><strong>Score {score["score"]}/100</strong>; {unsuppressed["score"]}/100 ({unsuppressed["grade"]}) '
           f'without inline suppressions ({score["suppressed"]} suppressed)</div>'
           f'<div>{plural(counts["error"], "error")}, {plural(counts["warning"], "warning")}, {plural(counts["note"], "note")}; '
           f'{summary["files_analysed"]} files analysed</div>'
           f'<div><small>{escape(score["formula"])}</small></div></div></div>']
    rows = "".join(f'<tr><td>{escape(v["title"])}</td><td class="{v["status"]}">{v["status"]}</td><td>{escape(v["verdict"])}</td></tr>'
                   for v in summary["verdicts"])
    out.append(f"<table><thead><tr><th>Area</th><th>Status</th><th>Verdict</th></tr></thead><tbody>{rows}</tbody></table>")
    if summary["blocking"]:
        out.append("<h3>Blocking findings</h3><ul>")
        out += [f'<li><code>{escape(_where(f))}</code> <strong class="error">{escape(f["code"])}</strong> {escape(f["message"])}</li>'
                for f in summary["blocking"]]
        out.append("</ul>")
    return out


def chain_svg(service: dict[str, Any]) -> str:
    """proxy → workers → pools → database, each box with its limit; the bottleneck in red."""
    limits = service["limits"]
    width = PAD * 2 + len(limits) * BOX_W + max(0, len(limits) - 1) * GAP
    height = BOX_H + PAD * 2
    shapes = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
              f'role="img" aria-label="capacity chain of {escape(service["name"])}">',
              '<defs><marker id="arrow" markerWidth="10" markerHeight="10" refX="9" refY="5" orient="auto">'
              '<path d="M0,0 L10,5 L0,10 z" fill="#6b7280"/></marker></defs>']
    for index, limit in enumerate(limits):
        x = PAD + index * (BOX_W + GAP)
        bottleneck = limit["kind"] == service["bottleneck"]
        fill, stroke = (BOTTLENECK_FILL, BOTTLENECK) if bottleneck else ("#eef2ff", LINK)
        if limit["state"] != "known":
            fill, stroke = "#f3f4f6", "#9ca3af"
        shapes.append(f'<rect x="{x}" y="{PAD}" width="{BOX_W}" height="{BOX_H}" rx="8" fill="{fill}" stroke="{stroke}" '
                      f'stroke-width="{3 if bottleneck else 2}"/>')
        shapes.append(f'<text x="{x + BOX_W // 2}" y="{PAD + 24}" text-anchor="middle" font-size="13" font-weight="600" '
                      f'font-family="sans-serif" fill="#1d2330">{escape(LIMIT_TITLES[limit["kind"]])}</text>')
        shapes.append(f'<text x="{x + BOX_W // 2}" y="{PAD + 50}" text-anchor="middle" font-size="20" font-weight="700" '
                      f'font-family="sans-serif" fill="{BOTTLENECK if bottleneck else "#1d2330"}">{escape(limit_value(limit))}</text>')
        if bottleneck:
            shapes.append(f'<text x="{x + BOX_W // 2}" y="{PAD + 67}" text-anchor="middle" font-size="11" '
                          f'font-family="sans-serif" fill="{BOTTLENECK}">bottleneck</text>')
        if index:
            shapes.append(f'<line x1="{x - GAP + 4}" y1="{PAD + BOX_H // 2}" x2="{x - 4}" y2="{PAD + BOX_H // 2}" '
                          f'stroke="#6b7280" stroke-width="2" marker-end="url(#arrow)"/>')
    shapes.append("</svg>")
    return "".join(shapes)


def _capacity(capacity: dict[str, Any]) -> list[str]:
    out = ["<h2>Capacity</h2>"]
    target = capacity["target_concurrency"]
    for service in capacity["services"]:
        if not service["serves_http"]:
            out.append(f"<h3>{_e(service['name'])}: runs jobs, serves no requests</h3>")
        elif service["max_concurrent_requests"] is None and service["complete"]:
            out.append(f"<h3>{_e(service['name'])}: no limit along the chain ({_e(service['per_process']['reason'])})</h3>")
        elif service["max_concurrent_requests"] is None:
            out.append(f"<h3>{_e(service['name'])}: max_concurrent_requests unknown ({_e(service['per_process']['reason'])})</h3>")
        else:
            bound = "" if service["complete"] else "at most "
            out.append(f"<h3>{_e(service['name'])}: {bound}{service['max_concurrent_requests']} concurrent requests, "
                       f'bottleneck <span class="fail">{_e(service["bottleneck"])}</span> '
                       f"<code>{_e(service['bottleneck_source'])}</code></h3>")
        if service["limits"]:
            out.append(chain_svg(service))
        headers = ["Limit", "Allows", "Arithmetic"] + ([f"Target {target}"] if target is not None else [])
        rows = []
        for limit in service["limits"]:
            row = [LIMIT_TITLES[limit["kind"]], limit_value(limit), limit["arithmetic"]]
            if target is not None:
                row.append(limit["target"]["verdict"] if limit.get("target") else None)
            rows.append(row)
        out.append(_table(headers, rows, {1}))
        out.append(_table(["Limit", "Input", "Value", "Source"],
                          [[limit["kind"], i["name"], i["value"], i["source"]] for limit in service["limits"] for i in limit["inputs"]]))
    out.append("<h3>Stack</h3><ul>")
    out += [f"<li>{escape(line)}</li>" for line in stack_lines(capacity["stack"])]
    out.append("</ul>")
    return out


def _inventory(inventory: dict[str, Any]) -> list[str]:
    out = ["<h2>Architecture inventory</h2>"]
    out.append(_table(["Service", "Image / build", "Replicas", "Command", "Server", "Workers", "Memory", "CPUs"],
                      [[s["name"], s["image"] or (f"build {s['build']}" if s["build"] is not None else None),
                        s["replicas"] if s["replicas"] is not None else "1 (default)", s["command"], s["server"],
                        s["workers"], s["memory_limit"], s["cpu_limit"]] for s in inventory["services"]]))
    out.append(_table(["Entrypoint", "Framework", "Location"],
                      [[e["name"], e["framework"], _where(e)] for e in inventory["entrypoints"]]))
    files = inventory["files"]
    out.append(f"<p>Frameworks: {_e(', '.join(inventory['frameworks']) or 'none')}. Files analysed by {_e(files['by'])}: "
               f"{_e(', '.join(f'{k} {v}' for k, v in files['counts'].items()))}.</p>")
    return out


def _routes(routes: dict[str, Any]) -> list[str]:
    out = ["<h2>Routes</h2>"]
    out.append(_table(["App", "Framework", "Routes", "Guarded", "Public by config", "Unguarded", "Unknown"],
                      [[f"{a['app']} {_where(a)}", a["framework"], a["routes"], a["guarded"], a["public"], a["unguarded"],
                        a["unknown"]] for a in routes["apps"]], {2, 3, 4, 5, 6}))
    if routes["unmounted_routers"]:
        out.append(_table(["Unmounted router", "Routes", "Location"],
                          [[r["router"], r["routes"], _where(r)] for r in routes["unmounted_routers"]], {1}))
    out.append(f"<p>Duplicate routes: {routes['duplicate_routes']}; duplicate mounts: {routes['duplicate_mounts']}.</p>")
    return out


def _colour(status: str) -> str:
    """Scoped statuses green, unscoped red, anything else (unknown) grey, whatever statuses the data model adds."""
    if status.startswith("scoped"):
        return "#2e7d32"
    return "#c53030" if status == "unscoped" else "#9ca3af"


def _bar(counts: dict[str, int], statuses: list[str]) -> str:
    total = sum(counts.values())
    if not total:
        return ""
    segments = "".join(f'<span title="{escape(s)}: {counts[s]}" style="display:inline-block;height:12px;'
                       f'width:{200 * counts[s] // total}px;background:{_colour(s)}"></span>' for s in statuses if counts[s])
    return f'<span style="display:inline-flex;border:1px solid #d6dae1">{segments}</span>'


def _tenancy(tenancy: dict[str, Any]) -> list[str]:
    out = ["<h2>Tenant isolation</h2>"]
    if not tenancy["models"]:
        out.append("<p>No tenant-scoped model (no model has a tenant key).</p>")
        return out
    statuses = tenancy["statuses"]
    head = "".join(f"<th>{escape(h)}</th>" for h in ["Model", "Tenant key", "Queries", *statuses, "Share"])
    rows = []
    for label, key, queries, counts in [*((m["model"], m["key"], m["queries"], m["counts"]) for m in tenancy["models"]),
                                        ("all", "", tenancy["queries"], tenancy["counts"])]:
        cells = "".join(f'<td class="num{" fail" if s == "unscoped" and counts[s] else ""}">{counts[s]}</td>' for s in statuses)
        rows.append(f"<tr><td>{_e(label)}</td><td>{_e(key)}</td><td class=\"num\">{queries}</td>{cells}"
                    f"<td>{_bar(counts, statuses)}</td></tr>")
    out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
    return out


def _data(pages: dict[str, Any], indexes: dict[str, Any]) -> list[str]:
    listing, sizes, keys = pages["list_queries"], pages["page_sizes"], indexes["foreign_keys"]
    out = ["<h2>Data</h2>"]
    out.append(_table(["", "Total", "Bounded / indexed", "Unbounded / unindexed"], [
        ["List queries in route handlers", listing["total"], listing["bounded"], listing["unbounded"]],
        ["Page-size parameters", sizes["total"], sizes["bounded"], sizes["unbounded"]],
        ["Foreign keys", keys["total"], keys["indexed"], keys["unindexed"]],
    ], {1, 2, 3}))
    for block in indexes["blocks"]:
        out.append(f"<h3>Suggested indexes ({_e(block['kind'])})</h3><pre>{escape(block['text'])}</pre>")
    return out


def _operations(containers: dict[str, Any], nginx: dict[str, Any]) -> list[str]:
    out = ["<h2>Containers and proxy</h2>"]
    out.append(_table(["Service", "Memory limit", "CPU limit", "Exposed datastore ports"],
                      [[s["name"], s["memory_limit"], s["cpu_limit"], ", ".join(s["exposed_ports"]) or None]
                       for s in containers["services"]]))
    if nginx["locations"]:
        out.append(_table(["nginx location", "proxy_pass", "Upstream keepalive", "proxy_http_version", "Rate limit"],
                          [[f"{loc['location']} {_where(loc)}", loc["proxy_pass"], loc["keepalive"] or "none",
                            loc["http_version"] or "1.0 (default)", loc["rate_limit"] or "none"] for loc in nginx["locations"]]))
    return out


def _findings(groups: list[dict[str, Any]]) -> list[str]:
    out = ["<h2>Findings</h2>"]
    for group in groups:
        if not group["findings"]:
            continue
        out.append(f"<h3>{_e(group['title'])} ({len(group['findings'])})</h3>")
        rows = "".join(f'<tr><td><code>{escape(_where(f))}</code></td><td class="{f["severity"]}">{escape(f["code"])} '
                       f'{escape(f["name"])}</td><td>{escape(f["message"])}</td></tr>' for f in group["findings"])
        out.append(f"<table><thead><tr><th>Location</th><th>Rule</th><th>Message</th></tr></thead><tbody>{rows}</tbody></table>")
    return out
