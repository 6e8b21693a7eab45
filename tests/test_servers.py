"""Server rules SV001 / SV002, the Dockerfile, Procfile and Python extractors behind them, and the services view."""

from __future__ import annotations

from prodlint.config import Config
from prodlint.extract import Source
from prodlint.extract.dockerfile import extract_dockerfile
from prodlint.extract.procfile import extract_procfile
from prodlint.extract.python import extract_python
from prodlint.facts.servers import UNKNOWN, ServerRun
from prodlint.model.services import services

NO_REPLICAS = "has no replicas"


def test_development_servers_in_production(run):
    assert run("servers/compose_app", select="SV001") == [
        "Procfile:1:1 SV001 flask run starts Flask's development server; serve the app with gunicorn (gunicorn -w 4 app:app)",
        "admin/Dockerfile:5:1 SV001 npm run dev runs the development script; build the app and run its production start script",
        "docker-compose.yml:63:5 SV001 uvicorn runs with --reload, a development server; "
        "drop --reload and run uvicorn under gunicorn or with --workers",
        "docker-compose.yml:72:5 SV001 python app.py runs app.run(debug=True) at legacy/app.py:12, "
        "Flask's development server with the interactive debugger; serve the app with gunicorn",
        "docker-compose.yml:96:5 SV001 python -m shop.devserver runs uvicorn.run(reload=True) at api/shop/devserver.py:4, "
        "a development server; drop reload=True and pass workers=4",
        "legacy/Dockerfile:4:1 SV001 python /srv/app.py runs app.run(debug=True) at legacy/app.py:12, "
        "Flask's development server with the interactive debugger; serve the app with gunicorn",
        # Built as `target: dev` by a production compose service; the final stage runs node.
        "web/Dockerfile:8:1 SV001 npm run dev runs the development script; build the app and run its production start script",
    ]


def test_single_worker_servers(run):
    assert run("servers/compose_app", select="SV002") == [
        f'api/Dockerfile:6:1 SV002 uvicorn runs a single worker process (uvicorn\'s default) and service "api-default" '
        f"{NO_REPLICAS}; set --workers 4 (or deploy.replicas)",
        f'docker-compose.yml:4:5 SV002 uvicorn runs a single worker process (uvicorn\'s default) and service '
        f'"migrate-and-serve" {NO_REPLICAS}; set --workers 4 (or deploy.replicas)',
        f'docker-compose.yml:30:5 SV002 gunicorn runs a single worker process (gunicorn\'s default) and service '
        f'"gunicorn-single" {NO_REPLICAS}; set -w 4 (or deploy.replicas)',
        f'docker-compose.yml:47:5 SV002 gunicorn runs a single worker process (WEB_CONCURRENCY=1) and service '
        f'"concurrency-one" {NO_REPLICAS}; set -w 4 (or deploy.replicas)',
        f'docker-compose.yml:76:5 SV002 gunicorn runs a single worker process (workers = 1 in billing/gunicorn.conf.py) '
        f'and service "billing" {NO_REPLICAS}; set -w 4 (or deploy.replicas)',
        f'docker-compose.yml:92:5 SV002 python -m shop.serve runs uvicorn.run() at api/shop/serve.py:4 with a single '
        f'worker process and service "script-runner" {NO_REPLICAS}; pass workers=4 (or set deploy.replicas)',
    ]


def test_findings_point_at_the_evidence(lint):
    analysis = lint("servers/compose_app", select="SV")
    related = sorted((str(r.at), tuple(f"{x.at}: {x.message}" for x in r.finding.related))
                     for r in analysis.reported if r.finding.related)
    assert related == [
        ("docker-compose.yml:47:5", ("docker-compose.yml:49:9: WEB_CONCURRENCY=1",)),
        ("docker-compose.yml:72:5", ("legacy/app.py:12:5: app.run(debug=True)",)),
        ("docker-compose.yml:76:5", ("billing/gunicorn.conf.py:2:11: workers = 1 in billing/gunicorn.conf.py",)),
        ("docker-compose.yml:92:5", ("api/shop/serve.py:4:5: uvicorn.run() here",)),
        ("docker-compose.yml:96:5", ("api/shop/devserver.py:4:5: uvicorn.run(reload=True)",)),
        ("legacy/Dockerfile:4:1", ("legacy/app.py:12:5: app.run(debug=True)",)),
    ]


