"""Shell scripts (`docker-entrypoint.sh`, `start.sh`): the simple commands they run and the variables they default.

Read line by line (continuations joined, comments dropped), each line split into simple
commands at `&&`, `||`, `;` and `|` outside quotes. Commands inside `if`/`case`/loops/
functions are kept but marked nested, since an entrypoint commonly picks the server in a
branch. `NAME=${NAME:-x}` is a default the environment overrides, `NAME=x` an assignment
that wins. Nothing is executed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from prodlint.extract import Source, extractor
from prodlint.lines import split_lines
from prodlint.extract.commands import split_command
from prodlint.facts import Location
from prodlint.facts.compose import Command
from prodlint.facts.shell import ShellCommand, ShellScript, ShellVariable

if TYPE_CHECKING:
    from prodlint.config import Config

_OPEN = re.compile(r"^(if|for|while|until|case|select)\b|^\w[\w-]*\s*\(\)\s*\{?$|^function\s")
_ONE_LINE = re.compile(r"\b(fi|done|esac)\s*$")
_CLOSE = re.compile(r"^(fi|done|esac|\})\b")
_MIDDLE = re.compile(r"^(then|else|elif|do)\b")
_DEFAULT = re.compile(r"^(?:export\s+)?([A-Za-z_]\w*)=\$\{([A-Za-z_]\w*):?[-=]([^}]*)\}\s*$")
_ASSIGN = re.compile(r"^(?:export\s+)?([A-Za-z_]\w*)=(\"[^\"$`]*\"|'[^']*'|[^\s$`\"';|&]*)\s*$")
_COLON_DEFAULT = re.compile(r"^:\s+\"?\$\{([A-Za-z_]\w*):?=([^}]*)\}\"?\s*$")
_PASS_ARGUMENTS = re.compile(r"^exec\s+\"?\$(@|\{@\})\"?\s*$")
_KEYWORDS = frozenset({"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "for", "case", "esac", "{", "}", "!"})
_OPERATORS = ("&&", "||", ";", "|")


def _logical_lines(text: str) -> Iterator[tuple[int, int, str]]:
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


def _pieces(line: str) -> Iterator[str]:
    """The simple commands of a line: split at `&&`, `||`, `;`, `|` outside quotes."""
    quote, start, index = None, 0, 0
    while index < len(line):
        char = line[index]
        if quote:
            if char == "\\" and quote == '"':
                index += 1
            elif char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "\\":
            index += 1
        else:
            operator = next((o for o in _OPERATORS if line.startswith(o, index)), None)
            if operator is not None:
                yield line[start:index].strip()
                index += len(operator)
                start = index
                continue
        index += 1
    yield line[start:].strip()


def _simple_commands(line: str, at: Location, nested: bool) -> Iterator[ShellCommand]:
    pieces = list(_pieces(line))
    if re.match(r"^(case|for|select)\b", line):
        pieces = pieces[1:]  # `case "$1" in`, `for x in a b`: a header, not a command
    for piece in pieces:
        words = split_command(piece)
        if words is None:
            if piece:
                yield ShellCommand(Command(piece, None, at, shell_form=True), nested)
            continue
        words = list(words)
        while words and words[0] in _KEYWORDS:
            words = words[1:]
        if words and words[0] == "exec":
            words = words[1:]
        if not words or words[0].endswith(")") or words[0] in ("[", "[["):
            continue  # a condition (`[ -f x ]`) or a `case` pattern
        yield ShellCommand(Command(" ".join(words), tuple(words), at, shell_form=True), nested)


@extractor("shell")
def extract_shell(source: Source, config: Config) -> Iterable[object]:
    if not source.text.startswith("#!") and not source.path.endswith((".sh", ".bash")):
        return
    commands: list[ShellCommand] = []
    variables: list[ShellVariable] = []
    depth, passes = 0, False
    for first, last, line in _logical_lines(source.text):
        text = line.strip()
        if not text or text.startswith("#"):
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
            # `if python check.py; then exec node a.js; fi`: what the line runs is inside the branch
            commands.extend(_simple_commands(text, at, nested=True))
            if not _ONE_LINE.search(text):
                depth += 1
            continue
        if _PASS_ARGUMENTS.match(text) and depth == 0:
            passes = True  # and a command: the production-code view follows "$@" wherever it is
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
        commands.extend(_simple_commands(text, at, nested=depth > 0))
    yield ShellScript(source.path, tuple(commands), tuple(variables), passes)
