"""How the project is run: compose services joined with the Dockerfiles they build.

`project.view(services)` gives a `Services` view:

- `Service`: one compose service of one stack. A stack is a base compose file and the
  overlays laid over it (`docker-compose.yml` + a `docker-compose.prod.yml` that only
  adds keys to the base's services); a service defined in several files of one stack
  is one service, as `docker compose -f ... -f ...` merges it: later definitions
  override scalars, environments merge by name, ports add up. A file of the same
  folder that defines a whole stack of its own (`docker-compose.pg.yml` beside
  `docker-compose.my.yml`) is an alternative, read on its own (`Services.stacks`
  says which and why). Development files (`compose.dev-files`) are joined separately
  from production ones, so a `docker-compose.override.yml` never lends its values to
  production.
- `Service.process`: what the container runs (`Process`): compose `entrypoint` +
  `command` over the built Dockerfile stage's ENTRYPOINT + CMD, as docker combines
  them, with the instructions it came from, so a finding points where the fix goes.
- `Service.env_value(name)`: an environment variable as the container sees it:
  compose `environment:` over `env_file` over the Dockerfile's ENV. An env_file that
  is not in the tree, or a value interpolated at deploy time, makes it `UNKNOWN`.
- `Services.dockerfile_runs()`: each Dockerfile's own default process (final stage),
  for the rules that judge an image regardless of how it is deployed.

Unknown is not absent: `replicas`, workers and environment values that are set at
deploy time are `UNKNOWN`, never a guess.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

from prodlint.extract.commands import inside_workdir, option_value, programs, server_commands
from prodlint.facts import Location
from prodlint.facts.capacity import EnvFile, GunicornSettings
from prodlint.facts.compose import Build, Command, ComposeService, Dockerfile, DockerStage, EnvVar, PortMapping, ProcfileEntry, Text
from prodlint.facts.servers import UNKNOWN, ServerCommand, ServerRun
from prodlint.facts.roles import ComposeHeader
from prodlint.model.roles import dev_config_of
from prodlint.facts.shell import ShellScript
from prodlint.project import Project
from prodlint import numbers

WEB_SERVERS = frozenset({"uvicorn", "gunicorn", "hypercorn", "granian", "daphne"})
BASE_COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
# Overlay names: compose's own override file, a production overlay.
OVERLAY_NAME = re.compile(r"(?:^|[-_.])(?:override|prod|production)(?:[-_.]|$)", re.IGNORECASE)
_COMPOSE_RUN = re.compile(r"\b(?:docker[- ]compose|podman[- ]compose)((?:\s+(?:-f|--file)[ =]\S+)+)")
_FILE_OPTION = re.compile(r"(?:-f|--file)[ =](\S+)")
# Profile and stage names for development: `dev`, `debug`, `test`, `dev-envs`, `local` ...
DEV_PROFILE = re.compile(r"(?:^|[-_.])(?:dev|develop|development|debug|test|tests|testing|local|ci)(?:$|[-_.])", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Known:
    """A value prodlint can read, and where it is written (None: a program default)."""

    value: str
    at: Location | None = None


@dataclass(frozen=True)
class Process:
    """What a container runs: the argv and the instructions it is made of, in argv order.

    `argv` None: not knowable here (the image's own CMD, or an unsplittable command).
    """

    argv: tuple[str, ...] | None
    parts: tuple[Command, ...]

    @cached_property
    def servers(self) -> tuple[ServerCommand, ...]:
        return server_commands(self.argv) if self.argv else ()

    @property
    def web_server(self) -> ServerCommand | None:
        """The server the process ends in (`alembic upgrade head && uvicorn ...` -> uvicorn)."""
        return next((s for s in reversed(self.servers) if s.program in WEB_SERVERS or s.program == "python"), None)

    def at(self, server: ServerCommand) -> Location:
        """Where to fix it: the last instruction that names the program, else the last one."""
        for part in reversed(self.parts):
            if server.argv and server.argv[0] in part.text:
                return part.at
        return self.parts[-1].at


@dataclass(frozen=True)
class Service:
    """A compose service of one directory, its definitions merged in compose's order."""

    name: str
    directory: str
    definitions: tuple[ComposeService, ...]  # in merge order: base file first
    dev: bool  # defined in development compose files, or only under dev/test profiles
    dockerfile: Dockerfile | None = None
    stage: DockerStage | None = None  # the stage `build.target` picks, else the final one
    env_files: dict[str, EnvFile] = field(default_factory=dict, repr=False, compare=False)
    extended: tuple[ComposeService, ...] = ()  # what `extends:` brings in, when found
    stack: str = ""  # the compose file the service's stack starts from ("" for development files)

    @property
    def base(self) -> ComposeService:
        """The definition findings point at: the one with image/build, else the first."""
        return next((d for d in self.definitions if d.image or d.build), self.definitions[0])

    @property
    def at(self) -> Location:
        return self.base.at

    def _last(self, attribute: str) -> object | None:
        """The value of the last definition that sets it; the service's own win over what `extends:` brings."""
        for definition in (*reversed(self.definitions), *reversed(self.extended)):
            value = getattr(definition, attribute)
            if value is not None:
                return value
        return None

    @property
    def image(self) -> Text | None:
        return self._last("image")  # type: ignore[return-value]

    @property
    def build(self) -> Build | None:
        return self._last("build")  # type: ignore[return-value]

    @property
    def command(self) -> Command | None:
        return self._last("command")  # type: ignore[return-value]

    @property
    def entrypoint(self) -> Command | None:
        return self._last("entrypoint")  # type: ignore[return-value]

    @property
    def memory_limit(self) -> Text | None:
        """`deploy.resources.limits.memory` or `mem_limit` in any definition."""
        return self._last("memory_limit") or self._last("mem_limit")  # type: ignore[return-value]

    @property
    def cpu_limit(self) -> Text | None:
        return self._last("cpus_limit") or self._last("cpus")  # type: ignore[return-value]

    @property
    def limits_unknown(self) -> bool:
        """`extends:` a service prodlint cannot find: its limits may come from there."""
        return any(d.extends for d in self.definitions) and not self.extended

    @property
    def ports(self) -> tuple[PortMapping, ...]:
        return tuple(port for d in self.definitions for port in d.ports)

    @property
    def environment(self) -> dict[str, EnvVar]:
        merged: dict[str, EnvVar] = {}
        for definition in (*self.extended, *self.definitions):
            for var in definition.environment:
                merged[var.name] = var
        return merged

    @property
    def replicas(self) -> int | str | None:
        """`deploy.replicas` or `scale`: an int, `UNKNOWN` (interpolated, `mode: global`), or None when unset."""
        if any(d.deploy_mode == "global" for d in self.definitions):
            return UNKNOWN
        text = self._last("replicas") or self._last("scale")
        if text is None:
            return None
        number = numbers.count(text.value)  # type: ignore[union-attr]
        return number if number is not None else UNKNOWN

    @property
    def context(self) -> str | None:
        """The build context (project-relative), where the container's code comes from."""
        build = self.build
        return build.context if build else None

    @cached_property
    def process(self) -> Process | None:
        """What the container runs, or None when nothing of it is written in the tree."""
        return service_process(self.entrypoint, self.command, self.stage)

    def env_value(self, name: str) -> Known | str | None:
        """The variable as the container sees it: `Known`, `UNKNOWN`, or None when nothing sets it."""
        var = self.environment.get(name)
        if var is not None:
            return _known(var)
        for path in reversed(self.env_files_in_order):
            env_file = self.env_files.get(path)
            if env_file is None:
                return UNKNOWN  # not in the tree (often git-ignored): it may set anything
            found = env_file.get(name)
            if found is not None:
                return Known(found[0], found[1])
        if self.stage is not None:
            for var in reversed(self.stage.env):
                if var.name == name:
                    return _known(var)
        return None

    @property
    def env_files_in_order(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(path for d in (*self.extended, *self.definitions) for path in d.env_files))


def _known(var: EnvVar) -> Known | str:
    if var.value is None or var.value.value is None:
        return UNKNOWN
    return Known(var.value.value, var.value.at)


def service_process(entrypoint: Command | None, command: Command | None, stage: DockerStage | None) -> Process | None:
    """docker's rules: a compose `entrypoint` drops the image's CMD; a compose `command` replaces it.

    An image whose Dockerfile is not in the tree (a registry image) has an ENTRYPOINT
    prodlint cannot see; by convention it ends in `exec "$@"`, so the command is what runs.
    """
    image_entrypoint = stage.entrypoint if stage else None
    if entrypoint is not None:
        parts = (entrypoint, command) if command is not None else (entrypoint,)
    elif command is not None:
        parts = (image_entrypoint, command) if image_entrypoint is not None else (command,)
    elif stage is not None:
        parts = tuple(p for p in (image_entrypoint, stage.cmd) if p is not None)
    else:
        parts = ()
    return Process(_argv(parts), parts) if parts else None


def stage_process(stage: DockerStage) -> Process | None:
    return service_process(None, None, stage)


def _argv(parts: tuple[Command, ...]) -> tuple[str, ...] | None:
    head = parts[0]
    if head.argv is None:
        return None
    if head.shell_form and len(parts) > 1:
        return head.argv  # a shell-form ENTRYPOINT ignores CMD and command
    words = list(head.argv)
    for part in parts[1:]:
        if part.argv is None:
            return None
        words.extend(part.argv)
    return tuple(words)


@dataclass(frozen=True)
class DockerfileRun:
    """A Dockerfile's default process: what its final stage runs."""

    dockerfile: Dockerfile
    stage: DockerStage
    process: Process


@dataclass(frozen=True)
class Launch:
    """A process started in production: by a compose service, a Dockerfile, or a Procfile line.

    `code_dir`: the project folder the process's relative paths start from (the build
    context, the Dockerfile's or the Procfile's folder); `workdir`: the image's WORKDIR,
    which absolute paths in the command start with.
    """

    process: Process
    code_dir: str | None
    workdir: str | None = None
    service: Service | None = None
    stage: DockerStage | None = None
    script: ShellScript | None = None  # the entrypoint script the process was read from


@dataclass(frozen=True, slots=True)
class StackFile:
    """Where a production compose file belongs: the stack it starts (`stack == path`) or the one it overlays."""

    path: str
    stack: str
    reason: str


@dataclass(frozen=True, slots=True)
class WorkerCount:
    """How many worker processes a server runs, and what says so (`--workers 4`, `WEB_CONCURRENCY=1`, the default)."""

    count: int | str  # an int or UNKNOWN
    evidence: str
    at: Location | None = None


class Services:
    """The compose services of the project, and the Dockerfiles and Procfiles that run code."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.dockerfiles = {d.path: d for d in project.facts_of(Dockerfile)}
        self.env_files = {e.path: e for e in project.facts_of(EnvFile)}
        self.gunicorn_settings = {g.path: g for g in project.facts_of(GunicornSettings)}
        self.headers = {h.path: h.text for h in project.facts_of(ComposeHeader)}
        self.server_runs: dict[str, list[ServerRun]] = {}
        for run in project.facts_of(ServerRun):
            self.server_runs.setdefault(run.at.path, []).append(run)
        self.stacks: dict[str, StackFile] = self._stacks()
        self.all: tuple[Service, ...] = tuple(self._join())
        self.scripts = {s.path: s for s in project.facts_of(ShellScript)}

    def is_dev_file(self, path: str) -> bool:
        return dev_config_of(self.project, path, self.headers.get(path)) is not None

    def production(self) -> Iterator[Service]:
        """Services a production deployment runs: not in dev files, not only under dev profiles."""
        return (service for service in self.all if not service.dev)

    def building(self, dockerfile: str) -> tuple[Service, ...]:
        return tuple(s for s in self.all if s.build is not None and s.build.dockerfile == dockerfile)

    def dockerfile_runs(self) -> Iterator[DockerfileRun]:
        """The final stage's process of every production Dockerfile.

        A Dockerfile is a development one when its name says so, when only
        development compose services build it, or when its final stage is named
        for development (`FROM base AS dev-envs`).
        """
        for path, dockerfile in sorted(self.dockerfiles.items()):
            users = self.building(path)
            stage = dockerfile.final
            if self.is_dev_file(path) or (users and all(s.dev for s in users)):
                continue
            if stage is not None and stage.name is not None and DEV_PROFILE.search(stage.name):
                continue
            process = stage_process(stage) if stage else None
            if stage is not None and process is not None:
                yield DockerfileRun(dockerfile, stage, process)

    def procfile_entries(self) -> Iterator[ProcfileEntry]:
        return (e for e in self.project.facts_of(ProcfileEntry) if not self.is_dev_file(e.path))

    def launches(self) -> Iterator[Launch]:
        """Every production process: compose services, Dockerfiles' final stages, Procfile lines; one
        that starts an entrypoint script in the tree is what the script runs."""
        for service in self.production():
            if service.process is not None:
                stage = service.stage
                yield self._through_script(Launch(service.process, service.context, stage.workdir if stage else None, service, stage))
        for run in self.dockerfile_runs():
            yield self._through_script(Launch(run.process, posixpath.dirname(run.dockerfile.path), run.stage.workdir, None, run.stage))
        for entry in self.procfile_entries():
            process = Process(entry.command.argv, (entry.command,))
            yield self._through_script(Launch(process, posixpath.dirname(entry.path)))

    def entrypoint_script(self, argv: tuple[str, ...] | None, code_dir: str | None, workdir: str | None) -> ShellScript | None:
        """The tree's script a command line starts first (`/app/docker-entrypoint.sh`, `./start.sh`)."""
        invocations = programs(argv) if argv else ()
        if not invocations or code_dir is None:
            return None
        word = invocations[0].argv[0]
        if word in ("sh", "bash") and len(invocations[0].argv) > 1:
            word = invocations[0].argv[1]
        relative = inside_workdir(word, workdir)
        return self.scripts.get(_join_path(code_dir, relative)) if relative else None

    def _through_script(self, launch: Launch) -> Launch:
        script = self.entrypoint_script(launch.process.argv, launch.code_dir, launch.workdir)
        command = script_server(script) if script is not None else None
        if command is None:
            return launch
        return Launch(Process(command.argv, (command,)), launch.code_dir, launch.workdir, launch.service, launch.stage, script)

    def script_runs(self, launch: Launch, server: ServerCommand) -> tuple[ServerRun, ...]:
        """The `app.run(...)` / `uvicorn.run(...)` calls of the file `python app.py` / `python -m app` runs.

        Resolved against the launch's folder; a file that is not exactly one file in
        the tree gives nothing.
        """
        if server.program != "python" or launch.code_dir is None:
            return ()
        if server.module:
            stem = server.module.replace(".", "/")
            candidates = [f"{stem}.py", f"{stem}/__main__.py"]
        elif server.script and server.script.endswith(".py"):
            candidates = [inside_workdir(server.script, launch.workdir)]
        else:
            return ()
        found = [path for path in (_join_path(launch.code_dir, c) for c in candidates if c) if path in self.project.by_path]
        if len(found) != 1:
            return ()
        return tuple(self.server_runs.get(found[0], ()))

    def workers(self, launch: Launch, server: ServerCommand) -> WorkerCount:
        """Worker processes of uvicorn or gunicorn, as the command line, config file and environment set them."""
        if server.workers == UNKNOWN:
            variable = _variable(option_value(server.argv, "-w", "--workers"))
            if variable is not None:
                name, inline = variable
                value = self._env(launch, server, name)
                if value is None and inline is not None:
                    value = Known(inline)
                if isinstance(value, Known) and value.value.strip().isdigit():
                    where = f" ({value.at.path}:{value.at.line})" if value.at else ""
                    return WorkerCount(int(value.value), f"--workers ${name} with {name}={value.value}{where}", value.at)
        if server.workers is not None:
            return WorkerCount(server.workers, f"--workers {server.workers}", launch.process.at(server))
        if server.program == "gunicorn":
            cmd_args = self._env(launch, server, "GUNICORN_CMD_ARGS")
            if cmd_args is not None:
                return WorkerCount(UNKNOWN, "GUNICORN_CMD_ARGS")
            settings = self._gunicorn_settings(launch, server)
            if isinstance(settings, str):
                return WorkerCount(UNKNOWN, settings)
            if settings is not None and settings.workers is not None:
                value = settings.workers
                number = numbers.count(value.text) if value.kind == "literal" else None
                count = number if number is not None else UNKNOWN
                return WorkerCount(count, f"workers = {value.text} in {settings.path}", value.at or settings.at)
        names = {"uvicorn": ("UVICORN_WORKERS", "WEB_CONCURRENCY"), "gunicorn": ("WEB_CONCURRENCY",),
                 "granian": ("GRANIAN_WORKERS",)}.get(server.program, ())
        for name in names:
            value = self._env(launch, server, name)
            if value is not None:
                if isinstance(value, str):
                    return WorkerCount(UNKNOWN, name)
                number = numbers.count(value.value)
                count = number if number is not None else UNKNOWN
                return WorkerCount(count, f"{name}={value.value}", value.at)
        return WorkerCount(1, f"{server.program}'s default")

    def _env(self, launch: Launch, server: ServerCommand, name: str) -> Known | str | None:
        for key, value in reversed(server.environment):
            if key == name:
                return Known(value) if "$" not in value else UNKNOWN
        script = {v.name: v for v in launch.script.variables} if launch.script is not None else {}
        if name in script and not script[name].default:
            return Known(script[name].value, script[name].at)  # the script's own assignment wins
        if launch.service is not None:
            found = launch.service.env_value(name)
            if found is None and name in script:
                return Known(script[name].value, script[name].at)
            return found
        if name in script:
            return Known(script[name].value, script[name].at)
        if launch.stage is not None:
            return next((_known(var) for var in reversed(launch.stage.env) if var.name == name), None)
        return None

    def _gunicorn_settings(self, launch: Launch, server: ServerCommand) -> GunicornSettings | str | None:
        """The configuration file gunicorn reads: `-c FILE`, else `./gunicorn.conf.py` if the tree has one.

        A string names why it cannot be known.
        """
        if server.config_file is not None:
            if launch.code_dir is None or server.config_file.startswith("python:"):
                return f"-c {server.config_file}"
            path = _join_path(launch.code_dir, inside_workdir(server.config_file, launch.workdir) or "")
            return self.gunicorn_settings.get(path) or f"-c {server.config_file}"
        # gunicorn reads ./gunicorn.conf.py from its working directory, which may be any folder of the image.
        nearby = [p for p in self.project.by_path if p.rsplit("/", 1)[-1] == "gunicorn.conf.py"
                  and (launch.code_dir is None or launch.code_dir == "" or p.startswith(launch.code_dir + "/"))]
        default = _join_path(launch.code_dir, "gunicorn.conf.py") if launch.code_dir is not None else None
        if default in self.gunicorn_settings:
            return self.gunicorn_settings[default]
        return "gunicorn.conf.py" if nearby else None

    def _stacks(self) -> dict[str, StackFile]:
        """Each production compose file's stack: per folder, the base file and its overlays, and alternatives."""
        by_file: dict[str, list[ComposeService]] = {}
        for definition in self.project.facts_of(ComposeService):
            if not self.is_dev_file(definition.file):
                by_file.setdefault(definition.file, []).append(definition)
        folders: dict[str, list[str]] = {}
        for path in sorted(by_file):
            folders.setdefault(posixpath.dirname(path), []).append(path)
        decided: dict[str, StackFile] = {}
        for paths in folders.values():
            named = {p.rsplit("/", 1)[-1]: p for p in paths}
            base = next((named[n] for n in BASE_COMPOSE_NAMES if n in named), None)
            for path in paths:
                if path == base:
                    decided[path] = StackFile(path, path, "the folder's base compose file")
                    continue
                overlay, reason = _overlays(path, base, by_file, self.headers.get(path))
                decided[path] = StackFile(path, base if overlay and base else path, reason)
        return decided

    def stack_of(self, path: str) -> str:
        """The file the stack of a compose file starts from ("" for a development file)."""
        found = self.stacks.get(path)
        return found.stack if found else ""

    def _join(self) -> Iterator[Service]:
        groups: dict[tuple[str, bool, str, str], list[ComposeService]] = {}
        for definition in self.project.facts_of(ComposeService):
            directory = posixpath.dirname(definition.file)
            stack = self.stack_of(definition.file)
            groups.setdefault((directory, not stack, stack, definition.name), []).append(definition)
        joined: list[Service] = []
        for (directory, dev_file, stack, name), definitions in sorted(groups.items()):
            definitions.sort(key=_merge_order)
            profiles = {p for d in definitions for p in d.profiles}
            dev = dev_file or bool(profiles) and all(DEV_PROFILE.search(p) for p in profiles)
            joined.append(self._service(name, directory, stack, tuple(definitions), dev, groups))
        joined.sort(key=lambda s: (s.at.path, s.at.line, s.name))
        return iter(joined)

    def _service(self, name: str, directory: str, stack: str, definitions: tuple[ComposeService, ...], dev: bool,
                 groups: dict[tuple[str, bool, str, str], list[ComposeService]]) -> Service:
        extended: tuple[ComposeService, ...] = ()
        parent = next((d.extends for d in definitions if d.extends), None)
        if parent is not None:
            extended = tuple(groups.get((directory, not stack, stack, parent), ()))
        build = next((d.build for d in (*reversed(definitions), *reversed(extended)) if d.build), None)
        dockerfile = self.dockerfiles.get(build.dockerfile) if build and build.dockerfile else None
        stage = dockerfile.stage(build.target) if dockerfile and build else None
        return Service(name, directory, definitions, dev, dockerfile, stage, self.env_files, extended, stack)


def _overlays(path: str, base: str | None, by_file: dict[str, list[ComposeService]], header: str | None) -> tuple[bool, str]:
    """Whether a compose file is an overlay of its folder's base file, and why; else a stack of its own.

    An overlay adds keys to the base's services (a service without an image or build of
    its own cannot run alone); an alternative defines a whole stack, each service with its
    own image or build. A header that shows how the file is run (`docker compose -f
    docker-compose.yml -f docker-compose.prod.yml up`) decides first.
    """
    name = path.rsplit("/", 1)[-1]
    base_name = base.rsplit("/", 1)[-1] if base else None
    for files in _header_runs(header or ""):
        if name in files:
            if base_name in files:
                return True, f"its header runs it over {base_name} (`-f {' -f '.join(files)}`)"
            return False, f"its header runs it on its own (`-f {' -f '.join(files)}`)"
    if base is None:
        return False, "a stack of its own: the folder has no base compose file"
    defined = {d.name: d for d in by_file[path]}
    base_services = {d.name for d in by_file.get(base, ())}
    partial = sorted(n for n, d in defined.items() if d.image is None and d.build is None and d.extends is None)
    if partial:
        shared = [n for n in partial if n in base_services]
        what = f"adds keys to its service `{shared[0]}`" if shared else f"`{partial[0]}` has no image or build of its own"
        return True, f"an overlay of {base_name}: {what}"
    shared = sorted(set(defined) & base_services)
    if not shared:
        return False, f"a stack of its own: it shares no service with {base_name}"
    application = sorted(d.name for d in by_file[base] if d.build is not None)
    left_out = [n for n in application if n not in defined]
    if left_out:
        return True, f"an overlay of {base_name}: it redefines `{shared[0]}` but not the application service `{left_out[0]}`"
    extra = sorted(set(defined) - base_services)
    if extra:
        return False, f"a stack of its own: every service has its own image or build, and `{extra[0]}` is not in {base_name}"
    if not OVERLAY_NAME.search(name):
        return False, f"a stack of its own: it defines every service of {base_name}, each with its own image or build"
    return True, f"an overlay of {base_name} by its name: it redefines the base's services"


def _header_runs(header: str) -> Iterator[tuple[str, ...]]:
    """The files of each `docker compose -f a.yml -f b.yml` a compose file's header shows."""
    for match in _COMPOSE_RUN.finditer(header):
        yield tuple(f.rsplit("/", 1)[-1] for f in _FILE_OPTION.findall(match[0]))


def script_server(script: ShellScript) -> Command | None:
    """The server the script ends in: its last top-level command that starts a web server; None when
    the one that runs depends on a branch, or the script hands over to its arguments."""
    found = None
    for simple in script.commands:
        servers = server_commands(simple.command.argv) if simple.command.argv else ()
        if any(s.program in WEB_SERVERS for s in servers):
            if simple.nested:
                return None
            found = simple.command
    return None if script.passes_arguments else found


_VARIABLE_WORD = re.compile(r"^\$\{?([A-Za-z_]\w*)(?::?-([^}]*))?\}?$")


def _variable(word: str | None) -> tuple[str, str | None] | None:
    """`$WORKERS` / `${WORKERS:-2}` -> ("WORKERS", "2")."""
    match = _VARIABLE_WORD.match(word or "")
    return (match[1], match[2]) if match else None


def _join_path(directory: str, relative: str) -> str:
    joined = posixpath.normpath(posixpath.join(directory, relative)) if directory else posixpath.normpath(relative)
    return joined.removeprefix("./")


def _merge_order(definition: ComposeService) -> tuple[int, str]:
    name = definition.file.rsplit("/", 1)[-1]
    return (0 if name in BASE_COMPOSE_NAMES else 1, definition.file)


def services(project: Project) -> Services:
    """The view: `project.view(services)`."""
    return Services(project)
