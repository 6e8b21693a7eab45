"""`prodlint report`: each section's figures on fixture projects, the JSON schema, determinism, the CLI."""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from prodlint import cli
from prodlint.model import data as data_view
from prodlint.report import Report
from prodlint.report.readiness import render
from prodlint.report.readiness.document import build

from conftest import FIXTURES, lint_project

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCHEMA = Path(__file__).resolve().parents[1] / "src" / "prodlint" / "report" / "readiness" / "readiness.schema.json"
PROJECTS = ("report/express_prisma", "report/fastapi_gunicorn", "report/flask_app")


def document(project: str | Path, target: int | None = None) -> dict:
    analysis = lint_project(project)
    return build(Report(analysis, analysis.reported), target)


def service(doc: dict, name: str) -> dict:
    return next(s for s in doc["capacity"]["services"] if s["name"] == name)


def limits(entry: dict) -> dict[str, tuple]:
    """kind -> (value, state, arithmetic, [(input, value, source)], target verdict)."""
    return {
        limit["kind"]: (limit["value"], limit["state"], limit["arithmetic"],
                        [(i["name"], i["value"], i["source"]) for i in limit["inputs"]],
                        (limit.get("target") or {}).get("verdict"))
        for limit in entry["limits"]
    }


# --- capacity ---------------------------------------------------------------------------------


def test_bundled_example_api_is_capped_by_its_pool_of_five() -> None:
    doc = document(EXAMPLES)
    api = service(doc, "api")
    assert (api["max_concurrent_requests"], api["bottleneck"], api["bottleneck_source"]) == (5, "pool", "app/db/session.py:6")
    assert limits(api)["pool"][:3] == (5, "known", "1 replica × 1 worker × (5 + 0) connections = 5")
    assert limits(api)["http"][0] == 40  # one uvicorn worker, sync handlers in the 40-thread pool


def test_express_prisma_capacity_chain_with_sources_and_target() -> None:
    doc = document("report/express_prisma", target=250)
    api = service(doc, "api")
    assert (api["max_concurrent_requests"], api["bottleneck"], api["complete"]) == (60, "pool", True)
    assert limits(api) == {
        "proxy": (1024, "known",
                  "2 worker_processes × 1024 worker_connections / 2 (a proxied request holds a client and an upstream connection) = 1024",
                  [("worker_processes", "2", "nginx/nginx.conf:1"), ("worker_connections", "1024", "nginx/nginx.conf:4"),
                   ("proxy_pass", "http://api", "nginx/nginx.conf:20")], "774 to spare"),
        "http": (None, "unbounded", "3 replicas × 1 worker; node runs requests on one event loop, which caps no requests here",
                 [("replicas", "3", "docker-compose.yml:8"), ("workers", "1", "default of 1 (node's default)"),
                  ("requests per process", "no limit", "docker-compose.yml:4")], None),
        "pool": (60, "known", "3 replicas × 1 worker × 20 connections = 60",
                 [("replicas", "3", "docker-compose.yml:8"), ("workers", "1", "default of 1 (node's default)"),
                  ("connection_limit", "20", "docker-compose.yml:6")], "4.2× short"),
        "database": (97, "known", "100 max_connections − 3 reserved − 0 held by other services = 97",
                     [("max_connections", "100", "docker-compose.yml:21"),
                      ("superuser_reserved_connections", "3", "default of 3 (PostgreSQL's default)"),
                      ("held by other services", "0", "their pool limits")], "2.6× short"),
    }
    stack = doc["capacity"]["stack"]
    # Three replicas: during a rolling deploy old and new replicas hold 2 × 60 connections, more than 97.
    assert (stack["connections"], stack["database_available"], stack["rolling_deploys"]) == (
        60, 97, [{"service": "api", "connections": 120, "fits": False}])
    # The static web service waits for no database: nginx, which it shares with api, is its only limit.
    web = service(doc, "web")
    assert (web["max_concurrent_requests"], web["bottleneck"], [limit["kind"] for limit in web["limits"]]) == (
        1024, "proxy", ["proxy", "http"])
    assert limits(web)["proxy"][3][-1] == ("proxy_pass", "http://web:3001", "nginx/nginx.conf:27")
    # 60 + 1024 through one nginx that carries 1024 at once.
    assert stack["max_concurrent_requests"] == 1024


