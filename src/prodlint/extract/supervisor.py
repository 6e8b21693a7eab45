"""supervisord configuration: the programs it starts and the files it includes.

`[program:api]` with `command=gunicorn app:app -w 4` (continuation lines indented,
`;` comments at a line start or after whitespace), `[include] files = conf.d/*.conf`.
Files named `supervisord.conf` / `supervisor.conf`, or `.conf` / `.ini` files in a folder
whose name starts with `supervisor`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from prodlint.extract import Source, extractor
from prodlint.extract.commands import split_command
from prodlint.facts import Location
from prodlint.facts.compose import Command, SupervisorConf

if TYPE_CHECKING:
    from prodlint.config import Config

_SECTION = re.compile(r"^\[\s*([^\]]+?)\s*\]\s*$")
_KEY = re.compile(r"^([A-Za-z_][\w.-]*)\s*[=:]\s*(.*)$")
_COMMENT = re.compile(r"\s+;.*$")


@extractor("supervisor")
def extract_supervisor(source: Source, config: Config) -> Iterable[object]:
    programs: list[tuple[str, Command]] = []
    includes: list[str] = []
    section, key, value, start = None, None, "", 0

    def close() -> None:
        if section is None or key is None:
            return
        if section.startswith("program:") and key == "command":
            text = " ".join(value.split())
            programs.append((section.split(":", 1)[1], Command(text, split_command(text), Location(source.path, start, 1))))
        elif section == "include" and key == "files":
            includes.extend(value.split())

    for number, raw in enumerate(source.text.splitlines(), start=1):
        if raw.strip().startswith((";", "#")) or not raw.strip():
            continue
        if raw[:1] in (" ", "\t") and key is not None:
            value += " " + _COMMENT.sub("", raw).strip()  # a continuation line
            continue
        close()
        key = None
        heading = _SECTION.match(raw.strip())
        if heading:
            section = heading[1]
            continue
        pair = _KEY.match(raw.strip())
        if pair:
            key, value, start = pair[1].lower(), _COMMENT.sub("", pair[2]).strip(), number
    close()
    if programs or includes:
        yield SupervisorConf(source.path, tuple(programs), tuple(includes))
