"""Hosting platform files, read as data: what Render, Fly.io, Railway and App Engine start.

`render.yaml` services (`startCommand`, `preDeployCommand`, `rootDir`), `fly.toml`
`[processes]` / `[experimental] cmd` / `[deploy] release_command`, `railway.json` /
`railway.toml` `deploy.startCommand`, App Engine `app.yaml` `entrypoint`.
"""

from __future__ import annotations

import json
import posixpath
import tomllib
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from prodlint.extract import ParseError, Source, extractor
from prodlint.extract.yaml_lines import YMap, YSeq, load_first
from prodlint.facts import Location
from prodlint.facts.roles import PlatformProcess

if TYPE_CHECKING:
    from prodlint.config import Config

RENDER_ROLES = {"web": "request", "pserv": "request", "worker": "job", "cron": "job"}


def _line_of(text: str, needle: str) -> int:
    index = text.find(needle)
    return text.count("\n", 0, index) + 1 if index >= 0 else 1


def _render(source: Source) -> Iterator[PlatformProcess]:
    document = load_first(source.text)
    services = document.get("services") if isinstance(document, YMap) else None
    if not isinstance(services, YSeq):
        return
    base = posixpath.dirname(source.path)
    for service in services.items:
        if not isinstance(service, YMap):
            continue
        kind = service.scalar("type")
        name = service.scalar("name")
        root = service.scalar("rootDir")
        directory = posixpath.normpath(posixpath.join(base, root.value)).removeprefix("./") if root else base
        directory = "" if directory == "." else directory
        role = RENDER_ROLES.get(kind.value if kind else "web", "request")
        for key, process_role in (("startCommand", role), ("preDeployCommand", "script")):
            command = service.scalar(key)
            if command is not None:
                yield PlatformProcess(source.path, "render", name.value if name else key, command.value,
                                      process_role, directory, command.at(source.path))


def _toml(source: Source) -> dict[str, Any]:
    try:
        return tomllib.loads(source.text)
    except (tomllib.TOMLDecodeError, RecursionError) as error:
        raise ParseError(f"not valid TOML ({type(error).__name__})") from None


def _fly(source: Source) -> Iterator[PlatformProcess]:
    data = _toml(source)
    directory = posixpath.dirname(source.path)
    processes = data.get("processes")
    if isinstance(processes, dict):
        for name, command in sorted(processes.items()):
            if isinstance(command, str):
                role = "request" if name in ("app", "web") else "job"
                yield PlatformProcess(source.path, "fly", name, command, role, directory,
                                      Location(source.path, _line_of(source.text, command)))
    cmd = (data.get("experimental") or {}).get("cmd") if isinstance(data.get("experimental"), dict) else None
    if isinstance(cmd, list) and all(isinstance(c, str) for c in cmd):
        yield PlatformProcess(source.path, "fly", "app", " ".join(cmd), "request", directory, Location(source.path, _line_of(source.text, "cmd")))
    deploy = data.get("deploy")
    release = deploy.get("release_command") if isinstance(deploy, dict) else None
    if isinstance(release, str):
        yield PlatformProcess(source.path, "fly", "release", release, "script", directory,
                              Location(source.path, _line_of(source.text, release)))


def _railway(source: Source) -> Iterator[PlatformProcess]:
    if source.path.endswith(".json"):
        try:
            data = json.loads(source.text)
        except (ValueError, RecursionError):
            raise ParseError("railway.json is not valid JSON") from None
    else:
        data = _toml(source)
    deploy = data.get("deploy") if isinstance(data, dict) else None
    command = deploy.get("startCommand") if isinstance(deploy, dict) else None
    if isinstance(command, str):
        yield PlatformProcess(source.path, "railway", "web", command, "request", posixpath.dirname(source.path),
                              Location(source.path, _line_of(source.text, "startCommand")))


def _app_engine(source: Source) -> Iterator[PlatformProcess]:
    document = load_first(source.text)
    if not isinstance(document, YMap) or "runtime" not in document:
        return
    entrypoint = document.scalar("entrypoint")
    if entrypoint is not None:
        yield PlatformProcess(source.path, "app-engine", "default", entrypoint.value, "request",
                              posixpath.dirname(source.path), entrypoint.at(source.path))


def _pyproject(source: Source) -> Iterator[PlatformProcess]:
    """`[project.scripts]` / `[tool.poetry.scripts]`: console commands the package installs."""
    data = _toml(source)
    project = data.get("project") if isinstance(data.get("project"), dict) else {}
    tool = data.get("tool") if isinstance(data.get("tool"), dict) else {}
    poetry = tool.get("poetry") if isinstance(tool.get("poetry"), dict) else {}
    for table in (project.get("scripts"), poetry.get("scripts")):
        if not isinstance(table, dict):
            continue
        for name, target in sorted(table.items()):
            if isinstance(target, str) and ":" in target:
                module = target.split(":", 1)[0].strip()
                yield PlatformProcess(source.path, "pyproject", name, f"python -m {module}", "request",
                                      posixpath.dirname(source.path), Location(source.path, _line_of(source.text, target)))


_READERS = {"render.yaml": _render, "render.yml": _render, "fly.toml": _fly, "railway.json": _railway,
            "railway.toml": _railway, "app.yaml": _app_engine, "pyproject.toml": _pyproject}


@extractor("platform")
def extract_platform(source: Source, config: Config) -> Iterable[object]:
    yield from _READERS[source.name](source)