def test_fastapi_gunicorn_capacity_is_capped_by_what_the_database_leaves() -> None:
    doc = document("report/fastapi_gunicorn", target=250)
    web = service(doc, "web")
    assert (web["max_concurrent_requests"], web["bottleneck"], web["bottleneck_source"]) == (
        77, "database", "default of 100 (PostgreSQL's default)")
    assert limits(web) == {
        "http": (320, "known",
                 "2 replicas × 4 workers × 40 requests per process (5 sync FastAPI handlers run in anyio's default 40-thread pool) = 320",
                 [("replicas", "2", "docker-compose.yml:9"), ("workers", "4", "docker-compose.yml:4"),
                  ("requests per process", "40", "default of 40 (5 sync FastAPI handlers run in anyio's default "
                                                 "40-thread pool), first at app/api/orders.py:13")], "70 to spare"),
        "pool": (120, "known", "2 replicas × 4 workers × (10 + 5) connections = 120",
                 [("replicas", "2", "docker-compose.yml:9"), ("workers", "4", "docker-compose.yml:4"),
                  ("pool_size", "10", "docker-compose.yml:7"), ("max_overflow", "5", "app/db.py:9")], "2.1× short"),
        "database": (77, "known", "100 max_connections − 3 reserved − 20 held by other services = 77",
                     [("max_connections", "100", "default of 100 (PostgreSQL's default)"),
                      ("superuser_reserved_connections", "3", "default of 3 (PostgreSQL's default)"),
                      ("held by other services", "20", "their pool limits")], "3.2× short"),
    }
    # The celery worker holds connections but answers no requests; the migration job holds none.
    worker = service(doc, "worker")
    assert (worker["serves_http"], worker["max_concurrent_requests"], worker["connections"]) == (False, None, 20)
    assert limits(worker)["pool"][2:4] == ("1 replica × 2 workers × (5 + 5) connections = 20", [
        ("replicas", "1", "default of 1 (no deploy.replicas or scale)"), ("workers", "2", "docker-compose.yml:17"),
        ("pool_size", "5", "app/db.py:8"), ("max_overflow", "5", "app/db.py:9")])
    assert [s["name"] for s in doc["capacity"]["services"]] == ["web", "worker"]
    stack = doc["capacity"]["stack"]
    assert (stack["connections"], stack["database_available"], stack["rolling_deploys"]) == (
        140, 97, [{"service": "web", "connections": 260, "fits": False}])


def test_flask_threads_cap_the_procfile_server() -> None:
    doc = document("report/flask_app", target=10)
    app = service(doc, "(application)")
    assert (app["max_concurrent_requests"], app["bottleneck"], app["bottleneck_source"]) == (12, "http", "Procfile:1")
    assert limits(app) == {
        "http": (12, "known", "1 replica × 3 workers × 4 requests per process (gunicorn runs 4 threads per worker) = 12",
                 [("replicas", "1", "default of 1 (no deploy.replicas or scale)"), ("workers", "3", "Procfile:1"),
                  ("requests per process", "4", "Procfile:1")], "2 to spare"),
        "pool": (30, "known", "1 replica × 3 workers × (10 + 0) connections = 30",
                 [("replicas", "1", "default of 1 (no deploy.replicas or scale)"), ("workers", "3", "Procfile:1"),
                  ("pool_size", "10", "shop/config.py:6"), ("max_overflow", "0", "shop/config.py:6")], "20 to spare"),
    }
    # The engine's URL is not in the tree: the database is not known to be PostgreSQL, so no database link.
    assert doc["capacity"]["stack"]["database_available"] is None


# --- routes, tenancy, data, containers ----------------------------------------------------------


