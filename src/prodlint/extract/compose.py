"""docker compose files: one `ComposeService` fact per service, every value with its line.

Named compose files (`compose.yaml`, `docker-compose*.yml`, `compose.*.yml`) are always
read. Any other `*.yml` / `*.yaml` is read only when its top level is compose's and
nothing else (`services:` as a mapping of service mappings, plus `volumes`, `networks`,
`x-*` ...): GitHub workflows, Kubernetes manifests, Helm templates and OpenAPI
documents are left alone, and so are their parse errors (a Helm template is not YAML).
Compose v2 files need no `version:` key.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from prodlint.extract import Source, extractor
from prodlint.extract.commands import split_command
from prodlint.extract.yaml_lines import YMap, YNode, YScalar, YSeq, load_documents
from prodlint.facts import Location
from prodlint.facts.compose import Build, Command, ComposeService, EnvVar, Mount, PortMapping, Text
from prodlint.facts.roles import ComposeHeader

if TYPE_CHECKING:
    from prodlint.config import Config

COMPOSE_TOP_LEVEL = frozenset({"version", "name", "services", "volumes", "networks", "configs", "secrets", "include"})
SERVICE_SHAPE = frozenset({"image", "build", "command", "ports", "entrypoint", "environment", "depends_on"})
_COMPOSE_SHAPE = re.compile(r"^services\s*:", re.MULTILINE)


@extractor("compose")
def extract_compose(source: Source, config: Config) -> Iterable[object]:
    yield from _header(source)
    for document in load_documents(source.text):
        if isinstance(document, YMap):
            yield from _services(source.path, document)


@extractor("yaml")
def extract_other_yaml(source: Source, config: Config) -> Iterable[object]:
    if not _COMPOSE_SHAPE.search(source.text):
        return
    for document in load_documents(source.text):
        if isinstance(document, YMap) and _looks_like_compose(document):
            yield from _header(source)
            yield from _services(source.path, document)


def _header(source: Source) -> Iterator[ComposeHeader]:
    """The comment block a compose file starts with: it often says what the stack is for."""
    lines = []
    for line in source.text.split("\n", 20)[:20]:
        stripped = line.strip()
        if stripped.startswith("#"):
            lines.append(stripped.lstrip("#").strip())
        elif stripped and stripped != "---":
            break
    if any(lines):
        yield ComposeHeader(source.path, " ".join(l for l in lines if l)[:400])


def _looks_like_compose(document: YMap) -> bool:
    names = [key.value for key, _ in document.items()]
    if not all(name in COMPOSE_TOP_LEVEL or name.startswith("x-") for name in names):
        return False
    services = document.mapping("services")
    if services is None or not any(True for _ in services.items()):
        return False
    bodies = [body for _, body in services.items()]
    return all(isinstance(body, YMap) for body in bodies) and any(
        any(key.value in SERVICE_SHAPE for key, _ in body.items()) for body in bodies if isinstance(body, YMap)
    )


def _services(path: str, document: YMap) -> Iterator[ComposeService]:
    services = document.mapping("services")
    if services is None:
        return
    directory = posixpath.dirname(path)
    for key, body in services.items():
        if isinstance(body, YMap):
            yield _service(path, directory, key, body)


def _service(path: str, directory: str, key: YScalar, body: YMap) -> ComposeService:
    deploy = body.mapping("deploy") or YMap((), 0, 0)
    resources = deploy.mapping("resources") or YMap((), 0, 0)
    limits = resources.mapping("limits") or YMap((), 0, 0)
    return ComposeService(
        name=key.value,
        file=path,
        at=key.at(path),
        image=_text(path, body.scalar("image")),
        build=_build(path, directory, body),
        command=_command(path, body, "command"),
        entrypoint=_command(path, body, "entrypoint"),
        environment=tuple(_environment(path, body.get("environment"))),
        env_files=tuple(_env_files(directory, body.get("env_file"))),
        ports=tuple(_ports(path, body.get("ports"))),
        expose=tuple(_text(path, item) for item in _scalars(body.get("expose"))),
        replicas=_text(path, deploy.scalar("replicas")),
        scale=_text(path, body.scalar("scale")),
        memory_limit=_text(path, limits.scalar("memory")),
        cpus_limit=_text(path, limits.scalar("cpus")),
        mem_limit=_text(path, body.scalar("mem_limit")),
        cpus=_text(path, body.scalar("cpus")),
        profiles=tuple(item.value for item in _scalars(body.get("profiles"))),
        volumes=tuple(_volumes(path, directory, body.get("volumes"))),
        working_dir=_text(path, body.scalar("working_dir")),
        extends=_extends(body.get("extends")),
        deploy_mode=_value(deploy.scalar("mode")),
    )


# --- values --------------------------------------------------------------------------------


def _value(scalar: YScalar | None) -> str | None:
    return scalar.value if scalar is not None else None


def _text(path: str, scalar: YNode | None) -> Text | None:
    if not isinstance(scalar, YScalar) or scalar.is_null:
        return None
    return text_at(scalar.value, scalar.at(path))


def text_at(raw: str, at: Location) -> Text:
    value, default, variables = interpolate(raw)
    return Text(raw, at, value, default, variables)


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def interpolate(raw: str) -> tuple[str | None, str | None, tuple[str, ...]]:
    """compose interpolation: (the value if there is none, the value with defaults, the variables).

    `${VAR:-x}` / `${VAR-x}` (nested too) give their default; `$VAR`, `${VAR}`, `${VAR:?err}` and
    `${VAR:+alt}` have none, so the text with defaults is unknown (None).
    """
    out: list[str] = []
    variables: list[str] = []
    known = True
    index = 0
    while index < len(raw):
        char = raw[index]
        following = raw[index + 1] if index + 1 < len(raw) else ""
        if char != "$" or not following:
            out.append(char)
            index += 1
        elif following == "$":
            out.append("$")
            index += 2
        elif following == "{":
            end = _closing_brace(raw, index + 2)
            if end < 0:
                return None, None, tuple(variables)
            inner = raw[index + 2 : end]
            name = _NAME.match(inner)
            variables.append(name.group() if name else inner)
            rest = inner[name.end() :] if name else ""
            fallback = rest[2:] if rest.startswith(":-") else rest[1:] if rest.startswith("-") else None
            if fallback is None:
                known = False
            else:
                nested = interpolate(fallback)[1]
                known = known and nested is not None
                out.append(nested or "")
            index = end + 1
        elif _NAME.match(following):
            name = _NAME.match(raw, index + 1)
            assert name is not None
            variables.append(name.group())
            known = False
            index = name.end()
        else:
            out.append(char)
            index += 1
    text = "".join(out)
    if not variables:
        return text, text, ()
    return None, (text if known else None), tuple(variables)


def _closing_brace(raw: str, start: int) -> int:
    depth = 1
    for index in range(start, len(raw)):
        if raw[index] == "{":
            depth += 1
        elif raw[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    return -1


def _scalars(node: YNode | None) -> Iterator[YScalar]:
    if isinstance(node, YSeq):
        yield from (item for item in node.items if isinstance(item, YScalar) and not item.is_null)
    elif isinstance(node, YScalar) and not node.is_null:
        yield node


def _project_path(directory: str, relative: str) -> str | None:
    """A path compose resolves against the compose file's folder, relative to the project root."""
    if interpolate(relative)[0] is None or relative.startswith(("/", "~")) or "://" in relative:
        return None
    joined = posixpath.normpath(posixpath.join(directory, relative)) if directory else posixpath.normpath(relative)
    return "" if joined == "." else joined


