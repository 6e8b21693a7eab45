"""nginx: upstream keepalive (NX001) and rate limits (NX002), includes and inheritance."""

from __future__ import annotations

import pickle

import pytest

from prodlint.extract import ParseError, Source
from prodlint.extract.nginx import extract_nginx
from prodlint.kinds import is_nginx_path
from prodlint.facts.nginx import NginxFile

REUSE = 'set proxy_http_version 1.1 and proxy_set_header Connection ""'
NO_LIMIT = "add limit_req zone=... burst=... to this location or its server"


def test_keepalive_through_includes_and_header_inheritance(run):
    assert run("nginx/edge_proxy", select="NX001") == [
        "nginx/conf.d/internal.conf:24:9 NX001 proxy_pass to http://auth:9090/verify has no upstream block, so nginx "
        "opens a new connection for every request; declare an upstream with keepalive "
        f"(upstream auth {{ server auth:9090; keepalive 32; }}), proxy_pass to it and {REUSE}",
        "nginx/conf.d/internal.conf:30:13 NX001 proxy_pass to http://reports:8080 has no upstream block, so nginx "
        "opens a new connection for every request; declare an upstream with keepalive "
        f"(upstream reports {{ server reports:8080; keepalive 32; }}), proxy_pass to it and {REUSE}",
        "nginx/conf.d/internal.conf:37:9 NX001 upstream api keeps 32 idle connections but this proxy_pass cannot "
        "reuse them: proxy_http_version 1.1 is not in effect (nginx speaks HTTP/1.0 to upstreams by default); "
        f'proxy_set_header Connection "close" asks the upstream to close the connection; {REUSE} here',
        "nginx/conf.d/internal.conf:52:9 NX001 upstream api keeps 32 idle connections but this proxy_pass cannot "
        'reuse them: the Connection header is not cleared (nginx sends "Connection: close"); '
        'set proxy_set_header Connection "" here',
        "nginx/nginx.conf:44:13 NX001 upstream api keeps 32 idle connections but this proxy_pass cannot reuse them: "
        'proxy_set_header Connection "" at line 36 is not inherited because proxy_set_header at line 43 replaces '
        'every inherited header; set proxy_set_header Connection "" here',
        "nginx/nginx.conf:48:13 NX001 upstream legacy has no keepalive, so nginx opens a new connection for every "
        f"request; add keepalive 32; to upstream legacy and {REUSE} here",
        # the $connection_upgrade map serves plain requests too; /ws/ (Connection "upgrade") is WebSocket only
        "nginx/nginx.conf:60:13 NX001 upstream legacy has no keepalive, so nginx opens a new connection for every "
        f"request; add keepalive 32; to upstream legacy and {REUSE} here",
    ]


def test_keepalive_findings_relate_the_upstream_and_the_hidden_header(lint):
    related = {
        str(result.at): [f"{r.at} {r.message}" for r in result.finding.related]
        for result in lint("nginx/edge_proxy", select="NX001").reported
    }
    assert related["nginx/nginx.conf:44:13"] == [
        "nginx/nginx.conf:17:9 keepalive of upstream api",
        'nginx/nginx.conf:36:9 Connection "" set here, replaced by the inner proxy_set_header',
    ]
    assert related["nginx/nginx.conf:48:13"] == ["nginx/nginx.conf:20:5 upstream legacy"]


def test_rate_limits_inherited_from_server_and_not_from_sibling_locations(run):
    # nginx.conf's server limits every location; in internal.conf only `/` proxies without one
    # (/static/ has a limit but serves files, /_auth is internal, /billing/ includes an unread file).
    assert run("nginx/edge_proxy", select="NX002") == [
        "nginx/conf.d/internal.conf:11:5 NX002 location / passes requests to http://api with no rate limit "
        f"(limit_req_zone per_ip, login declared in http but no limit_req applies here); {NO_LIMIT}",
    ]


def test_conf_d_files_share_the_http_block_of_the_stock_nginx_conf(lint):
    analysis = lint("nginx/conf_d_only", select="NX")
    assert [f"{r.at} {r.code} {r.message}" for r in analysis.reported] == [
        # the upstream with keepalive is declared in a sibling conf.d file
        "conf.d/site.conf:12:9 NX001 upstream app keeps 16 idle connections but this proxy_pass cannot reuse them: "
        "proxy_http_version 1.1 is not in effect (nginx speaks HTTP/1.0 to upstreams by default); the Connection "
        f'header is not cleared (nginx sends "Connection: close"); {REUSE} here',
        # envsubst placeholders: the target is unknown (no NX001), the missing limit is not
        "nginx/templates/default.conf.template:4:5 NX002 location / passes requests to "
        "http://${BACKEND_HOST}:${BACKEND_PORT} with no rate limit (no limit_req_zone or limit_req in http, "
        f"server or location); {NO_LIMIT}",
        "sites-enabled/legacy:3:5 NX002 location / passes requests to http://127.0.0.1:5000 with no rate limit "
        f"(no limit_req_zone or limit_req in http, server or location); {NO_LIMIT}",
        "sites-enabled/legacy:4:9 NX001 proxy_pass to http://127.0.0.1:5000 has no upstream block, so nginx opens a "
        "new connection for every request; declare an upstream with keepalive "
        f"(upstream backend {{ server 127.0.0.1:5000; keepalive 32; }}), proxy_pass to it and {REUSE}",
    ]
    assert [(n.path, n.line, n.message) for n in analysis.notifications] == [
        ("nginx/broken.conf", 5, 'nginx syntax error: unexpected end of file, expecting "}"'),
    ]


@pytest.mark.parametrize(("path", "expected"), [
    ("nginx.conf", True),
    ("deploy/site.nginx", True),
    ("docker/nginx/default.conf", True),
    ("etc/conf.d/app.conf", True),
    ("nginx/templates/default.conf.template", True),
    ("sites-enabled/shop", True),
    ("config/app.conf", False),  # read only when its content has nginx blocks
    ("nginx/README.md", False),
])
def test_which_files_are_nginx(path, expected):
    assert is_nginx_path(path) is expected


def test_other_programs_conf_files_are_not_parsed():
    assert list(extract_nginx(Source("config/redis.conf", "maxmemory 2gb\nsave 900 1\n"), None)) == []
    assert list(extract_nginx(Source("config/app.conf", "[server]\nport = 80 {\n"), None)) == []
    sniffed = list(extract_nginx(Source("config/site.conf", "server {\n  listen 80;\n}\n"), None))
    assert [type(fact) for fact in sniffed] == [NginxFile]


def test_tree_locations_and_argument_errors():
    text = 'http {\n  upstream app { server app:8000; keepalive 8; }\n  server { location / { proxy_pass a b; } }\n}\n'
    notification, config = extract_nginx(Source("nginx.conf", text), None)
    assert notification.line == 3
    assert notification.message == 'nginx: invalid number of arguments in "proxy_pass" directive; the rest of the file was analysed'
    upstream = config.directives[0].block[0]
    assert (upstream.name, upstream.args, str(upstream.at)) == ("upstream", ("app",), "nginx.conf:2:3")
    assert [(d.name, str(d.at), d.at.end_column) for d in upstream.block] == [
        ("server", "nginx.conf:2:18", 33), ("keepalive", "nginx.conf:2:35", 46),
    ]
    assert pickle.loads(pickle.dumps(config)) == config


def test_unterminated_directive_is_a_parse_error():
    with pytest.raises(ParseError, match="unexpected end of file"):
        list(extract_nginx(Source("nginx.conf", "events { worker_connections 10; }\nuser nginx"), None))
