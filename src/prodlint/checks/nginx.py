"""nginx in front of the application: upstream keepalive (NX001) and rate limits (NX002)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from prodlint.facts.nginx import Directive
from prodlint.model.nginx import ProxyPass, inherited, nginx_configuration
from prodlint.project import Project
from prodlint.rules import Finding, Related, rule

REUSE_FIX = 'proxy_http_version 1.1 and proxy_set_header Connection ""'


@rule("NX001")
def upstream_without_keepalive(project: Project) -> Iterator[Finding]:
    for proxy in project.view(nginx_configuration).proxy_passes():
        if proxy.is_websocket:
            continue
        if (proxy.upstream is not None and not proxy.upstream.args) or (proxy.keepalive is not None and not proxy.keepalive.args):
            continue  # `upstream {` or `keepalive;` without its argument: nginx refuses it, we cannot judge it
        if proxy.bare:
            yield Finding("NX001", f"proxy_pass to {proxy.url} has no upstream block, so nginx opens a new "
                          f"connection for every request; declare an upstream with keepalive "
                          f"({_upstream_example(proxy.url)}), proxy_pass to it and set {REUSE_FIX}", proxy.directive.at)
        elif proxy.upstream is not None and proxy.keepalive is None:
            name = proxy.upstream.args[0]
            yield Finding("NX001", f"upstream {name} has no keepalive, so nginx opens a new connection for every "
                          f"request; add keepalive 32; to upstream {name} and set {REUSE_FIX} here",
                          proxy.directive.at, (Related(proxy.upstream.at, f"upstream {name}"),))
        elif proxy.keepalive is not None:
            yield from _keepalive_not_reused(proxy)


def _keepalive_not_reused(proxy: ProxyPass) -> Iterator[Finding]:
    """Keepalive works only over HTTP/1.1 with the Connection header cleared."""
    version, headers = inherited(proxy.chain, "proxy_http_version"), proxy.headers
    connection = proxy.header("Connection")
    if not version.known or not headers.known or (connection and "$" in "".join(connection.args)):
        return  # an include outside the tree or a variable decides
    gaps, fixes = [], []
    related = [Related(proxy.keepalive.at, f"keepalive of upstream {proxy.upstream.args[0]}")]
    if not version.directives or version.directives[-1].args[:1] != ("1.1",):
        gaps.append("proxy_http_version 1.1 is not in effect (nginx speaks HTTP/1.0 to upstreams by default)")
        fixes.append("proxy_http_version 1.1")
    cleared = connection is not None and connection.args[-1] in ("", "keep-alive")
    if connection is None:
        hidden = _hidden_connection_header(proxy)
        if hidden is None:
            gaps.append('the Connection header is not cleared (nginx sends "Connection: close")')
        else:
            gaps.append(f'proxy_set_header Connection "" at {_where(hidden, proxy)} is not inherited because '
                        f"proxy_set_header at {_where(headers.directives[0], proxy)} replaces every inherited header")
            related.append(Related(hidden.at, 'Connection "" set here, replaced by the inner proxy_set_header'))
    elif not cleared:
        gaps.append(f'proxy_set_header Connection "{connection.args[-1]}" asks the upstream to close the connection')
    if not cleared:
        fixes.append('proxy_set_header Connection ""')
    if gaps:
        yield Finding("NX001", f"upstream {proxy.upstream.args[0]} keeps {proxy.keepalive.args[0]} idle connections but "
                      f"this proxy_pass cannot reuse them: {'; '.join(gaps)}; set {' and '.join(fixes)} here",
                      proxy.directive.at, tuple(related))


def _hidden_connection_header(proxy: ProxyPass) -> Directive | None:
    """A Connection header set further out that the inner proxy_set_header replaced."""
    for depth in range(len(proxy.chain) - 1, 0, -1):
        outer = inherited(proxy.chain[:depth], "proxy_set_header").directives
        found = [d for d in outer if d.args and d.args[0].lower() == "connection"]
        if found:
            return found[-1]
    return None


def _where(directive: Directive, proxy: ProxyPass) -> str:
    at = directive.at
    return f"line {at.line}" if at.path == proxy.directive.at.path else f"{at.path}:{at.line}"


def _upstream_example(url: str) -> str:
    host_port = url.split("://", 1)[-1].split("/", 1)[0]
    host = host_port.split(":", 1)[0]
    name = host if re.fullmatch(r"[A-Za-z][\w-]*", host) and host != "localhost" else "backend"
    return f"upstream {name} {{ server {host_port}; keepalive 32; }}"


@rule("NX002")
def no_rate_limit(project: Project) -> Iterator[Finding]:
    for location in project.view(nginx_configuration).locations:
        limits = location.rate_limits
        if location.internal or not limits.known or limits.directives:
            continue
        target = location.passes[0]
        zones = [arg.split(":")[0].removeprefix("zone=") for z in location.zones for arg in z.args if arg.startswith("zone=")]
        hint = (f"limit_req_zone {', '.join(zones)} declared in http but no limit_req applies here"
                if zones else "no limit_req_zone or limit_req in http, server or location")
        yield Finding("NX002", f"location {' '.join(location.location.args)} passes requests to "
                      f"{' '.join(target.directive.args)} with no rate limit ({hint}); add limit_req zone=... burst=... "
                      f"to this location or its server", location.location.at)