# --- keys ----------------------------------------------------------------------------------


def _command(path: str, body: YMap, name: str) -> Command | None:
    found = body.entry(name)
    if found is None:
        return None
    key, value = found
    at = key.at(path)
    if isinstance(value, YScalar):
        if value.is_null:
            return None
        return Command(value.value, split_command(value.value), at)
    if isinstance(value, YSeq):
        words = [item.value for item in value.items if isinstance(item, YScalar)]
        if len(words) != len(value.items):
            return Command(" ".join(words), None, at)
        return Command(" ".join(words), tuple(words), at)
    return None


def _environment(path: str, node: YNode | None) -> Iterator[EnvVar]:
    if isinstance(node, YMap):
        for key, value in node.items():
            text = _text(path, value) if isinstance(value, YScalar) else None
            yield EnvVar(key.value, text, key.at(path))
    elif isinstance(node, YSeq):
        for item in node.items:
            if not isinstance(item, YScalar) or item.is_null:
                continue
            name, equals, raw = item.value.partition("=")
            value = text_at(raw, item.at(path)) if equals else None
            yield EnvVar(name.strip(), value, item.at(path))


def _env_files(directory: str, node: YNode | None) -> Iterator[str]:
    entries = node.items if isinstance(node, YSeq) else (node,) if node is not None else ()
    for entry in entries:
        scalar = entry.scalar("path") if isinstance(entry, YMap) else entry
        if isinstance(scalar, YScalar) and not scalar.is_null:
            resolved = _project_path(directory, scalar.value)
            if resolved is not None:
                yield resolved


