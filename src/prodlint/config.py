"""Configuration: `[tool.prodlint]` in pyproject.toml, `prodlint.toml` or `.prodlint.toml`.

Every key is validated: an unknown key, a wrong type or an unknown rule code is a
`ConfigError` naming the key, and the command line exits 2.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from prodlint.reading import read_regular

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_FILE_BYTES_LIMIT = 1 << 30  # a larger max-file-bytes is a typo, not a plan
MAX_CONFIG_BYTES = 4 * 1024 * 1024
SEVERITIES = ("error", "warning", "note")

DEFAULT_GUARDS = (
    "authGuard", "authenticate", "authenticated", "requireAuth", "requireUser", "requireLogin",
    "isAuthenticated", "ensureAuthenticated", "ensureLoggedIn", "verifyToken", "verifyJWT", "verifyJwt",
    "jwtAuth", "checkJwt", "authMiddleware", "auth", "protect", "protectRoute",
    "passport.authenticate", "requireRole", "requireAdmin", "requirePermission", "authorize",
    "get_current_user", "get_current_active_user", "get_current_active_superuser",
    "require_user", "require_auth", "verify_token", "authenticate_user", "current_user",
    "login_required", "jwt_required", "auth_required", "token_required", "permission_required",
    "roles_required", "roles_accepted", "fresh_jwt_required", "HTTPBearer", "OAuth2PasswordBearer",
    "APIKeyHeader", "Security",
)
DEFAULT_PUBLIC = (
    "/", "/health", "/healthz", "/health/*", "/healthcheck", "/ready", "/readyz", "/live", "/livez",
    "/ping", "/status", "/metrics", "/version", "/favicon.ico", "/robots.txt", "/api", "/api/v[0-9]",
    "/docs", "/docs/*", "/redoc", "/openapi.json", "/swagger", "/swagger/*", "/api-docs", "/api-docs/*",
    "*/docs.json", "*/openapi.json", "*/swagger.json", "/public/*", "*/public/*",
    "*/login", "*/logout", "*/signin", "*/signup", "*/register", "*/refresh", "*/token",
    "*/forgot-password", "*/reset-password", "*/verify-email", "*/verify", "*/callback", "*/callback/*",
    "*/oauth", "*/oauth/*", "*/webhook", "*/webhook/*", "*/webhooks", "*/webhooks/*", "*/health", "*/healthz",
    "*/ready", "*/live", "*/metrics", "*/docs", "*/docs/*", "*/login/*", "*/health-check", "*/health-check/*",
    "*/password-recovery/*", "*/reset-password/*", "*/reset_password*", "*/forgot-password/*",
    "*/refresh-token", "*/refresh-tokens", "*/forgot", "*/forgot/*", "*/reset/*", "*/contact",
)
DEFAULT_PAGE_PARAMS = ("limit", "take", "size", "page_size", "pageSize", "per_page", "perPage")
DEFAULT_DEV_FILES = (
    "*.dev.yml", "*.dev.yaml", "*-dev.yml", "*-dev.yaml", "*.development.yml", "*.development.yaml",
    "*.override.yml", "*.override.yaml", "docker-compose.local.yml", "docker-compose.local.yaml",
    "*.local.yml", "*.local.yaml", "*.test.yml", "*.test.yaml", "*.ci.yml", "*.ci.yaml",
    "Dockerfile.dev", "Dockerfile.local", "*.dev.Dockerfile", "dev.Dockerfile", "Procfile.dev",
    "Procfile.windows", "Procfile.local", ".devcontainer/**",
)


class ConfigError(Exception):
    """Invalid configuration; the message names the offending key."""


@dataclass(frozen=True, slots=True)
class Config:
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    severity: tuple[tuple[str, str], ...] = ()
    max_file_bytes: int = MAX_FILE_BYTES
    tenant_keys: tuple[str, ...] = ("tenantId", "tenant_id")
    tenant_exempt: tuple[str, ...] = ()
    tenant_scoped_clients: tuple[str, ...] = ()
    tenant_sub_keys: tuple[str, ...] = ()  # columns that narrow a tenant, derived from the verified identity
    route_guards: tuple[str, ...] = DEFAULT_GUARDS
    route_public: tuple[str, ...] = DEFAULT_PUBLIC
    page_params: tuple[str, ...] = DEFAULT_PAGE_PARAMS
    bounded_models: tuple[str, ...] = ()
    concurrent_requests: int | None = None
    dev_files: tuple[str, ...] = DEFAULT_DEV_FILES
    roles: tuple[tuple[str, tuple[str, ...]], ...] = ()  # role -> globs, overriding what prodlint decides
    source: str | None = field(default=None, compare=False)  # where it was read from

    def digest(self) -> str:
        """Hash of everything that can change what extraction produces."""
        data = asdict(self)
        data.pop("source")
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    def severity_of(self, code: str, default: str) -> str:
        """The configured level of `code`: the most specific of `DC001`, `DC` and `ALL` wins."""
        best, level = -1, default
        for selector, configured in self.severity:
            name = selector.strip().upper()
            rank = 0 if name == "ALL" else len(name) if code.startswith(name) else -1
            if rank > best:
                best, level = rank, configured
        return level


def selects(code: str, selectors: tuple[str, ...]) -> bool:
    """Does one of `selectors` (a code, a family such as `TN`, or `ALL`, any case) name `code`?"""
    for selector in selectors:
        name = selector.strip().upper()
        if name and (name == "ALL" or code.startswith(name)):
            return True
    return False


def _strings(key: str) -> Callable[[Any], tuple[str, ...]]:
    def convert(value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ConfigError(f"`{key}` must be a list of strings")
        return tuple(value)

    return convert


def _positive_int(key: str, limit: int = 1 << 31) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ConfigError(f"`{key}` must be a positive integer")
        if value > limit:
            raise ConfigError(f"`{key}` must be at most {limit}")
        return value

    return convert


def _per_file_ignores(value: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(value, dict):
        raise ConfigError("`per-file-ignores` must be a table of glob = [codes]")
    return tuple((glob, _strings(f"per-file-ignores.{glob}")(codes)) for glob, codes in sorted(value.items()))


def _severity(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        raise ConfigError("`severity` must be a table of CODE = \"error\" | \"warning\" | \"note\"")
    for code, level in value.items():
        if level not in SEVERITIES:
            raise ConfigError(f"`severity.{code}` must be one of {', '.join(SEVERITIES)}, not {level!r}")
    return tuple(sorted(value.items()))


ROLE_NAMES = ("request", "job", "script", "test", "migration", "seed", "generated", "copy", "dev-config", "bundle", "config")


def _roles(value: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(value, dict):
        raise ConfigError("`roles` must be a table of role = [globs]")
    for role in value:
        if role not in ROLE_NAMES:
            raise ConfigError(f"`roles.{role}` is not a role; roles are {', '.join(ROLE_NAMES)}")
    return tuple((role, _strings(f"roles.{role}")(globs)) for role, globs in sorted(value.items()))


# key in the file -> (Config field, converter). Recognisers add to prodlint's defaults.
_KEYS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "select": ("select", _strings("select")),
    "ignore": ("ignore", _strings("ignore")),
    "exclude": ("exclude", _strings("exclude")),
    "per-file-ignores": ("per_file_ignores", _per_file_ignores),
    "severity": ("severity", _severity),
    "max-file-bytes": ("max_file_bytes", _positive_int("max-file-bytes", MAX_FILE_BYTES_LIMIT)),
    "tenant.keys": ("tenant_keys", _strings("tenant.keys")),
    "tenant.exempt": ("tenant_exempt", _strings("tenant.exempt")),
    "tenant.scoped-clients": ("tenant_scoped_clients", _strings("tenant.scoped-clients")),
    "tenant.sub-keys": ("tenant_sub_keys", _strings("tenant.sub-keys")),
    "routes.guards": ("route_guards", _strings("routes.guards")),
    "routes.public": ("route_public", _strings("routes.public")),
    "pagination.params": ("page_params", _strings("pagination.params")),
    "pagination.bounded-models": ("bounded_models", _strings("pagination.bounded-models")),
    "capacity.concurrent-requests": ("concurrent_requests", _positive_int("capacity.concurrent-requests")),
    "compose.dev-files": ("dev_files", _strings("compose.dev-files")),
    "roles": ("roles", _roles),
}
_EXTENDS_DEFAULTS = {"route_guards", "route_public", "page_params", "dev_files"}
_SECTIONS = {key.split(".")[0] for key in _KEYS if "." in key}
CONFIG_FILES = ("pyproject.toml", "prodlint.toml", ".prodlint.toml")


def _flatten(table: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        if key in _SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"`{key}` must be a table")
            for sub, sub_value in value.items():
                flat[f"{key}.{sub}"] = sub_value
        else:
            flat[key] = value
    return flat


def from_table(table: dict[str, Any], source: str | None = None) -> Config:
    """Build a validated Config from the `[tool.prodlint]` table."""
    config = Config(source=source)
    changes: dict[str, Any] = {}
    for key, value in _flatten(table).items():
        if key not in _KEYS:
            raise ConfigError(f"unknown configuration key `{key}`")
        name, convert = _KEYS[key]
        converted = convert(value)
        if name in _EXTENDS_DEFAULTS:
            converted = tuple(dict.fromkeys(getattr(config, name) + converted))
        changes[name] = converted
    return replace(config, **changes)


def _read_toml(path: Path) -> dict[str, Any]:
    """A regular file of reasonable size, parsed; never blocks on a FIFO or /dev/zero."""
    try:
        content = read_regular(path, MAX_CONFIG_BYTES)
        if len(content) > MAX_CONFIG_BYTES:
            raise ConfigError(f"cannot read {path}: larger than {MAX_CONFIG_BYTES} bytes")
        text = content.decode("utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"cannot read {path}: not UTF-8 ({error.reason})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None
    except RecursionError:
        raise ConfigError(f"{path} is nested too deeply to read") from None


def _tool_table(data: dict[str, Any]) -> Any:
    tool = data.get("tool", {})
    return tool.get("prodlint") if isinstance(tool, dict) else None


def read_file(path: Path) -> Config:
    data = _read_toml(path)
    if path.name == "pyproject.toml":
        table = _tool_table(data)
        table = {} if table is None else table
    elif "tool" in data:
        table = _tool_table(data)
        table = data if table is None else table
    else:
        table = data
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.prodlint] must be a table")
    try:
        return from_table(table, source=str(path))
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


def find(root: Path) -> Path | None:
    """The first configuration file at the project root that configures prodlint."""
    for name in CONFIG_FILES:
        candidate = root / name
        if not os.path.isfile(candidate):
            continue
        if name != "pyproject.toml":
            return candidate
        try:
            if _tool_table(_read_toml(candidate)) is not None:
                return candidate
        except ConfigError:
            return candidate  # reported by read_file
    return None


def load(root: Path, explicit: Path | None = None) -> Config:
    path = explicit or find(root)
    return read_file(path) if path else Config()