def test_route_census() -> None:
    assert document("report/express_prisma")["routes"] == {
        "apps": [{"app": "app", "framework": "express", "path": "src/app.ts", "line": 6, "routes": 11,
                  "guarded": 8, "public": 1, "unguarded": 2, "unknown": 0}],
        "unmounted_routers": [{"router": "archiveRouter", "routes": 1, "path": "src/routes/archive.routes.ts", "line": 4}],
        "duplicate_routes": 0, "duplicate_mounts": 0,
    }
    flask = document("report/flask_app")["routes"]
    app = flask["apps"][0]
    assert (app["framework"], app["routes"], app["guarded"], app["public"], app["unguarded"]) == ("flask", 4, 2, 1, 1)
    assert flask["unmounted_routers"] == [{"router": "reports_bp", "routes": 1, "path": "shop/reports.py", "line": 3}]


def test_tenant_census_per_model_and_status() -> None:
    tenancy = document("report/express_prisma")["tenancy"]
    statuses = ["scoped-by-filter", "scoped-by-extension", "scoped-by-rls", "scoped-by-check", "scoped-by-parent",
                "scoped-by-identity", "scoped-by-helper", "unscoped", "unknown"]
    assert tenancy["statuses"] == statuses
    # req.db is a configured tenant client; the suppressed findUnique is still counted as unscoped.
    assert tenancy["counts"] == {"scoped-by-filter": 5, "scoped-by-extension": 1, "scoped-by-rls": 0, "scoped-by-check": 0, "scoped-by-parent": 0, "scoped-by-identity": 0, "scoped-by-helper": 0, "unscoped": 3, "unknown": 0}
    assert [(m["model"], m["key"], m["queries"], m["counts"]) for m in tenancy["models"]] == [
        ("Project", "tenantId", 3, {"scoped-by-filter": 1, "scoped-by-extension": 0, "scoped-by-rls": 0, "scoped-by-check": 0, "scoped-by-parent": 0, "scoped-by-identity": 0, "scoped-by-helper": 0, "unscoped": 2, "unknown": 0}),
        ("Task", "tenantId", 6, {"scoped-by-filter": 4, "scoped-by-extension": 1, "scoped-by-rls": 0, "scoped-by-check": 0, "scoped-by-parent": 0, "scoped-by-identity": 0, "scoped-by-helper": 0, "unscoped": 1, "unknown": 0}),
    ]
    assert [(f["code"], f["line"]) for f in tenancy["findings"]] == [("TN001", 13), ("TN002", 27)]
    sqlalchemy = document("report/fastapi_gunicorn")["tenancy"]
    assert [(m["model"], m["counts"]["scoped-by-filter"], m["counts"]["unscoped"]) for m in sqlalchemy["models"]] == [
        ("Customer", 1, 0), ("Order", 2, 1)]
    assert document("report/flask_app")["tenancy"]["models"] == []


def test_tenant_census_counts_statuses_the_data_model_adds(monkeypatch) -> None:
    """New scoping statuses (scoped-by-check, ...) need no change in the report."""
    original = data_view.DataModel.tenant_queries

    def with_check(self):
        for query in original(self):
            yield dataclasses.replace(query, status="scoped-by-check") if query.status == "unscoped" else query

    monkeypatch.setattr(data_view.DataModel, "tenant_queries", with_check)
    tenancy = document("report/fastapi_gunicorn")["tenancy"]
    assert "scoped-by-check" in tenancy["statuses"]
    assert (tenancy["counts"]["scoped-by-check"], tenancy["counts"]["unscoped"]) == (1, 0)


