"""Shell scripts: the commands an entrypoint script runs and the variables it defaults.

Read line by line (continuations joined, comments dropped): a top-level simple command
is one the script runs; commands inside `if`/`case`/loops/functions are kept but marked
nested. `NAME=${NAME:-x}` is a default the environment overrides, `NAME=x` an assignment
that wins. Nothing is evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from prodlint.extract import Source
from prodlint.lines import split_lines
from prodlint.extract.commands import split_command
from prodlint.facts import Location
from prodlint.facts.compose import Command
from prodlint.facts.shell import EntrypointScript, ShellVariable

_OPEN = re.compile(r"^(if|for|while|until|case|select)\b|^\w[\w-]*\s*\(\)\s*\{?$|^function\s")
_CLOSE = re.compile(r"^(fi|done|esac|\})\b")
_MIDDLE = re.compile(r"^(then|else|elif|do)\b")
_DEFAULT = re.compile(r"^(?:export\s+)?([A-Za-z_]\w*)=\$\{([A-Za-z_]\w*):?[-=]([^}]*)\}\s*$")
_ASSIGN = re.compile(r"^(?:export\s+)?([A-Za-z_]\w*)=(\"[^\"$`]*\"|'[^']*'|[^\s$`\"';|&]*)\s*$")
_COLON_DEFAULT = re.compile(r"^:\s+\"?\$\{([A-Za-z_]\w*):?=([^}]*)\}\"?\s*$")
_PASS_ARGUMENTS = re.compile(r"^exec\s+\"?\$(@|\{@\})\"?\s*$")


def _logical_lines(text: str) -> Iterable[tuple[int, int, str]]:
    """(first line, last line, text) with backslash continuations joined."""
    start, parts = None, []
    for number, raw in enumerate(split_lines(text), start=1):
        line = raw.rstrip()
        if start is None:
            start = number
        if line.endswith("\\"):
            parts.append(line[:-1])
            continue
        parts.append(line)
        yield start, number, " ".join(p.strip() for p in parts)
        start, parts = None, []
    if parts and start is not None:
        yield start, start + len(parts) - 1, " ".join(p.strip() for p in parts)


def entrypoint_script(source: Source) -> Iterable[object]:
    """The `EntrypointScript` fact of a shell script (the "shell" extractor in
    `prodlint.extract.shell_script` reads each script once and yields it too)."""
    commands: list[Command] = []
    nested: list[bool] = []
    variables: list[ShellVariable] = []
    depth, passes = 0, False
    for first, last, line in _logical_lines(source.text):
        text = line.strip()
        if not text or text.startswith("#") or text.startswith("#!"):
            continue
        at = Location(source.path, first, 1, last, None)
        if _CLOSE.match(text):
            depth = max(0, depth - 1)
            continue
        if _MIDDLE.match(text):
            text = _MIDDLE.sub("", text, count=1).strip().lstrip(";").strip()
            if not text:
                continue
        if _OPEN.match(text):
            if not re.search(r"\b(fi|done|esac)\s*$", text):  # a one-line `if ...; then ...; fi` opens nothing
                depth += 1
            continue
        if _PASS_ARGUMENTS.match(text):
            passes = passes or depth == 0
            continue
        if (match := _DEFAULT.match(text)) and match[1] == match[2]:
            variables.append(ShellVariable(match[1], match[3].strip("\"'"), True, at))
            continue
        if match := _COLON_DEFAULT.match(text):
            variables.append(ShellVariable(match[1], match[2].strip("\"'"), True, at))
            continue
        if match := _ASSIGN.match(text):
            if depth == 0:
                variables.append(ShellVariable(match[1], match[2].strip("\"'"), False, at))
            continue
        command = text.removeprefix("exec ").strip() if text.startswith("exec ") else text
        commands.append(Command(command, split_command(command), at, shell_form=True))
        nested.append(depth > 0)
    yield EntrypointScript(source.path, tuple(commands), tuple(nested), tuple(variables), passes)
