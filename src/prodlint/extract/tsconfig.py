"""`tsconfig.json` / `jsconfig.json`: the `baseUrl`, `paths` and `extends` that module resolution needs.

These files are JSON with comments and trailing commas; both are stripped by a
small scanner that respects strings, never by evaluating the text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prodlint.extract import ParseError, Source, extractor
from prodlint.facts.modules import TsConfig

if TYPE_CHECKING:
    from prodlint.config import Config


def strict_json(text: str) -> str:
    """JSON with comments (JSONC) -> JSON: drop `//` and `/* */` comments and trailing commas."""
    out: list[str] = []
    i, length = 0, len(text)
    pending_comma = -1  # index in `out` of a comma that may turn out to be trailing
    while i < length:
        char = text[i]
        if char == '"':
            end = i + 1
            while end < length and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            out.append(text[i : end + 1])
            pending_comma = -1
            i = end + 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = length if end == -1 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = length if end == -1 else end + 2
        else:
            if char == ",":
                pending_comma = len(out)
            elif char in "}]" and pending_comma >= 0:
                out[pending_comma] = ""
                pending_comma = -1
            elif not char.isspace():
                pending_comma = -1
            out.append(char)
            i += 1
    return "".join(out)


@extractor("tsconfig")
def extract_tsconfig(source: Source, config: Config) -> Iterator[object]:
    try:
        document = json.loads(strict_json(source.text)) if source.text.strip() else {}
    except json.JSONDecodeError as error:
        raise ParseError(f"invalid JSON: {error.msg}", error.lineno) from None
    if not isinstance(document, dict):
        raise ParseError("a tsconfig must be a JSON object", 1)
    options = document.get("compilerOptions")
    options = options if isinstance(options, dict) else {}
    base_url = options.get("baseUrl") if isinstance(options.get("baseUrl"), str) else None
    paths = options.get("paths") if isinstance(options.get("paths"), dict) else {}
    extends = document.get("extends")
    extended = (extends,) if isinstance(extends, str) else tuple(e for e in extends if isinstance(e, str)) if isinstance(extends, list) else ()
    yield TsConfig(
        path=source.path,
        base_url=base_url,
        paths=tuple(sorted(
            (pattern, tuple(t for t in targets if isinstance(t, str)))
            for pattern, targets in paths.items() if isinstance(targets, list)
        )),
        extends=extended,
    )
