"""Columns declared away from the class that maps them: type aliases and helper functions.

`id_key = Annotated[int, mapped_column(primary_key=True)]` used as `id: Mapped[id_key]`,
and `def primary_key(...): return mapped_column(..., primary_key=True)` used as
`id = primary_key("User")`. The index inventory resolves the names across files.
"""

from __future__ import annotations

from dataclasses import dataclass

from prodlint.facts import Location


@dataclass(frozen=True, slots=True)
class ColumnTemplate:
    """A module-level `Annotated[...]` alias (`called=False`) or a function (`called=True`)
    whose column is a primary key, unique or indexed in every branch."""

    name: str
    primary: bool
    unique: bool
    index: bool
    at: Location
    called: bool = False


@dataclass(frozen=True, slots=True)
class TemplatedColumn:
    """A class attribute declared through a helper call: `id = primary_key("User")`.

    `model` is the class, `field` the attribute, `template` the called name as written."""

    model: str
    field: str
    template: str
    at: Location
