"""The production-code view: entrypoints, reachability and the role of every file.

Each fixture plants the same finding in request code and in the files that do not
serve requests (scripts, seeds, tests, migrations, copies, generated code, bundles,
test and development stacks): only the request-code one is reported.
"""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from conftest import standalone
from prodlint import cli
from prodlint.model.roles import production_code

FIXTURES = Path(__file__).parent / "fixtures" / "roles"


def roles_of(lint, project: str) -> dict[str, str]:
    analysis = lint(f"roles/{project}")
    view = analysis.project.view(production_code)
    paths = {f.path for f in analysis.project.files} | set(analysis.project.skipped)
    return {path: view.role_of(path).role for path in sorted(paths)}


def test_node_findings_only_in_production_code(run):
    assert run("roles/node_app") == [
        'docker-compose.yml:17:9 DC002 PostgreSQL service "db" publishes port 5432 on all network interfaces '
        '(host port 5432); publish it as "127.0.0.1:5432:5432" or remove it',
        "prisma/schema.prisma:22:3 IX001 foreign key customerId of Order (references Customer) has no index that leads "
        "with it, and PostgreSQL does not index foreign keys itself; add @@index([customerId]) to model Order",
        # Only a script imports it, but it sits beside served code, which may load it in ways prodlint
        # does not follow: request code (src/retention/prune.ts, which only the script loads, is the script's).
        "src/order-stats.ts:4:34 TN001 count on tenant-scoped model Order does not filter by tenantId; "
        "add tenantId to the where clause",
        # The job's sweep and the hand-started ops server need the index too; the scripts', seed's,
        # test's and bundle's queries do not count.
        "src/routes/orders.routes.ts:7:24 IX003 findMany on Order filters on status, but no index serves that "
        "(2 more queries need it); add @@index([status]) to model Order",
        "src/routes/orders.routes.ts:7:24 TN001 findMany on tenant-scoped model Order does not filter by tenantId; "
        "add tenantId to the where clause",
        # It calls start() at the top like a one-off script, but it listens: a server (export-orders.js is the script).
        "src/status-server.ts:7:58 TN001 findMany on tenant-scoped model Order does not filter by tenantId; "
        "add tenantId to the where clause",
        # A job handling one tenant's message (its other query filters by tenantId) is held to the key;
        # the nightly sweep over every tenant beside it is not.
        "src/worker.ts:7:10 TN001 findFirst on tenant-scoped model Order does not filter by tenantId; "
        "add tenantId to the where clause",
    ]


def test_node_roles(lint):
    assert roles_of(lint, "node_app") == {
        "compose.mailer.yml": "dev-config",  # its header says it is for local development
        "debug-orders.js": "script",
        "docker-compose.test.yml": "dev-config",
        "docker-compose.yml": "config",
        "export-orders.js": "script",  # `main().catch(...)` at the top, and no file imports it
        "generated/prisma/schema.prisma": "generated",
        "package.json": "config",
        "prisma/demo-data.ts": "seed",  # package.json `prisma.seed` names it
        "prisma/schema.prisma": "config",
        "prisma/schema_backup_2024.prisma": "copy",
        "public/assets/app.min.js": "bundle",
        "public/assets/vendor.js": "bundle",  # no telling name: minified by shape
        "scripts/fix-orders.ts": "script",
        "scripts/prune-orders.ts": "script",
        "scripts/sync-roles.js": "script",  # run once by `npm start` before the server
        "src/admin-app.ts": "request",
        "src/app.ts": "request",
        "src/auth.ts": "request",
        "src/db.ts": "request",
        "src/order-stats.ts": "request",
        "src/orders.test.ts": "test",
        "src/retention/prune.ts": "script",  # only scripts/prune-orders.ts loads it
        "src/routes/orders.routes.ts": "request",
        "src/server.ts": "request",
        "src/status-server.ts": "request",
        "src/worker.ts": "job",
        "static/admin/assets/orders-Cq3_kZ9a.js": "bundle",  # built asset: `static/**/assets/`
        "tests/e2e/docker-compose.yml": "dev-config",
    }


def test_bundles_and_generated_files_are_counted_not_notified(lint):
    analysis = lint("roles/node_app")
    assert [n for n in analysis.notifications if "bundle" in n.message or "generated" in n.message] == []
    assert analysis.notes == ["skipped 3 bundle files, 1 generated file (not written by hand; --show-files lists them)"]


