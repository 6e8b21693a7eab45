"""Connection capacity: small pools (CP001) and exhausted max_connections (CP002), with the arithmetic."""

from __future__ import annotations

import pickle
import shutil

from conftest import FIXTURES

from prodlint.config import Config
from prodlint.extract import Source
from prodlint.extract.dotenv import extract_dotenv
from prodlint.extract.pgconf import extract_postgresql_conf
from prodlint.extract.python import extract_python
from prodlint.extract.typescript import extract_typescript
from prodlint.facts.capacity import Binding, Pool, Value

FIX_PG = "lower the pool sizes, workers or replicas, raise max_connections, or put PgBouncer in front"


def test_settings_resolved_sync_handlers_and_gunicorn_conf(run):
    # session.py: 5 + 10 from the pydantic settings defaults; events.py: async, 3 from an os.getenv
    # default; migrations.py: NullPool; reporting.py: a pool size computed at run time (unknown);
    # tests/conftest.py: SQLite.
    cp002 = ("CP002 1 replica × 4 workers × (13 + 15) = 112 connections or more (unknown: a pool size of the "
             f"application) > 47 available (max_connections 50 − 3 reserved); {FIX_PG}")
    assert run("capacity/fastapi_gunicorn", select="CP") == [
        f"app/db/events.py:6:16 {cp002}",
        "app/db/session.py:6:10 CP001 pool allows 5 + 10 = 15 connections but 40 requests can use it at once "
        "(2 sync FastAPI handlers run in a 40-thread pool); raise pool_size + max_overflow to at least 40 "
        "or lower the concurrency",
        f"app/db/session.py:6:10 {cp002}",
    ]


def test_findings_relate_where_the_numbers_come_from(lint):
    related = {
        f"{r.code} {r.at}": [f"{x.at} {x.message}" for x in r.finding.related]
        for r in lint("capacity/fastapi_gunicorn", select="CP").reported
    }
    assert related["CP001 app/db/session.py:6:10"] == [
        "app/core/config.py:8:25 pool size 5 set here",
        "app/core/config.py:9:28 max_overflow 10 set here",
    ]
    assert related["CP002 app/db/session.py:6:10"] == [
        "gunicorn.conf.py:5:44 4 workers",
        "deploy/postgresql.conf:3:1 max_connections 50",
    ]


def test_flask_engine_options_and_gunicorn_threads(run):
    # DevelopmentConfig's options never serve traffic; `SQLAlchemy()` defers to the options dict;
    # 3 workers × 6 = 18 connections fit PostgreSQL's default 97.
    assert run("capacity/flask_gthread", select="CP") == [
        "shop/config.py:9:33 CP001 pool allows 4 + 2 = 6 connections but 8 requests can use it at once "
        "(gunicorn runs 8 threads per worker); raise pool_size + max_overflow to at least 8 or lower the concurrency",
    ]


def test_configured_concurrency_for_node_pools(run):
    # Prisma's connection_limit comes from .env; knex max 100 is enough; knexfile's development pool is skipped.
    cp002 = ("CP002 1 replica × at least 1 worker × (20 + 10 + 100) = 130 connections or more (unknown: workers "
             "of the application) > 97 available (PostgreSQL's default max_connections 100 − 3 reserved); "
             f"{FIX_PG}")
    assert run("capacity/node_concurrency", select="CP") == [
        ".env:2:15 CP001 pool allows 10 connections but 50 requests can use it at once "
        "(capacity.concurrent-requests is 50); raise connection_limit to at least 50 or lower the concurrency",
        f".env:2:15 {cp002}",
        "src/db.ts:3:21 CP001 pool allows 20 connections but 50 requests can use it at once "
        "(capacity.concurrent-requests is 50); raise max to at least 50 or lower the concurrency",
        f"src/db.ts:3:21 {cp002}",
        f"src/warehouse.ts:6:9 {cp002}",
    ]


def test_without_configured_concurrency_node_and_async_pools_are_silent(run):
    assert run("capacity/node_concurrency", select="CP001", concurrent_requests=None) == []


def _facts(path: str, text: str, kind: type) -> list:
    extract = extract_typescript if path.endswith((".ts", ".js")) else extract_python
    return [fact for fact in extract(Source(path, text), Config()) if isinstance(fact, kind)]


