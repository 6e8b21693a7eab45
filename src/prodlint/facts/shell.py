"""Shell scripts (`docker-entrypoint.sh`, `start.sh`): the commands they run and the variables they set.

A container whose ENTRYPOINT is `docker-entrypoint.sh` runs what the script runs: the
services view follows a launch into the script for the server it ends in, the
production-code view for the files each command starts.
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
class ShellCommand:
    """One simple command of a script (`alembic upgrade head` of `alembic upgrade head && exec gunicorn app`).

    `nested`: inside an `if`/`case`/loop/function, so whether it runs is not known."""

    command: Command  # `exec` dropped; argv None when the words cannot be split
    nested: bool


@dataclass(frozen=True, slots=True)
class ShellScript:
    """One script: its simple commands in order, and the variables it assigns or defaults.

    `passes_arguments`: the script runs `exec "$@"` at the top level, so the container's
    command runs after it."""

    path: str
    commands: tuple[ShellCommand, ...]
    variables: tuple[ShellVariable, ...]
    passes_arguments: bool
