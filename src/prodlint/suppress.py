"""Inline suppressions: `prodlint: ignore[CODE, ...] -- reason` in a comment of the file's language.

Codes are required: there is no blanket ignore. The comment applies to its own line
and the line below (formatters move comments above the code they annotate);
`ignore-file[...]` in the first ten lines applies to the whole file.

Comments are found with each language's own lexical rules (Python's tokenizer; string,
template and comment rules of TypeScript, SQL, YAML and the `#` formats), so a string
that contains `# prodlint: ignore[...]` suppresses nothing. A comment that starts like a
suppression but is not one (`prodlint: ignore` without codes, an `ignore-file` below line
ten, an unclosed `[`) is kept with its problem, reported as PL004, and suppresses nothing.
Every step is linear in the line's length.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterator

from prodlint.facts import Location, Suppression
from prodlint.lines import split_lines

FILE_SCOPE_LINES = 10
_HEAD = re.compile(r"prodlint\s*:\s*", re.IGNORECASE)
_DIRECTIVE = re.compile(r"(ignore-file|ignore)\s*\[([^\]\n]*)\]", re.IGNORECASE)
_LOOKS_LIKE = re.compile(r"(?:ignore|disable|noqa|skip)", re.IGNORECASE)
_FORM = "`prodlint: ignore[CODE, ...] -- reason`"

# (line, 0-based column of the comment's first character, the comment's text)
_Comment = tuple[int, int, str]


def scan(path: str, text: str, kind: str | None = None) -> tuple[Suppression, ...]:
    if "prodlint" not in text and "PRODLINT" not in text.upper():
        return ()
    lines = split_lines(text)
    found = []
    for number, column, comment in _comments(text, lines, kind):
        suppression = _parse(path, number, column, comment, len(lines[number - 1]) if number <= len(lines) else 0)
        if suppression is not None:
            found.append(suppression)
    return tuple(found)


def _parse(path: str, number: int, column: int, comment: str, line_length: int) -> Suppression | None:
    head = _HEAD.search(comment)
    if head is None:
        return None
    rest = comment[head.end():]
    at = Location(path, number, column + 1, number, line_length + 1)
    directive = _DIRECTIVE.match(rest)
    if directive is None:
        if not _LOOKS_LIKE.match(rest):
            return None  # prose that mentions prodlint
        return Suppression((), None, at, problem=f"not a suppression: write {_FORM}")
    codes = tuple(dict.fromkeys(code.strip().upper() for code in directive[2].split(",") if code.strip()))
    whole_file = directive[1].lower() == "ignore-file"
    reason = rest[directive.end():].strip()
    if reason.endswith("*/"):
        reason = reason[:-2].rstrip()
    for lead in ("--", "—", ":", "-"):
        if reason.startswith(lead):
            reason = reason[len(lead):].lstrip()
            break
    if not codes:
        return Suppression((), reason or None, at, whole_file, problem=f"names no rule code, and there is no blanket ignore: write {_FORM}")
    if whole_file and number > FILE_SCOPE_LINES:
        return Suppression(codes, reason or None, at, True,
                           problem=f"ignore-file must be in the first {FILE_SCOPE_LINES} lines; this one applies to nothing")
    return Suppression(codes, reason or None, at, whole_file)


def covers(suppression: Suppression, code: str, line: int) -> bool:
    if suppression.problem is not None or code not in suppression.codes:
        return False
    return suppression.whole_file or line in (suppression.at.line, suppression.at.line + 1)


# --- comments, per language -------------------------------------------------------------------


def _comments(text: str, lines: list[str], kind: str | None) -> Iterator[_Comment]:
    if kind == "python":
        yield from _python_comments(text, lines)
    elif kind in ("typescript", "tsconfig", "prisma"):
        yield from _c_like_comments(text, template=kind == "typescript")
    elif kind == "sql":
        yield from _sql_comments(text)
    elif kind == "dockerfile":
        yield from ((n, len(line) - len(line.lstrip()), line.lstrip()[1:]) for n, line in enumerate(lines, 1)
                    if line.lstrip().startswith("#"))
    elif kind in ("compose", "yaml", "dotenv", "procfile"):
        yield from _hash_comments(lines, after_space=True)
    elif kind in ("nginx", "postgresql-conf"):
        yield from _hash_comments(lines, after_space=False)
    else:
        yield from _any_comments(lines)


_GENERIC = re.compile(r"#|//|--|/\*|;")


def _any_comments(lines: list[str]) -> Iterator[_Comment]:
    """A file of no known language: any comment introducer before `prodlint:` on the line."""
    for number, line in enumerate(lines, start=1):
        head = _HEAD.search(line)
        if head is None:
            continue
        introducers = list(_GENERIC.finditer(line, 0, head.start()))
        if introducers:
            start = introducers[-1]
            yield number, start.start(), line[start.end():]


def _python_comments(text: str, lines: list[str]) -> Iterator[_Comment]:
    try:
        comments = [(token.start[0], token.start[1], token.string[1:])
                    for token in tokenize.generate_tokens(io.StringIO(text).readline) if token.type == tokenize.COMMENT]
    except (tokenize.TokenError, SyntaxError, ValueError):
        comments = list(_hash_comments(lines, after_space=False))  # not valid Python: read it as plain `#` text
    yield from comments


def _hash_comments(lines: list[str], after_space: bool) -> Iterator[_Comment]:
    """`#` outside quotes (YAML, .env: only at the start or after white space)."""
    for number, line in enumerate(lines, start=1):
        if "#" not in line:
            continue
        quote = ""
        for index, char in enumerate(line):
            if quote:
                if char == quote:
                    quote = ""
                elif char == "\\" and quote == '"':
                    continue
            elif char in "'\"" and (index == 0 or not line[index - 1].isalnum()):
                quote = char
            elif char == "#" and (not after_space or index == 0 or line[index - 1] in " \t"):
                yield number, index, line[index + 1:]
                break


def _moved(text: str, start: int, to: int, line: int, column: int) -> tuple[int, int]:
    """The line and column at `to`, from those at `start`: the scanners' one way of counting."""
    chunk = text[start:to]
    breaks = chunk.count("\n")
    if breaks:
        return line + breaks, len(chunk) - chunk.rfind("\n") - 1
    return line, column + len(chunk)