def test_engine_arguments_are_kept_as_written():
    pools = _facts("app/db.py", (
        "import sqlalchemy as sa\nfrom sqlalchemy.pool import NullPool\nfrom .config import settings as cfg\n"
        "a = sa.create_engine(cfg.URL, pool_size=cfg.POOL, max_overflow=int(os.getenv('OVERFLOW', '7')))\n"
        "b = sa.create_engine(cfg.URL, poolclass=NullPool)\n"
        "c = sa.create_engine(cfg.URL, **cfg.ENGINE_OPTIONS)\n"
        "d = create_engine_wrapper(cfg.URL)\n"
    ), Pool)
    first, null, spread = pools
    assert first.size == Value("name", "app.config.settings.POOL", at=first.size.at)
    assert (first.overflow.kind, first.overflow.text, first.overflow.default.text) == ("env", "OVERFLOW", "7")
    assert null.poolclass == "NullPool"
    assert (spread.size.kind, spread.overflow.kind, spread.poolclass) == ("unknown", "unknown", "?")
    assert pickle.loads(pickle.dumps(pools)) == pools


def test_settings_fields_carry_their_environment_names():
    bindings = _facts("svc/config.py", (
        "from pydantic import Field\nfrom pydantic_settings import BaseSettings\n"
        "class Settings(BaseSettings):\n"
        "    class Config:\n        env_prefix = 'SVC_'\n"
        "    pool_size: int = 10\n    url: str = Field('x', env='DATABASE_URL')\n"
        "def get_settings():\n    return Settings()\n"
    ), Binding)
    assert [(b.owner, b.name, b.value.kind, b.value.text, b.env) for b in bindings] == [
        ("svc.config.Settings", "pool_size", "literal", "10", ("SVC_POOL_SIZE",)),
        ("svc.config.Settings", "url", "literal", "x", ("DATABASE_URL",)),
        ("svc.config", "get_settings", "instance", "svc.config.Settings", ()),
    ]


def test_node_pool_sizes_from_env_fallbacks():
    pools = _facts("src/pg.ts", (
        'import { Pool } from "pg";\n'
        "const a = new Pool({ max: Number(process.env.PG_MAX) || 25 });\n"
        "const b = new Pool(buildOptions());\n"
        "const c = new Pool();\n"
    ), Pool)
    assert [(p.size.kind, p.size.text, p.size.default.text) if p.size and p.size.default else p.size
            for p in pools] == [("env", "PG_MAX", "25"), Value("unknown"), None]


def test_dotenv_and_postgresql_conf():
    (env,) = extract_dotenv(Source(".env", (
        "# comment\nexport POOL=5\nURL='postgres://app:hunter2@db/x?connection_limit=3'\n"
        "API_TOKEN=abc\nNAME=shop # trailing\n"
    )), Config())
    assert [(key, value) for key, value, _ in env.values] == [
        ("POOL", "5"), ("URL", "postgres://app:***@db/x?connection_limit=3"), ("NAME", "shop"),
    ]
    assert env.get("URL")[1].column == 6
    settings = list(extract_postgresql_conf(Source("pg/postgresql.conf", (
        "#max_connections = 100\nmax_connections = 300  # tuned\nsuperuser_reserved_connections 5\n"
    )), Config()))
    assert [(s.name, s.value, s.at.line) for s in settings] == [
        ("max_connections", "300", 2), ("superuser_reserved_connections", "5", 3),
    ]


