"""The production-code view: what starts in production, and the role of every file.

`project.view(production_code)` gives `ProductionCode`:

- entrypoints: the files a production process starts, from compose services,
  Dockerfiles and Procfiles (through `sh -c`, entrypoint scripts in the tree and
  `npm start`), from `package.json` `start`/`main`, and the conventional
  application modules (`FastAPI()`, `Flask(__name__)`, `express()`) and worker
  applications (`Celery()`, BullMQ `new Worker()`, `cron.schedule()`);
- reachability: the import closure of the request entrypoints is `request` code;
  what only worker entrypoints reach is `job` code;
- every other file is classified by what it is (`test`, `migration`, `seed`,
  `script`, `generated`, `copy`, `dev-config`, `bundle`), and application code
  that nothing reaches stays `request` (an unmounted router is still the
  application's, and unknown is not absent).

Every decision carries its reason, which `--show-files` prints. Rules do not
decide this for themselves: `allowed(code, path)` says whether a rule reports
in a file.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from prodlint.extract.generated import GENERATED_DIRECTORIES
from prodlint.extract.commands import Invocation, inside_workdir, option_value, programs, split_command
from prodlint.facts import Location
from prodlint.facts.modules import Import
from prodlint.facts.data import Model, Query
from prodlint.facts.roles import ComposeHeader, PackageManifest, PlatformProcess, PrismaConfig, SourceTraits
from prodlint.facts.shell import ShellScript
from prodlint.facts.routes import Router
from prodlint.model.modules import ModuleIndex, is_python, module_index
from prodlint.project import Project, glob_matches

REQUEST, JOB, SCRIPT, TEST, MIGRATION, SEED = "request", "job", "script", "test", "migration", "seed"
GENERATED, COPY, DEV_CONFIG, BUNDLE, CONFIG = "generated", "copy", "dev-config", "bundle", "config"
ROLES = (REQUEST, JOB, SCRIPT, TEST, MIGRATION, SEED, GENERATED, COPY, DEV_CONFIG, BUNDLE, CONFIG)

# Where each rule family reports. Indexes also read configuration (schemas, SQL);
# containers, servers and nginx read production configuration only.
FAMILY_ROLES = {
    "RT": frozenset({REQUEST}),
    "TN": frozenset({REQUEST}),
    "PG": frozenset({REQUEST}),
    "CP": frozenset({REQUEST, JOB, CONFIG}),
    "IX": frozenset({REQUEST, JOB, CONFIG}),
    "SV": frozenset({REQUEST, JOB, CONFIG}),
    "DC": frozenset({CONFIG}),
    "NX": frozenset({CONFIG}),
}
# Facts that describe the running system (pools, models) are read from these files only.
LIVE_ROLES = frozenset({REQUEST, JOB, CONFIG})

TEST_DIRECTORIES = frozenset({
    "test", "tests", "__tests__", "spec", "specs", "e2e", "__mocks__", "cypress", "playwright", "testing", "test-utils",
})
TEST_FILES = (
    "*.test.*", "*.spec.*", "*.e2e.*", "test_*.py", "*_test.py", "conftest.py", "tests.py",
    "jest.config.*", "jest.setup.*", "vitest.config.*", "vitest.setup.*", "playwright.config.*", "cypress.config.*",
    "karma.conf.*", ".mocharc.*",
)
MIGRATION_DIRECTORIES = frozenset({"migrations", "migration", "alembic", "versions", "migrate"})
SEED_DIRECTORIES = frozenset({"seeds", "seeders", "seed", "fixtures-data"})
SCRIPT_DIRECTORIES = frozenset({"scripts", "script", "tools", "bin", "maintenance", "ops", "devtools"})
# One-off files a developer runs by hand, by the words their names start with.
SCRIPT_NAMES = re.compile(r"^(?:debug|fix|check|verify|test|try|tmp|temp|scratch|audit|diagnose|repair|nuke|reset|backfill|migrate|cleanup|inspect|dump|populate|bootstrap|create[-_]admin|create[-_]superuser)(?:[-_.]|[A-Z]|\d|$)")
SEED_NAMES = re.compile(r"(?:^|[-_.])seed(?:s|er|ing)?(?:[-_.]|$)", re.IGNORECASE)
COPY_NAMES = re.compile(r"(?:^|[-_.])(?:backup|bak|baseline|copy|old|orig|remote|snapshot|archive|prev|previous)(?:[-_.\d]|$)", re.IGNORECASE)
# Compose, Dockerfile, nginx and env files for other environments, by a segment of the name or a folder.
DEV_SEGMENT = re.compile(r"(?:^|[-_.])(?:dev|develop|development|local|test|tests|testing|ci|e2e|debug|cypress|playwright|sandbox)(?:[-_.]|$)", re.IGNORECASE)
DEV_DIRECTORIES = frozenset({"tests", "test", "e2e", ".ci", "ci", ".github", ".devcontainer", "cypress", "playwright", "dev", "local"})
DEV_HEADER = re.compile(r"\b(?:for|only for|used for|intended for)\s+(?:local\s+)?(?:development|testing|tests|ci|e2e)\b|\bdevelopment (?:only|environment|stack|setup)\b|\bdo not use in production\b|\bnot for production\b", re.IGNORECASE)
CONFIG_KINDS = frozenset({"platform", "compose", "yaml", "dockerfile", "procfile", "nginx", "dotenv", "postgresql-conf", "prisma", "sql", "tsconfig", "package-json", "shell"})
# Servers whose process serves requests / runs jobs.
JOB_PROGRAMS = frozenset({"celery", "rq", "rqworker", "dramatiq", "arq", "huey_consumer", "huey_consumer.py"})
PYTHON_SERVERS = frozenset({"uvicorn", "gunicorn", "hypercorn", "granian", "daphne", "fastapi", "waitress-serve"})
NODE_RUNNERS = frozenset({"node", "ts-node", "tsx", "bun", "deno", "nodemon", "ts-node-dev", "pm2", "pm2-runtime", "forever"})
NPM = frozenset({"npm", "yarn", "pnpm", "bun"})
PROCFILE_JOBS = frozenset({"worker", "clock", "beat", "scheduler", "cron", "jobs", "queue"})
OUT_DIRECTORIES = ("dist", "build", "out", "lib")
MAX_LAUNCH_DEPTH = 8


@dataclass(frozen=True, slots=True)
class FileRole:
    role: str
    reason: str


@dataclass(frozen=True, slots=True)
class Entrypoint:
    """A file a production process starts, and what says so."""

    path: str
    role: str  # request | job
    evidence: str
    at: Location | None = None
    launched: bool = True  # named by a command (compose, Dockerfile, Procfile, npm, platform), not by convention


NOT_REACHED = FileRole(REQUEST, "application code not reached from an entrypoint")


def path_directories(path: str) -> list[str]:
    return path.split("/")[:-1]


def test_reason(path: str) -> str | None:
    *directories, name = path.split("/")
    folder = next((d for d in directories if d in TEST_DIRECTORIES), None)
    if folder is not None:
        return f"in a `{folder}/` folder"
    pattern = next((p for p in TEST_FILES if fnmatch.fnmatchcase(name, p)), None)
    return f"test file name (`{pattern}`)" if pattern else None


def dev_config_reason(path: str, header: str | None = None) -> str | None:
    """Why a compose, Dockerfile, nginx or env file is for another environment than production."""
    *directories, name = path.split("/")
    folder = next((d for d in directories if d in DEV_DIRECTORIES or d.endswith(("-test", "_test", "-tests", "-e2e"))), None)
    if folder is not None:
        return f"in a `{folder}/` folder"
    stem = name.removeprefix(".")
    for known in ("docker-compose", "compose", "Dockerfile", "nginx", "env", "Procfile"):
        stem = stem.removeprefix(known)
    match = DEV_SEGMENT.search(stem)
    if match is not None:
        return f"name says `{match.group(0).strip('-_.')}`"
    if header is not None and DEV_HEADER.search(header):
        return f"its header says so ({header[:80]!r})"
    return None


def override_of(project: Project, path: str) -> FileRole | None:
    """The role `[tool.prodlint.roles]` gives a file, if any (first matching role wins, in name order)."""
    for role, globs in project.config.roles:
        glob = next((g for g in globs if glob_matches(path, g)), None)
        if glob is not None:
            return FileRole(role, f"roles config: `{glob}`")
    return None


def dev_config_of(project: Project, path: str, header: str | None) -> str | None:
    """Why a compose file, Dockerfile, Procfile or nginx file is not production configuration, else None."""
    override = override_of(project, path)
    if override is not None:
        return override.reason if override.role == DEV_CONFIG else None
    glob = next((g for g in project.config.dev_files if glob_matches(path, g)), None)
    if glob is not None:
        return f"compose.dev-files: `{glob}`"
    return dev_config_reason(path, header)


def _migration_reason(path: str, kind: str) -> str | None:
    directories = path_directories(path)
    folder = next((d for d in directories if d in MIGRATION_DIRECTORIES), None)
    if folder is not None and (kind == "sql" or folder != "versions" or "alembic" in path or "migrations" in path):
        return f"in a `{folder}/` folder"
    if folder == "versions" and kind == "python":
        return "an Alembic revision"
    return None


def _under(path: str, directory: str) -> bool:
    return directory == "" or path.startswith(directory.rstrip("/") + "/")


class ProductionCode:
    def __init__(self, project: Project) -> None:
        self.project = project
        self.modules: ModuleIndex = project.view(module_index)
        self.traits = {t.path: t for t in project.facts_of(SourceTraits)}
        self.manifests = {m.path: m for m in project.facts_of(PackageManifest)}
        self.shell_scripts = {s.path: s for s in project.facts_of(ShellScript)}
        self.headers = {h.path: h.text for h in project.facts_of(ComposeHeader)}
        self.entrypoints: list[Entrypoint] = []
        self.one_shots: dict[str, str] = {}  # files run once before a server starts (`prisma migrate && seed && node`)
        self.seeds: dict[str, str] = {}  # `package.json` `prisma.seed` targets
        self.schema_references: set[str] = set()  # `--schema x.prisma`, `prisma.schema`, `prisma.config.ts`
        self.prisma_configs: set[str] = set()
        self.roles: dict[str, FileRole] = {}
        self.compose_stacks: dict[str, str] = {}  # why each production compose file is in its stack
        self._classify()

    # --- public ---------------------------------------------------------------------------

    def role_of(self, path: str) -> FileRole:
        return self.roles.get(path) or FileRole(REQUEST, "not classified")

    def allowed(self, code: str, at: Location) -> bool:
        """Whether a rule of this code reports at this location."""
        roles = FAMILY_ROLES.get(code[:2])
        role = self.role_of(at.path).role
        if code.startswith("TN") and role == JOB:
            return (at.path, at.line) in self._tenant_job_queries()
        return roles is None or role in roles

    def _tenant_job_queries(self) -> set[tuple[str, int]]:
        """Queries of job functions that work for one tenant: another query of the function filters by its key.

        A job that sweeps every tenant (a nightly cleanup) is cross-tenant by design; one
        that handles a tenant's message and forgets the key in one query leaks.
        """
        if not hasattr(self, "_job_queries"):
            keys = set(self.project.config.tenant_keys)
            queries = [q for q in self.project.facts_of(Query) if self.role_of(q.at.path).role == JOB]
            per_tenant = {(q.at.path, q.function) for q in queries if keys & {k.rsplit(".", 1)[-1] for k in q.filter.keys}}
            self._job_queries = {(q.at.path, q.at.line) for q in queries if (q.at.path, q.function) in per_tenant}
        return self._job_queries

    def is_live(self, path: str) -> bool:
        """Whether a fact of this file describes the running system (not a test, script, copy ...)."""
        return self.role_of(path).role in LIVE_ROLES

    def started(self, path: str) -> bool:
        """Whether a production command runs this file's code (True when no command is known at all).

        An `express()` app that only a test or a second, never-started entry builds serves nothing.
        """
        return not self.launched_request or path in self.launched_request

    @property
    def fallback(self) -> bool:
        """Nothing says what runs in production: every application file is request code."""
        return not self.entrypoints

    # --- classification ---------------------------------------------------------------------

    def _classify(self) -> None:
        files = {file.path: file.kind for file in self.project.files}
        for path, (role, reason) in self.project.skipped.items():
            self.roles[path] = FileRole(role, reason)
        self._find_entrypoints(files)
        request = self._reach([e for e in self.entrypoints if e.role == REQUEST])
        self.launched_request = set(self._reach([e for e in self.entrypoints if e.role == REQUEST and e.launched]))
        job = self._reach([e for e in self.entrypoints if e.role == JOB])
        live_schemas = self._prisma_schemas(files)
        for path, kind in sorted(files.items()):
            if path in self.roles:
                continue
            self.roles[path] = override_of(self.project, path) or self._role(path, kind, request, job, live_schemas)
        if not self.fallback:
            self._script_only_modules()

    def _script_only_modules(self) -> None:
        """Application code no entrypoint reaches that only scripts and seeds load is theirs (a service
        module only `scripts/audit-retention.ts` uses). A file beside reached code stays request code:
        the app may load it in a way prodlint does not follow (`config.from_object("app.config")`)."""
        imports = self._imports()
        importers: dict[str, set[str]] = {}
        for path in self.project.by_path:
            for target in self._loads(path, imports):
                if target != path:
                    importers.setdefault(target, set()).add(path)
        reached_folders = {posixpath.dirname(p) for p, r in self.roles.items()
                           if r.role in (REQUEST, JOB) and r != NOT_REACHED}
        candidates = sorted(p for p, r in self.roles.items()
                            if r == NOT_REACHED and posixpath.dirname(p) not in reached_folders and importers.get(p))
        changed = True
        while changed:
            changed = False
            for path in candidates:
                roles = {self.roles[i].role for i in importers[path]}
                if self.roles[path] == NOT_REACHED and roles <= {SCRIPT, SEED, TEST} and roles & {SCRIPT, SEED}:
                    by = sorted(i for i in importers[path] if self.roles[i].role in (SCRIPT, SEED))
                    self.roles[path] = FileRole(SCRIPT, f"only scripts and seeds load it ({', '.join(by[:2])}); no entrypoint reaches it")
                    changed = True

    def _role(self, path: str, kind: str, request: dict[str, str], job: dict[str, str],
              live_schemas: dict[str, FileRole]) -> FileRole:
        traits = self.traits.get(path)
        if path in request:
            return FileRole(REQUEST, request[path])
        if path in job:
            return FileRole(JOB, job[path])
        if path in self.prisma_configs:
            return FileRole(CONFIG, "Prisma configuration (`prisma.config.*`)")
        if kind in CONFIG_KINDS and kind not in ("sql", "prisma", "shell", "package-json", "tsconfig"):
            reason = dev_config_of(self.project, path, self.headers.get(path))
            if reason is not None:
                return FileRole(DEV_CONFIG, reason)
        if kind == "prisma":
            return live_schemas.get(path) or FileRole(CONFIG, "schema")
        reason = test_reason(path)
        if reason is not None:
            return FileRole(TEST, reason)
        reason = _migration_reason(path, kind)
        if reason is not None:
            return FileRole(MIGRATION, reason)
        if path in self.one_shots:
            return FileRole(SCRIPT, self.one_shots[path])
        if path in self.seeds:
            return FileRole(SEED, self.seeds[path])
        if kind in CONFIG_KINDS:
            return FileRole(CONFIG, self.compose_stacks.get(path, "production configuration"))
        name = path.rsplit("/", 1)[-1]
        stem = name.split(".", 1)[0]
        seed = next((d for d in path_directories(path) if d in SEED_DIRECTORIES), None)
        if seed is not None or SEED_NAMES.search(stem):
            return FileRole(SEED, f"in a `{seed}/` folder" if seed else "seed file name")
        folder = next((d for d in path_directories(path) if d in SCRIPT_DIRECTORIES), None)
        if folder is not None:
            return FileRole(SCRIPT, f"in a `{folder}/` folder, not reached from an entrypoint")
        if not self.fallback:
            twin = self._model_copy_of(path, request, job)
            if twin is not None:
                return FileRole(COPY, twin)
            if traits is not None and traits.runs_as_main is not None and not self._defines_app(path):
                return FileRole(SCRIPT, f"runs as a program (line {traits.runs_as_main.line}) and no entrypoint imports it")
            if traits is not None and traits.runs_on_import is not None and path not in self._imported():
                return FileRole(SCRIPT, f"does its work when run (line {traits.runs_on_import.line}) and no file imports it")
            if SCRIPT_NAMES.match(stem) and self._top_level(path):
                return FileRole(SCRIPT, "one-off script by name at the top of its package, not reached from an entrypoint")
        if self.fallback:
            return FileRole(REQUEST, "no production entrypoint found: application code")
        return NOT_REACHED

    def _model_copy_of(self, path: str, request: dict[str, str], job: dict[str, str]) -> str | None:
        """Why a Python file nothing runs is a stale copy of the app's models (`models_old.py`), else None:
        it maps the same tables as a file the app imports, or its name says it is a copy."""
        tables = self._python_tables().get(path)
        if not tables:
            return None
        name = path.rsplit("/", 1)[-1]
        if COPY_NAMES.search(name.removesuffix(".py")):
            return f"a copy of the models by name ({name}), not reached from an entrypoint"
        for other, used in sorted(self._python_tables().items()):
            if other != path and (other in request or other in job) and _same_models(tables, used):
                return f"maps the same tables as {other}, which the app imports; nothing reaches this file"
        return None

    def _python_tables(self) -> dict[str, set[str]]:
        if not hasattr(self, "_tables"):
            tables: dict[str, set[str]] = {}
            for model in self.project.facts_of(Model):
                if is_python(model.at.path) and model.table:
                    tables.setdefault(model.at.path, set()).add(model.table)
            self._tables = tables
        return self._tables

    def _top_level(self, path: str) -> bool:
        """A file beside a package's manifest (`debug-users.js` next to package.json), not inside `src/`."""
        directory = posixpath.dirname(path)
        return any(posixpath.dirname(m) == directory for m in self.manifests) or directory == "" or any(
            posixpath.dirname(e.path) != directory and _under(e.path, directory) for e in self.entrypoints)

    def _defines_app(self, path: str) -> bool:
        return any(r.kind == "app" for r in self._routers_by_path().get(path, ()))

    def _routers_by_path(self) -> dict[str, list[Router]]:
        if not hasattr(self, "_routers"):
            routers: dict[str, list[Router]] = {}
            for router in self.project.facts_of(Router):
                routers.setdefault(router.at.path, []).append(router)
            self._routers = routers
        return self._routers

    # --- entrypoints ------------------------------------------------------------------------

    def _find_entrypoints(self, files: dict[str, str]) -> None:
        from prodlint.model.services import services  # services reads dev decisions from this module

        view = self.project.view(services)
        self.compose_stacks = {path: f"production compose: {stack.reason}" for path, stack in view.stacks.items()}
        for launch in view.launches():
            if launch.service is None and launch.stage is None:
                continue  # a Procfile line: read below, where its process type is known
            role = JOB if launch.service is not None and launch.service.name in PROCFILE_JOBS else REQUEST
            where = f"compose service `{launch.service.name}`" if launch.service else launch.process.parts[-1].at.path if launch.process.parts else "Dockerfile"
            self._launch(launch.process.argv or (), launch.code_dir or "", launch.workdir, role, where, launch.process.parts[-1].at if launch.process.parts else None, 0)
        for entry in view.procfile_entries():
            role = JOB if entry.process in PROCFILE_JOBS else REQUEST
            if entry.process == "release":
                continue
            self._launch(entry.command.argv or (), posixpath.dirname(entry.path), None, role, f"Procfile `{entry.process}`", entry.command.at, 0)
        for process in self.project.facts_of(PlatformProcess):
            if dev_config_of(self.project, process.path, None) is not None:
                continue
            self._launch(("sh", "-c", process.command), process.directory, None, process.role if process.role != SCRIPT else REQUEST,
                         f"{process.platform} `{process.process}`", process.at, 0, one_shot=process.role == SCRIPT)
        for path, manifest in sorted(self.manifests.items()):
            if path in self.project.skipped or test_reason(path) or any(d in GENERATED_DIRECTORIES for d in path_directories(path)):
                continue
            directory = posixpath.dirname(path)
            start = dict(manifest.scripts).get("start")
            for word in split_command(manifest.prisma_seed or "") or ():
                for candidate in _source_candidates(posixpath.normpath(posixpath.join(directory, word)).removeprefix("./")):
                    if candidate in self.project.by_path:
                        self.seeds.setdefault(candidate, f"`prisma.seed` of {path}")
            if manifest.prisma_schema:
                self.schema_references.add(posixpath.normpath(posixpath.join(directory, manifest.prisma_schema)))
            if start:
                self._npm_script(manifest, "start", directory, REQUEST, path, manifest.at, 0)
            elif manifest.main:
                self._add_file(directory, manifest.main, None, REQUEST, f"`main` of {path}", manifest.at)
            else:
                for command in manifest.bin:  # a package run through the commands it installs
                    self._add_file(directory, command, None, REQUEST, f"`bin` of {path}", manifest.at)
        for config in self.project.facts_of(PrismaConfig):
            self.prisma_configs.add(config.path)
            if config.schema:
                self.schema_references.add(posixpath.normpath(posixpath.join(posixpath.dirname(config.path), config.schema)))
        for path in sorted(files):
            if test_reason(path) or path in self.project.skipped or any(d in SCRIPT_DIRECTORIES | SEED_DIRECTORIES for d in path_directories(path)):
                continue
            if self._defines_app(path):
                router = next(r for r in self._routers_by_path()[path] if r.kind == "app")
                self._add(path, REQUEST, f"creates the {router.framework} application `{router.name}`", router.at, launched=False)
            traits = self.traits.get(path)
            if traits is not None and traits.job_app is not None:
                what, at = traits.job_app
                self._add(path, JOB, f"creates a worker application ({what})", at, launched=False)

    def _add(self, path: str, role: str, evidence: str, at: Location | None, launched: bool = True) -> None:
        if not any(e.path == path and e.role == role for e in self.entrypoints):
            self.entrypoints.append(Entrypoint(path, role, evidence, at, launched))

    def _launch(self, argv: Iterable[str], code_dir: str, workdir: str | None, role: str, where: str,
                at: Location | None, depth: int, one_shot: bool = False) -> None:
        """What a command line starts; every program but the last runs once before it (`migrate && seed && serve`)."""
        if depth > MAX_LAUNCH_DEPTH:
            return
        argv = tuple(argv)
        script = self._shell_script(argv[0], code_dir, workdir) if argv else None
        if script is not None:
            # `docker-entrypoint.sh gunicorn app` runs the script's own commands, then `exec "$@"` the rest.
            commands = [(c.command.argv, c.command.at) for c in script.commands if c.command.argv]
            passes = any("$@" in word or "${@}" in word for words, _ in commands for word in words)
            own = [(w, a) for w, a in commands if not any("$@" in word or "${@}" in word for word in w)]
            for number, (words, line_at) in enumerate(own):
                last = number == len(own) - 1 and not (passes and argv[1:])
                self._launch(words, code_dir, workdir, role, f"{where} → {script.path}", line_at, depth + 1,
                             one_shot=one_shot or not last)
            if passes and argv[1:]:
                self._launch(argv[1:], code_dir, workdir, role, where, at, depth + 1, one_shot)
            return
        invocations = programs(argv)
        for index, invocation in enumerate(invocations):
            last = index == len(invocations) - 1
            self._invocation(invocation, code_dir, workdir, role, where, at, depth, one_shot=one_shot or not last)

    def _invocation(self, invocation: Invocation, code_dir: str, workdir: str | None, role: str, where: str,
                    at: Location | None, depth: int, one_shot: bool) -> None:
        argv, program = invocation.argv, invocation.program
        args = argv[1:]
        schema = next((a.split("=", 1)[1] for a in args if a.startswith("--schema=")), None)
        if schema is None and "--schema" in args and args.index("--schema") + 1 < len(args):
            schema = args[args.index("--schema") + 1]
        if schema:
            self.schema_references.add(posixpath.normpath(posixpath.join(code_dir, inside_workdir(schema, workdir) or schema)))
        evidence = f"{where} → `{_shorten(' '.join(argv))}`"
        if program == "fastapi" and args[:1] in (("run",), ("dev",)):
            # `fastapi run [path]`: the file given, else the one the FastAPI CLI looks for.
            target = next((a for a in args[1:] if not a.startswith("-") and a.endswith(".py")), None)
            for candidate in ([target] if target else ["main.py", "app.py", "api.py", "app/main.py", "app/app.py", "app/api.py"]):
                path = posixpath.normpath(posixpath.join(code_dir, inside_workdir(candidate, workdir) or candidate)).removeprefix("./")
                if path in self.project.by_path:
                    self._record(path, role, evidence, at)
                    break
        elif program in PYTHON_SERVERS:
            app = next((a for a in args if ":" in a and not a.startswith("-")), None)
            module = app.split(":", 1)[0] if app else None
            if module:
                self._add_module(code_dir, module, role, evidence, at)
        elif program in JOB_PROGRAMS:
            app = option_value(args, "-A", "--app") or next((a for a in args if "." in a and not a.startswith("-")), None)
            if app:
                self._add_module(code_dir, app.split(":", 1)[0], JOB, evidence, at)
        elif re.match(r"^python(?:\d+(?:\.\d+)?)?$", program):
            module = option_value(args, "-m")
            target = next((a for a in args if not a.startswith("-")), None)
            if module:
                self._add_module(code_dir, module, SCRIPT if one_shot else role, evidence, at)
            elif target and target.endswith(".py"):
                self._add_file(code_dir, inside_workdir(target, workdir) or target, workdir, SCRIPT if one_shot else role, evidence, at)
        elif program in NODE_RUNNERS:
            target = next((a for a in args if not a.startswith("-") and a not in ("start", "--")), None)
            if target:
                self._add_file(code_dir, inside_workdir(target, workdir) or target, workdir, SCRIPT if one_shot else role, evidence, at)
        elif program in NPM:
            script = args[1] if args[:1] == ("run",) and len(args) > 1 else args[0] if args[:1] in (("start",),) else None
            manifest = self.manifests.get(posixpath.normpath(posixpath.join(code_dir, "package.json")).removeprefix("./"))
            if script and manifest is not None:
                self._npm_script(manifest, script, code_dir, role, evidence, at, depth + 1)
        elif argv and self._shell_script(argv[0], code_dir, workdir) is not None:
            self._launch(argv, code_dir, workdir, role, where, at, depth + 1, one_shot)

    def _shell_script(self, word: str, code_dir: str, workdir: str | None) -> ShellScript | None:
        relative = inside_workdir(word, workdir)
        if not relative or relative.startswith("-"):
            return None
        return self.shell_scripts.get(posixpath.normpath(posixpath.join(code_dir, relative)).removeprefix("./"))

    def _npm_script(self, manifest: PackageManifest, name: str, directory: str, role: str, where: str,
                    at: Location | None, depth: int) -> None:
        text = dict(manifest.scripts).get(name)
        words = split_command(text) if text else None
        if words:
            self._launch(("sh", "-c", text), directory, None, role, f"{where} → npm script `{name}`", at, depth + 1)

    def _add_module(self, code_dir: str, module: str, role: str, evidence: str, at: Location | None) -> None:
        stem = module.strip().replace(".", "/")
        for base in (code_dir, posixpath.join(code_dir, "src") if code_dir else "src"):
            for candidate in (f"{stem}.py", f"{stem}/__init__.py", f"{stem}/__main__.py"):
                path = posixpath.normpath(posixpath.join(base, candidate)).removeprefix("./")
                if path in self.project.by_path:
                    self._record(path, role, evidence, at)
                    return
        # Not under the launch folder: the one file of the tree whose path ends with the module, if it is one.
        found = [p for p in self.modules.python_by_suffix.get(f"{stem}.py", ()) if _under(p, code_dir)]
        if len(found) == 1:
            self._record(found[0], role, evidence, at)

    def _add_file(self, code_dir: str, relative: str, workdir: str | None, role: str, evidence: str, at: Location | None) -> None:
        path = posixpath.normpath(posixpath.join(code_dir, relative)).removeprefix("./")
        for candidate in _source_candidates(path):
            if candidate in self.project.by_path or candidate in self.project.skipped:
                self._record(candidate, role, evidence, at)
                return

    def _record(self, path: str, role: str, evidence: str, at: Location | None) -> None:
        traits = self.traits.get(path)
        if role == REQUEST and traits is not None and traits.job_app is not None and not self._defines_app(path):
            role = JOB  # `node dist/worker.js` starts a BullMQ worker, whatever the service is called
        if role == SCRIPT:
            self.one_shots.setdefault(path, f"run once before the server starts: {evidence}")
        else:
            self._add(path, role, evidence, at)

    # --- reachability -----------------------------------------------------------------------

    def _reach(self, roots: list[Entrypoint]) -> dict[str, str]:
        """Each file the roots load, directly or not, with the chain that loads it."""
        reached: dict[str, str] = {}
        origin: dict[str, str] = {}
        queue: deque[str] = deque()
        for root in sorted(roots, key=lambda e: e.path):
            if root.path not in reached:
                reached[root.path] = f"entrypoint: {root.evidence}"
                origin[root.path] = root.path
                queue.append(root.path)
        imports = self._imports()
        while queue:
            path = queue.popleft()
            for target in self._loads(path, imports):
                if target not in reached:
                    origin[target] = origin[path]
                    via = "" if path == origin[path] else f", reached from the entrypoint {origin[path]}"
                    reached[target] = f"imported by {path}{via}"
                    queue.append(target)
        return reached

    def _imported(self) -> set[str]:
        """Every file some file of the tree imports (tests included)."""
        if not hasattr(self, "_imported_files"):
            imports = self._imports()
            self._imported_files = {t for path in self.project.by_path for t in self._loads(path, imports) if t != path}
        return self._imported_files

    def _imports(self) -> dict[str, list[Import]]:
        if not hasattr(self, "_import_facts"):
            imports: dict[str, list[Import]] = {}
            for fact in self.project.facts_of(Import):
                if not fact.type_only:
                    imports.setdefault(fact.at.path, []).append(fact)
            self._import_facts = imports
        return self._import_facts

    def _loads(self, path: str, imports: dict[str, list[Import]]) -> Iterator[str]:
        resolve = self.modules.resolve_module
        if is_python(path):
            for fact in imports.get(path, ()):
                if fact.imported not in ("*", ""):
                    joined = fact.source + fact.imported if fact.source.endswith(".") else f"{fact.source}.{fact.imported}"
                    target = resolve(path, joined)
                    if target is not None and target in self.project.by_path:
                        yield target
                target = resolve(path, fact.source) if fact.source.strip(".") or fact.source else None
                if target is not None:
                    yield from _packages(target, self.project.by_path)
        else:
            traits = self.traits.get(path)
            specifiers = list(traits.references) if traits else []
            specifiers += [fact.source for fact in imports.get(path, ())]
            for specifier in dict.fromkeys(specifiers):
                target = resolve(path, specifier)
                if target is not None:
                    yield target

    # --- Prisma schemas -------------------------------------------------------------------

    def _prisma_schemas(self, files: dict[str, str]) -> dict[str, FileRole]:
        """The schema each app uses; other `.prisma` files with the same models are copies."""
        decided: dict[str, FileRole] = {}
        schemas = sorted(p for p, kind in files.items() if kind == "prisma" and p not in self.roles)
        models: dict[str, set[str]] = {p: set() for p in schemas}
        for model in self.project.facts_of(Model):
            if model.at.path in models:
                models[model.at.path].add(model.name)
        for path in schemas:
            *_, name = path.split("/")
            if COPY_NAMES.search(name.removesuffix(".prisma")):
                decided[path] = FileRole(COPY, f"a copy by name ({name})")
        remaining = [p for p in schemas if p not in decided]
        for path in remaining:
            if self._named_schema(path):
                decided[path] = FileRole(CONFIG, "the schema the app's scripts name (`--schema`/`prisma.schema`/`prisma.config.ts`)")
        live = [p for p in remaining if p in decided]
        for path in remaining:
            if path in decided:
                continue
            twin = next((other for other in live + [p for p in remaining if p != path and p not in decided]
                         if _same_models(models[path], models[other]) and self._preferred(other, path)), None)
            if twin is not None:
                decided[path] = FileRole(COPY, f"the same models as {twin}, which is the schema in use")
        return decided

    def _named_schema(self, path: str) -> bool:
        """Named by `--schema`, `prisma.schema` or `prisma.config.ts`, itself or its folder (multi-file schemas)."""
        return path in self.schema_references or any(
            _under(path, named) for named in self.schema_references if not named.endswith(".prisma"))

    def _preferred(self, live: str, other: str) -> bool:
        """Which of two copies of a schema is the one in use: named by a script, else beside migrations, else the first."""
        if self._named_schema(live):
            return True
        if self._named_schema(other):
            return False
        def migrations(path: str) -> bool:
            return any(_under(p, posixpath.join(posixpath.dirname(path), "migrations")) for p in self.project.by_path)
        if migrations(live) != migrations(other):
            return migrations(live)
        return (live.count("/"), live) < (other.count("/"), other)


