"""Facts from SQL migration and init files and Alembic revisions: row-level security, indexes.

Row-level security keeps table names as written (`"audit_events"`, `public.uploads`)
and the model normalises them; index facts hold bare, unquoted names.
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


@dataclass(frozen=True, slots=True)
class CreatedIndex:
    """An index a migration creates: `CREATE [UNIQUE] INDEX`, a PRIMARY KEY or UNIQUE
    constraint (in `CREATE TABLE` or `ALTER TABLE ... ADD`), Alembic `op.create_index`,
    `op.create_unique_constraint`, `op.create_table(...)` columns and constraints.

    `table` and `name` are unquoted, without schema; `name` is None when the database
    picks it and prodlint cannot know it. `columns` are column names in index order;
    `origin` says which statement made it (`CREATE INDEX`, `op.create_index`, ...).
    """

    table: str
    columns: tuple[str, ...]
    unique: bool
    primary: bool
    name: str | None
    origin: str
    at: Location
    descending: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DroppedIndex:
    """`DROP INDEX name`, `ALTER TABLE t DROP CONSTRAINT name`, Alembic `op.drop_index` /
    `op.drop_constraint`. `table` is None when the statement does not name it."""

    name: str
    table: str | None
    origin: str
    at: Location


@dataclass(frozen=True, slots=True)
class RenamedIndex:
    """`ALTER INDEX a RENAME TO b` (Prisma's upgrade migrations rename every index this way),
    `op.execute(...)` of the same. Later drops name it `b`."""

    name: str
    new_name: str
    at: Location


@dataclass(frozen=True, slots=True)
class MigrationForeignKey:
    """A foreign key a migration declares: `REFERENCES`, `FOREIGN KEY (...)`, `sa.ForeignKey`."""

    table: str
    columns: tuple[str, ...]
    references: str  # the referenced table
    at: Location


@dataclass(frozen=True, slots=True)
class AlembicRevision:
    """An Alembic revision file: `revision = "b2"`, `down_revision = "a1"` (a tuple for a merge).

    The index facts of the same file belong to this revision's `upgrade()`."""

    revision: str
    down_revisions: tuple[str, ...]
    at: Location
