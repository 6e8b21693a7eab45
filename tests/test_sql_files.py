"""SQL files: statement splitting, row-level security facts, ALTER SYSTEM settings."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import FIXTURES
from prodlint.extract import Source
from prodlint.extract.sql import extract_sql, statements
from prodlint.facts import Location
from prodlint.facts.capacity import PostgresSetting
from prodlint.facts.sql import Policy, RowLevelSecurity

SCRIPT = """\
-- roles; are not statements
ALTER SYSTEM SET max_connections = 300;
ALTER SYSTEM SET superuser_reserved_connections TO '5';
ALTER SYSTEM SET work_mem = '64MB';
CREATE FUNCTION current_tenant() RETURNS text AS $$
  SELECT current_setting('app.tenant_id'); -- a ; inside the body
$$ LANGUAGE sql STABLE;
/* a block
   comment */ ALTER TABLE IF EXISTS ONLY public.orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE "legacy" DISABLE ROW LEVEL SECURITY;
CREATE POLICY "orders by tenant" ON public.orders
  USING (tenant_id = current_tenant())
  WITH CHECK (orders.tenant_id = current_tenant());
CREATE POLICY broken ON t USING (((;
INSERT INTO notes VALUES ('it''s; fine', "x;y");
"""


def test_statements_split_outside_strings_comments_and_dollar_quotes() -> None:
    assert [line for line, _ in statements(SCRIPT)] == [2, 3, 4, 5, 9, 10, 11, 14, 15]
    assert list(statements(SCRIPT))[3][1].endswith("$$ LANGUAGE sql STABLE")
    assert list(statements(SCRIPT))[-1][1] == "INSERT INTO notes VALUES ('it''s; fine', \"x;y\")"


def test_security_and_settings_facts() -> None:
    facts = list(extract_sql(Source("db/init.sql", SCRIPT), None))
    at = lambda line: Location("db/init.sql", line)  # noqa: E731
    assert facts == [
        PostgresSetting("max_connections", "300", at(2), origin="alter-system"),
        PostgresSetting("superuser_reserved_connections", "5", at(3), origin="alter-system"),
        RowLevelSecurity("public.orders", at(9)),
        RowLevelSecurity('"legacy"', at(10), enabled=False),
        Policy("orders by tenant", "public.orders", ("tenant_id",), at(11)),
        Policy("broken", "t", (), at(14)),
    ]


def test_alter_system_in_init_sql_raises_the_connection_limit(run, tmp_path: Path) -> None:
    project = tmp_path / "app"
    shutil.copytree(FIXTURES / "capacity" / "fastapi_gunicorn", project)
    before = [line for line in run(project, select="CP002")]
    assert len(before) == 2 and "> 47 available (max_connections 50 − 3 reserved)" in before[0]
    (project / "db").mkdir(exist_ok=True)
    (project / "db" / "01-settings.sql").write_text("ALTER SYSTEM SET max_connections = 400;\n")
    assert run(project, select="CP002") == []
