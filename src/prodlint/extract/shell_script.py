"""Shell scripts (`docker-entrypoint.sh`, `start.sh`): the command lines they run.

Only what a shell would run at the top level is recorded, split at `&&`, `;`,
`|` and newlines; `if`/`case`/loops keep their inner commands, since an
entrypoint commonly picks the server in a branch. Nothing is executed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from prodlint.extract import Source, extractor
from prodlint.extract.commands import split_command
from prodlint.extract.shell import entrypoint_script
from prodlint.facts import Location
from prodlint.facts.roles import ShellScript

if TYPE_CHECKING:
    from prodlint.config import Config

_KEYWORDS = frozenset({"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "for", "case", "esac", "{", "}", "!"})
_SEPARATORS = re.compile(r"\s*(?:&&|\|\||;|\|)\s*")


def _matches(path: str, config: Config) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.endswith((".sh", ".bash")) or name in ("docker-entrypoint", "entrypoint", "start", "run")


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Lines with backslash continuations joined, comments and blank lines dropped."""
    pending, first = "", 0
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        if not pending:
            first = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line and not line.startswith("#"):
            yield first, line


def _commands(line: str) -> Iterator[tuple[str, ...]]:
    for piece in _SEPARATORS.split(line):
        words = split_command(piece)
        if not words:
            continue
        while words and words[0] in _KEYWORDS:
            words = words[1:]
        if words and not words[0].endswith(")") and words[0] not in ("[", "[["):
            yield tuple(words)


@extractor("shell", matches=_matches)
def extract_shell(source: Source, config: Config) -> Iterable[object]:
    if not source.text.startswith("#!") and not source.path.endswith((".sh", ".bash")):
        return
    commands = []
    for number, line in _logical_lines(source.text):
        for words in _commands(line):
            commands.append((words, Location(source.path, number, 1, number, len(line) + 1)))
    yield ShellScript(source.path, tuple(commands))
    yield from entrypoint_script(source)  # what the services view follows a launch into
