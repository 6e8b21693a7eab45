"""Prisma schema files (`schema.prisma`, multi-file `prisma/schema/*.prisma`).

No maintained Python parser for the Prisma schema language exists, so this is a
small one: a tokenizer and a recursive-descent parser over the blocks
(`datasource`, `generator`, `model`, `view`, `type`, `enum`), their fields and
attributes. Input it cannot read raises `ParseError` with the line (PL001).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prodlint.extract import ParseError, Source, extractor
from prodlint.facts import Location
from prodlint.facts.data import PRISMA, Datasource, Enum, Field, Generator, IndexDef, Model, Relation
from prodlint import numbers

if TYPE_CHECKING:
    from prodlint.config import Config

# --- tokens -----------------------------------------------------------------

IDENT = "ident"
STRING = "string"
NUMBER = "number"
PUNCT = "punct"
NEWLINE = "newline"
END = "end"

_TOKEN = re.compile(
    r"""
    (?P<newline>\r?\n)
  | (?P<space>[ \t\f\v\ufeff]+)
  | (?P<comment>//[^\n]*)
  | (?P<block>/\*(?s:.*?)\*/)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>@@|[{}()\[\],:=?@.!])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str
    line: int
    column: int  # 1-based


def tokenize(text: str) -> list[Token]:
    """Tokens of a schema, comments dropped, newlines kept (fields end at a line break)."""
    tokens: list[Token] = []
    line, line_start, position = 1, 0, 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            if text.startswith('"', position):
                raise ParseError(f"unterminated string at line {line}", line)
            if text.startswith("/*", position):
                raise ParseError(f"unterminated comment at line {line}", line)
            raise ParseError(f"unexpected character {text[position]!r} at line {line}", line)
        kind = match.lastgroup
        column = position - line_start + 1
        if kind == NEWLINE:
            tokens.append(Token(NEWLINE, "\n", line, column))
            line += 1
            line_start = match.end()
        elif kind in (IDENT, STRING, NUMBER, PUNCT):
            tokens.append(Token(kind, match.group(), line, column))
        elif kind == "block" and "\n" in match.group():  # `/* ... */`, Prisma 6.x
            line += match.group().count("\n")
            line_start = match.start() + match.group().rindex("\n") + 1
        position = match.end()
    tokens.append(Token(END, "", line, position - line_start + 1))
    return tokens


# --- syntax -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Call:
    """`env("X")`, `now()`, `b(sort: Desc)`: a function call or a field reference with arguments."""

    name: str
    args: tuple[Argument, ...]


@dataclass(frozen=True, slots=True)
class Argument:
    name: str | None  # None for a positional argument
    value: object  # str (string literal), Ident, float/int, bool, list, Call


@dataclass(frozen=True, slots=True)
class Ident:
    name: str


@dataclass(frozen=True, slots=True)
class Attribute:
    name: str  # "id", "db.VarChar", "@index" for block attributes
    args: tuple[Argument, ...]
    line: int
    column: int

    def arg(self, name: str, position: int | None = None) -> object:
        """The argument named `name`, or the positional one at `position`."""
        for argument in self.args:
            if argument.name == name:
                return argument.value
        positional = [argument.value for argument in self.args if argument.name is None]
        if position is not None and position < len(positional):
            return positional[position]
        return None


@dataclass(slots=True)
class FieldDecl:
    name: str
    type: str
    optional: bool
    is_list: bool
    attributes: list[Attribute]
    line: int
    column: int
    end_column: int


@dataclass(slots=True)
class Block:
    keyword: str
    name: str
    line: int
    column: int
    fields: list[FieldDecl] = field(default_factory=list)
    attributes: list[Attribute] = field(default_factory=list)
    settings: list[tuple[str, object, int]] = field(default_factory=list)  # datasource/generator
    values: list[tuple[str, int]] = field(default_factory=list)  # enum


BLOCK_KEYWORDS = ("model", "view", "type", "enum", "datasource", "generator")


