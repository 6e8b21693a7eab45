"""Application servers: development servers in production (SV001), single-worker servers (SV002)."""

from __future__ import annotations

from collections.abc import Iterator

from prodlint.facts.servers import ServerCommand, ServerRun
from prodlint.model.services import Service, services
from prodlint.project import Project
from prodlint.rules import Finding, Related, rule

# What each development server is, and what runs in production instead.
DEV_SERVERS = {
    "uvicorn --reload": "uvicorn runs with --reload, a development server; drop --reload and run uvicorn under gunicorn or with --workers",
    "fastapi --reload": "fastapi run runs with --reload, a development server; drop --reload and set --workers",
    "gunicorn --reload": "gunicorn runs with --reload, which restarts workers whenever a file changes; drop --reload",
    "hypercorn --reload": "hypercorn runs with --reload, a development server; drop --reload and set --workers",
    "granian --reload": "granian runs with --reload, a development server; drop --reload and set --workers",
    "fastapi dev": "fastapi dev starts the development server (auto-reload, one process); use fastapi run --workers 4",
    "flask run": "flask run starts Flask's development server; serve the app with gunicorn (gunicorn -w 4 app:app)",
    "manage.py runserver": "manage.py runserver starts Django's development server; serve the project with gunicorn (gunicorn -w 4 project.wsgi)",
    "manage.py runserver_plus": "manage.py runserver_plus starts a development server with a debugger; serve the project with gunicorn",
    "django-admin runserver": "django-admin runserver starts Django's development server; serve the project with gunicorn (gunicorn -w 4 project.wsgi)",
    "nodemon": "nodemon restarts the app whenever a file changes, a development tool; build the app and run node directly",
    "ts-node-dev": "ts-node-dev compiles TypeScript on the fly and restarts on changes, a development tool; compile with tsc and run node on the output",
    "node --watch": "node --watch restarts the app whenever a file changes, a development mode; drop --watch",
    "tsx watch": "tsx watch restarts the app whenever a file changes, a development tool; compile the app and run node on the output",
    "next dev": "next dev starts Next.js's development server; run next build and next start",
    "nuxt dev": "nuxt dev starts Nuxt's development server; run nuxt build and node .output/server/index.mjs",
    "nuxi dev": "nuxi dev starts Nuxt's development server; run nuxi build and node .output/server/index.mjs",
    "astro dev": "astro dev starts Astro's development server; build the site and serve the output",
    "remix dev": "remix dev starts Remix's development server; run remix build and remix-serve",
    "svelte-kit dev": "svelte-kit dev starts SvelteKit's development server; build with an adapter and run its output",
    "vite": "vite starts Vite's development server; run vite build and serve dist/ with a web server",
    "vite dev": "vite dev starts Vite's development server; run vite build and serve dist/ with a web server",
    "vite serve": "vite serve starts Vite's development server; run vite build and serve dist/ with a web server",
    "ng serve": "ng serve starts Angular's development server; run ng build and serve dist/ with a web server",
    "vue-cli-service serve": "vue-cli-service serve starts Vue's development server; build and serve dist/ with a web server",
    "webpack serve": "webpack serve starts webpack's development server; build and serve the output with a web server",
    "webpack-dev-server": "webpack-dev-server is webpack's development server; build and serve the output with a web server",
    "react-scripts start": "react-scripts start starts Create React App's development server; run react-scripts build and serve build/",
}
# (kind, why) of a `.run(` call -> the call as shown, and what it is.
CODE_DEV_SERVERS = {
    ("flask", "debug=True"): ("app.run(debug=True)", "Flask's development server with the interactive debugger; serve the app with gunicorn"),
    ("flask", "app.run()"): ("app.run()", "Flask's development server; serve the app with gunicorn"),
    ("uvicorn", "reload=True"): ("uvicorn.run(reload=True)", "a development server; drop reload=True and pass workers=4"),
}


@rule("SV001")
def dev_server_in_production(project: Project) -> Iterator[Finding]:
    view = project.view(services)
    for launch in view.launches():
        for server in launch.process.servers:
            at = launch.process.at(server)
            if server.dev is not None:
                yield Finding("SV001", _dev_message(server.dev), at)
            for run in view.script_runs(launch, server):
                if run.dev is not None:
                    call, why = CODE_DEV_SERVERS[(run.kind, run.dev)]
                    yield Finding("SV001", f"{_shown(server)} runs {call} at {run.at.path}:{run.at.line}, {why}",
                                  at, (Related(run.at, call),))


@rule("SV002")
def single_worker_server(project: Project) -> Iterator[Finding]:
    view = project.view(services)
    for launch in view.launches():
        service = launch.service
        server = launch.process.web_server
        if service is None or server is None or server.dev is not None or service.replicas not in (None, 1):
            continue
        at = launch.process.at(server)
        if server.program in ("uvicorn", "gunicorn", "hypercorn", "granian"):
            workers = view.workers(launch, server)
            if workers.count == 1:
                flag = "-w 4" if server.program == "gunicorn" else "--workers 4"
                yield Finding("SV002", f"{server.program} runs a single worker process ({workers.evidence}) and "
                              f"{_replicas(service)}; set {flag} (or deploy.replicas)", at,
                              (Related(workers.at, workers.evidence),) if workers.at and workers.at != at else ())
        for run in _single_worker_runs(view.script_runs(launch, server)):
            yield Finding("SV002", f"{_shown(server)} runs uvicorn.run() at {run.at.path}:{run.at.line} with a single "
                          f"worker process and {_replicas(service)}; pass workers=4 (or set deploy.replicas)", at,
                          (Related(run.at, "uvicorn.run() here"),))


def _single_worker_runs(runs: tuple[ServerRun, ...]) -> Iterator[ServerRun]:
    return (run for run in runs if run.kind == "uvicorn" and run.dev is None and run.workers in (None, 1))


def _dev_message(dev: str) -> str:
    if dev in DEV_SERVERS:
        return DEV_SERVERS[dev]
    # `npm run dev`, `yarn dev`: a package script named for development.
    return f"{dev} runs the development script; build the app and run its production start script"


def _shown(server: ServerCommand) -> str:
    return f"python -m {server.module}" if server.module else f"python {server.script}"


def _replicas(service: Service) -> str:
    if service.replicas == 1:
        return f'service "{service.name}" runs 1 replica'
    return f'service "{service.name}" has no replicas'
