"""Rule metadata (from `rules/*.yaml`) and the registry of rule functions.

The YAML files are the single source for `prodlint rules`, `prodlint rule CODE`,
SARIF `tool.driver.rules` and the README rule table.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from prodlint.facts import Location

if TYPE_CHECKING:
    from prodlint.config import Config
    from prodlint.project import Project

FAMILIES = {
    "RT": "Routes",
    "TN": "Tenant isolation",
    "PG": "Pagination",
    "IX": "Indexes",
    "CP": "Connection capacity",
    "SV": "Servers",
    "DC": "Containers",
    "NX": "nginx",
    "PL": "prodlint",
}


@dataclass(frozen=True, slots=True)
class RuleMeta:
    id: str
    name: str
    severity: str
    summary: str
    rationale: str
    bad: str
    good: str
    fix: str
    references: tuple[str, ...]
    kind: str = "rule"  # "notification" for PL001, which no function yields

    @property
    def family(self) -> str:
        return FAMILIES.get(self.id[:2], self.id[:2])


@dataclass(frozen=True, slots=True)
class Related:
    at: Location
    message: str


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    message: str
    at: Location
    related: tuple[Related, ...] = ()


RuleFunction = Callable[["Project"], Iterator[Finding]]
_RULES: dict[str, RuleFunction] = {}
_REQUIRED = ("id", "name", "severity", "summary", "rationale", "bad", "good", "fix", "references")


def rule(code: str) -> Callable[[RuleFunction], RuleFunction]:
    def register(fn: RuleFunction) -> RuleFunction:
        _RULES[code] = fn
        return fn

    return register


def _rules_dir() -> Path:
    packaged = resources.files("prodlint") / "rules"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "rules"  # source checkout / editable install


@cache
def metadata() -> dict[str, RuleMeta]:
    """All rule metadata by code, in code order."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when the wheel has it: the same data, 7x faster
    found: dict[str, RuleMeta] = {}
    for path in sorted(_rules_dir().glob("*.yaml")):
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - a safe loader
        missing = [key for key in _REQUIRED if key not in data]
        if missing:
            raise RuntimeError(f"{path.name} lacks {', '.join(missing)}")
        if data["id"] != path.stem:
            raise RuntimeError(f"{path.name} holds rule {data['id']}: a rule's file is named by its code")
        found[data["id"]] = RuleMeta(
            id=data["id"],
            name=data["name"],
            severity=data["severity"],
            summary=data["summary"].strip(),
            rationale=data["rationale"].strip(),
            bad=data["bad"].rstrip(),
            good=data["good"].rstrip(),
            fix=data["fix"].strip(),
            references=tuple(data["references"] or ()),
            kind=data.get("kind", "rule"),
        )
    return dict(sorted(found.items()))


@cache
def codes() -> frozenset[str]:
    """Every rule code, from the file names alone: selecting rules reads no YAML."""
    return frozenset(path.stem for path in _rules_dir().glob("*.yaml"))


def functions() -> dict[str, RuleFunction]:
    """Rule functions by code; importing `prodlint.checks` registers them."""
    import prodlint.checks as checks

    for info in sorted(pkgutil.iter_modules(checks.__path__), key=lambda m: m.name):
        importlib.import_module(f"{checks.__name__}.{info.name}")
    return dict(sorted(_RULES.items()))


def expand(selectors: tuple[str, ...], key: str) -> set[str]:
    """Codes named by `RT`, `TN001`, `ALL`; an unknown selector is a ConfigError naming the key."""
    from prodlint.config import ConfigError

    known = codes()
    chosen: set[str] = set()
    for selector in selectors:
        selector = selector.strip().upper()
        if selector == "ALL":
            chosen |= known
            continue
        matched = {code for code in known if code.startswith(selector)}
        if not selector or not matched:
            raise ConfigError(f"`{key}` names unknown rule `{selector}`")
        chosen |= matched
    return chosen


def normalise(selectors: tuple[str, ...], key: str) -> tuple[str, ...]:
    """Selectors as prodlint compares them (upper case), after checking each names a rule."""
    expand(selectors, key)
    return tuple(selector.strip().upper() for selector in selectors)


def validate(config: Config) -> None:
    """Rule codes named anywhere in the configuration must exist."""
    expand(config.select, "select")
    expand(config.ignore, "ignore")
    for glob, selected in config.per_file_ignores:
        expand(selected, f"per-file-ignores.{glob}")
    for code, _level in config.severity:
        expand((code,), f"severity.{code}")


def enabled(config: Config, select: tuple[str, ...] = (), ignore: tuple[str, ...] = ()) -> set[str]:
    """Codes that run: CLI selection replaces the file's, ignores add up."""
    chosen = expand(select or config.select or ("ALL",), "select")
    return chosen - expand(config.ignore, "ignore") - expand(ignore, "ignore")
