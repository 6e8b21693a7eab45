"""Index DDL from SQL migrations (sqlglot) and Alembic revisions (ast)."""

from __future__ import annotations

from prodlint.config import Config
from prodlint.extract import Source
from prodlint.extract.python import extract_python
from prodlint.extract.sql import extract_sql
from prodlint.facts import Location
from prodlint.facts.sql import AlembicRevision, CreatedIndex, DroppedIndex, MigrationForeignKey, Policy, RenamedIndex, RowLevelSecurity

MIGRATION = """\
CREATE TABLE "Order" (
    "id" TEXT NOT NULL,
    "customerId" TEXT NOT NULL REFERENCES "Customer"("id"),
    "email" TEXT UNIQUE,
    CONSTRAINT "Order_pkey" PRIMARY KEY ("id"),
    UNIQUE ("tenantId", "number")
);
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "Order_tenantId_createdAt_key" ON public."Order"("tenantId", "createdAt" DESC);
CREATE INDEX orders_lower_email ON orders (lower(email));
CREATE INDEX orders_open ON orders USING btree (status) WHERE deleted_at IS NULL;
DROP INDEX IF EXISTS "Order_old_idx", public.orders_older CASCADE;
ALTER TABLE "Order" ADD CONSTRAINT "Order_sellerId_fkey" FOREIGN KEY ("sellerId") REFERENCES "Seller"("id") ON DELETE RESTRICT;
ALTER TABLE orders ADD CONSTRAINT orders_ref UNIQUE (reference), ADD PRIMARY KEY (id);
ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_ref;
CREATE INDEX broken ON (;
"""


def test_sql_index_ddl():
    at = lambda line: Location("prisma/migrations/1_init/migration.sql", line)  # noqa: E731
    facts = list(extract_sql(Source("prisma/migrations/1_init/migration.sql", MIGRATION), None))
    assert facts == [
        MigrationForeignKey("Order", ("customerId",), "Customer", at(1)),
        CreatedIndex("Order", ("email",), True, False, "Order_email_key", "UNIQUE", at(1)),
        CreatedIndex("Order", ("id",), True, True, "Order_pkey", "PRIMARY KEY", at(1)),
        CreatedIndex("Order", ("tenantId", "number"), True, False, "Order_tenantId_number_key", "UNIQUE", at(1)),
        CreatedIndex("Order", ("tenantId", "createdAt"), True, False, "Order_tenantId_createdAt_key", "CREATE UNIQUE INDEX", at(8), ("createdAt",)),
        CreatedIndex("orders", ("status",), False, False, "orders_open", "CREATE INDEX", at(10)),
        DroppedIndex("Order_old_idx", None, "DROP INDEX", at(11)),
        DroppedIndex("orders_older", None, "DROP INDEX", at(11)),
        MigrationForeignKey("Order", ("sellerId",), "Seller", at(12)),
        CreatedIndex("orders", ("reference",), True, False, "orders_ref", "UNIQUE", at(13)),
        CreatedIndex("orders", ("id",), True, True, "orders_pkey", "PRIMARY KEY", at(13)),
        DroppedIndex("orders_ref", "orders", "DROP CONSTRAINT", at(14)),
    ]


def test_renamed_index():
    text = 'ALTER INDEX IF EXISTS public."Order.number_unique" RENAME TO "Order_number_key";\nALTER INDEX a SET (fillfactor = 70);\n'
    facts = list(extract_sql(Source("migrations/002.sql", text), None))
    assert facts == [RenamedIndex("Order.number_unique", "Order_number_key", Location("migrations/002.sql", 1))]


REVISION = '''\
"""orders"""
import sqlalchemy as sa
from alembic import op

revision: str = "b2"
down_revision = ("a1", "a0")


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("email", sa.String(), unique=True),
        sa.Column("status", sa.String(), index=True),
        sa.ForeignKeyConstraint(["seller_id"], ["sellers.id"]),
        sa.UniqueConstraint("tenant_id", "name", name="uq_orders_tenant_name"),
    )
    op.create_index(op.f("ix_orders_customer_id"), "orders", ["customer_id"], unique=False)
    op.create_index("ix_orders_lower_email", "orders", [sa.text("lower(email)")])
    op.create_unique_constraint("uq_orders_ref", "orders", ["ref"])
    op.drop_index("ix_old", table_name="orders")
    with op.batch_alter_table("items") as batch_op:
        batch_op.create_index("ix_items_order_id", ["order_id"])
        batch_op.drop_constraint("uq_items", type_="unique")


def downgrade() -> None:
    op.drop_index(op.f("ix_orders_customer_id"), table_name="orders")
'''


