"""Reading command lines: the programs behind shells and wrappers, and server options."""

from __future__ import annotations

import pytest

from prodlint.extract.commands import option_value, postgres_settings, programs, server_commands, split_command
from prodlint.facts.servers import UNKNOWN


def servers(text: str) -> list[tuple]:
    return [(s.program, s.workers, s.threads, s.worker_class, s.dev, s.config_file, s.app)
            for s in server_commands(split_command(text))]


@pytest.mark.parametrize(("text", "argvs"), [
    ('sh -c "alembic upgrade head && exec uvicorn app:app"', [("alembic", "upgrade", "head"), ("uvicorn", "app:app")]),
    ("bash -lc 'python seed.py; gunicorn app:app || true'", [("python", "seed.py"), ("gunicorn", "app:app")]),
    ("/bin/sh -ec 'cd /app\nexec node server.js'", [("node", "server.js")]),
    ("tini -- gosu app dumb-init --single-child ddtrace-run gunicorn app:app", [("gunicorn", "app:app")]),
    ("newrelic-admin run-program opentelemetry-instrument --service_name api uvicorn app:app", [("uvicorn", "app:app")]),
    ("poetry run python -m uvicorn app:app", [("uvicorn", "app:app")]),
    ("uv run --frozen --with gunicorn gunicorn app:app", [("gunicorn", "app:app")]),
    ("pipenv run su-exec app python manage.py migrate", [("python", "manage.py", "migrate")]),
    ("npx --yes nodemon src/index.js", [("nodemon", "src/index.js")]),
    ("./docker-entrypoint.sh gunicorn app:app", [("gunicorn", "app:app")]),
    ("./docker-entrypoint.sh --migrate", [("./docker-entrypoint.sh", "--migrate")]),
    ("/usr/src/app/entrypoint.sh python manage.py runserver", [("python", "manage.py", "runserver")]),
    ("wait-for-it db:5432 -- uvicorn app:app", [("uvicorn", "app:app")]),
    ("sh start.sh", [("sh", "start.sh")]),
])
def test_programs(text, argvs):
    assert [p.argv for p in programs(split_command(text))] == argvs


def test_environment_set_for_a_program():
    found = programs(split_command("sh -c 'export WEB_CONCURRENCY=3; PORT=80 env -u X DEBUG=0 gunicorn app:app'"))
    assert found[0].environment == (("WEB_CONCURRENCY", "3"), ("PORT", "80"), ("DEBUG", "0"))


@pytest.mark.parametrize(("text", "expected"), [
    ("uvicorn app.main:app --host 0.0.0.0", ("uvicorn", None, None, None, None, None, "app.main:app")),
    ("uvicorn app:app --workers 4", ("uvicorn", 4, None, None, None, None, "app:app")),
    ("uvicorn app:app --workers=$WEB_CONCURRENCY", ("uvicorn", UNKNOWN, None, None, None, None, "app:app")),
    ("uvicorn --reload app:app", ("uvicorn", None, None, None, "uvicorn --reload", None, "app:app")),
    ("gunicorn -k uvicorn.workers.UvicornWorker -w4 app:app",
     ("gunicorn", 4, None, "uvicorn.workers.UvicornWorker", None, None, "app:app")),
    ("gunicorn --workers=3 --threads 8 -b :8000 app:app", ("gunicorn", 3, 8, None, None, None, "app:app")),
    ("gunicorn -w $(nproc) app:app", ("gunicorn", UNKNOWN, None, None, None, None, "app:app")),
    ("gunicorn -c gunicorn.conf.py app:app", ("gunicorn", None, None, None, None, "gunicorn.conf.py", "app:app")),
    ("gunicorn --reload app:app", ("gunicorn", None, None, None, "gunicorn --reload", None, "app:app")),
    ("fastapi run app/main.py --workers 2", ("uvicorn", 2, None, None, None, None, "app/main.py")),
])
def test_server_options(text, expected):
    assert servers(text) == [expected]


@pytest.mark.parametrize(("text", "dev"), [
    ("flask run --host 0.0.0.0", "flask run"),
    ("flask --app shop run --debug", "flask run"),
    ("python -m flask run", "flask run"),
    ("python manage.py runserver 0.0.0.0:8000", "manage.py runserver"),
    ("./manage.py runserver", "manage.py runserver"),
    ("django-admin runserver", "django-admin runserver"),
    ("nodemon dist/server.js", "nodemon"),
    ("ts-node-dev --respawn src/main.ts", "ts-node-dev"),
    ("node --watch server.js", "node --watch"),
    ("next dev -p 3000", "next dev"),
    ("vite", "vite"),
    ("vite --host", "vite"),
    ("npm run dev", "npm run dev"),
    ("yarn dev", "yarn dev"),
    ("pnpm dev", "pnpm dev"),
    ("pnpm run dev", "pnpm run dev"),
    ("fastapi dev app/main.py", "fastapi dev"),
])
def test_development_servers(text, dev):
    assert [s.dev for s in server_commands(split_command(text))][-1] == dev


@pytest.mark.parametrize("text", [
    "next start", "vite build", "vite preview", "npm start", "npm run build", "yarn start", "node dist/server.js",
    "python manage.py migrate", "flask db upgrade", "gunicorn app:app", "uvicorn app:app --reload-dir src",
])
def test_production_commands_are_not_development_servers(text):
    assert all(s.dev is None for s in server_commands(split_command(text)))


def test_python_scripts_and_modules():
    script, module = server_commands(split_command("sh -c 'python -u app.py && python3 -m shop.server'"))
    assert (script.program, script.script, script.module) == ("python", "app.py", None)
    assert (module.program, module.script, module.module) == ("python", None, "shop.server")


def test_unsplittable_command():
    assert split_command('uvicorn "app:app') is None
    assert programs(split_command('sh -c "unclosed \'quote"')) == ()


@pytest.mark.parametrize(("argv", "expected"), [
    (("postgres", "-c", "max_connections=200", "-c", "shared_buffers=1GB"), {"max_connections": "200", "shared_buffers": "1GB"}),
    (("docker-entrypoint.sh", "postgres", "--max-connections=50"), {"max_connections": "50"}),
    (("sh", "-c", "exec postgres -c max_connections=300 -c max_connections=400"), {"max_connections": "400"}),
    (("redis-server", "--maxclients", "100"), {}),
])
def test_postgres_settings(argv, expected):
    assert postgres_settings(argv) == expected


@pytest.mark.parametrize(("argv", "names", "expected"), [
    (("gunicorn", "-w", "4", "app:app"), ("-w", "--workers"), "4"),
    (("gunicorn", "--workers=$WORKERS", "app:app"), ("-w", "--workers"), "$WORKERS"),
    (("gunicorn", "-w8", "app:app"), ("-w", "--workers"), "8"),
    (("celery", "-Aproj.celery", "worker"), ("-A", "--app"), "proj.celery"),
    (("uvicorn", "--workers-count", "3"), ("--workers",), None),  # a longer option is not `--workers`
    (("gunicorn", "app:app", "-w"), ("-w",), None),  # no value after it
])
def test_option_value(argv, names, expected):
    assert option_value(argv, *names) == expected
