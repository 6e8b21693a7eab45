"""Shell scripts (entrypoints): the commands they run and the variables they set.

A container whose ENTRYPOINT is `docker-entrypoint.sh` runs what the script runs; the
services view follows a launch into the script when the tree holds it.
"""

from __future__ import annotations

from dataclasses import dataclass

from prodlint.facts import Location
from prodlint.facts.compose import Command


@dataclass(frozen=True, slots=True)
class ShellVariable:
    """`WORKERS=${WORKERS:-1}` (`default=True`: the environment wins) or `WORKERS=4` (the script wins)."""

    name: str
    value: str
    default: bool
    at: Location


@dataclass(frozen=True, slots=True)
class EntrypointScript:
    """One script: its simple commands in order (`exec` dropped, continuation lines joined).

    `nested` marks commands inside an `if`/`case`/loop/function: which of those runs is not known.
    `passes_arguments`: the script runs `exec "$@"`, so the container's command runs after it."""

    path: str
    commands: tuple[Command, ...]
    nested: tuple[bool, ...]
    variables: tuple[ShellVariable, ...]
    passes_arguments: bool
