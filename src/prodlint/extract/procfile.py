"""Procfiles (Heroku, Dokku, foreman, honcho): `process: command` per line, run by a shell."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from prodlint.extract import Source, extractor
from prodlint.extract.dockerfile import DEFAULT_SHELL
from prodlint.facts import Location
from prodlint.facts.compose import Command, ProcfileEntry
from prodlint.lines import split_lines

if TYPE_CHECKING:
    from prodlint.config import Config

_ENTRY = re.compile(r"^(?P<process>[A-Za-z0-9_-]+)[ \t]*:[ \t]*(?P<command>\S.*?)\s*$")




@extractor("procfile")
def extract_procfile(source: Source, config: Config) -> Iterable[object]:
    for number, line in enumerate(split_lines(source.text), start=1):
        match = _ENTRY.match(line)
        if match is None:
            continue
        command = match["command"]
        at = Location(source.path, number, 1, number, len(line) + 1)
        yield ProcfileEntry(source.path, match["process"], Command(command, (*DEFAULT_SHELL, command), at, shell_form=True))
