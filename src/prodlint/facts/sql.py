"""Facts from SQL migration and init files: row-level security and server settings.

Table names are kept as written (`"audit_events"`, `public.uploads`); the model
normalises quoting and schema.
"""

from __future__ import annotations

from dataclasses import dataclass

from prodlint.facts import Location


@dataclass(frozen=True, slots=True)
class RowLevelSecurity:
    """`ALTER TABLE t ENABLE | DISABLE ROW LEVEL SECURITY`."""

    table: str
    at: Location
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class Policy:
    """`CREATE POLICY name ON t ... USING (...) WITH CHECK (...)`: the columns its expressions read."""

    name: str
    table: str
    columns: tuple[str, ...]
    at: Location