def test_python_findings_only_in_production_code(run):
    assert run("roles/python_app") == [
        "app/api/orders.py:10:30 PG001 page size limit (FastAPI query parameter) has no upper bound, so one request "
        "can ask for every row; declare a maximum, e.g. Query(20, ge=1, le=100)",
        # Only the job's query counts with it: the scripts' and the test's do not.
        'app/api/orders.py:12:16 IX003 query on Order filters on status, but no index serves that (1 more query needs it); '
        'add Index("ix_orders_status", "status") to Order.__table_args__',
        "app/api/orders.py:12:16 TN001 query on tenant-scoped model Order does not filter by tenant_id; filter on Order.tenant_id",
        # The script's and the test's engines hold no connection of the running service.
        "app/db.py:4:10 CP002 1 replica × 4 workers × (20 + 20) = 160 connections > 97 available (PostgreSQL's default "
        "max_connections 100 − 3 reserved); lower the pool sizes, workers or replicas, raise max_connections, or put "
        "PgBouncer in front",
        # The model copies (in the Alembic revision, legacy/models.py, app/models_old.py) are not the schema:
        # no second IX001.
        "app/models.py:19:5 IX001 foreign key customer_id of Order (references customers) has no index that leads with "
        'it, and PostgreSQL does not index foreign keys itself; add Index("ix_orders_customer_id", "customer_id") to '
        "Order.__table_args__",
        "app/worker.py:13:9 TN001 query on tenant-scoped model Order does not filter by tenant_id; filter on Order.tenant_id",
    ]


def test_show_files_gives_each_role_and_why(monkeypatch, tmp_path):
    monkeypatch.chdir(standalone("roles/python_app", tmp_path))
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli.main(["check", "--no-cache", "--show-files"]) == 0
    assert out.getvalue().splitlines() == [
        "Dockerfile                                config      production configuration",
        "Procfile                                  config      production configuration",
        "alembic/env.py                            migration   in a `alembic/` folder",
        "alembic/versions/0002_backfill_status.py  migration   in a `alembic/` folder",
        "app/__init__.py                           request     imported by app/main.py",
        "app/api/__init__.py                       request     imported by app/main.py",
        "app/api/orders.py                         request     imported by app/main.py",
        "app/db.py                                 request     imported by app/api/orders.py, reached from the entrypoint app/main.py",
        "app/main.py                               request     entrypoint: Dockerfile → `gunicorn app.main:app -k uvicorn.workers.UvicornWorker --workers 4`",
        "app/models.py                             request     imported by app/api/orders.py, reached from the entrypoint app/main.py",
        "app/models_old.py                         copy        a copy of the models by name (models_old.py), not reached from an entrypoint",
        "app/worker.py                             job         entrypoint: Procfile `worker` → `celery -A app.worker worker --loglevel=info`",
        "count_orders.py                           script      does its work when run (line 4) and no file imports it",
        "docker-entrypoint.sh                      config      production configuration",
        "legacy/models.py                          copy        maps the same tables as app/models.py, which the app imports; nothing reaches this file",
        "scripts/__init__.py                       script      in a `scripts/` folder, not reached from an entrypoint",
        "scripts/report.py                         script      in a `scripts/` folder, not reached from an entrypoint",
        "scripts/warm_cache.py                     script      run once before the server starts: Dockerfile → docker-entrypoint.sh → `python -m scripts.warm_cache`",
        "tests/test_orders.py                      test        in a `tests/` folder",
        "entrypoint: app/main.py [request] Dockerfile → `gunicorn app.main:app -k uvicorn.workers.UvicornWorker --workers 4` (Dockerfile:5:1)",
        "entrypoint: app/worker.py [job] Procfile `worker` → `celery -A app.worker worker --loglevel=info` (Procfile:2:1)",
    ]


def test_roles_config_overrides_the_decision(run):
    found = run("roles/python_app", select="TN001", roles=(("request", ("scripts/report.py",)),))
    assert found == [
        "app/api/orders.py:12:16 TN001 query on tenant-scoped model Order does not filter by tenant_id; filter on Order.tenant_id",
        "app/worker.py:13:9 TN001 query on tenant-scoped model Order does not filter by tenant_id; filter on Order.tenant_id",
        "scripts/report.py:7:15 TN001 query on tenant-scoped model Order does not filter by tenant_id; filter on Order.tenant_id",
    ]


def test_without_entrypoints_everything_is_request_code(lint, run):
    assert run("roles/library") == [
        "billing/queries.py:7:12 TN001 query on tenant-scoped model Invoice does not filter by tenant_id; filter on Invoice.tenant_id",
    ]
    assert lint("roles/library").notes == [
        "no production entrypoint found (compose, Dockerfile, Procfile, package.json start, or an application module): "
        "every application file is treated as request code",
    ]


def test_roles_config_is_validated():
    from prodlint.config import ConfigError, from_table

    try:
        from_table({"roles": {"prod": ["x/**"]}})
    except ConfigError as error:
        assert str(error).startswith("`roles.prod` is not a role; roles are request, job, script")
    else:
        raise AssertionError("an unknown role must be rejected")


