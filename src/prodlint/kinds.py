"""Which extractor reads a file, decided from its path alone.

Discovery classifies every file of a tree before anything is read, so this module imports
no parser: a warm run, answered from the cache, never loads sqlglot, tree-sitter,
crossplane or PyYAML. Each kind names the module whose `@extractor` reads it; that module
is imported the first time a file of the kind is extracted.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass

Matches = Callable[[str], bool]


def name_matches(*patterns: str) -> Matches:
    """Match the file's base name against glob patterns (case-sensitive)."""
    pattern = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))

    def matches(path: str) -> bool:
        return pattern.match(path.rsplit("/", 1)[-1]) is not None

    return matches


def is_template_path(path: str) -> bool:
    """A cookiecutter / copier project template (`{{cookiecutter.slug}}/docker-compose.yml`): not a deployment."""
    return "{{" in path or "{%" in path


COMPOSE_NAMES = (
    "compose.yaml", "compose.yml", "docker-compose*.yml", "docker-compose*.yaml", "compose.*.yaml", "compose.*.yml",
)
# Folders and files whose YAML is never compose; some (Helm templates) are not even YAML.
_NOT_COMPOSE_DIRS = frozenset({
    ".github", ".gitlab", ".circleci", ".buildkite", "templates", "charts", "helm", "k8s", "kubernetes",
    "cassettes", "fixtures", "testdata", "locale", "locales", "i18n", "translations",
})
_NOT_COMPOSE_NAMES = frozenset({
    "pnpm-lock.yaml", ".pre-commit-config.yaml", ".pre-commit-hooks.yaml", "mkdocs.yml", ".gitlab-ci.yml",
    "Chart.yaml", "openapi.yaml", "openapi.yml", "swagger.yaml", "swagger.yml", "action.yml", "action.yaml",
    "codecov.yml", ".travis.yml", "appveyor.yml", "dependabot.yml", "environment.yml", "serverless.yml",
})
NGINX_DIRS = frozenset({"nginx", "conf.d", "http.d", "sites-available", "sites-enabled"})
# `.conf` files that other programs own; they never hold nginx blocks.
NOT_NGINX = frozenset({
    "postgresql.conf", "pg_hba.conf", "pg_ident.conf", "supervisord.conf", "redis.conf",
    "sentinel.conf", "mongod.conf", "httpd.conf", "apache2.conf", "haproxy.conf", "sysctl.conf",
    "resolv.conf", "logrotate.conf", "rsyslog.conf", "pgbouncer.conf", "my.conf", "mysqld.conf",
})
TYPESCRIPT_EXTENSIONS = ("*.ts", "*.tsx", "*.mts", "*.cts", "*.js", "*.jsx", "*.mjs", "*.cjs")
PLATFORM_FILES = ("render.yaml", "render.yml", "fly.toml", "railway.json", "railway.toml", "app.yaml", "pyproject.toml")


def is_nginx_path(path: str) -> bool:
    """Named or placed as nginx configuration: parse errors in it are worth reporting."""
    *dirs, name = path.split("/")
    if name == "nginx.conf" or name.endswith(".nginx"):
        return True
    if not NGINX_DIRS.intersection(dirs):
        return False
    if name.endswith((".conf", ".conf.template")):
        return True
    return bool(dirs) and dirs[-1] in ("sites-available", "sites-enabled") and "." not in name


def _nginx(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return is_nginx_path(path) or (name.endswith(".conf") and name not in NOT_NGINX)


def _maybe_compose(path: str) -> bool:
    *dirs, name = path.split("/")
    if not name.endswith((".yml", ".yaml")) or name in _NOT_COMPOSE_NAMES or name.endswith(".lock.yaml"):
        return False
    return not _NOT_COMPOSE_DIRS.intersection(dirs) and not is_template_path(path)


def _supervisor(path: str) -> bool:
    *directories, name = path.split("/")
    if name in ("supervisord.conf", "supervisor.conf"):
        return True
    return name.endswith((".conf", ".ini")) and any(d.lower().startswith("supervisor") for d in directories)


def _shell(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.endswith((".sh", ".bash")) or name in ("docker-entrypoint", "entrypoint", "start", "run")


def _dotenv(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name == ".env" or name.startswith(".env.") or name.endswith(".env")


def _not_template(matches: Matches) -> Matches:
    return lambda path: matches(path) and not is_template_path(path)


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    module: str  # the module whose @extractor reads it
    matches: Matches
    priority: int = 0  # higher wins when several match one file; the first listed wins a tie


_EXTRACT = "prodlint.extract"
KINDS: tuple[Kind, ...] = (
    Kind("compose", f"{_EXTRACT}.compose", _not_template(name_matches(*COMPOSE_NAMES)), priority=1),
    Kind("yaml", f"{_EXTRACT}.compose", _maybe_compose, priority=-2),
    Kind("dockerfile", f"{_EXTRACT}.dockerfile", _not_template(name_matches(
        "Dockerfile", "Dockerfile.*", "*.Dockerfile", "*.dockerfile", "Containerfile", "Containerfile.*"))),
    Kind("dotenv", f"{_EXTRACT}.dotenv", _dotenv),
    Kind("ini", f"{_EXTRACT}.ini", name_matches("*.ini")),
    Kind("nginx", f"{_EXTRACT}.nginx", _nginx, priority=-1),
    Kind("package-json", f"{_EXTRACT}.package_json", name_matches("package.json")),
    Kind("postgresql-conf", f"{_EXTRACT}.pgconf", name_matches("postgresql.conf", "postgresql.*.conf", "postgresql.conf.*")),
    Kind("platform", f"{_EXTRACT}.platform", name_matches(*PLATFORM_FILES)),
    Kind("prisma", f"{_EXTRACT}.prisma_schema", name_matches("*.prisma")),
    Kind("procfile", f"{_EXTRACT}.procfile", _not_template(name_matches("Procfile", "Procfile.*"))),
    Kind("python", f"{_EXTRACT}.python", name_matches("*.py", "*.pyi")),
    Kind("shell", f"{_EXTRACT}.shell", _shell),
    Kind("sql", f"{_EXTRACT}.sql", name_matches("*.sql")),
    Kind("supervisor", f"{_EXTRACT}.supervisor", _supervisor, priority=1),
    Kind("tsconfig", f"{_EXTRACT}.tsconfig", name_matches("tsconfig.json", "tsconfig.*.json", "jsconfig.json", "jsconfig.*.json")),
    Kind("typescript", f"{_EXTRACT}.typescript", name_matches(*TYPESCRIPT_EXTENSIONS)),
)
BY_NAME = {kind.name: kind for kind in KINDS}


def classify(path: str) -> str | None:
    """The kind of extractor for a file, or None when prodlint has nothing to read in it."""
    best: Kind | None = None
    for kind in KINDS:
        if kind.matches(path) and (best is None or kind.priority > best.priority):
            best = kind
    return best.name if best else None
