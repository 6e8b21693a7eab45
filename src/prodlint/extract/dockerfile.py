"""Dockerfiles: the stages, and the CMD / ENTRYPOINT / ENV / WORKDIR each ends with.

Read as BuildKit reads them: parser directives (`# escape=`), line continuations,
comment lines inside a continuation, heredocs skipped, instructions case-insensitive.
A stage built `FROM` an earlier stage inherits its CMD, ENTRYPOINT, ENV, WORKDIR and
SHELL; an ENTRYPOINT clears a CMD inherited from the base, as docker does. What the
base image sets is not in the tree and stays unknown (None).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from prodlint.extract import ParseError, Source, extractor
from prodlint.extract.compose import text_at
from prodlint.facts import Location
from prodlint.facts.compose import Command, Dockerfile, DockerStage, EnvVar
from prodlint.lines import split_lines

if TYPE_CHECKING:
    from prodlint.config import Config

DEFAULT_SHELL = ("/bin/sh", "-c")
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(\S+)\s*$")
_HEREDOC = re.compile(r"<<-?\s*([\"']?)([A-Za-z_][A-Za-z0-9_]*)\1")
_FROM = re.compile(r"^(?:--\S+\s+)*(?P<image>\S+)(?:\s+as\s+(?P<name>\S+))?\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Instruction:
    keyword: str  # upper case
    arguments: str
    at: Location


@dataclass
class _Stage:
    """A stage being read: its fact so far, and what the fact does not keep."""

    fact: DockerStage
    shell: tuple[str, ...] = DEFAULT_SHELL
    cmd_set_here: bool = False
    env: list[EnvVar] = field(default_factory=list)  # grown in place: 150k ENV lines stay linear

    def done(self) -> DockerStage:
        return replace(self.fact, env=tuple(self.env))

    def update(self, **changes: object) -> None:
        self.fact = replace(self.fact, **changes)




@extractor("dockerfile")
def extract_dockerfile(source: Source, config: Config) -> Iterable[object]:
    stages: list[_Stage] = []
    args: list[tuple[str, str]] = []
    for instruction in instructions(source.path, source.text):
        if instruction.keyword == "FROM":
            stages.append(_from(instruction, stages))
        elif stages:
            _apply(stages[-1], instruction)  # before the first FROM only ARG is valid; docker reports the rest
        elif instruction.keyword == "ARG":
            name, equals, value = instruction.arguments.partition("=")
            if equals and name.strip().isidentifier():
                args.append((name.strip(), value.strip().strip("\"'")))
    yield Dockerfile(source.path, tuple(stage.done() for stage in stages), tuple(args))


def instructions(path: str, text: str) -> Iterator[Instruction]:
    """Logical instructions: continuations joined, comments and heredoc bodies dropped."""
    lines = split_lines(text)
    escape = _escape_character(lines)
    index = 0
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            index += 1
            continue
        start, column = index + 1, len(line) - len(line.lstrip()) + 1
        parts = []
        while True:
            body = lines[index].rstrip()
            continued = body.endswith(escape)
            parts.append(body[:-1] if continued else body)
            index += 1
            if not continued:
                break
            # A comment or blank line inside a continuation is dropped, the instruction goes on.
            while index < len(lines) and (not lines[index].strip() or lines[index].lstrip().startswith("#")):
                index += 1
            if index >= len(lines):
                break
        logical = " ".join(part.strip() for part in parts)
        keyword, _, arguments = logical.partition(" ")
        keyword = keyword.upper()
        if keyword in ("RUN", "COPY", "ADD"):
            index = _skip_heredocs(lines, index, arguments)
        yield Instruction(keyword, arguments.strip(), Location(path, start, column, start, column + len(keyword)))


def _escape_character(lines: list[str]) -> str:
    for line in lines:
        match = _DIRECTIVE.match(line.strip())
        if match is None:
            break
        if match.group(1).lower() == "escape" and match.group(2) in ("\\", "`"):
            return match.group(2)
    return "\\"


def _skip_heredocs(lines: list[str], index: int, arguments: str) -> int:
    for match in _HEREDOC.finditer(arguments):
        terminator = match.group(2)
        while index < len(lines) and lines[index].strip() != terminator:
            index += 1
        index += 1
    return index


def _from(instruction: Instruction, stages: list[_Stage]) -> _Stage:
    match = _FROM.match(instruction.arguments)
    if match is None:
        raise ParseError(f"Dockerfile FROM cannot be read: {instruction.arguments!r}; skipped", instruction.at.line)
    image, name = match.group("image"), match.group("name")
    stage = _Stage(DockerStage(len(stages), name, image, instruction.at))
    parent = next((s for s in reversed(stages) if s.fact.name is not None and s.fact.name.lower() == image.lower()), None)
    if parent is not None:
        inherited = parent.fact
        stage.update(cmd=inherited.cmd, entrypoint=inherited.entrypoint, workdir=inherited.workdir, copies=inherited.copies)
        stage.env = list(parent.env)
        stage.shell = parent.shell
    return stage


def _apply(stage: _Stage, instruction: Instruction) -> None:
    keyword = instruction.keyword
    stage.update(own=True)
    if keyword in ("COPY", "ADD"):
        stage.update(copies=stage.fact.copies + _copies(instruction.arguments, stage.fact.workdir))
    if keyword == "CMD":
        stage.update(cmd=_command(instruction, stage.shell))
        stage.cmd_set_here = True
    elif keyword == "ENTRYPOINT":
        stage.update(entrypoint=_command(instruction, stage.shell))
        if not stage.cmd_set_here:
            stage.update(cmd=None)  # docker resets a CMD inherited from the base when ENTRYPOINT is set
    elif keyword == "ENV":
        stage.env.extend(_env(instruction))
    elif keyword == "WORKDIR":
        stage.update(workdir=_workdir(stage.fact.workdir, instruction.arguments))
    elif keyword == "SHELL":
        shell = _json_words(instruction.arguments)
        if shell:
            stage.shell = shell


def _command(instruction: Instruction, shell: tuple[str, ...]) -> Command:
    words = _json_words(instruction.arguments)
    if words is not None:
        return Command(instruction.arguments, words, instruction.at)
    return Command(instruction.arguments, (*shell, instruction.arguments), instruction.at, shell_form=True)


def _json_words(arguments: str) -> tuple[str, ...] | None:
    if not arguments.startswith("["):
        return None
    try:
        words = json.loads(arguments)
    except ValueError:
        return None  # not JSON: docker runs it in the shell form
    if isinstance(words, list) and all(isinstance(word, str) for word in words):
        return tuple(words)
    return None


def _env(instruction: Instruction) -> Iterator[EnvVar]:
    arguments = instruction.arguments
    try:
        words = shlex.split(arguments, posix=True)
    except ValueError:
        return
    if words and "=" not in words[0]:
        # Legacy `ENV NAME value with spaces`.
        value = arguments[len(arguments.split(None, 1)[0]) :].strip()
        yield EnvVar(words[0], text_at(value, instruction.at), instruction.at)
        return
    for word in words:
        name, equals, value = word.partition("=")
        if equals:
            yield EnvVar(name, text_at(value, instruction.at), instruction.at)


def _copies(arguments: str, workdir: str | None) -> tuple[tuple[str, str], ...]:
    """`COPY deploy/app.conf /etc/app/` -> (("deploy/app.conf", "/etc/app/"),); nothing for `--from`, URLs or JSON it cannot read."""
    words = _json_words(arguments)
    if words is None:
        try:
            words = tuple(shlex.split(arguments, posix=True))
        except ValueError:
            return ()
    if any(w.startswith("--from") for w in words):
        return ()
    words = tuple(w for w in words if not w.startswith("--"))
    if len(words) < 2 or any("://" in w for w in words):
        return ()
    destination = words[-1] if words[-1].startswith("/") or workdir is None else _workdir(workdir, words[-1]) + ("/" if words[-1].endswith("/") else "")
    return tuple((source, destination) for source in words[:-1])


def _workdir(current: str | None, argument: str) -> str:
    argument = argument.strip().strip("\"'")
    if argument.startswith("/") or current is None:
        return argument
    return current.rstrip("/") + "/" + argument