def test_services_view_joins_compose_and_dockerfiles(lint):
    view = lint("servers/compose_app", select="SV").project.view(services)
    by_name = {s.name: s for s in view.all if not s.dev}
    default = by_name["api-default"]
    assert (default.context, default.dockerfile.path, default.stage.workdir) == ("api", "api/Dockerfile", "/app")
    assert default.process.argv[:2] == ("uvicorn", "shop.main:app")
    split = by_name["gunicorn-split"].process
    assert split.argv == ("gunicorn", "-k", "uvicorn.workers.UvicornWorker", "-w", "4", "shop.main:app")
    assert by_name["api-scaled"].replicas == 3 and by_name["scaled-by-variable"].replicas == UNKNOWN
    assert by_name["concurrency-env"].env_value("WEB_CONCURRENCY").value == "4"
    assert by_name["concurrency-deploy-time"].env_value("WEB_CONCURRENCY") == UNKNOWN
    assert by_name["env-file-elsewhere"].env_value("WEB_CONCURRENCY") == UNKNOWN  # .env.production is not in the tree
    assert by_name["frontend-dev-stage"].stage.name == "dev" and by_name["frontend"].stage.name == "runtime"
    assert [(s.name, s.dev) for s in view.all if s.name in ("debug-tools", "migrate-and-serve")] == [
        ("migrate-and-serve", True), ("migrate-and-serve", False), ("debug-tools", True),  # the dev file; profiles
    ]


# --- Dockerfile ------------------------------------------------------------------------------


def stages(text: str):
    (dockerfile,) = extract_dockerfile(Source("Dockerfile", text), Config())
    return dockerfile.stages


def test_dockerfile_forms_continuations_and_inheritance():
    found = stages(
        "# escape=`\n"
        "FROM python:3.12 AS base\n"
        "ENV WEB_CONCURRENCY=4 `\n"
        "    # a comment inside the continuation\n"
        "    APP_ENV=\"prod uction\"\n"
        "ENV LEGACY value with spaces\n"
        "WORKDIR /srv\n"
        "WORKDIR app\n"
        "cmd [\"gunicorn\", \"app:app\"]\n"
        "\n"
        "FROM base AS worker\n"
        "ENTRYPOINT [\"tini\", \"--\"]\n"
        "\n"
        "FROM base\n"
        "RUN <<EOF\n"
        "CMD this is a heredoc line, not an instruction\n"
        "EOF\n"
        "SHELL [\"/bin/bash\", \"-lc\"]\n"
        "ENTRYPOINT exec gunicorn app:app\n"
        "CMD [\"ignored by a shell-form entrypoint\"]\n"
    )
    base, worker, final = found
    assert [(v.name, v.value.raw) for v in base.env] == [("WEB_CONCURRENCY", "4"), ("APP_ENV", "prod uction"), ("LEGACY", "value with spaces")]
    assert base.workdir == "/srv/app" and base.cmd.argv == ("gunicorn", "app:app") and base.cmd.at.line == 9
    assert worker.cmd is None and worker.entrypoint.argv == ("tini", "--")  # ENTRYPOINT clears the inherited CMD
    assert final.name is None and final.entrypoint.argv == ("/bin/bash", "-lc", "exec gunicorn app:app")
    assert final.entrypoint.shell_form and final.entrypoint.at.line == 19 and final.cmd.at.line == 20


def test_dockerfile_without_from_has_no_stages():
    # A Jinja-templated or broken Dockerfile is docker's to reject; nothing runs from it here.
    assert stages("{% if dev %}\nCMD [\"node\"]\n") == ()


def test_procfile_lines():
    entries = list(extract_procfile(Source("Procfile", "# comment\nweb: gunicorn app:app\n\nworker:celery worker\n"), Config()))
    assert [(e.process, e.command.text, e.command.at.line) for e in entries] == [
        ("web", "gunicorn app:app", 2), ("worker", "celery worker", 4),
    ]


# --- Python: servers started from code ------------------------------------------------------


def runs(text: str) -> list[tuple]:
    found = extract_python(Source("pkg/app.py", text), Config())
    return [(r.kind, r.dev, r.workers, r.under_main, r.at.line) for r in found if isinstance(r, ServerRun)]


def test_run_calls_that_execute_as_a_script():
    assert runs(
        "import uvicorn as uv\n"
        "from flask import Flask\n"
        "app = Flask(__name__)\n"
        "def main():\n"
        "    uv.run('pkg.app:app', workers=int(WORKERS))\n"
        "if __name__ == '__main__':\n"
        "    main()\n"
        "    app.run(port=5000)\n"
    ) == [("flask", "app.run()", None, True, 8), ("uvicorn", None, UNKNOWN, True, 5)]