def test_data_section() -> None:
    doc = document("report/express_prisma")
    assert doc["pagination"]["list_queries"] == {
        "total": 5, "bounded": 3, "unbounded": 1, "filtered": 1, "lookup": 0, "configured": 0, "checked": True}
    assert doc["pagination"]["page_sizes"] == {"total": 1, "bounded": 0, "unbounded": 1}
    assert doc["indexes"]["foreign_keys"] == {"total": 2, "indexed": 1, "unindexed": 1}
    assert doc["indexes"]["blocks"] == [
        {"kind": "prisma", "language": "prisma",
         "text": "// prisma/schema.prisma\nmodel Task {\n  @@index([projectId])\n  @@index([status])\n}"},
        {"kind": "sql", "language": "sql",
         "text": 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "Task_projectId_idx" ON "Task" ("projectId");\n'
                 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "Task_status_idx" ON "Task" (status);'},
    ]
    sqlalchemy = document("report/fastapi_gunicorn")["indexes"]
    # IX002 asks for (tenant_id) and IX003 for (tenant_id, status) on orders: the longer serves both.
    assert sqlalchemy["blocks"] == [
        {"kind": "alembic", "language": "python", "text":
            'def upgrade() -> None:\n'
            '    op.create_index("ix_orders_tenant_id_status", "orders", ["tenant_id", "status"])\n'
            '    op.create_index("ix_invoices_order_id", "invoices", ["order_id"])\n\n\n'
            'def downgrade() -> None:\n'
            '    op.drop_index("ix_invoices_order_id", table_name="invoices")\n'
            '    op.drop_index("ix_orders_tenant_id_status", table_name="orders")'},
        {"kind": "sql", "language": "sql", "text":
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_orders_tenant_id_status ON orders (tenant_id, status);\n"
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_invoices_order_id ON invoices (order_id);"},
    ]
    assert document("report/flask_app")["pagination"]["list_queries"] == {
        "total": 3, "bounded": 2, "unbounded": 1, "filtered": 0, "lookup": 0, "configured": 0, "checked": True}


def test_containers_and_nginx() -> None:
    doc = document("report/express_prisma")
    assert [(s["name"], s["memory_limit"], s["cpu_limit"], s["exposed_ports"]) for s in doc["containers"]["services"]] == [
        ("api", "512m", "1", []), ("web", "256m", "0.5", []), ("db", "2g", "2", []),
        ("proxy", None, None, [])]  # db publishes on 127.0.0.1 only
    assert doc["nginx"]["locations"] == [
        {"location": "/api/", "path": "nginx/nginx.conf", "line": 18, "proxy_pass": "http://api", "upstream": "api",
         "keepalive": "16", "http_version": "1.1", "rate_limit": "zone=api burst=40"},
        {"location": "/", "path": "nginx/nginx.conf", "line": 25, "proxy_pass": "http://web:3001", "upstream": None,
         "keepalive": None, "http_version": None, "rate_limit": "zone=api burst=40"},
        {"location": "/uploads/", "path": "nginx/nginx.conf", "line": 30, "proxy_pass": "http://api", "upstream": "api",
         "keepalive": "16", "http_version": None, "rate_limit": None},
    ]
    exposed = document("report/fastapi_gunicorn")["containers"]["services"]
    assert [(s["name"], s["exposed_ports"]) for s in exposed if s["datastore"]] == [("db", ["5432:5432"])]


def test_inventory() -> None:
    inventory = document("report/fastapi_gunicorn")["inventory"]
    web = inventory["services"][0]
    assert (web["name"], web["build"], web["replicas"], web["server"], web["workers"], web["workers_source"]) == (
        "web", ".", 2, "gunicorn", 4, "--workers 4")
    assert inventory["entrypoints"] == [{"name": "app", "framework": "fastapi", "path": "app/main.py", "line": 5}]
    assert inventory["frameworks"] == ["fastapi", "sqlalchemy"]
    # app/tasks.py starts only the celery worker: job code.
    assert inventory["files"] == {"by": "role", "counts": {"config": 2, "job": 1, "request": 7}}


# --- summary and score ----------------------------------------------------------------------------


def test_score_with_and_without_inline_suppressions() -> None:
    score = document("report/express_prisma")["score"]
    # 21 rules, 10 without a finding; 9 warnings and 3 errors shown (100 × 20 / (20 + 9 + 6));
    # the suppressed TN001 is a 4th error.
    assert {k: score[k] for k in ("score", "grade", "passing_rules", "rules", "errors", "warnings", "suppressed")} == {
        "score": 57, "grade": "F", "passing_rules": 10, "rules": 21, "errors": 3, "warnings": 9, "suppressed": 1}
    assert score["without_suppressions"] == {"score": 54, "grade": "F"}  # 100 × 20 / (20 + 9 + 8)
    assert document("report/flask_app")["score"]["score"] == 87  # 100 × 34 / (34 + 3 + 2)


def test_summary_lists_blocking_findings_and_a_verdict_per_area() -> None:
    summary = document("report/express_prisma")["summary"]
    assert [(f["code"], f["path"], f["line"]) for f in summary["blocking"]] == [
        ("RT001", "src/routes/archive.routes.ts", 4), ("TN001", "src/routes/projects.routes.ts", 13),
        ("TN002", "src/routes/tasks.routes.ts", 27)]
    assert [(v["area"], v["status"], v["verdict"]) for v in summary["verdicts"]] == [
        ("routes", "fail", "1 error, 2 warnings (RT001, RT004); 2 of 11 routes unguarded"),
        ("capacity", "pass", 'no findings from 4 rules; service "api" 60 concurrent requests (pool); '
                             'service "web" 1024 concurrent requests (proxy)'),
        ("tenancy", "fail", "2 errors (TN001, TN002); 3 of 9 queries on tenant-scoped models unscoped"),
        ("data", "warn", "3 warnings, 1 note (IX001, IX003, PG001, PG002); 1 of 5 list queries unbounded, 1 of 2 foreign keys unindexed"),
        ("operations", "warn", "4 warnings (DC001, NX001, NX002); 1 of 4 services without resource limits"),
    ]


# --- formats --------------------------------------------------------------------------------------


@pytest.mark.parametrize("project", (*PROJECTS, EXAMPLES))
def test_json_is_valid_against_the_schema(project) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    analysis = lint_project(project)
    stream = io.StringIO()
    render(Report(analysis, analysis.reported), stream, "json", target=250)
    jsonschema.Draft202012Validator(schema).validate(json.loads(stream.getvalue()))


def test_markdown_shows_the_capacity_arithmetic() -> None:
    analysis = lint_project(EXAMPLES)
    stream = io.StringIO()
    render(Report(analysis, analysis.reported), stream, "markdown", target=250)
    text = stream.getvalue()
    assert text.startswith("# Production readiness report\n\n**Score 20/100 (F)**")
    assert "### `api`: **5** concurrent requests, bottleneck **pool** (`app/db/session.py:6`)" in text
    assert "| pool (connections) | 5 | 1 replica × 1 worker × (5 + 0) connections = 5 | 50× short |" in text
    assert "| pool | pool_size | 5 | docker-compose.yml:8 |" in text
    for heading in ("## Architecture inventory", "## Capacity", "## Routes", "## Tenant isolation", "## Data",
                    "## Containers and proxy", "## Findings"):
        assert f"\n{heading}\n" in text


def test_text_format() -> None:
    analysis = lint_project("report/flask_app")
    stream = io.StringIO()
    render(Report(analysis, analysis.reported), stream, "text")
    text = stream.getvalue()
    assert "(application): 12 concurrent requests, bottleneck http at Procfile:1" in text
    assert "\x1b[" not in text  # no colour off a terminal


def test_html_is_self_contained_with_the_chain_diagram() -> None:
    analysis = lint_project("report/express_prisma")
    stream = io.StringIO()
    render(Report(analysis, analysis.reported), stream, "html")
    page = stream.getvalue()
    assert "<script" not in page and "<link" not in page and "@import" not in page and "url(http" not in page
    assert page.count("<svg") == 2  # api and web
    assert page.count('stroke="#e11d48" stroke-width="3"') == 2  # one bottleneck box per chain is highlighted
    assert ">bottleneck</text>" in page


# --- command line, exit codes, determinism ------------------------------------------------------------


def _run_cli(args: list[str], capsys) -> tuple[int, str]:
    code = cli.main(args)
    return code, capsys.readouterr().out


def test_exit_code_follows_fail_on(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    project = tmp_path / "flask_app"
    shutil.copytree(FIXTURES / "report" / "flask_app", project)
    assert _run_cli(["report", "flask_app", "--format", "json", "--no-cache"], capsys)[0] == 1
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "app.py").write_text("print('hello')\n", encoding="utf-8")
    code, out = _run_cli(["report", "clean", "--format", "json", "--no-cache"], capsys)
    assert code == 0 and json.loads(out)["score"]["score"] == 100


def test_output_is_byte_identical_across_runs_jobs_and_cache(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copytree(FIXTURES / "report" / "express_prisma", tmp_path / "project")
    for fmt in ("json", "markdown", "html", "text"):
        outputs = set()
        for extra in (["--no-cache", "--jobs", "1"], ["--no-cache", "--jobs", "2"], ["--jobs", "1"], ["--jobs", "2"]):
            target = tmp_path / f"out.{fmt}"
            code = cli.main(["report", "project", "--format", fmt, "--target-concurrency", "250", "-o", str(target), *extra])
            assert code == 1
            outputs.add(target.read_bytes())
        assert len(outputs) == 1, fmt
    capsys.readouterr()
    assert (tmp_path / "project" / ".prodlint_cache").is_dir()  # the warm runs read the cache


def test_report_rejects_a_target_below_one(capsys) -> None:
    assert cli.main(["report", str(FIXTURES / "report" / "flask_app"), "--target-concurrency", "0"]) == 2
    assert "--target-concurrency must be 1 or more" in capsys.readouterr().err


def test_readme_example_is_the_real_markdown_of_the_bundled_example(monkeypatch) -> None:
    """Every line of the README's trimmed example is a line of `prodlint report examples/ --format markdown`."""
    readme = (EXAMPLES.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Readiness report", 1)[1]
    example = section.split("````markdown\n", 1)[1].split("\n````", 1)[0]
    monkeypatch.chdir(EXAMPLES.parent)
    analysis = lint_project(EXAMPLES)
    stream = io.StringIO()
    render(Report(analysis, analysis.reported, prefix="examples/"), stream, "markdown", target=250)
    real = set(stream.getvalue().splitlines())
    assert [line for line in example.splitlines() if line not in real and line != "..."] == []


def test_pagination_census_counts_lookup_tables_apart() -> None:
    # express_filters: two lookup tables (Department, SecurityQuestion) apart from the child
    # lookups, the spread that may set take, the distinct findMany and the reassigned filter
    listing = document("pagination/express_filters")["pagination"]["list_queries"]
    assert listing == {"total": 13, "bounded": 2, "unbounded": 6, "filtered": 3, "lookup": 2, "configured": 0, "checked": True}
    listing = document("pagination/express_app")["pagination"]["list_queries"]
    assert (listing["lookup"], listing["configured"]) == (4, 1)


def test_pagination_census_says_when_pg002_is_off() -> None:
    analysis = lint_project("report/flask_app", ignore=("PG002",))
    doc = build(Report(analysis, analysis.reported))
    assert doc["pagination"]["list_queries"] == {
        "total": 3, "bounded": 2, "unbounded": 0, "filtered": 1, "lookup": 0, "configured": 0, "checked": False}
    data = next(v for v in doc["summary"]["verdicts"] if v["area"] == "data")
    assert data["verdict"].endswith("; ? of 3 list queries unbounded, 0 of 0 foreign keys unindexed")


def test_granian_workers_and_sync_fastapi_handlers(tmp_path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n  api:\n    build: .\n    command: granian --interface asgi --workers 4 app.main:app\n", encoding="utf-8")
    (tmp_path / "app" / "main.py").write_text(
        "from fastapi import FastAPI\nfrom sqlalchemy import create_engine\n\n"
        "engine = create_engine('postgresql://db/app', pool_size=20, max_overflow=0)\napp = FastAPI()\n\n\n"
        "@app.get('/items')\ndef items():\n    return []\n", encoding="utf-8")
    api = service(document(tmp_path), "api")
    assert limits(api)["http"][:3] == (
        160, "known", "1 replica × 4 workers × 40 requests per process (1 sync FastAPI handler runs in anyio's default "
                      "40-thread pool) = 160")
    assert (api["max_concurrent_requests"], api["bottleneck"]) == (80, "pool")