def test_platform_files_name_entrypoints(lint):
    analysis = lint("roles/platform_app")
    view = analysis.project.view(production_code)
    assert [(e.path, e.role, e.evidence) for e in view.entrypoints] == [
        ("api/src/index.ts", "request", "render `api` → `node dist/index.js`"),
        ("api/src/mailer.ts", "job", "render `mailer` → `node dist/mailer.js`"),
        ("tools/pkg/server.py", "request", "pyproject `ops-serve` → `python -m pkg.server`"),
    ]
    assert roles_of(lint, "platform_app") == {
        "api/scripts/backfill.js": "script",  # Render's preDeployCommand runs once per deploy
        "api/src/index.ts": "request",
        "api/src/mailer.ts": "job",
        "api/src/outbox.ts": "job",
        "render.yaml": "config",
        "tools/pkg/__init__.py": "request",
        "tools/pkg/handlers.py": "request",
        "tools/pkg/server.py": "request",
        "tools/pyproject.toml": "config",
    }


def test_apps_no_command_starts(lint):
    view = lint("roles/node_app").project.view(production_code)
    assert [path for path in ("src/app.ts", "src/admin-app.ts", "src/worker.ts") if view.started(path)] == ["src/app.ts"]


def test_fastapi_cli_runs_the_conventional_module(tmp_path, lint):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text("from app import routes\n")
    (tmp_path / "app" / "routes.py").write_text("x = 1\n")
    (tmp_path / "Dockerfile").write_text('FROM python:3.12\nWORKDIR /code\nCMD ["fastapi", "run", "--workers", "4"]\n')
    view = lint(tmp_path).project.view(production_code)
    assert [(e.path, e.evidence) for e in view.entrypoints] == [("app/main.py", "Dockerfile → `fastapi run --workers 4`")]
    assert view.role_of("app/routes.py").reason == "imported by app/main.py"


def test_compose_overlays_join_their_base_and_alternative_stacks_stand_alone(run):
    assert run("roles/compose_stacks", select=("DC", "CP")) == [
        # my.yml and pg.yml are two stacks of one folder: pg's limits are not my app's
        'alternatives/docker-compose.my.yml:2:3 DC001 service "app" has no memory limit and no CPU limit; '
        "set deploy.resources.limits.memory and deploy.resources.limits.cpus",
        'alternatives/docker-compose.pg.yml:11:9 DC002 PostgreSQL service "db" publishes port 5432 on all network '
        'interfaces (host port 5432); publish it as "127.0.0.1:5432:5432" or remove it',
        # The big stack runs on its own (its header says so): its connections are not added to the base stack's.
        'app.py:4:10 CP002 service "app": 2 replicas × 2 workers × (20 + 10) = 120 connections > 97 available '
        "(PostgreSQL's default max_connections 100 − 3 reserved); lower the pool sizes, workers or replicas, raise "
        "max_connections, or put PgBouncer in front",
        # The prod overlay's port and memory limit join the base's services.
        'docker-compose.prod.yml:10:9 DC002 PostgreSQL service "db" publishes port 5432 on all network interfaces '
        '(host port 5433); publish it as "127.0.0.1:5433:5432" or remove it',
        'docker-compose.yml:2:3 DC001 service "api" has a memory limit but no CPU limit; '
        "set deploy.resources.limits.cpus (or cpus)",
    ]


def test_compose_stacks_say_why(lint):
    from prodlint.model.services import services

    view = lint("roles/compose_stacks").project.view(services)
    assert {path: (stack.stack, stack.reason) for path, stack in view.stacks.items()} == {
        "alternatives/docker-compose.my.yml": ("alternatives/docker-compose.my.yml",
                                               "a stack of its own: the folder has no base compose file"),
        "alternatives/docker-compose.pg.yml": ("alternatives/docker-compose.pg.yml",
                                               "a stack of its own: the folder has no base compose file"),
        "docker-compose.big.yml": ("docker-compose.big.yml", "its header runs it on its own (`-f docker-compose.big.yml`)"),
        "docker-compose.prod.yml": ("docker-compose.yml", "an overlay of docker-compose.yml: adds keys to its service `api`"),
        "docker-compose.yml": ("docker-compose.yml", "the folder's base compose file"),
    }
    assert sorted((s.stack, s.name) for s in view.production()) == [
        ("alternatives/docker-compose.my.yml", "app"), ("alternatives/docker-compose.my.yml", "db"),
        ("alternatives/docker-compose.pg.yml", "app"), ("alternatives/docker-compose.pg.yml", "db"),
        ("docker-compose.big.yml", "app"), ("docker-compose.big.yml", "db"),
        ("docker-compose.yml", "api"), ("docker-compose.yml", "db"),
    ]


