"""`package.json`: npm scripts, `main`, `bin` and the `prisma` keys, read as data."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from prodlint.extract import ParseError, Source, extractor
from prodlint.facts import Location
from prodlint.facts.roles import PackageManifest

if TYPE_CHECKING:
    from prodlint.config import Config


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@extractor("package-json")
def extract_package_json(source: Source, config: Config) -> Iterable[object]:
    try:
        data = json.loads(source.text)
    except (ValueError, RecursionError) as error:
        raise ParseError(f"package.json is not valid JSON ({type(error).__name__})") from None
    if not isinstance(data, dict):
        return
    scripts = data.get("scripts")
    scripts = tuple(sorted((k, v) for k, v in scripts.items() if isinstance(v, str))) if isinstance(scripts, dict) else ()
    binaries = data.get("bin")
    if isinstance(binaries, str):
        bins: tuple[str, ...] = (binaries,)
    elif isinstance(binaries, dict):
        bins = tuple(sorted(v for v in binaries.values() if isinstance(v, str)))
    else:
        bins = ()
    prisma = data.get("prisma") if isinstance(data.get("prisma"), dict) else {}
    yield PackageManifest(
        source.path, _text(data.get("name")), scripts, _text(data.get("main")), bins,
        _text(prisma.get("schema")), _text(prisma.get("seed")), Location(source.path, 1))
