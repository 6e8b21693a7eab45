"""nginx configuration files, read with crossplane's lexer and directive tables.

crossplane's `parse()` only reads from disk and follows includes itself; an
extractor sees one file's text, so the tokens come from crossplane's lexer and
the block tree is built here, with crossplane's analyzer checking arguments.
Includes stay `include` directives: the project model splices them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from crossplane.analyzer import CONTEXTS, analyze, enter_block_ctx
from crossplane.errors import NgxParserDirectiveError, NgxParserSyntaxError
from crossplane.lexer import _balance_braces, _lex_file_object

from prodlint.extract import ParseError, Source, extractor
from prodlint.facts import Location, Notification
from prodlint.facts.nginx import Directive, NginxFile
from prodlint.kinds import is_nginx_path
from prodlint.lines import split_lines, split_lines_keepends

if TYPE_CHECKING:
    from prodlint.config import Config

NGINX_SHAPE = re.compile(
    r"^[ \t]*(?:http|events|stream|server|upstream[ \t]+\S+|location[ \t][^{;\n]*)[ \t]*\{", re.MULTILINE
)
Token = tuple[str, int, bool]


@extractor("nginx")
def extract_nginx(source: Source, config: Config) -> Iterable[object]:
    if not is_nginx_path(source.path) and not NGINX_SHAPE.search(source.text):
        return  # some other program's `.conf`
    try:
        tokens = list(_balance_braces(_lex_file_object(split_lines_keepends(source.text)), source.path))
    except NgxParserSyntaxError as error:
        raise ParseError(f"nginx syntax error: {error.strerror}", error.lineno) from None
    builder = _TreeBuilder(source.path, source.text)
    context = _base_context(tokens)
    directives = builder.block(iter(tokens), context)
    yield from builder.problems
    yield NginxFile(source.path, tuple(directives), context[-1] if context else "main")


def _base_context(tokens: list[Token]) -> tuple[str, ...]:
    """The context a file's top level is written for (a conf.d file is inside `http`)."""
    top, depth, expect_directive = set(), 0, True
    for token, _line, quoted in tokens:
        if not quoted and token in ("{", "}", ";"):
            depth += {"{": 1, "}": -1, ";": 0}[token]
            expect_directive = True
        elif expect_directive and not token.startswith("#"):
            if depth == 0:
                top.add(token)
            expect_directive = False
    if top & {"http", "events", "stream", "worker_processes", "user", "pid"}:
        return ()
    if top & {"server", "upstream", "map", "limit_req_zone", "log_format", "geo"}:
        return ("http",)
    if "location" in top:
        return ("http", "server")
    return ("http", "location")


class _TreeBuilder:
    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.lines = split_lines(text)
        self.cursor: dict[int, int] = {}  # line -> where the next token on it is searched from
        self.problems: list[Notification] = []
        self.last = Location(path, 1)  # the token located most recently

    def block(self, tokens: Iterator[Token], context: tuple[str, ...]) -> list[Directive]:
        directives: list[Directive] = []
        for name, line, quoted in tokens:
            if name == "}" and not quoted:
                break
            if name.startswith("#") and not quoted:
                continue
            head = self.locate(name, line)
            args, term = self.arguments(tokens, line)
            at = Location(self.path, head.line, head.column, self.last.end_line, self.last.end_column)
            statement = {"directive": name, "line": line, "args": list(args)}
            try:
                if context in CONTEXTS:
                    analyze(self.path, statement, term, context, check_ctx=False)
            except NgxParserDirectiveError as error:
                self.problems.append(Notification(self.path, f"nginx: {error.strerror}; the rest of the file was analysed", line))
                if term == "}":
                    break
            body = self.block(tokens, enter_block_ctx(statement, context)) if term == "{" else None
            directives.append(Directive(name, args, at, None if body is None else tuple(body)))
            if term == "}":
                break
        return directives

    def arguments(self, tokens: Iterator[Token], line: int) -> tuple[tuple[str, ...], str]:
        args: list[str] = []
        for token, token_line, quoted in tokens:
            if token in ("{", ";", "}") and not quoted:
                return tuple(args), token
            if not (token.startswith("#") and not quoted):
                self.locate(token, token_line)
                args.append(token)
        raise ParseError('nginx syntax error: unexpected end of file, expecting ";" or "}"', line)

    def locate(self, token: str, line: int) -> Location:
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        start = text.find(token, self.cursor.get(line, 0))
        if start < 0:  # escaped in the source: point at the line
            self.last = Location(self.path, line, 1, line, len(text) + 1)
        else:
            self.cursor[line] = start + len(token)
            self.last = Location(self.path, line, start + 1, line, start + len(token) + 1)
        return self.last
