"""Indexes (IX001-IX003) on a Prisma app with SQL migrations, a SQLAlchemy app with Alembic, and Prisma on MySQL."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import FIXTURES
from prodlint.facts import Location
from prodlint.facts.sql import AlembicRevision
from prodlint.model.indexes import index_inventory, revision_order

# Near misses in prisma_app: Customer.tenantId led by @@unique([tenantId, email]); Order.customerId
# covered by @@index([customerId, createdAt]); Invoice.orderId indexed only by a hand-written
# CREATE INDEX in a migration; a unique lookup by number; a query on [customerId] sorted by
# createdAt; [tenantId, couponId], which @@index([tenantId, status]) narrows; a spread filter;
# [tenantId] and [sellerId] queries that IX002 / IX001 already ask an index for; unindexed
# lookups in a seed script and in a test file.
# True positives: Invoice.couponId, whose index a later migration renames (as Prisma 3's upgrade
# does) and the next one drops by its new name.
PRISMA_FINDINGS = [
    "prisma/schema.prisma:43:3 IX002 tenant-scoped model Order has no index that leads with tenantId, so every tenant's query scans all tenants' rows; add @@index([tenantId]) to model Order",
    "prisma/schema.prisma:47:3 IX001 foreign key sellerId of Order (references Seller) has no index that leads with it, and PostgreSQL does not index foreign keys itself; add @@index([sellerId]) to model Order",
    "prisma/schema.prisma:62:3 IX001 foreign key couponId of Invoice (references Coupon) has no index that leads with it, and PostgreSQL does not index foreign keys itself; add @@index([couponId]) to model Invoice",
    "src/invoices.ts:20:10 IX003 findMany on Order filters on tenantId, status and sorts by createdAt, but no index serves that (2 more queries need it); add @@index([tenantId, status, createdAt]) to model Order",
]

# Near misses in fastapi_alembic: Customer.tenant_id led by UniqueConstraint("tenant_id", "email");
# Order.buyer_id indexed only by an Alembic op.create_index; OrderLine.order_id led by a compound
# Index; Shipment.order_id indexed by `op.execute("CREATE INDEX CONCURRENTLY ...")`; lookups by
# primary key and by a unique column; a sorted buyer_id query that the migration's buyer_id index narrows.
# True positive: Order.seller_id, whose index the next revision drops (its file sorts first).
ALEMBIC_FINDINGS = [
    "app/models.py:32:5 IX002 tenant-scoped model Order has no index that leads with tenant_id, so every tenant's query scans all tenants' rows; add Index(\"ix_orders_tenant_id\", \"tenant_id\") to Order.__table_args__",
    "app/models.py:34:5 IX001 foreign key seller_id of Order (references customers) has no index that leads with it, and PostgreSQL does not index foreign keys itself; add Index(\"ix_orders_seller_id\", \"seller_id\") to Order.__table_args__",
    "app/orders.py:13:12 IX003 select on Order filters on status and sorts by created_at, but no index serves that (1 more query needs it); add Index(\"ix_orders_status_created_at\", \"status\", \"created_at\") to Order.__table_args__",
]


def edited_copy(tmp_path: Path, fixture: str, file: str, *replacements: tuple[str, str]) -> Path:
    """A copy of an indexes fixture with text replaced in one file."""
    project = tmp_path / fixture
    shutil.copytree(FIXTURES / "indexes" / fixture, project)
    text = (project / file).read_text()
    for old, new in replacements:
        text = text.replace(old, new)
    (project / file).write_text(text)
    return project


def test_prisma_app(run):
    assert run("indexes/prisma_app", select="IX") == PRISMA_FINDINGS


def test_sqlalchemy_app_with_alembic(run):
    assert run("indexes/fastapi_alembic", select="IX") == ALEMBIC_FINDINGS


def test_rules_run_separately(run):
    assert run("indexes/prisma_app", select="IX001") == [f for f in PRISMA_FINDINGS if " IX001 " in f]
    assert run("indexes/fastapi_alembic", select="IX003") == [f for f in ALEMBIC_FINDINGS if " IX003 " in f]


def test_other_queries_needing_the_index_are_related(lint):
    prisma = lint("indexes/prisma_app", select="IX003").reported[-1].finding
    assert [(r.at.path, r.at.line, r.message) for r in prisma.related] == [
        ("src/orders.ts", 6, "findMany on Order needs the same index"),
        ("src/orders.ts", 14, "findMany on Order needs the same index"),
    ]
    alembic = lint("indexes/fastapi_alembic", select="IX003").reported[0].finding
    assert [(r.at.path, r.at.line) for r in alembic.related] == [("app/orders.py", 19)]


def test_mysql_indexes_the_foreign_keys_it_enforces(run, tmp_path: Path):
    assert run("indexes/mysql_app", select="IX") == []
    project = edited_copy(tmp_path, "mysql_app", "prisma/schema.prisma", ('relationMode = "foreignKeys"', 'relationMode = "prisma"'))
    assert run(project, select="IX") == [
        'prisma/schema.prisma:20:3 IX001 foreign key authorId of Post (references Author) has no index that leads with it, '
        'and relationMode = "prisma" creates no foreign key for MySQL to index; add @@index([authorId]) to model Post',
    ]


def test_the_message_names_the_datasource_provider(run, tmp_path: Path):
    project = edited_copy(tmp_path, "mysql_app", "prisma/schema.prisma", ('"mysql"', '"sqlite"'), ('relationMode = "foreignKeys"', ""))
    assert run(project, select="IX") == [
        "prisma/schema.prisma:20:3 IX001 foreign key authorId of Post (references Author) has no index that leads with it, "
        "and SQLite does not index foreign keys itself; add @@index([authorId]) to model Post",
    ]


def test_sqlalchemy_on_mysql_indexes_its_foreign_keys(run, lint, tmp_path: Path):
    # the database comes from SQLALCHEMY_DATABASE_URI's default in the config class; InnoDB's own
    # index on customer_id serves the customer's orders by status, nothing serves the reference;
    # of the two lookups by reference, the route handler's is shown
    by_reference = (
        'shop/views.py:11:12 IX003 filter_by on Order filters on reference, but no index serves that (1 more query needs it); '
        'add Index("ix_orders_reference", "reference") to Order.__table_args__'
    )
    assert run("indexes/flask_mysql", select="IX") == [by_reference]
    related = lint("indexes/flask_mysql", select="IX003").reported[0].finding.related
    assert [(r.at.path, r.at.line, r.message) for r in related] == [("shop/billing.py", 6, "filter_by on Order needs the same index")]
    project = edited_copy(tmp_path, "flask_mysql", "shop/config.py", ("mysql+pymysql://shop:shop@db:3306/shop", "postgresql://shop:shop@db/shop"))
    assert run(project, select="IX") == [
        "shop/models.py:16:5 IX001 foreign key customer_id of Order (references customers) has no index that leads with it, "
        'and PostgreSQL does not index foreign keys itself; add Index("ix_orders_customer_id", "customer_id") to Order.__table_args__',
        by_reference,
        'shop/views.py:17:27 IX003 filter_by on Order filters on customer_id, status, but no index serves that; '
        'add Index("ix_orders_customer_id_status", "customer_id", "status") to Order.__table_args__',
    ]


def test_tenant_keys_come_from_config(run):
    found = run("indexes/fastapi_alembic", select="IX", tenant_keys=("account_id",))
    assert [f.split(" ")[1] for f in found] == ["IX001", "IX001", "IX003"]
    assert found[0].startswith("app/models.py:32:5 IX001 foreign key tenant_id of Order")


def test_each_query_knows_the_index_that_serves_it(lint):
    project = lint("indexes/fastapi_alembic", select="IX003").project
    needs = project.view(index_inventory).query_indexes()
    served = [(n.query.at.line, n.served_by and (n.served_by.origin, n.served_by.columns), n.ideal) for n in needs]
    assert served == [
        (13, None, False),
        (19, None, False),
        (25, ("op.create_index", ("buyer_id",)), False),
        (32, ("unique=True", ("reference",)), True),
        (37, ("primary_key", ("id",)), True),
        (43, ("Index", ("order_id", "sku")), True),
    ]


def test_alembic_revisions_apply_along_the_chain_not_by_file_name():
    def revision(path: str, rev: str, *down: str) -> AlembicRevision:
        return AlembicRevision(rev, down, Location(path, 1))

    assert revision_order([
        revision("versions/a_merge.py", "m", "x", "y"),
        revision("versions/b_second.py", "y", "z"),
        revision("versions/c_first.py", "z"),
        revision("versions/d_other.py", "x", "z"),
    ]) == ["versions/c_first.py", "versions/b_second.py", "versions/d_other.py", "versions/a_merge.py"]


# sqlalchemy_shapes: PostFiles and AvatarFiles share Files' table (single-table inheritance):
# owner_id is reported once, on Files; PostFiles' own post_id goes to Files.__table_args__;
# AvatarFiles.avatar_of is indexed. Primary keys through the id_key alias and the primary_key()
# helper serve their lookups; Legacy's maybe_key is a key in one branch only, so session.get on it
# stays silent rather than asking for an index on no columns. (title, status) and (title) share
# one index; (status) is not where it starts. Core tables take their index inside Table(...):
# post_tags.post_id leads its primary key, post_readers.user_id has an Index, post_readers.post_id
# and a lookup by post_tags' second key column have none.
SHAPES_FINDINGS = [
    'app/models.py:39:5 IX001 foreign key owner_id of Files (references users) has no index that leads with it, and PostgreSQL does not index foreign keys itself; add Index("ix_files_owner_id", "owner_id") to Files.__table_args__',
    'app/models.py:45:5 IX001 foreign key post_id of PostFiles (references posts) has no index that leads with it, and PostgreSQL does not index foreign keys itself; add Index("ix_files_post_id", "post_id") to Files.__table_args__',
    'app/models.py:75:5 IX001 foreign key post_id of post_readers (references posts) has no index that leads with it, and PostgreSQL does not index foreign keys itself; add Index("ix_post_readers_post_id", "post_id") inside post_readers = Table("post_readers", ...)',
    'app/queries.py:23:28 IX003 select on Post filters on title, status, but no index serves that (1 more query needs it); add Index("ix_posts_title_status", "title", "status") to Post.__table_args__',
    'app/queries.py:33:28 IX003 select on Post filters on status, but no index serves that; add Index("ix_posts_status", "status") to Post.__table_args__',
    'app/queries.py:38:28 IX003 select on post_tags filters on tag, but no index serves that; add Index("ix_post_tags_tag", "tag") inside post_tags = Table("post_tags", ...)',
]


def test_inheritance_key_aliases_and_merged_suggestions(run):
    assert run("indexes/sqlalchemy_shapes", select="IX") == SHAPES_FINDINGS


def test_primary_keys_declared_away_from_the_model(lint):
    inventory = lint("indexes/sqlalchemy_shapes", select="IX003").project.view(index_inventory)
    primary = {m.name: [(i.columns, i.origin) for i in inventory.indexes_of(m) if i.primary] for m in inventory.tables}
    assert primary["User"] == [(("id",), "Annotated alias id_key")]
    assert primary["Token"] == [(("id",), "primary_key()")]
    assert primary["Legacy"] == []


# prisma_soft_delete: "not deleted" alone asks for nothing; sorted, it asks for a partial index;
# deletedAt never leads, and the count and findFirst that the (kind, deletedAt, createdAt) index
# serves are its related locations.
SOFT_DELETE_FINDINGS = [
    'src/certificates.ts:12:10 IX003 findMany on Certificate filters on deletedAt and sorts by expiresAt, but no index serves that; add a partial index in a migration: CREATE INDEX ON "Certificate" ("expiresAt") WHERE "deletedAt" IS NULL',
    "src/certificates.ts:16:10 IX003 findMany on Certificate filters on kind, deletedAt and sorts by createdAt, but no index serves that (2 more queries need it); add @@index([kind, deletedAt, createdAt]) to model Certificate",
    "src/certificates.ts:30:10 IX003 findMany on Certificate filters on issuer, deletedAt, but no index serves that; add @@index([issuer, deletedAt]) to model Certificate",
]


def test_soft_delete_flags_never_lead(run):
    assert run("indexes/prisma_soft_delete", select="IX") == SOFT_DELETE_FINDINGS


COMPOSE = """services:
  app:
    build: .
    environment:
      DATABASE_URL: {url}
  db:
    image: {image}