BASE_STACK = "services:\n  api:\n    build: .\n  db:\n    image: postgres:16\n"


@pytest.mark.parametrize(("second", "stack", "reason"), [
    # the app built elsewhere, its own database: a whole second stack
    ("services:\n  api:\n    image: ghcr.io/acme/api\n  crm-db:\n    image: postgres:16\n",
     "docker-compose.vps.yml",
     "a stack of its own: every service has its own image or build, and `crm-db` is not in docker-compose.yml"),
    # every service again, each complete: another way to run the same stack
    ("services:\n  api:\n    build: .\n  db:\n    image: mysql:8\n",
     "docker-compose.vps.yml", "a stack of its own: it defines every service of docker-compose.yml, each with its own image or build"),
    # the base's database with another image, but not the application: an overlay
    ("services:\n  db:\n    image: postgres:17\n  mail:\n    image: mailhog/mailhog\n",
     "docker-compose.yml", "an overlay of docker-compose.yml: it redefines `db` but not the application service `api`"),
    ("services:\n  api:\n    environment:\n      - WORKERS=4\n",
     "docker-compose.yml", "an overlay of docker-compose.yml: adds keys to its service `api`"),
    # the header shows it run over the base, whatever it defines
    ("# docker compose -f docker-compose.yml -f docker-compose.vps.yml up -d\n"
     "services:\n  api:\n    image: ghcr.io/acme/api\n  crm-db:\n    image: postgres:16\n",
     "docker-compose.yml", "its header runs it over docker-compose.yml (`-f docker-compose.yml -f docker-compose.vps.yml`)"),
])
def test_a_second_compose_file_is_an_overlay_or_a_stack_of_its_own(tmp_path, lint, second, stack, reason):
    from prodlint.model.services import services

    (tmp_path / "docker-compose.yml").write_text(BASE_STACK)
    (tmp_path / "docker-compose.vps.yml").write_text(second)
    view = lint(tmp_path).project.view(services)
    decided = view.stacks["docker-compose.vps.yml"]
    assert (decided.stack, decided.reason) == (stack, reason)


def test_a_production_overlay_that_restates_every_service_is_read_by_its_name(tmp_path, lint):
    from prodlint.model.services import services

    (tmp_path / "docker-compose.yml").write_text(BASE_STACK)
    (tmp_path / "docker-compose.prod.yml").write_text("services:\n  api:\n    image: ghcr.io/acme/api\n  db:\n    image: postgres:16\n")
    decided = lint(tmp_path).project.view(services).stacks["docker-compose.prod.yml"]
    assert (decided.stack, decided.reason) == ("docker-compose.yml", "an overlay of docker-compose.yml by its name: it redefines the base's services")


def test_package_bin_names_the_entrypoint_when_there_is_no_start_or_main(tmp_path, lint):
    (tmp_path / "package.json").write_text('{"name": "orders-cli", "bin": {"orders": "cli/orders.js"}}\n')
    (tmp_path / "cli").mkdir()
    (tmp_path / "cli" / "orders.js").write_text('const { listOrders } = require("../lib/orders");\n\nlistOrders();\n')
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "orders.js").write_text("exports.listOrders = () => [];\n")
    view = lint(tmp_path).project.view(production_code)
    assert [(e.path, e.evidence) for e in view.entrypoints] == [("cli/orders.js", "`bin` of package.json")]
    assert view.role_of("lib/orders.js").reason == "imported by cli/orders.js"


def test_prisma_config_names_the_live_schema(tmp_path, lint):
    schema = 'datasource db {\n  provider = "postgresql"\n  url = env("DATABASE_URL")\n}\n\nmodel Order {\n  id Int @id\n}\n'
    for folder in ("db", "prisma"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "schema.prisma").write_text(schema)
    (tmp_path / "prisma.config.ts").write_text(
        'import { defineConfig } from "prisma/config";\n\nexport default defineConfig({\n  schema: "prisma/schema.prisma",\n});\n')
    view = lint(tmp_path).project.view(production_code)
    assert {path: (view.role_of(path).role, view.role_of(path).reason) for path in ("db/schema.prisma", "prisma/schema.prisma", "prisma.config.ts")} == {
        "db/schema.prisma": ("copy", "the same models as prisma/schema.prisma, which is the schema in use"),
        "prisma/schema.prisma": ("config", "the schema the app's scripts name (`--schema`/`prisma.schema`/`prisma.config.ts`)"),
        "prisma.config.ts": ("config", "Prisma configuration (`prisma.config.*`)"),
    }