def _c_like_comments(text: str, template: bool) -> Iterator[_Comment]:
    """`//` and `/* */` outside strings and template literals (with their `${}` nesting) and regex literals."""
    line, column, i, n = 1, 0, 0, len(text)
    stack: list[str] = []  # "`" inside a template, "{" inside a `${` of one
    previous = ""  # last significant character: tells a regex literal from a division

    def advance(to: int) -> None:
        nonlocal line, column, i
        line, column = _moved(text, i, to, line, column)
        i = to

    while i < n:
        char = text[i]
        if stack and stack[-1] == "`":
            end = i
            while end < n and text[end] not in "`\\$":
                end += 1
            if end >= n:
                advance(n)
                break
            if text[end] == "\\":
                advance(min(end + 2, n))
            elif text[end] == "`":
                stack.pop()
                advance(end + 1)
                previous = "`"
            elif text.startswith("${", end):
                stack.append("{")
                advance(end + 2)
                previous = "{"
            else:
                advance(end + 1)
            continue
        if char == "/" and text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            yield line, column, text[i + 2:end]
            advance(end)
            continue
        if char == "/" and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            body = text[i + 2:end - 2 if end <= n and text.startswith("*/", end - 2) else end]
            for offset, part in enumerate(body.split("\n")):
                yield line + offset, column if offset == 0 else 0, part
            advance(end)
            continue
        if char in "'\"":
            end = i + 1
            while end < n and text[end] != char and text[end] != "\n":
                end += 2 if text[end] == "\\" else 1
            advance(min(end + 1, n))
            previous = char
            continue
        if char == "`" and template:
            stack.append("`")
            advance(i + 1)
            continue
        if char == "/" and template and (previous == "" or previous in "(,=:[!&|?{};+-*%<>~^"):
            end = i + 1
            in_class = False
            while end < n and text[end] != "\n":
                if text[end] == "\\":
                    end += 2
                    continue
                if text[end] == "[":
                    in_class = True
                elif text[end] == "]":
                    in_class = False
                elif text[end] == "/" and not in_class:
                    break
                end += 1
            advance(min(end + 1, n))
            previous = "/"
            continue
        if char == "{" and stack:
            stack.append("{")
        elif char == "}" and stack and stack[-1] == "{":
            stack.pop()
        if not char.isspace():
            previous = char if not (char.isalnum() or char in "_$") else "a"
        advance(i + 1)


def _sql_comments(text: str) -> Iterator[_Comment]:
    """`--` and `/* */` outside '...' strings, "..." identifiers and $tag$ bodies."""
    line, column, i, n = 1, 0, 0, len(text)
    dollar = re.compile(r"\$[A-Za-z_]*\$")

    def advance(to: int) -> None:
        nonlocal line, column, i
        line, column = _moved(text, i, to, line, column)
        i = to

    while i < n:
        char = text[i]
        if text.startswith("--", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            yield line, column, text[i + 2:end]
            advance(end)
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            for offset, part in enumerate(text[i + 2:end].removesuffix("*/").split("\n")):
                yield line + offset, column if offset == 0 else 0, part
            advance(end)
        elif char in "'\"":
            end = text.find(char, i + 1)
            advance(n if end < 0 else end + 1)
        elif char == "$" and (tag := dollar.match(text, i)):
            end = text.find(tag.group(), tag.end())
            advance(n if end < 0 else end + len(tag.group()))
        else:
            advance(i + 1)
