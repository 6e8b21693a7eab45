"""The Prisma schema parser: every construct, odd formatting, and malformed input (PL001)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prodlint.config import Config
from prodlint.extract import ParseError, Source
from prodlint.extract.prisma_schema import extract_prisma_schema, tokenize
from prodlint.facts.data import Datasource, Enum, Generator, Model

SCHEMA = '''
// Comments, doc comments and odd spacing are part of real schemas.
datasource db {
  provider     = "mysql"
  url          = env("DATABASE_URL")
  relationMode = "prisma"
}

generator client {
  provider        = "prisma-client-js"
  previewFeatures = ["prismaSchemaFolder", "views"]
}

/// A customer account.
model Account {
  id        String   @id @default(cuid())
  email     String   @unique(map: "accounts_email_key") @db.VarChar(320)
  tenantId  String   @map("tenant_id")
  createdAt DateTime @default(now()) @map("created_at")
  orders    Order[]
  profile   Json?
  search    Unsupported("tsvector")?

  @@index([tenantId, createdAt(sort: Desc)], map: "accounts_tenant_recent")
  @@map("accounts")
}

model Order {
  tenantId  String
  number    Int
  accountId String
  account   Account @relation("AccountOrders", fields: [accountId], references: [id], onDelete: Cascade)
  status    Status  @default(OPEN)
  tags      String[]
  @@id([tenantId, number])
  @@unique(fields: [tenantId, accountId, number], name: "per_account")
  @@index(fields: [accountId])
}

view OrderTotals {
  accountId String @unique
  total     Decimal
}

type Address {
  street String
  city   String
}

enum Status {
  OPEN
  PAID   @map("paid")
  @@map("order_status")
}
'''


def facts(text: str, path: str = "prisma/schema.prisma") -> list[object]:
    return list(extract_prisma_schema(Source(path, text), Config()))


def model(found: list[object], name: str) -> Model:
    return next(f for f in found if isinstance(f, Model) and f.name == name)


def test_datasource_and_generator():
    found = facts(SCHEMA)
    (datasource,) = [f for f in found if isinstance(f, Datasource)]
    assert (datasource.name, datasource.provider, datasource.relation_mode, datasource.url_env) == (
        "db", "mysql", "prisma", "DATABASE_URL")
    assert datasource.at.line == 3
    (generator,) = [f for f in found if isinstance(f, Generator)]
    assert (generator.name, generator.provider) == ("client", "prisma-client-js")


def test_inline_datasource_url():
    (datasource,) = facts('datasource db {\n provider = "postgresql"\n url = "postgresql://u@h/db?connection_limit=5"\n}')
    assert datasource.url == "postgresql://u@h/db?connection_limit=5"
    assert datasource.url_env is None


def test_fields_columns_and_attributes():
    account = model(facts(SCHEMA), "Account")
    assert (account.table, account.table_explicit, account.kind, account.at.line) == ("accounts", True, "model", 15)
    fields = {f.name: f for f in account.fields}
    assert fields["id"].primary and fields["id"].default == "cuid()"
    assert fields["email"].unique and fields["email"].db_type == "VarChar(320)"
    assert fields["tenantId"].column == "tenant_id"
    assert fields["createdAt"].column == "created_at" and fields["createdAt"].default == "now()"
    assert fields["orders"].relation and fields["orders"].is_list and fields["orders"].column is None
    assert fields["profile"].optional and fields["profile"].type == "Json"
    assert fields["search"].type == "Unsupported" and fields["search"].optional
    assert fields["tenantId"].at.line == 18 and fields["tenantId"].at.column == 3


def test_indexes_use_column_names_and_sort_order():
    account = model(facts(SCHEMA), "Account")
    summary = [(i.origin, i.columns, i.unique, i.primary, i.name, i.descending) for i in account.indexes]
    assert summary == [
        ("@id", ("id",), True, True, None, ()),
        ("@unique", ("email",), True, False, "accounts_email_key", ()),
        ("@@index", ("tenant_id", "created_at"), False, False, "accounts_tenant_recent", ("created_at",)),
    ]
    assert account.indexes[2].fields == ("tenantId", "createdAt")
    assert account.indexes[2].at.line == 24


def test_relations_block_ids_and_named_arguments():
    order = model(facts(SCHEMA), "Order")
    assert order.table == "Order" and not order.table_explicit
    (relation,) = order.relations
    assert (relation.field, relation.target, relation.fields, relation.references, relation.name, relation.on_delete) == (
        "account", "Account", ("accountId",), ("id",), "AccountOrders", "Cascade")
    fields = {f.name: f for f in order.fields}
    assert fields["accountId"].foreign_key == "Account.id"
    assert fields["account"].relation and fields["account"].column is None
    assert fields["tags"].is_list and not fields["tags"].relation
    assert fields["status"].default == "OPEN" and not fields["status"].relation
    assert [(i.origin, i.columns, i.primary, i.unique, i.name) for i in order.indexes] == [
        ("@@id", ("tenantId", "number"), True, True, None),
        ("@@unique", ("tenantId", "accountId", "number"), False, True, "per_account"),
        ("@@index", ("accountId",), False, False, None),
    ]


def test_views_types_and_enums():
    found = facts(SCHEMA)
    assert model(found, "OrderTotals").kind == "view"
    assert model(found, "Address").kind == "type"
    (status,) = [f for f in found if isinstance(f, Enum)]
    assert (status.name, status.values) == ("Status", ("OPEN", "PAID"))


def test_multi_file_schema_relation_to_a_model_in_another_file():
    (order,) = facts("model Order {\n  id Int @id\n  account Account @relation(fields: [accountId], references: [id])\n  accountId String\n}",
                     "prisma/schema/order.prisma")
    fields = {f.name: f for f in order.fields}
    assert fields["account"].relation and fields["accountId"].foreign_key == "Account.id"


def test_odd_formatting():
    text = 'model  T{id Int @id\n\tname   String?@default("a \\"b\\"")  // trailing\n@@map( "t" ) }'
    (found,) = facts(text)
    assert found.table == "t"
    assert [(f.name, f.optional, f.default) for f in found.fields] == [("id", False, None), ("name", True, '"a "b""')]


def test_block_comments():
    (found,) = facts("/* enums\n   and models */ model T {\n  id Int @id /* inline */\n  /*\n  */ name String\n}")
    assert [(f.name, f.at.line) for f in found.fields] == [("id", 3), ("name", 5)]


def test_empty_schema_and_comment_only():
    assert facts("") == []
    assert facts("// nothing here\n/// still nothing\n") == []


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("model Order {\n  id Int @id\n", "model Order opened at line 1 is never closed", 1),
        ("model Order {\n  id\n}", "field id at line 2 has no type (found a line break)", 2),
        ('model A {\n  name String @default("x)\n}', "unterminated string at line 2", 2),
        ("modle A {\n}", "unknown block 'modle' at line 1", 1),
        ("model {\n}", "expected the name of the model at line 1, found '{'", 1),
        ("model A {\n  id Int @relation(fields: [a b])\n}", "expected ',' or ']' at line 2, found 'b'", 2),
        ("model A {\n  id Int @id #\n}", "unexpected character '#' at line 2", 2),
        ("model A {\n  id Int @id\n}\n/* never closed\n", "unterminated comment at line 4", 4),
        ("datasource db {\n  provider \"postgresql\"\n}", "expected '=' at line 2, found \"postgresql\"", 2),
        ("model A {\n  id Int @id String\n}", "unexpected 'String' after field id at line 2", 2),
        ("enum E {\n  A\n  =\n}", "expected an enum value at line 3, found '='", 3),
    ],
)
def test_malformed_schemas_raise_parse_errors_with_lines(text: str, message: str, line: int):
    with pytest.raises(ParseError) as error:
        facts(text)
    assert (error.value.message, error.value.line) == (message, line)


def test_deep_nesting_is_a_parse_error_not_a_crash():
    with pytest.raises(ParseError):
        facts("model A {\n id Int @default(" + "[" * 5000 + ")\n}")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["model", "enum", " A", " Int", "{", "}", "(", ")", "[", "]", "@", "@@", "=", ",", ":", "?",
                                  ".", '"', "\\", "\n", " ", "x", "1", "-", "env", "//"]), max_size=40).map("".join))
def test_any_input_is_parsed_or_rejected_cleanly(text: str):
    try:
        facts(text)
    except ParseError as error:
        assert error.message and (error.line is None or error.line >= 1)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_tokenizer_never_fails_other_than_parse_error(text: str):
    try:
        tokens = tokenize(text)
    except ParseError:
        return
    assert tokens[-1].kind == "end"
