"""INI files (`config.ini`): the settings a ConfigParser-reading application takes its defaults from."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from prodlint.extract import Source, extractor
from prodlint.facts import Location
from prodlint.facts.capacity import IniValue

if TYPE_CHECKING:
    from prodlint.config import Config

_SECTION = re.compile(r"^\[\s*([^\]]+?)\s*\]\s*$")
_PAIR = re.compile(r"^([A-Za-z_][\w.-]*)\s*[=:]\s*(.*?)\s*$")


@extractor("ini")
def extract_ini(source: Source, config: Config) -> Iterable[object]:
    section = ""
    for number, line in enumerate(source.text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")) or line[:1] in (" ", "\t"):
            continue  # comments, and continuation lines (a multi-line value is no number)
        heading = _SECTION.match(stripped)
        if heading:
            section = heading[1]
            continue
        pair = _PAIR.match(stripped)
        if pair:
            yield IniValue(source.path, section, pair[1], pair[2], Location(source.path, number, 1))