def test_alembic_upgrade_only():
    path = "alembic/versions/b2_orders.py"
    facts = [f for f in extract_python(Source(path, REVISION), Config())
             if isinstance(f, (AlembicRevision, CreatedIndex, DroppedIndex, MigrationForeignKey))]
    assert [(type(f).__name__, f.at.line) for f in facts] == [
        ("AlembicRevision", 5),
        ("MigrationForeignKey", 13),
        ("CreatedIndex", 14),
        ("CreatedIndex", 15),
        ("MigrationForeignKey", 16),
        ("CreatedIndex", 17),
        ("CreatedIndex", 10),
        ("CreatedIndex", 19),
        ("CreatedIndex", 21),
        ("DroppedIndex", 22),
        ("CreatedIndex", 24),
        ("DroppedIndex", 25),
    ]
    assert facts[0] == AlembicRevision("b2", ("a1", "a0"), facts[0].at)
    created = [(f.table, f.columns, f.unique, f.primary, f.name, f.origin) for f in facts if isinstance(f, CreatedIndex)]
    assert created == [
        ("orders", ("email",), True, False, "orders_email_key", "sa.Column(unique=True)"),
        ("orders", ("status",), False, False, "ix_orders_status", "sa.Column(index=True)"),
        ("orders", ("tenant_id", "name"), True, False, "uq_orders_tenant_name", "sa.UniqueConstraint"),
        ("orders", ("id",), True, True, "orders_pkey", "sa.Column(primary_key=True)"),
        ("orders", ("customer_id",), False, False, "ix_orders_customer_id", "op.create_index"),
        ("orders", ("ref",), True, False, "uq_orders_ref", "op.create_unique_constraint"),
        ("items", ("order_id",), False, False, "ix_items_order_id", "op.create_index"),
    ]
    dropped = [(f.name, f.table) for f in facts if isinstance(f, DroppedIndex)]
    assert dropped == [("ix_old", "orders"), ("uq_items", "items")]
    foreign = [(f.table, f.columns, f.references) for f in facts if isinstance(f, MigrationForeignKey)]
    assert foreign == [("orders", ("customer_id",), "customers"), ("orders", ("seller_id",), "sellers")]


def test_a_module_without_a_revision_is_not_a_migration():
    text = "from alembic import op\n\ndef upgrade():\n    op.create_index('ix', 't', ['a'])\n"
    assert [f for f in extract_python(Source("scripts/x.py", text), Config()) if isinstance(f, CreatedIndex)] == []


RAW_DDL_REVISION = '''\
import sqlalchemy as sa
from alembic import op

revision = "c3"
down_revision = "b2"


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(sa.text("""
            CREATE INDEX CONCURRENTLY ix_orders_tenant_id
                ON orders (tenant_id)
        """))
    op.execute("ALTER TABLE orders ENABLE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY tenant_isolation ON orders USING (tenant_id = current_setting('app.tenant')::int)")
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")


def downgrade() -> None:
    op.execute("DROP INDEX ix_orders_tenant_id")
'''


def test_alembic_raw_ddl_is_read_as_sql():
    path = "alembic/versions/c3_raw.py"
    at = lambda line: Location(path, line)  # noqa: E731
    facts = [f for f in extract_python(Source(path, RAW_DDL_REVISION), Config())
             if isinstance(f, (CreatedIndex, DroppedIndex, RowLevelSecurity, Policy))]
    # an f-string is built at run time: unknown, so nothing
    assert facts == [
        CreatedIndex("orders", ("tenant_id",), False, False, "ix_orders_tenant_id", "CREATE INDEX", at(11)),
        RowLevelSecurity("orders", at(14)),
        Policy("tenant_isolation", "orders", ("tenant_id",), at(15)),
    ]