"""


def test_the_production_compose_stack_names_the_database(run, tmp_path: Path):
    def with_compose(name: str, url: str, image: str) -> Path:
        project = tmp_path / name
        shutil.copytree(FIXTURES / "indexes" / "sqlalchemy_shapes", project)
        (project / "docker-compose.yml").write_text(COMPOSE.format(url=url, image=image))
        return project

    # InnoDB indexes every foreign key: IX001 has nothing to say on MariaDB or MySQL
    assert run(with_compose("maria", "mysql+pymysql://app:app@db/app", "mariadb:11"), select="IX001") == []
    assert run(with_compose("image", "${DATABASE_URL}", "mysql:8"), select="IX001") == []
    # the URL wins over an image that other services may use
    found = run(with_compose("pg", "postgresql://app:app@db/app", "mysql:8"), select="IX001")
    assert found == [f for f in SHAPES_FINDINGS if " IX001 " in f]
    # so does a URL the code spells out, when the stack's URL is set at deploy time
    project = with_compose("code", "${DATABASE_URL}", "mysql:8")
    (project / "app" / "db.py").write_text('from sqlalchemy import create_engine\n\nengine = create_engine("postgresql://app@db/app")\n')
    assert run(project, select="IX001") == [f for f in SHAPES_FINDINGS if " IX001 " in f]


def test_models_of_a_metadata_set_the_app_does_not_import_are_copies(run, lint):
    # metadata_sets: the app's models descend from app/db.py's Base; warehouse/legacy/models.py
    # declares the same tables on its own LegacyBase and nothing imports it: a copy, no IX001.
    # app/archive.py is not imported either, but its model is in the app's metadata.
    assert run("indexes/metadata_sets", select="IX") == [
        'app/archive.py:12:5 IX001 foreign key customer_id of ArchivedOrder (references customers) has no index that leads with it, and PostgreSQL does not index foreign keys itself; add Index("ix_archived_orders_customer_id", "customer_id") to ArchivedOrder.__table_args__',
        'app/models.py:18:5 IX001 foreign key customer_id of Order (references customers) has no index that leads with it, and PostgreSQL does not index foreign keys itself; add Index("ix_orders_customer_id", "customer_id") to Order.__table_args__',
    ]
    from prodlint.model.roles import production_code

    roles = lint("indexes/metadata_sets", select="IX001").project.view(production_code)
    copy = roles.role_of("warehouse/legacy/models.py")
    assert (copy.role, copy.reason) == (
        "copy", "models of another metadata set (LegacyBase in warehouse/legacy/models.py) that no entrypoint imports; the app's is Base (app/db.py)")
    assert roles.role_of("app/archive.py").role == "request"
