"""nginx configuration facts: one directive tree per file, as crossplane reads it.

The tree is kept whole because an `include` can splice a file into any block:
what a directive means (which upstream, which limit_req is in effect) is only
known once the project model has joined the files.
"""

from __future__ import annotations

from dataclasses import dataclass

from prodlint.facts import Location


@dataclass(frozen=True, slots=True)
class Directive:
    name: str
    args: tuple[str, ...]
    at: Location
    block: tuple[Directive, ...] | None = None  # None: a simple directive ending in `;`

    def children(self, name: str) -> tuple[Directive, ...]:
        return tuple(child for child in self.block or () if child.name == name)


@dataclass(frozen=True, slots=True)
class NginxFile:
    path: str
    directives: tuple[Directive, ...]
    context: str  # the block its top level is written for: main, http (a conf.d file), server, location