class Parser:
    """Recursive descent over the token list; every error names its line."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.position = 0

    # token access
    def peek(self, skip_newlines: bool = True) -> Token:
        position = self.position
        if skip_newlines:
            while self.tokens[position].kind == NEWLINE:
                position += 1
        return self.tokens[position]

    def next(self, skip_newlines: bool = True) -> Token:
        if skip_newlines:
            self.skip_newlines()
        token = self.tokens[self.position]
        if token.kind != END:
            self.position += 1
        return token

    def skip_newlines(self) -> None:
        while self.tokens[self.position].kind == NEWLINE:
            self.position += 1

    def expect(self, kind: str, text: str | None = None, what: str | None = None) -> Token:
        token = self.next()
        if token.kind != kind or (text is not None and token.text != text):
            wanted = what or (f"'{text}'" if text else kind)
            raise ParseError(f"expected {wanted} at line {token.line}, found {_describe(token)}", token.line)
        return token

    def at(self, text: str, skip_newlines: bool = True) -> bool:
        token = self.peek(skip_newlines)
        return token.kind == PUNCT and token.text == text

    # grammar
    def schema(self) -> list[Block]:
        blocks: list[Block] = []
        while self.peek().kind != END:
            blocks.append(self.block())
        return blocks

    def block(self) -> Block:
        keyword = self.expect(IDENT, what="a block (model, enum, datasource, generator, view, type)")
        if keyword.text not in BLOCK_KEYWORDS:
            raise ParseError(f"unknown block '{keyword.text}' at line {keyword.line}", keyword.line)
        name = self.expect(IDENT, what=f"the name of the {keyword.text}")
        self.expect(PUNCT, "{")
        block = Block(keyword.text, name.text, keyword.line, keyword.column)
        while not self.at("}"):
            if self.peek().kind == END:
                raise ParseError(f"{keyword.text} {name.text} opened at line {keyword.line} is never closed", keyword.line)
            if keyword.text in ("datasource", "generator"):
                self.setting(block)
            elif keyword.text == "enum":
                self.enum_entry(block)
            else:
                self.member(block)
        self.expect(PUNCT, "}")
        return block

    def setting(self, block: Block) -> None:
        key = self.expect(IDENT, what="a setting name")
        self.expect(PUNCT, "=")
        block.settings.append((key.text, self.value(), key.line))

    def enum_entry(self, block: Block) -> None:
        if self.at("@@"):
            block.attributes.append(self.attribute())
            return
        value = self.expect(IDENT, what="an enum value")
        block.values.append((value.text, value.line))
        while self.at("@", skip_newlines=False):
            self.attribute()

    def member(self, block: Block) -> None:
        if self.at("@@"):
            block.attributes.append(self.attribute())
            return
        name = self.expect(IDENT, what="a field name")
        type_token = self.next(skip_newlines=False)
        if type_token.kind != IDENT:
            raise ParseError(f"field {name.text} at line {name.line} has no type (found {_describe(type_token)})", name.line)
        type_name, end = type_token.text, type_token
        while self.at(".", skip_newlines=False):  # a type from a namespace
            self.next(skip_newlines=False)
            end = self.expect(IDENT, what="a type name")
            type_name += "." + end.text
        if type_name == "Unsupported" and self.at("(", skip_newlines=False):
            self.arguments()
            end = self.tokens[self.position - 1]
        is_list = optional = False
        if self.at("[", skip_newlines=False):
            self.next(skip_newlines=False)
            end = self.expect(PUNCT, "]")
            is_list = True
        if self.at("?", skip_newlines=False):
            end = self.next(skip_newlines=False)
            optional = True
        if self.at("!", skip_newlines=False):  # legacy required marker
            end = self.next(skip_newlines=False)
        attributes: list[Attribute] = []
        while self.at("@", skip_newlines=False):
            attributes.append(self.attribute())
        following = self.peek(skip_newlines=False)
        if following.kind not in (NEWLINE, END) and not (following.kind == PUNCT and following.text == "}"):
            raise ParseError(f"unexpected {_describe(following)} after field {name.text} at line {following.line}", following.line)
        block.fields.append(
            FieldDecl(name.text, type_name, optional, is_list, attributes, name.line, name.column, end.column + len(end.text))
        )

    def attribute(self) -> Attribute:
        marker = self.next()
        name = self.expect(IDENT, what="an attribute name").text
        while self.at(".", skip_newlines=False):
            self.next(skip_newlines=False)
            name += "." + self.expect(IDENT, what="an attribute name").text
        args: tuple[Argument, ...] = ()
        if self.at("(", skip_newlines=False):
            args = self.arguments()
        return Attribute(("@" if marker.text == "@@" else "") + name, args, marker.line, marker.column)

    def arguments(self) -> tuple[Argument, ...]:
        self.expect(PUNCT, "(")
        args: list[Argument] = []
        while not self.at(")"):
            self.skip_newlines()
            token = self.tokens[self.position]
            following = self.peek_after()
            if token.kind == IDENT and following.kind == PUNCT and following.text == ":":
                self.next()
                self.next()
                args.append(Argument(token.text, self.value()))
            else:
                args.append(Argument(None, self.value()))
            if not self.at(")"):
                self.expect(PUNCT, ",", what="',' or ')'")
        self.expect(PUNCT, ")")
        return tuple(args)

    def peek_after(self) -> Token:
        """The token after the current one, line breaks skipped."""
        index = min(self.position + 1, len(self.tokens) - 1)
        while self.tokens[index].kind == NEWLINE:
            index += 1
        return self.tokens[index]

    def value(self) -> object:
        token = self.next()
        if token.kind == STRING:
            return _unquote(token.text)
        if token.kind == NUMBER:
            try:
                return float(token.text) if any(c in token.text for c in ".eE") else int(token.text)
            except ValueError:
                return token.text  # a 5,000-digit literal: kept as written, never reasoned about
        if token.kind == PUNCT and token.text == "[":
            items: list[object] = []
            while not self.at("]"):
                items.append(self.value())
                if not self.at("]"):
                    self.expect(PUNCT, ",", what="',' or ']'")
            self.expect(PUNCT, "]")
            return items
        if token.kind == IDENT:
            name = token.text
            while self.at(".", skip_newlines=False):
                self.next(skip_newlines=False)
                name += "." + self.expect(IDENT, what="a name").text
            if self.at("(", skip_newlines=False):
                return Call(name, self.arguments())
            if name in ("true", "false"):
                return name == "true"
            return Ident(name)
        raise ParseError(f"expected a value at line {token.line}, found {_describe(token)}", token.line)


def _describe(token: Token) -> str:
    if token.kind == END:
        return "end of file"
    if token.kind == NEWLINE:
        return "a line break"
    return token.text if token.kind == STRING else f"'{token.text}'"


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def parse_schema(text: str) -> list[Block]:
    try:
        return Parser(tokenize(text)).schema()
    except RecursionError:
        raise ParseError("Prisma schema nests too deeply to be read") from None


# --- facts ------------------------------------------------------------------


def _names(value: object) -> list[tuple[str, bool]]:
    """Field references in `[a, b(sort: Desc)]` as (name, descending)."""
    if not isinstance(value, list):
        value = [value]
    names: list[tuple[str, bool]] = []
    for item in value:
        if isinstance(item, Ident):
            names.append((item.name, False))
        elif isinstance(item, Call):
            sort = next((a.value for a in item.args if a.name == "sort"), None)
            names.append((item.name, isinstance(sort, Ident) and sort.name == "Desc"))
        elif isinstance(item, str):
            names.append((item, False))
    return names


def _text(value: object) -> str:
    """An argument value as Prisma would print it (for defaults and `@db` types)."""
    if isinstance(value, Call):
        inner = ", ".join((f"{a.name}: " if a.name else "") + _text(a.value) for a in value.args)
        return f"{value.name}({inner})"
    if isinstance(value, Ident):
        return value.name
    if isinstance(value, list):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


@dataclass(slots=True)
class SchemaFile:
    path: str
    blocks: list[Block]

    def loc(self, line: int, column: int = 1, end_column: int | None = None) -> Location:
        return Location(self.path, line, column, line, end_column)

    def facts(self) -> Iterator[object]:
        local_models = {b.name for b in self.blocks if b.keyword in ("model", "view")}
        for block in self.blocks:
            at = self.loc(block.line, block.column, block.column + len(block.keyword))
            if block.keyword == "datasource":
                settings = {key: value for key, value, _ in block.settings}
                url = settings.get("url")
                url_env = url.args[0].value if isinstance(url, Call) and url.name == "env" and url.args else None
                yield Datasource(
                    block.name,
                    _string(settings.get("provider")),
                    _string(settings.get("relationMode") or settings.get("referentialIntegrity")),
                    url if isinstance(url, str) else None,
                    url_env if isinstance(url_env, str) else None,
                    at,
                )
            elif block.keyword == "generator":
                yield Generator(block.name, _string(dict((k, v) for k, v, _ in block.settings).get("provider")), at)
            elif block.keyword == "enum":
                yield Enum(block.name, tuple(value for value, _ in block.values), at)
            else:
                yield self.model(block, local_models, at)

    def model(self, block: Block, local_models: set[str], at: Location) -> Model:
        table = block.name
        schema = None
        for attribute in block.attributes:
            if attribute.name == "@map" and isinstance(attribute.arg("name", 0), str):
                table = attribute.arg("name", 0)
            elif attribute.name == "@schema" and isinstance(attribute.arg("name", 0), str):
                schema = attribute.arg("name", 0)
        column_of = {f.name: _column(f) for f in block.fields}
        foreign: dict[str, str] = {}
        relations: list[Relation] = []
        for decl in block.fields:
            relation = next((a for a in decl.attributes if a.name == "relation"), None)
            if relation is None:
                continue
            fields = [n for n, _ in _names(relation.arg("fields"))]
            references = [n for n, _ in _names(relation.arg("references"))]
            for own, other in zip(fields, references, strict=False):
                foreign[own] = f"{decl.type}.{other}"
            on_delete = relation.arg("onDelete")
            name = relation.arg("name", 0)
            relations.append(
                Relation(
                    block.name, decl.name, decl.type, tuple(fields), tuple(references),
                    self.loc(decl.line, decl.column, decl.end_column),
                    name if isinstance(name, str) else None,
                    on_delete.name if isinstance(on_delete, Ident) else None,
                )
            )
        fields: list[Field] = []
        indexes: list[IndexDef] = []
        for decl in block.fields:
            where = self.loc(decl.line, decl.column, decl.end_column)
            attrs = {a.name: a for a in decl.attributes}
            is_relation = "relation" in attrs or decl.type in local_models
            column = None if is_relation else column_of[decl.name]
            default = attrs.get("default")
            db_type = next((a for a in decl.attributes if a.name.startswith("db.")), None)
            fields.append(
                Field(
                    name=decl.name,
                    column=column,
                    type=decl.type,
                    at=where,
                    optional=decl.optional,
                    is_list=decl.is_list,
                    primary="id" in attrs,
                    unique="unique" in attrs,
                    foreign_key=foreign.get(decl.name),
                    default=_text(default.arg("value", 0)) if default and default.args else None,
                    relation=is_relation,
                    db_type=_text(Call(db_type.name[3:], db_type.args)) if db_type and db_type.args else (db_type.name[3:] if db_type else None),
                )
            )
            for origin, primary in (("@id", True), ("@unique", False)):
                attribute = attrs.get(origin[1:])
                if attribute is not None and column is not None:
                    name = attribute.arg("map")
                    indexes.append(
                        IndexDef(block.name, table, (column,), True, primary, origin, where,
                                 name if isinstance(name, str) else None, (decl.name,))
                    )
        for attribute in block.attributes:
            if attribute.name not in ("@id", "@unique", "@index"):
                continue
            names = _names(attribute.arg("fields", 0))
            name = attribute.arg("map")
            if not isinstance(name, str):
                name = attribute.arg("name") if isinstance(attribute.arg("name"), str) else None
            indexes.append(
                IndexDef(
                    model=block.name,
                    table=table,
                    columns=tuple(column_of.get(n, n) for n, _ in names),
                    unique=attribute.name != "@index",
                    primary=attribute.name == "@id",
                    origin="@" + attribute.name,
                    at=self.loc(attribute.line, attribute.column),
                    name=name,
                    fields=tuple(n for n, _ in names),
                    descending=tuple(column_of.get(n, n) for n, desc in names if desc),
                )
            )
        return Model(
            name=block.name,
            table=table,
            orm=PRISMA,
            fields=tuple(fields),
            at=at,
            indexes=tuple(indexes),
            relations=tuple(relations),
            kind=block.keyword,
            schema=schema,
            table_explicit=table != block.name,
        )


def _column(decl: FieldDecl) -> str:
    for attribute in decl.attributes:
        if attribute.name == "map" and isinstance(attribute.arg("name", 0), str):
            return attribute.arg("name", 0)
    return decl.name


def _string(value: object) -> str | None:
    return value if isinstance(value, str) else None


@extractor("prisma")
def extract_prisma_schema(source: Source, config: Config) -> Iterable[object]:
    return list(SchemaFile(source.path, parse_schema(source.text)).facts())