def test_compose_services_replicas_workers_and_postgres_command(lint):
    # api: settings defaults 5 + 10 overridden by compose to 10 + 20; worker: same code, defaults;
    # migrate: a one-shot job; reports: a pool size passed through from the host (unknown);
    # web: Prisma connection_limit=5 in the compose DATABASE_URL and node-postgres max 8;
    # the dev override's --reload service is not production; celery beat and flower run no tasks.
    analysis = lint("capacity/compose_stack", select="CP")
    cp002 = (
        'CP002 service "admin": 1 replica × 2 workers × (6 + 0) = 12 + service "api": 3 replicas × 4 workers × '
        '(10 + 20) = 360 + service "worker": 1 replica × 2 workers × (5 + 10) = 30 + service "web": 1 replica × '
        '1 worker × (8 + 5) = 13 = 415 connections or more (unknown: a pool size of service "reports") > 195 '
        f"available (max_connections 200 − 5 reserved); {FIX_PG}"
    )
    assert [f"{r.at} {r.code} {r.message}" for r in analysis.reported] == [
        "admin/db.py:5:10 CP001 pool allows 6 + 0 = 6 connections but 16 requests can use it at once "
        "(gunicorn runs 16 threads per worker); raise pool_size + max_overflow to at least 16 or lower the concurrency",
        f"admin/db.py:5:10 {cp002}",
        f"api/app/db.py:5:10 {cp002}",
        f"docker-compose.yml:33:21 {cp002}",  # the DATABASE_URL value carrying connection_limit
        f"web/src/analytics.ts:3:26 {cp002}",
    ]
    assert [f"{r.at} {r.message}" for r in analysis.reported[1].finding.related] == [
        "docker-compose.yml:38:5 2 workers",
        "docker-compose.yml:10:17 3 replicas",
        "docker-compose.yml:4:5 4 workers",
        "docker-compose.yml:14:5 2 workers",
        "docker-compose.yml:45:5 max_connections 200",
    ]


def test_connection_budget_per_service(lint):
    from prodlint.model.capacity import connection_budget

    budget = lint("capacity/compose_stack", select="CP").project.view(connection_budget)
    assert {s.service.name: (s.processes, s.connections, s.complete) for s in budget.services()} == {
        "admin": (2, 12, True), "api": (12, 360, True), "worker": (2, 30, True),
        "reports": (2, 0, False), "web": (1, 13, True),
    }
    assert (budget.postgres.available, budget.total) == (195, 415)


def test_engines_that_serve_no_requests_are_left_out(run):
    # Silent: the test_mode branch no caller opens, an engine one call creates and drops, and an
    # Exporter's engine that no module keeps. Store's (a module keeps one) and the engine the
    # lifespan hands to the application serve requests.
    small = ("CP001 pool allows 5 + 10 = 15 connections but 40 requests can use it at once (1 sync FastAPI "
             "handler runs in a 40-thread pool); raise pool_size + max_overflow to at least 40 or lower the concurrency")
    assert run("capacity/engine_lifetimes", select="CP") == [
        f"app/db.py:10:12 {small}",
        f"app/maintenance.py:23:23 {small}",
        f"app/maintenance.py:31:14 {small}",
    ]


def test_pools_record_how_long_their_engine_lives():
    source = Source("app/x.py", (
        "from sqlalchemy import create_engine\n"
        "def once(url, debug=None):\n"
        "    if debug:\n"
        "        e = create_engine(url)\n"
        "        e.dispose()\n"
        "    engine = create_engine(url)\n"
        "    return engine\n"
        "class Repo:\n"
        "    def __init__(self):\n"
        "        self.engine = create_engine('postgresql://x')\n"
    ))
    pools = [f for f in extract_python(source, Config()) if isinstance(f, Pool)]
    assert sorted((p.at.line, p.lifetime, p.owner, p.opt_in) for p in pools) == [
        (4, "call", "", "debug"),
        (6, "shared", "", None),
        (10, "instance", "app.x.Repo", None),
    ]


def test_pool_settings_from_an_ini_file(run, tmp_path):
    # flask_ini: max_overflow = cast(config_ini["database"]["MAX_OVERFLOW"], default=20), and
    # app/config.ini leaves it empty: the default, 5 + 20 for 1000 greenlets per gevent worker
    finding = (
        "app/config.py:15:33 CP001 pool allows 5 + 20 = 25 connections but 1000 requests can use it at once "
        "(each gevent worker serves 1000 requests at once); raise pool_size + max_overflow to at least 1000 or lower the concurrency"
    )
    assert run("capacity/flask_ini", select="CP001") == [finding]
    project = tmp_path / "set"
    shutil.copytree(FIXTURES / "capacity" / "flask_ini", project)
    ini = project / "app" / "config.ini"
    # the file sets it: 5 + 1000 serves them
    ini.write_text(ini.read_text().replace("MAX_OVERFLOW =", "MAX_OVERFLOW = 1000"))
    assert run(project, select="CP001") == []
    # no INI file in the tree sets it: the file read at run time is unknown, so is the pool
    ini.write_text("[database]\nPOOL_RECYCLE = 3600\n")
    assert run(project, select="CP001") == []