def _build(path: str, directory: str, body: YMap) -> Build | None:
    found = body.entry("build")
    if found is None:
        return None
    key, value = found
    context_raw, dockerfile, target = ".", None, None
    if isinstance(value, YScalar):
        context_raw = value.value or "."
    elif isinstance(value, YMap):
        context = value.scalar("context")
        context_raw = context.value if context else "."
        dockerfile_key = value.scalar("dockerfile")
        dockerfile = dockerfile_key.value if dockerfile_key else None
        target_key = value.scalar("target")
        target = target_key.value if target_key and interpolate(target_key.value)[0] is not None else None
        if value.get("dockerfile_inline") is not None:
            return Build(_project_path(directory, context_raw), None, target, key.at(path), context_raw)
    args = _build_args(value.get("args")) if isinstance(value, YMap) else ()
    context_path = _project_path(directory, context_raw)
    dockerfile_path = None
    if context_path is not None:
        dockerfile_path = _project_path(context_path, dockerfile or "Dockerfile")
    return Build(context_path, dockerfile_path, target, key.at(path), context_raw, args)


def _build_args(node: YNode | None) -> tuple[tuple[str, str], ...]:
    """`args: [NAME=value]` or `args: {NAME: value}`, literal values only (`${X}` is set at build time)."""
    pairs: list[tuple[str, str]] = []
    if isinstance(node, YSeq):
        for item in node.items:
            if isinstance(item, YScalar) and item.value and "=" in item.value:
                name, _, text = item.value.partition("=")
                pairs.append((name.strip(), text.strip()))
    elif isinstance(node, YMap):
        for name, text in node.items():
            if isinstance(text, YScalar) and text.value is not None and name.value:
                pairs.append((name.value, text.value))
    return tuple((name, text) for name, text in pairs if "$" not in text)


def _ports(path: str, node: YNode | None) -> Iterator[PortMapping]:
    if not isinstance(node, YSeq):
        return
    for item in node.items:
        if isinstance(item, YScalar) and not item.is_null:
            port = _short_port(path, item)
            if port is not None:
                yield port
        elif isinstance(item, YMap):
            target = _text(path, item.scalar("target"))
            if target is None:
                continue
            protocol = item.scalar("protocol")
            yield PortMapping(
                host_ip=_text(path, item.scalar("host_ip")),
                published=_text(path, item.scalar("published")),
                target=target,
                protocol=protocol.value if protocol else "tcp",
                at=item.at(path),
            )


def _short_port(path: str, item: YScalar) -> PortMapping | None:
    """`[HOST_IP:][PUBLISHED:]TARGET[/PROTOCOL]`, with `[::1]` and `${VAR:-x}` kept whole."""
    raw = item.value
    spec, slash, protocol = raw.rpartition("/")
    if not slash or not protocol.isalpha():
        spec, protocol = raw, ""
    parts = _colon_parts(spec)
    if not parts or len(parts) > 3:
        return None
    at = item.at(path)
    texts = [text_at(part.strip("[]") if index == 0 and len(parts) == 3 else part, at) for index, part in enumerate(parts)]
    host_ip = texts[0] if len(texts) == 3 else None
    published = texts[-2] if len(texts) >= 2 else None
    if published is not None and published.raw == "":
        published = None  # "127.0.0.1::5432": a random host port
    return PortMapping(host_ip, published, texts[-1], protocol or "tcp", at, raw)


def _colon_parts(spec: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in spec:
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        if char == ":" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _volumes(path: str, directory: str, node: YNode | None) -> Iterator[Mount]:
    if not isinstance(node, YSeq):
        return
    for item in node.items:
        if isinstance(item, YScalar) and not item.is_null:
            parts = _colon_parts(item.value)
            if len(parts) == 1:
                yield Mount("", parts[0], "volume", None, False, item.at(path))
                continue
            source, target = parts[0], parts[1]
            mode = parts[2] if len(parts) > 2 else ""
            yield _mount(directory, source, target, None, "ro" in mode.split(","), item.at(path))
        elif isinstance(item, YMap):
            source, target, kind = item.scalar("source"), item.scalar("target"), item.scalar("type")
            read_only = item.scalar("read_only")
            yield _mount(
                directory, source.value if source else "", target.value if target else "",
                kind.value if kind else None, bool(read_only and read_only.value.lower() == "true"), item.at(path),
            )


def _mount(directory: str, source: str, target: str, kind: str | None, read_only: bool, at: Location) -> Mount:
    is_path = source.startswith((".", "/", "~"))
    kind = kind or ("bind" if is_path else "volume")
    resolved = _project_path(directory, source) if kind == "bind" and source.startswith(".") else None
    return Mount(source, target, kind, resolved, read_only, at)


def _extends(node: YNode | None) -> str | None:
    if isinstance(node, YScalar) and not node.is_null:
        return node.value
    if isinstance(node, YMap):
        service = node.scalar("service")
        return service.value if service else None
    return None
