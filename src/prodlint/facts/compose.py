"""Facts about how the code is run: compose services, Dockerfiles, Procfiles.

Values are kept as written (`Text`), with compose interpolation understood but not
guessed: `${WORKERS}` has no value, `${WORKERS:-4}` has the default `4`. Paths that
compose resolves relative to the compose file (build context, env_file, bind
mounts) are stored relative to the project root, posix, so the project model can
join them with other files' facts without reopening anything.

Field names are a contract with the capacity rules (CP00x): add fields with
defaults, never rename.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from prodlint.facts import Location


@dataclass(frozen=True, slots=True)
class Text:
    """A scalar as written.

    `value`: the text when it holds no interpolation (`$$` unescaped), else None.
    `default`: the text with each `${VAR:-x}` / `${VAR-x}` replaced by its default, or
    None when some variable has no default. Equal to `value` when there is no interpolation.
    """

    raw: str
    at: Location
    value: str | None
    default: str | None
    variables: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Command:
    """A command line: compose `command:`/`entrypoint:`, Dockerfile `CMD`/`ENTRYPOINT`, a Procfile line.

    `argv` is what the container runtime executes: a compose string is split the way
    compose splits it (shell words, no shell), a Dockerfile shell form becomes
    `("/bin/sh", "-c", text)`. None when the text cannot be split (an open quote).
    `at` is the `command:` key, the instruction, or the Procfile line.
    """

    text: str
    argv: tuple[str, ...] | None
    at: Location
    shell_form: bool = False


@dataclass(frozen=True, slots=True)
class EnvVar:
    """`NAME=value` in compose `environment:` or a Dockerfile `ENV`.

    `value` None: passed through from the host (`- NAME` / `NAME:` with no value), unknown here.
    """

    name: str
    value: Text | None
    at: Location


@dataclass(frozen=True, slots=True)
class Build:
    """compose `build:`. `context` / `dockerfile` are project-relative paths; None when remote or interpolated."""

    context: str | None
    dockerfile: str | None
    target: str | None
    at: Location
    context_raw: str = "."
    args: tuple[tuple[str, str], ...] = ()  # `build.args` with literal values


@dataclass(frozen=True, slots=True)
class PortMapping:
    """One `ports:` entry, short (`"127.0.0.1:5432:5432/tcp"`) or long syntax.

    `host_ip` None: not given, so compose publishes on every interface. `published`
    None: a random host port (`"5432"`), also on every interface.
    """

    host_ip: Text | None
    published: Text | None
    target: Text
    protocol: str
    at: Location
    raw: str = ""


@dataclass(frozen=True, slots=True)
class Mount:
    """One `volumes:` entry. `path`: the project-relative source of a bind mount, when it is one."""

    source: str
    target: str
    kind: str  # bind | volume | tmpfs | other
    path: str | None
    read_only: bool
    at: Location


@dataclass(frozen=True, slots=True)
class ComposeService:
    """A service of one compose file, as that file defines it (overlays are joined in `model/services.py`)."""

    name: str
    file: str
    at: Location  # the service key
    image: Text | None = None
    build: Build | None = None
    command: Command | None = None
    entrypoint: Command | None = None
    environment: tuple[EnvVar, ...] = ()
    env_files: tuple[str, ...] = ()  # project-relative paths, in the order compose reads them
    ports: tuple[PortMapping, ...] = ()
    expose: tuple[Text, ...] = ()
    replicas: Text | None = None  # deploy.replicas
    scale: Text | None = None
    memory_limit: Text | None = None  # deploy.resources.limits.memory
    cpus_limit: Text | None = None  # deploy.resources.limits.cpus
    mem_limit: Text | None = None
    cpus: Text | None = None
    profiles: tuple[str, ...] = ()
    volumes: tuple[Mount, ...] = ()
    working_dir: Text | None = None
    extends: str | None = None  # `extends.service`: limits and commands may come from it
    deploy_mode: str | None = None  # `global`: one copy per node, a replica count nobody wrote down

    def env(self, name: str) -> EnvVar | None:
        """The last definition of an environment variable in `environment:`."""
        for var in reversed(self.environment):
            if var.name == name:
                return var
        return None


@dataclass(frozen=True, slots=True)
class DockerStage:
    """One `FROM` stage, with what it inherits from an earlier stage of the same file applied.

    `cmd` / `entrypoint`: the instruction in effect at the end of the stage (None when it
    comes from the base image, which prodlint cannot see).
    """

    index: int
    name: str | None
    base: str
    at: Location
    cmd: Command | None = None
    entrypoint: Command | None = None
    env: tuple[EnvVar, ...] = ()
    workdir: str | None = None
    # `COPY src... dest` from the build context (not `--from`), inherited ones first: (source, destination)
    copies: tuple[tuple[str, str], ...] = ()
    own: bool = False  # the stage has instructions of its own, beyond its FROM


@dataclass(frozen=True, slots=True)
class Dockerfile:
    path: str
    stages: tuple[DockerStage, ...]
    args: tuple[tuple[str, str], ...] = ()  # `ARG NAME=default` before the first FROM

    @property
    def final(self) -> DockerStage | None:
        return self.stages[-1] if self.stages else None

    def stage(self, target: str | None, args: tuple[tuple[str, str], ...] = ()) -> DockerStage | None:
        """What `docker build --target` builds: the named stage, or the final one. A stage that is
        only `FROM ${NAME}` is the stage the build argument (or the ARG's default) names."""
        if target is None:
            chosen = self.final
        else:
            chosen = next((s for s in self.stages if s.name is not None and s.name.lower() == target.lower()), None)
        variable = _VARIABLE_BASE.match(chosen.base) if chosen is not None and not chosen.own else None
        if variable is not None:
            value = dict(self.args).get(variable[1])
            value = dict(args).get(variable[1], value)
            named = next((s for s in self.stages[: chosen.index] if s.name and value and s.name.lower() == value.lower()), None)
            return named or chosen
        return chosen


_VARIABLE_BASE = re.compile(r"^\$\{?([A-Za-z_]\w*)\}?$")


@dataclass(frozen=True, slots=True)
class ProcfileEntry:
    """`web: gunicorn app:app` in a Procfile."""

    path: str
    process: str
    command: Command


@dataclass(frozen=True, slots=True)
class SupervisorConf:
    """A supervisord configuration file: its `[program:x]` commands and its `[include] files` globs."""

    path: str
    programs: tuple[tuple[str, Command], ...]
    includes: tuple[str, ...] = ()
