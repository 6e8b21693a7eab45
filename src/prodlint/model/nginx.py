"""nginx as the server runs it: includes spliced, and what each proxying location inherits.

Includes resolve relative to the including file, then to the configuration
directory (`/etc/nginx/...` maps onto the directory holding the root file). A
`conf.d` file that nothing in the tree includes is read the way the stock
nginx.conf reads it: inside one `http` block shared with its sibling files.
An include that is not in the tree makes its block *unknown*: its directives may
set what a rule looks for, so the rules stay silent there rather than guess.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prodlint.facts import Location
from prodlint.facts.nginx import Directive, NginxFile

if TYPE_CHECKING:
    from prodlint.project import Project

PASS_DIRECTIVES = ("proxy_pass", "fastcgi_pass", "uwsgi_pass", "scgi_pass", "grpc_pass")
CONF_PREFIXES = ("/etc/nginx/", "/usr/local/nginx/conf/", "/usr/local/etc/nginx/")
INCLUDED_DIRS = ("conf.d", "http.d", "sites-enabled", "sites-available")
_UPSTREAM_URL = re.compile(r"^(?:https?|grpcs?)://(?P<host>[^/:?$]+)(?::(?P<port>\d+))?(?:[/?].*)?$")


def _stock(*headers: tuple[str, str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple(("proxy_set_header", header) for header in headers)


# Files nginx packages ship in the configuration directory: an include of one that
# is not in the tree has known content. Only what the rules read is listed.
STOCK_FILES = {
    "mime.types": (), "fastcgi_params": (), "fastcgi.conf": (), "uwsgi_params": (), "scgi_params": (),
    "koi-utf": (), "koi-win": (), "win-utf": (),
    "proxy_params": _stock(  # Debian and Ubuntu
        ("Host", "$http_host"), ("X-Real-IP", "$remote_addr"),
        ("X-Forwarded-For", "$proxy_add_x_forwarded_for"), ("X-Forwarded-Proto", "$scheme"),
    ),
}


@dataclass(frozen=True, slots=True)
class Scope:
    """One block level of the inheritance chain (http, server, location, if), includes spliced in."""

    kind: str
    head: Directive | None  # None: the http block a stock nginx.conf wraps around conf.d files
    directives: tuple[Directive, ...]
    unknown: bool  # an include here is not in the tree

    def own(self, name: str) -> tuple[Directive, ...]:
        return tuple(d for d in self.directives if d.name == name)


@dataclass(frozen=True, slots=True)
class Inherited:
    """The directives of one name in effect at a block, with where they were set."""

    directives: tuple[Directive, ...]
    known: bool  # False: an include that is not in the tree may set or replace them


def inherited(chain: tuple[Scope, ...], name: str) -> Inherited:
    """nginx's inheritance: the innermost level that sets `name` at all wins entirely.

    This is why a location's own `proxy_set_header` drops every header set in its
    server and http blocks, and a location's `limit_req` replaces the server's.
    """
    for scope in reversed(chain):
        own = scope.own(name)
        if own:
            return Inherited(own, not scope.unknown)
        if scope.unknown:
            return Inherited((), False)
    return Inherited((), True)


@dataclass(frozen=True, slots=True)
class ProxyPass:
    directive: Directive
    chain: tuple[Scope, ...]  # http ... the block holding the directive
    upstream: Directive | None  # the `upstream` block the URL names
    bare: bool  # a literal host with no upstream block: nginx's implicit upstream has no keepalive

    @property
    def url(self) -> str:
        return self.directive.args[0] if self.directive.args else ""

    @property
    def keepalive(self) -> Directive | None:
        found = self.upstream.children("keepalive") if self.upstream else ()
        return found[-1] if found else None

    @property
    def headers(self) -> Inherited:
        return inherited(self.chain, "proxy_set_header")

    def header(self, name: str) -> Directive | None:
        found = [d for d in self.headers.directives if d.args and d.args[0].lower() == name.lower()]
        return found[-1] if found else None

    @property
    def is_websocket(self) -> bool:
        """A location for WebSocket upgrades only (`Connection "upgrade"`): its connections are long-lived.

        The `map $http_upgrade $connection_upgrade` pattern serves plain requests too, so it is not one.
        """
        connection = self.header("Connection")
        return (self.header("Upgrade") is not None and connection is not None
                and connection.args[-1].lower() == "upgrade")


@dataclass(frozen=True, slots=True)
class ProxiedLocation:
    """A `location` that hands requests to an application (`proxy_pass`, `uwsgi_pass`, ...)."""

    location: Directive
    chain: tuple[Scope, ...]  # http, server, enclosing locations, this location
    passes: tuple[ProxyPass, ...]  # in the location itself and in its `if` / `limit_except` blocks

    @property
    def internal(self) -> bool:
        """Reached only by internal redirects and subrequests, which limit_req never counts."""
        return bool(self.chain[-1].own("internal"))

    @property
    def rate_limits(self) -> Inherited:
        return inherited(self.chain, "limit_req")

    @property
    def zones(self) -> tuple[Directive, ...]:
        return self.chain[0].own("limit_req_zone")


@dataclass(frozen=True, slots=True)
class NginxConfiguration:
    locations: tuple[ProxiedLocation, ...]

    def proxy_passes(self) -> Iterator[ProxyPass]:
        for location in self.locations:
            for proxy in location.passes:
                if proxy.directive.name == "proxy_pass":
                    yield proxy


def nginx_configuration(project: Project) -> NginxConfiguration:
    files = {f.path: f for f in project.facts_of(NginxFile)}
    return _Reader(files).read()


class _Reader:
    def __init__(self, files: dict[str, NginxFile]) -> None:
        self.files = files
        self.spliced: set[str] = set()

    def read(self) -> NginxConfiguration:
        locations: dict[Location, ProxiedLocation] = {}
        for root in (f for f in self.files.values() if f.context == "main"):
            top = self.scope("main", None, root.directives, root.path)
            for http in top.own("http"):
                for found in self.walk((self.scope("http", http, http.block or (), root.path),), root.path):
                    locations.setdefault(found.location.at, found)
        orphans: dict[str, list[NginxFile]] = {}
        for orphan in self.files.values():
            if orphan.context == "http" and orphan.path not in self.spliced:
                orphans.setdefault(posixpath.dirname(orphan.path), []).append(orphan)
        for siblings in orphans.values():
            body = tuple(d for sibling in siblings for d in sibling.directives)
            http = self.scope("http", None, body, siblings[0].path)
            for found in self.walk((http,), siblings[0].path):
                locations.setdefault(found.location.at, found)
        return NginxConfiguration(tuple(sorted(locations.values(), key=lambda found: found.location.at)))

    def walk(self, chain: tuple[Scope, ...], root: str) -> Iterator[ProxiedLocation]:
        """Every proxying location under the innermost scope of `chain`."""
        for block in chain[-1].directives:
            if block.block is None or block.name not in ("server", "location"):
                continue
            inner = (*chain, self.scope(block.name, block, block.block, root))
            if block.name == "location":
                passes = tuple(self.passes(inner, root))
                if passes:
                    yield ProxiedLocation(block, inner, passes)
            yield from self.walk(inner, root)

    def passes(self, chain: tuple[Scope, ...], root: str) -> Iterator[ProxyPass]:
        upstreams = {u.args[0]: u for u in chain[0].own("upstream") if u.args}
        for directive in chain[-1].directives:
            if directive.name in PASS_DIRECTIVES:
                yield self.proxy_pass(directive, chain, upstreams)
            elif directive.name in ("if", "limit_except") and directive.block is not None:
                inner = (*chain, self.scope(directive.name, directive, directive.block, root))
                for nested in inner[-1].directives:
                    if nested.name in PASS_DIRECTIVES:
                        yield self.proxy_pass(nested, inner, upstreams)

    @staticmethod
    def proxy_pass(directive: Directive, chain: tuple[Scope, ...], upstreams: dict[str, Directive]) -> ProxyPass:
        match = _UPSTREAM_URL.match(directive.args[0]) if directive.args and "$" not in directive.args[0] else None
        if match is None:  # a variable or a unix socket: the target is decided at run time
            return ProxyPass(directive, chain, None, False)
        host, port = match["host"], match["port"]
        if port is None and host in upstreams:
            return ProxyPass(directive, chain, upstreams[host], False)
        # An `upstream` block is named without a port; without one it may live in an unread include.
        return ProxyPass(directive, chain, None, port is not None or not chain[0].unknown)

    def scope(self, kind: str, head: Directive | None, body: tuple[Directive, ...], root: str) -> Scope:
        directives, unknown = self.splice(body, root, frozenset())
        return Scope(kind, head, directives, unknown)

    def splice(self, body: tuple[Directive, ...], root: str, seen: frozenset[str]) -> tuple[tuple[Directive, ...], bool]:
        spliced: list[Directive] = []
        unknown = False
        for directive in body:
            if directive.name != "include" or not directive.args:
                spliced.append(directive)
                continue
            paths = self.resolve(directive.args[0], directive.at.path, root)
            if paths is None:
                stock = STOCK_FILES.get(posixpath.basename(directive.args[0]))
                if stock is None:
                    unknown = True
                spliced.extend(Directive(name, args, directive.at) for name, args in stock or ())
                continue
            for path in paths:
                if path in seen:
                    continue  # nginx would loop; the tree is read once
                self.spliced.add(path)
                inner, inner_unknown = self.splice(self.files[path].directives, root, seen | {path})
                spliced.extend(inner)
                unknown |= inner_unknown
        return tuple(spliced), unknown

    def resolve(self, pattern: str, including: str, root: str) -> list[str] | None:
        """The tree files an include names, or None when it names a file outside the tree.

        A glob is the tree's answer even when it matches nothing (nginx allows that);
        a plain name that is not in the tree lives on the server.
        """
        conf_dir = posixpath.dirname(root)
        bases = [conf_dir]
        if posixpath.basename(conf_dir) in INCLUDED_DIRS:
            bases.append(posixpath.dirname(conf_dir))
        if pattern.startswith("/"):
            rest = next((pattern[len(p):] for p in CONF_PREFIXES if pattern.startswith(p)), None)
            candidates = [] if rest is None else [posixpath.join(base, rest) for base in bases]
        else:
            candidates = [posixpath.join(base, pattern) for base in (posixpath.dirname(including), *bases)]
        for candidate in dict.fromkeys(posixpath.normpath(c) for c in candidates):
            found = sorted(path for path in self.files if _glob_matches(path, candidate))
            if found:
                return found
        has_glob = any(ch in pattern for ch in "*?[")
        return [] if has_glob and candidates else None


def _glob_matches(path: str, pattern: str) -> bool:
    """nginx's glob(3): a wildcard does not cross `/`."""
    parts, wanted = path.split("/"), pattern.split("/")
    return len(parts) == len(wanted) and all(fnmatch.fnmatchcase(p, w) for p, w in zip(parts, wanted))


