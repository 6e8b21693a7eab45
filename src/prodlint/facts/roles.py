"""Facts that tell what a file is and what starts in production.

Extractors record what one file says about itself (a `__main__` guard, a worker
application, the modules it references) and what a
launcher file runs (`package.json` scripts; shell scripts are `prodlint.facts.shell`). The
production-code view (`prodlint.model.roles`) joins them with the compose,
Dockerfile and Procfile commands into a role for every file.
"""

from __future__ import annotations

from dataclasses import dataclass

from prodlint.facts import Location


@dataclass(frozen=True, slots=True)
class SourceTraits:
    """What one Python or TS/JS file says about itself.

    `references`: module specifiers the file loads as written (imports, side-effect
    imports, `require('x')`, `import('x')`, re-exports), for reachability.
    `runs_as_main`: where it runs as a program (`if __name__ == "__main__":`,
    `require.main === module`); `runs_on_import`: a top-level call that does the
    work of a program (`main()`, `asyncio.run(...)`, a function of the same file). `job_app`: what makes it a worker process
    (`Celery(...)`, a BullMQ `new Worker(...)`, `cron.schedule(...)`).
    """

    path: str
    references: tuple[str, ...] = ()
    runs_as_main: Location | None = None
    runs_on_import: Location | None = None
    job_app: tuple[str, Location] | None = None


@dataclass(frozen=True, slots=True)
class PackageManifest:
    """A `package.json`: the scripts npm runs and what it names as entry files.

    `prisma_schema` / `prisma_seed` are the `prisma.schema` / `prisma.seed` keys.
    """

    path: str
    name: str | None
    scripts: tuple[tuple[str, str], ...]
    main: str | None
    bin: tuple[str, ...]
    prisma_schema: str | None
    prisma_seed: str | None
    at: Location


@dataclass(frozen=True, slots=True)
class PrismaConfig:
    """A `prisma.config.ts`: the schema the Prisma CLI reads (`schema: "prisma/schema.prisma"`).

    `schema` None: not a literal; relative to the config file's folder, a file or a folder of schema files."""

    path: str
    schema: str | None
    at: Location


@dataclass(frozen=True, slots=True)
class ComposeHeader:
    """The leading comment of a compose file (`# Development stack: do not deploy`)."""

    path: str
    text: str


@dataclass(frozen=True, slots=True)
class PlatformProcess:
    """A process a hosting platform starts: Render `startCommand`, Fly `[processes]`, Railway, App Engine.

    `role` is "request" for web processes, "job" for workers and cron, "script" for
    release / pre-deploy commands; `directory` is the folder relative paths start from.
    """

    path: str
    platform: str
    process: str
    command: str
    role: str
    directory: str
    at: Location