def test_run_calls_that_do_not_run_or_are_not_servers():
    assert runs(
        "from flask import Flask\n"
        "from uvicorn import run\n"
        "import settings\n"
        "app = Flask(__name__)\n"
        "def serve():\n"
        "    app.run(debug=True)\n"  # never called from the main block
        "if settings.DEBUG:\n"
        "    app.run(debug=True)\n"  # only sometimes
        "if __name__ == '__main__':\n"
        "    run('pkg.app:app', workers=4)\n"
        "    subprocess.run(['ls'])\n"
    ) == [("uvicorn", None, 4, True, 10)]


def test_entrypoint_scripts_and_their_environment(run):
    # web: the image's entrypoint script runs gunicorn --workers $WORKERS, and compose sets WORKERS=1;
    # web-default keeps the script's default of 4; branchy's server depends on a branch; granian
    # says --workers 1; passthrough's script hands over to its command, which runs 2 replicas;
    # noext's entrypoint `./run` is a script without an extension.
    assert run("servers/entrypoint_app", select="SV") == [
        "docker-compose.yml:16:5 SV002 granian runs a single worker process (--workers 1) and service \"granian\" has no "
        "replicas; set --workers 4 (or deploy.replicas)",
        "docker-entrypoint.sh:12:1 SV002 gunicorn runs a single worker process (--workers $WORKERS with WORKERS=1 "
        "(docker-compose.yml:5)) and service \"web\" has no replicas; set -w 4 (or deploy.replicas)",
        "noext/run:3:1 SV002 uvicorn runs a single worker process (uvicorn's default) and service \"noext\" has no "
        "replicas; set --workers 4 (or deploy.replicas)",
    ]


def test_entrypoint_script_worker_class_and_one_shot_steps(run):
    # the script's WORKER_CLASS default (gevent) sets the concurrency; wait_db.py, a step the script
    # runs before the server, holds no pool that requests share
    found = run("servers/entrypoint_app", select="CP001")
    assert found == [
        "app/db.py:3:10 CP001 pool allows 5 + 20 = 25 connections but 1000 requests can use it at once (each gevent "
        "worker serves 1000 requests at once); raise pool_size + max_overflow to at least 1000 or lower the concurrency",
    ]


def test_shell_scripts_record_commands_and_defaults():
    from prodlint.config import Config
    from prodlint.extract import Source
    from prodlint.extract.shell import extract_shell
    from prodlint.facts.shell import ShellScript

    text = (
        "#!/bin/sh\n"
        "WORKERS=${WORKERS:-2}\n"
        "export MODE=prod\n"
        ": ${PORT:=8000}\n"
        "if [ -n \"$X\" ]; then\n"
        "  echo nested\n"
        "fi\n"
        "exec uvicorn app:app \\\n"
        "  --workers $WORKERS\n"
    )
    [script] = [f for f in extract_shell(Source("start.sh", text), Config()) if isinstance(f, ShellScript)]
    assert [(c.command.at.line, c.command.argv, c.nested) for c in script.commands] == [
        (6, ("echo", "nested"), True),
        (8, ("uvicorn", "app:app", "--workers", "$WORKERS"), False),
    ]
    assert [(v.name, v.value, v.default) for v in script.variables] == [
        ("WORKERS", "2", True), ("MODE", "prod", False), ("PORT", "8000", True),
    ]
    assert not script.passes_arguments


def test_shell_scripts_split_lines_into_simple_commands():
    from prodlint.config import Config
    from prodlint.extract import Source
    from prodlint.extract.shell import extract_shell
    from prodlint.facts.shell import ShellScript

    text = (
        "#!/bin/sh\n"
        "set -e\n"
        "alembic upgrade head && python seed.py || true\n"
        "if [ \"$1\" = worker ]; then exec celery -A app worker; fi\n"
        "case \"$ROLE\" in\n"
        "  web) exec gunicorn app:app ;;\n"
        "  *) exec \"$@\" ;;\n"
        "esac\n"
        "su-exec app sh -c 'a && b' | tee log\n"
        "exec \"$@\"\n"
    )
    [script] = [f for f in extract_shell(Source("docker-entrypoint.sh", text), Config()) if isinstance(f, ShellScript)]
    assert [(c.command.at.line, c.command.argv, c.nested) for c in script.commands] == [
        (2, ("set", "-e"), False),
        (3, ("alembic", "upgrade", "head"), False),
        (3, ("python", "seed.py"), False),
        (3, ("true",), False),
        (4, ("celery", "-A", "app", "worker"), True),  # a one-line `if`: inside the branch
        # `case` patterns name no command; a quoted `&&` stays in its command
        (9, ("su-exec", "app", "sh", "-c", "a && b"), False),
        (9, ("tee", "log"), False),
        (10, ("$@",), False),
    ]
    assert script.passes_arguments