# --- for the readiness report: what nginx can carry, and where it sends requests ------------

NGINX_DEFAULTS = {"worker_processes": "1", "worker_connections": "512"}


@dataclass(frozen=True, slots=True)
class NginxProcesses:
    """`worker_processes` and `worker_connections` of the one root nginx.conf in the tree.

    A directive None: nginx's default (1 process, 512 connections). `auto` is one
    process per CPU, which the tree does not say.
    """

    path: str
    worker_processes: Directive | None
    worker_connections: Directive | None

    def value(self, name: str) -> str:
        directive = self.worker_processes if name == "worker_processes" else self.worker_connections
        return directive.args[0] if directive is not None and directive.args else NGINX_DEFAULTS[name]


def nginx_processes(project: Project) -> NginxProcesses | None:
    """None unless exactly one root configuration is in the tree (conf.d files alone run
    under the image's own nginx.conf, whose settings are not in the tree)."""
    roots = [f for f in project.facts_of(NginxFile) if f.context == "main"]
    if len(roots) != 1:
        return None
    root = roots[0]
    processes = [d for d in root.directives if d.name == "worker_processes"]
    events = [d for d in root.directives if d.name == "events"]
    connections = [c for e in events for c in e.children("worker_connections")]
    return NginxProcesses(root.path, processes[-1] if processes else None, connections[-1] if connections else None)


def proxied_hosts(proxy: ProxyPass) -> tuple[str, ...]:
    """The hosts a proxy_pass reaches: its upstream's `server` entries, or the URL's host."""
    if proxy.upstream is not None:
        servers = proxy.upstream.children("server")
        addresses = [s.args[0] for s in servers if s.args and not s.args[0].startswith("unix:")]
        return tuple(dict.fromkeys(address.rsplit(":", 1)[0] if ":" in address else address for address in addresses))
    match = _UPSTREAM_URL.match(proxy.url) if "$" not in proxy.url else None
    return (match["host"],) if match is not None else ()
