"""Raw SQL analysis: which tables a statement touches and which columns its predicates pin."""

from __future__ import annotations

import pytest

from prodlint.sqltext import join_interpolated, normalise_placeholders, tables_touched


def pinned(sql: str) -> list[tuple[str, str | None, str, tuple[str, ...]]] | None:
    tables = tables_touched(sql)
    return None if tables is None else [(t.name, t.alias, t.access, t.constrained) for t in tables]


def test_alias_resolves_the_predicate_to_its_table():
    assert pinned(
        "SELECT o.id FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.tenant_id = $1 AND o.status = 'OPEN'"
    ) == [("orders", "o", "read", ("status", "tenant_id")), ("order_items", "i", "read", ())]


def test_predicate_on_another_alias_does_not_pin_this_table():
    assert pinned("SELECT * FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.tenant_id = $1") == [
        ("orders", "o", "read", ()),
        ("customers", "c", "read", ("tenant_id",)),
    ]


def test_join_equality_carries_the_pin_across_tables():
    assert pinned(
        "SELECT * FROM tasks t JOIN projects p ON p.id = t.project_id WHERE t.tenant_id = :tenant AND p.tenant_id = t.tenant_id"
    ) == [("tasks", "t", "read", ("tenant_id",)), ("projects", "p", "read", ("tenant_id",))]


def test_or_and_not_guarantee_nothing():
    assert pinned("SELECT * FROM orders WHERE tenant_id = $1 OR id = $2") == [("orders", None, "read", ())]
    assert pinned("SELECT * FROM orders WHERE NOT (tenant_id = $1)") == [("orders", None, "read", ())]
    assert pinned("SELECT * FROM orders WHERE tenant_id <> $1") == [("orders", None, "read", ())]


def test_in_any_function_values_and_subqueries_pin():
    assert pinned("SELECT * FROM orders WHERE tenant_id = ANY($1)")[0][3] == ("tenant_id",)
    assert pinned("SELECT * FROM orders WHERE tenant_id IN (1, 2)")[0][3] == ("tenant_id",)
    assert pinned("SELECT * FROM orders WHERE tenant_id = current_setting('app.tenant')::uuid")[0][3] == ("tenant_id",)
    assert pinned("SELECT * FROM orders WHERE tenant_id IN (SELECT id FROM tenants WHERE slug = $1)") == [
        ("orders", None, "read", ("tenant_id",)),
        ("tenants", None, "read", ("slug",)),
    ]


def test_null_comparison_does_not_pin():
    assert pinned("SELECT * FROM orders WHERE tenant_id = NULL")[0][3] == ()


def test_outer_join_on_clause_pins_only_the_joined_table():
    assert pinned("SELECT * FROM orders o LEFT JOIN customers c ON c.id = o.customer_id AND o.tenant_id = $1") == [
        ("orders", "o", "read", ()),
        ("customers", "c", "read", ()),
    ]
    assert pinned("SELECT * FROM orders o LEFT JOIN notes n ON n.order_id = o.id AND n.tenant_id = $1")[1][3] == ("tenant_id",)


def test_writes_and_inserts():
    assert pinned("UPDATE orders SET status = %s WHERE id = %s") == [("orders", None, "write", ("id",))]
    assert pinned("DELETE FROM orders USING customers c WHERE c.id = orders.customer_id AND c.tenant_id = ?") == [
        ("orders", None, "write", ()),
        ("customers", "c", "read", ("tenant_id",)),
    ]
    assert pinned("INSERT INTO orders (tenant_id, total) VALUES (%(t)s, 0)") == [("orders", None, "insert", ())]


def test_ctes_are_not_tables_and_their_bodies_are_read():
    assert pinned("WITH recent AS (SELECT * FROM orders WHERE tenant_id = $1) SELECT * FROM recent") == [
        ("orders", None, "read", ("tenant_id",)),
    ]


def test_quoted_identifiers_keep_their_case_and_unquoted_fold():
    assert pinned('SELECT * FROM "Order" WHERE "tenantId" = $1') == [("Order", None, "read", ("tenantId",))]
    assert pinned("SELECT * FROM Orders WHERE Tenant_ID = $1") == [("orders", None, "read", ("tenant_id",))]


def test_unparseable_sql_is_unknown_and_ddl_touches_nothing():
    assert tables_touched("SELEC * FRM orders") is None
    assert tables_touched("SELECT * FRM orders WHERE") is None
    assert tables_touched("CREATE INDEX ix ON orders (tenant_id)") == ()
    assert tables_touched("SET LOCAL app.tenant_id = '42'") == ()


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("WHERE a = %s AND b = %(name)s", "WHERE a = $1 AND b = $1"),
        ("WHERE a = :name AND b::text = 'x:y'", "WHERE a = $1 AND b::text = 'x:y'"),
        ("WHERE a = ? AND data ?| array['k']", "WHERE a = $1 AND data ?| array['k']"),
        ("WHERE note = 'what?'", "WHERE note = 'what?'"),
    ],
)
def test_driver_placeholders_become_positional(sql: str, expected: str):
    assert normalise_placeholders(sql) == expected


def test_interpolations_in_value_positions_only():
    assert join_interpolated(["SELECT * FROM t WHERE a = ", " AND b IN (", ")"]) == "SELECT * FROM t WHERE a = $1 AND b IN ($2)"
    assert join_interpolated(["SELECT * FROM t LIMIT ", ""]) == "SELECT * FROM t LIMIT $1"
    assert join_interpolated(["SELECT * FROM ", " WHERE a = 1"]) is None
    assert join_interpolated(["SELECT * FROM t WHERE ", ""]) is None
    assert join_interpolated(["SELECT * FROM t WHERE a = 1 AND ", ""]) is None