def _shorten(text: str, limit: int = 72) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _same_models(a: set[str], b: set[str]) -> bool:
    return bool(a) and bool(b) and len(a & b) >= 0.8 * min(len(a), len(b))


def _packages(target: str, files: dict) -> Iterator[str]:
    """A Python module and the `__init__.py` of each package above it, which importing it runs."""
    if target in files:
        yield target
    directory = posixpath.dirname(target)
    if target.endswith("/__init__.py"):
        directory = posixpath.dirname(directory)
    while directory:
        init = f"{directory}/__init__.py"
        if init not in files:
            break
        yield init
        directory = posixpath.dirname(directory)


def _source_candidates(path: str) -> list[str]:
    """`dist/server.js` is built from `src/server.ts`: the sources a compiled path comes from."""
    stem, extension = posixpath.splitext(path)
    stems = []
    parts = stem.split("/")
    for index, part in enumerate(parts):
        if part in OUT_DIRECTORIES:
            rest = parts[:index] + parts[index + 1 :]
            stems += ["/".join(parts[:index] + ["src"] + parts[index + 1 :]), "/".join(rest)]
            break
    stems.append(stem)
    extensions = [extension] if extension else []
    extensions += [".ts", ".js", ".mts", ".mjs", ".cjs", ".tsx"]
    candidates = [f"{s}{e}" for s in stems for e in dict.fromkeys(extensions)]
    candidates += [f"{s}/index{e}" for s in stems for e in (".ts", ".js")]
    return candidates


def production_code(project: Project) -> ProductionCode:
    """The view: `project.view(production_code)`."""
    return ProductionCode(project)
