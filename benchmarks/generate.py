"""Synthetic backend projects of any size, for timing prodlint.

    python benchmarks/generate.py fastapi --files 2000 --seed 1 --out /tmp/fastapi-2000

Three shapes, each a whole deployable project: `fastapi` (FastAPI + SQLAlchemy + Alembic),
`flask` (Flask blueprints + Flask-SQLAlchemy) and `express` (Express + Prisma, TypeScript).
Domains (invoices, shipments ...) are grouped into bounded contexts of up to 20, each context
mounting its domains' routers behind an auth guard; every domain has a router, a service
with tenant-scoped queries and pagination parameters, a model with foreign keys and indexes,
validation schemas, a migration and a test. Compose, Dockerfile and nginx sit at the root.
A small share of queries and page-size parameters are left unscoped or unbounded, as real
code has some, so the rules have findings to report.

The output is a pure function of (shape, files, seed): the same arguments give byte-identical
trees, and exactly `files` files are written.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

WORDS = (
    "invoice", "order", "customer", "product", "shipment", "payment", "ticket", "project", "task",
    "comment", "report", "account", "subscription", "coupon", "warehouse", "supplier", "contract",
    "lead", "campaign", "asset", "booking", "vehicle", "driver", "route", "policy", "claim", "device",
    "sensor", "reading", "alert", "document", "folder", "note", "survey", "answer", "course", "lesson",
    "grade", "patient", "visit", "prescription", "room", "reservation", "menu", "dish", "recipe",
    "budget", "expense", "refund", "dispute", "webhook", "export", "import_job", "audit", "badge",
)
CONTEXT_WORDS = (
    "billing", "sales", "logistics", "support", "crm", "catalog", "fleet", "insurance", "iot",
    "content", "learning", "health", "hospitality", "finance", "integrations", "compliance",
    "marketing", "inventory", "analytics", "identity",
)
FIELD_TYPES = ("str", "int", "bool", "float", "datetime")
CONTEXT_SIZE = 20


def snake_to_camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def snake_to_pascal(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


@dataclass(frozen=True, slots=True)
class Domain:
    name: str  # snake_case, unique in the project
    context: str
    fields: tuple[tuple[str, str], ...]  # (name, type)
    endpoints: tuple[str, ...]  # subset of list/get/create/update/delete/search/export
    unscoped: frozenset[str]  # endpoints whose query forgets the tenant filter
    unbounded_list: bool  # page size without an upper bound
    helpers: int  # extra service functions, for realistic file lengths
    parent: str | None  # another domain this one has a foreign key to

    @property
    def pascal(self) -> str:
        return snake_to_pascal(self.name)

    @property
    def camel(self) -> str:
        return snake_to_camel(self.name)

    @property
    def table(self) -> str:
        return self.name + "s"


def _domain_names(count: int, rng: random.Random) -> list[str]:
    names = [f"{a}_{b}" if a != b else a for a in WORDS for b in WORDS]
    rng.shuffle(names)
    while len(names) < count:  # past 3,025 domains: numbered copies
        names += [f"{name}_{len(names) // len(WORDS) ** 2}" for name in names[: count - len(names)]]
    return names[:count]


def domains(count: int, rng: random.Random) -> list[Domain]:
    result: list[Domain] = []
    field_words = ("title", "status", "amount", "code", "label", "priority", "notes", "due_at",
                   "quantity", "currency", "region", "score", "email", "phone", "reference", "active")
    for index, name in enumerate(_domain_names(count, rng)):
        context = CONTEXT_WORDS[(index // CONTEXT_SIZE) % len(CONTEXT_WORDS)]
        if index // CONTEXT_SIZE >= len(CONTEXT_WORDS):
            context += str(index // CONTEXT_SIZE // len(CONTEXT_WORDS))
        fields = tuple((word, rng.choice(FIELD_TYPES)) for word in rng.sample(field_words, rng.randint(3, 10)))
        endpoints = ["list", "get"] + [e for e in ("create", "update", "delete", "search", "export") if rng.random() < 0.7]
        unscoped = frozenset(e for e in endpoints if rng.random() < 0.06)
        parent = result[rng.randrange(len(result))].name if result and rng.random() < 0.6 else None
        result.append(Domain(name, context, fields, tuple(endpoints), unscoped, rng.random() < 0.1,
                             rng.randint(1, 12), parent))
    return result


def contexts(all_domains: list[Domain]) -> dict[str, list[Domain]]:
    grouped: dict[str, list[Domain]] = {}
    for domain in all_domains:
        grouped.setdefault(domain.context, []).append(domain)
    return grouped


def plan(files: int, fixed: int, per_context: int, per_domain: int) -> int:
    """The most domains whose files (plus fixed and per-context ones) fit in `files`."""
    count = max(0, (files - fixed) // per_domain)
    while count > 0 and fixed + per_context * -(-count // CONTEXT_SIZE) + per_domain * count > files:
        count -= 1
    return count


# --- shared infrastructure files ------------------------------------------------------------

def compose(service: str, command: str, port: int, rng: random.Random) -> str:
    workers = rng.choice((2, 4, 8))
    return f"""services:
  {service}:
    build: .
    command: {command.format(workers=workers, port=port)}
    env_file: .env
    environment:
      DATABASE_URL: postgresql://app:app@db:5432/app
    depends_on:
      - db
    deploy:
      replicas: {rng.choice((1, 2, 3))}
      resources:
        limits:
          memory: 1g
          cpus: "1.0"
    restart: unless-stopped
  db:
    image: postgres:16
    command: postgres -c max_connections={rng.choice((100, 200))}
    environment:
      POSTGRES_USER: app
      POSTGRES_PASSWORD: app
      POSTGRES_DB: app
    volumes:
      - pgdata:/var/lib/postgresql/data
  nginx:
    image: nginx:1.27
    ports:
      - "80:80"
    volumes:
      - ./nginx/nginx.conf:/etc/nginx/nginx.conf:ro
    depends_on:
      - {service}
volumes:
  pgdata:
"""


def nginx(service: str, port: int) -> str:
    return f"""worker_processes auto;

events {{
    worker_connections 1024;
}}

http {{
    upstream app {{
        server {service}:{port};
        keepalive 32;
    }}

    server {{
        listen 80;
        client_max_body_size 10m;

        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_read_timeout 60s;
        }}
    }}
}}
"""


def python_dockerfile(command: str) -> str:
    return f"""FROM python:3.12-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN useradd --create-home app
USER app
CMD {command}
"""


# --- FastAPI + SQLAlchemy + Alembic -----------------------------------------------------------

PY_TYPES = {"str": ("String(120)", "str"), "int": ("Integer", "int"), "bool": ("Boolean", "bool"),
            "float": ("Numeric(12, 2)", "float"), "datetime": ("DateTime(timezone=True)", "datetime")}


def fastapi_model(d: Domain) -> str:
    lines = [
        f'"""{d.pascal} rows, one tenant each."""',
        "",
        "from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, Integer, Numeric, String, func",
        "from sqlalchemy.orm import relationship",
        "",
        "from app.db.base import Base",
        "",
        "",
        f"class {d.pascal}(Base):",
        f'    __tablename__ = "{d.table}"',
        "    __table_args__ = (",
        f'        Index("ix_{d.table}_tenant_created", "tenant_id", "created_at"),',
        "    )",
        "",
        "    id = Column(Integer, primary_key=True)",
        '    tenant_id = Column(Integer, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True)',
    ]
    if d.parent:
        lines.append(f'    {d.parent}_id = Column(Integer, ForeignKey("{d.parent}s.id"), nullable=True, index=True)')
    for name, kind in d.fields:
        lines.append(f"    {name} = Column({PY_TYPES[kind][0]}, nullable={kind == 'bool'})")
    lines += [
        "    created_at = Column(DateTime(timezone=True), server_default=func.now(), nullable=False)",
        "    updated_at = Column(DateTime(timezone=True), onupdate=func.now())",
        "",
        '    tenant = relationship("Tenant")',
    ]
    if d.parent:
        lines.append(f'    {d.parent} = relationship("{snake_to_pascal(d.parent)}")')
    lines += ["", "    def __repr__(self) -> str:", f'        return f"<{d.pascal} {{self.id}}>"', ""]
    return "\n".join(lines)


def fastapi_schema(d: Domain) -> str:
    lines = ["from datetime import datetime", "", "from pydantic import BaseModel, Field", "", "",
             f"class {d.pascal}Base(BaseModel):"]
    lines += [f"    {name}: {PY_TYPES[kind][1]} | None = None" for name, kind in d.fields]
    lines += ["", "", f"class {d.pascal}Create({d.pascal}Base):", "    pass", "", "",
              f"class {d.pascal}Update({d.pascal}Base):", "    pass", "", "",
              f"class {d.pascal}Out({d.pascal}Base):", "    id: int", "    tenant_id: int", "    created_at: datetime",
              "", "    model_config = {\"from_attributes\": True}", "", "",
              f"class {d.pascal}Page(BaseModel):", f"    items: list[{d.pascal}Out]",
              "    total: int = Field(ge=0)", ""]
    return "\n".join(lines)


def fastapi_service(d: Domain) -> str:
    m = d.pascal
    scope = f"{m}.tenant_id == tenant_id"
    lines = [
        f'"""Reads and writes of {d.name.replace("_", " ")}s, always within one tenant."""',
        "",
        "from sqlalchemy import func, select",
        "from sqlalchemy.orm import Session",
        "",
        f"from app.{d.context}.models.{d.name} import {m}",
        f"from app.{d.context}.schemas.{d.name} import {m}Create, {m}Update",
        "",
        "",
        f"def list_{d.name}s(db: Session, tenant_id: int, limit: int, offset: int) -> tuple[list[{m}], int]:",
        f"    query = db.query({m})" + ("" if "list" in d.unscoped else f".filter({scope})"),
        f"    total = query.with_entities(func.count({m}.id)).scalar()",
        f"    rows = query.order_by({m}.created_at.desc()).offset(offset).limit(limit).all()",
        "    return rows, total",
        "",
        "",
        f"def get_{d.name}(db: Session, tenant_id: int, {d.name}_id: int) -> {m} | None:",
        ("    stmt = select(" + m + ").where(" + m + f".id == {d.name}_id"
         + ("" if "get" in d.unscoped else f", {scope}") + ")"),
        "    return db.execute(stmt).scalar_one_or_none()",
        "",
    ]
    if "create" in d.endpoints:
        lines += ["", f"def create_{d.name}(db: Session, tenant_id: int, data: {m}Create) -> {m}:",
                  f"    row = {m}(tenant_id=tenant_id, **data.model_dump(exclude_unset=True))",
                  "    db.add(row)", "    db.commit()", "    db.refresh(row)", "    return row", ""]
    if "update" in d.endpoints:
        lines += ["", f"def update_{d.name}(db: Session, tenant_id: int, {d.name}_id: int, data: {m}Update) -> {m} | None:",
                  f"    row = get_{d.name}(db, tenant_id, {d.name}_id)", "    if row is None:", "        return None",
                  "    for key, value in data.model_dump(exclude_unset=True).items():",
                  "        setattr(row, key, value)", "    db.commit()", "    return row", ""]
    if "delete" in d.endpoints:
        lines += ["", f"def delete_{d.name}(db: Session, tenant_id: int, {d.name}_id: int) -> bool:",
                  f"    deleted = db.query({m}).filter({m}.id == {d.name}_id"
                  + ("" if "delete" in d.unscoped else f", {scope}") + ").delete()",
                  "    db.commit()", "    return deleted > 0", ""]
    if "search" in d.endpoints:
        text = next((name for name, kind in d.fields if kind == "str"), "id")
        lines += ["", f"def search_{d.name}s(db: Session, tenant_id: int, term: str, limit: int) -> list[{m}]:",
                  f"    pattern = f\"%{{term}}%\"",
                  f"    stmt = select({m}).where({scope}, {m}.{text}.ilike(pattern)).limit(limit)",
                  "    return list(db.execute(stmt).scalars())", ""]
    for index in range(d.helpers):
        field, kind = d.fields[index % len(d.fields)]
        lines += ["", f"def count_by_{field}_{index}(db: Session, tenant_id: int) -> dict[object, int]:",
                  f'    """How many {d.name}s share each {field}."""',
                  f"    rows = db.query({m}.{field}, func.count({m}.id)).filter({scope}).group_by({m}.{field}).all()",
                  "    result: dict[object, int] = {}", "    for value, count in rows:",
                  "        if value is None:", "            continue", "        result[value] = count",
                  "    return result", ""]
    return "\n".join(lines)


def fastapi_router(d: Domain) -> str:
    m = d.pascal
    bound = "" if d.unbounded_list else ", le=100"
    lines = [
        "from fastapi import APIRouter, Depends, HTTPException, Query, status",
        "from sqlalchemy.orm import Session",
        "",
        "from app.core.security import CurrentUser, get_current_user",
        "from app.db.session import get_db",
        f"from app.{d.context}.schemas.{d.name} import {m}Create, {m}Out, {m}Page, {m}Update",
        f"from app.{d.context}.services import {d.name} as service",
        "",
        f'router = APIRouter(prefix="/{d.name.replace("_", "-")}s", tags=["{d.name}"])',
        "",
        "",
        f'@router.get("", response_model={m}Page)',
        f"def list_{d.name}s(",
        f"    limit: int = Query(20, ge=1{bound}),",
        "    offset: int = Query(0, ge=0),",
        "    db: Session = Depends(get_db),",
        "    user: CurrentUser = Depends(get_current_user),",
        f") -> {m}Page:",
        f"    rows, total = service.list_{d.name}s(db, user.tenant_id, limit, offset)",
        f"    return {m}Page(items=rows, total=total)",
        "",
        "",
        f'@router.get("/{{{d.name}_id}}", response_model={m}Out)',
        f"def get_{d.name}({d.name}_id: int, db: Session = Depends(get_db), user: CurrentUser = Depends(get_current_user)):",
        f"    row = service.get_{d.name}(db, user.tenant_id, {d.name}_id)",
        "    if row is None:",
        "        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND)",
        "    return row",
        "",
    ]
    if "create" in d.endpoints:
        lines += ["", f'@router.post("", response_model={m}Out, status_code=status.HTTP_201_CREATED)',
                  f"def create_{d.name}(data: {m}Create, db: Session = Depends(get_db), user: CurrentUser = Depends(get_current_user)):",
                  f"    return service.create_{d.name}(db, user.tenant_id, data)", ""]
    if "update" in d.endpoints:
        lines += ["", f'@router.patch("/{{{d.name}_id}}", response_model={m}Out)',
                  f"def update_{d.name}({d.name}_id: int, data: {m}Update, db: Session = Depends(get_db),",
                  "           user: CurrentUser = Depends(get_current_user)):",
                  f"    row = service.update_{d.name}(db, user.tenant_id, {d.name}_id, data)",
                  "    if row is None:", "        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND)",
                  "    return row", ""]
    if "delete" in d.endpoints:
        lines += ["", f'@router.delete("/{{{d.name}_id}}", status_code=status.HTTP_204_NO_CONTENT)',
                  f"def delete_{d.name}({d.name}_id: int, db: Session = Depends(get_db), user: CurrentUser = Depends(get_current_user)):",
                  f"    if not service.delete_{d.name}(db, user.tenant_id, {d.name}_id):",
                  "        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND)", ""]
    if "search" in d.endpoints:
        lines += ["", f'@router.get("/search", response_model=list[{m}Out])',
                  f"async def search_{d.name}s(q: str = Query(..., min_length=2), limit: int = 50,",
                  "                  db: Session = Depends(get_db), user: CurrentUser = Depends(get_current_user)):",
                  f"    return service.search_{d.name}s(db, user.tenant_id, q, min(limit, 100))", ""]
    if "export" in d.endpoints:
        lines += ["", '@router.get("/export")',
                  f"def export_{d.name}s(db: Session = Depends(get_db), user: CurrentUser = Depends(get_current_user)):",
                  f"    rows, _ = service.list_{d.name}s(db, user.tenant_id, 1000, 0)",
                  f"    return [{m}Out.model_validate(row).model_dump() for row in rows]", ""]
    return "\n".join(lines)


def fastapi_migration(d: Domain, revision: str, down: str | None) -> str:
    columns = [f'        sa.Column("{name}", sa.{PY_TYPES[kind][0].replace("(timezone=True)", "()")}, nullable={kind == "bool"}),'
               for name, kind in d.fields]
    parent = [f'        sa.Column("{d.parent}_id", sa.Integer(), sa.ForeignKey("{d.parent}s.id"), nullable=True),'] if d.parent else []
    return "\n".join([
        f'"""create {d.table}', "", f"Revision ID: {revision}", f"Revises: {down}", '"""', "",
        "import sqlalchemy as sa", "from alembic import op", "",
        f'revision = "{revision}"', f"down_revision = {repr(down)}", "branch_labels = None", "depends_on = None", "", "",
        "def upgrade() -> None:", "    op.create_table(", f'        "{d.table}",',
        '        sa.Column("id", sa.Integer(), primary_key=True),',
        '        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),',
        *parent, *columns,
        '        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),',
        '        sa.Column("updated_at", sa.DateTime(timezone=True)),', "    )",
        f'    op.create_index("ix_{d.table}_tenant_id", "{d.table}", ["tenant_id"])',
        f'    op.create_index("ix_{d.table}_tenant_created", "{d.table}", ["tenant_id", "created_at"])',
        *([f'    op.create_index("ix_{d.table}_{d.parent}_id", "{d.table}", ["{d.parent}_id"])'] if d.parent else []),
        "", "", "def downgrade() -> None:", f'    op.drop_table("{d.table}")', "",
    ])


def fastapi_test(d: Domain) -> str:
    path = d.name.replace("_", "-") + "s"
    return "\n".join([
        "from fastapi.testclient import TestClient", "", "from app.main import app", "",
        "client = TestClient(app)", "", "",
        f"def test_list_{d.name}s_requires_auth():", f'    response = client.get("/api/v1/{d.context}/{path}")',
        "    assert response.status_code == 401", "", "",
        f"def test_list_{d.name}s(auth_headers):", f'    response = client.get("/api/v1/{d.context}/{path}?limit=5", headers=auth_headers)',
        "    assert response.status_code == 200", '    assert len(response.json()["items"]) <= 5', "",
    ])


FASTAPI_FIXED = {
    "app/__init__.py": "",
    "app/core/__init__.py": "",
    "app/db/__init__.py": "",
    "app/core/config.py": '''from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    database_url: str = "postgresql://app:app@localhost:5432/app"
    pool_size: int = 10
    max_overflow: int = 5
    secret_key: str = "change-me"


settings = Settings()
''',
    "app/core/security.py": '''from dataclasses import dataclass

import jwt
from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.core.config import settings

bearer = HTTPBearer(auto_error=False)


@dataclass
class CurrentUser:
    id: int
    tenant_id: int
    is_admin: bool


def get_current_user(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> CurrentUser:
    if credentials is None:
        raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail="not authenticated")
    try:
        claims = jwt.decode(credentials.credentials, settings.secret_key, algorithms=["HS256"])
    except jwt.PyJWTError:
        raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail="invalid token")
    return CurrentUser(id=claims["sub"], tenant_id=claims["tenant_id"], is_admin=claims.get("admin", False))


def require_admin(user: CurrentUser = Depends(get_current_user)) -> CurrentUser:
    if not user.is_admin:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN)
    return user
''',
    "app/db/base.py": '''from sqlalchemy import Column, Integer, String
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class Tenant(Base):
    __tablename__ = "tenants"

    id = Column(Integer, primary_key=True)
    name = Column(String(120), nullable=False, unique=True)
''',
    "app/db/session.py": '''from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from app.core.config import settings

engine = create_engine(settings.database_url, pool_size=settings.pool_size, max_overflow=settings.max_overflow,
                       pool_pre_ping=True)
SessionLocal = sessionmaker(bind=engine, autoflush=False)


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
''',
    "alembic/env.py": '''from alembic import context
from sqlalchemy import engine_from_config, pool

from app.db.base import Base

target_metadata = Base.metadata


def run_migrations_online() -> None:
    connectable = engine_from_config(context.config.get_section(context.config.config_ini_section), poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
''',
    "alembic.ini": "[alembic]\nscript_location = alembic\n",
    "requirements.txt": "fastapi==0.115.0\nuvicorn[standard]==0.30.6\ngunicorn==23.0.0\nsqlalchemy==2.0.35\n"
                        "alembic==1.13.2\npydantic-settings==2.5.2\npyjwt==2.9.0\npsycopg2-binary==2.9.9\n",
    "tests/conftest.py": '''import pytest


@pytest.fixture
def auth_headers():
    return {"Authorization": "Bearer test-token"}
''',
}
FASTAPI_COMMAND = "gunicorn -k uvicorn.workers.UvicornWorker -w {workers} -b 0.0.0.0:{port} app.main:app"


def fastapi_project(files: int, rng: random.Random) -> dict[str, str]:
    fixed = len(FASTAPI_FIXED) + 5  # + main.py, Dockerfile, compose, nginx, the api router
    count = plan(files, fixed, per_context=6, per_domain=6)
    out = dict(FASTAPI_FIXED)
    all_domains = domains(count, rng)
    grouped = contexts(all_domains)
    previous: str | None = None
    for context, members in grouped.items():
        base = f"app/{context}"
        for package in ("", "/api", "/services", "/models", "/schemas"):
            out[f"{base}{package}/__init__.py"] = ""
        out[f"{base}/api/__init__.py"] = "\n".join([
            "from fastapi import APIRouter, Depends", "", "from app.core.security import get_current_user",
            *[f"from app.{context}.api import {d.name}" for d in members], "",
            f'router = APIRouter(prefix="/{context}", dependencies=[Depends(get_current_user)])',
            *[f"router.include_router({d.name}.router)" for d in members], ""])
        out[f"tests/{context}/__init__.py"] = ""
        for d in members:
            out[f"{base}/models/{d.name}.py"] = fastapi_model(d)
            out[f"{base}/schemas/{d.name}.py"] = fastapi_schema(d)
            out[f"{base}/services/{d.name}.py"] = fastapi_service(d)
            out[f"{base}/api/{d.name}.py"] = fastapi_router(d)
            out[f"tests/{context}/test_{d.name}.py"] = fastapi_test(d)
            revision = f"{rng.getrandbits(48):012x}"
            out[f"alembic/versions/{revision}_create_{d.table}.py"] = fastapi_migration(d, revision, previous)
            previous = revision
    out["app/api.py"] = "\n".join([
        "from fastapi import APIRouter", "", *[f"from app.{c} import api as {c}_api" for c in grouped], "",
        'api_router = APIRouter(prefix="/api/v1")', *[f"api_router.include_router({c}_api.router)" for c in grouped], ""])
    out["app/main.py"] = "\n".join([
        "from fastapi import FastAPI", "", "from app.api import api_router", "",
        'app = FastAPI(title="Synthetic service")', "app.include_router(api_router)", "", "",
        '@app.get("/health")', "def health() -> dict[str, str]:", '    return {"status": "ok"}', ""])
    out["Dockerfile"] = python_dockerfile(f'["sh", "-c", "{FASTAPI_COMMAND.format(workers=4, port=8000)}"]')
    out["docker-compose.yml"] = compose("api", FASTAPI_COMMAND, 8000, rng)
    out["nginx/nginx.conf"] = nginx("api", 8000)
    return pad(out, files, "app/common", python_helper, rng)


def python_helper(index: int, rng: random.Random) -> str:
    size = rng.randint(2, 8)
    body = [f'"""Formatting helpers, set {index}."""', ""]
    for n in range(size):
        body += ["", f"def format_value_{n}(value: object, width: int = {rng.randint(8, 40)}) -> str:",
                 "    text = str(value)", "    if len(text) > width:", '        return text[: width - 1] + "…"',
                 "    return text.ljust(width)", ""]
    return "\n".join(body)


def pad(out: dict[str, str], files: int, directory: str, helper, rng: random.Random) -> dict[str, str]:
    """Helper modules until the tree has exactly `files` files."""
    index = 0
    suffix = ".ts" if helper is ts_helper else ".py"
    while len(out) < files:
        out[f"{directory}/format_{index}{suffix}"] = helper(index, rng)
        index += 1
    if len(out) > files:
        raise SystemExit(f"cannot build a project this small: {files} files (the smallest has {len(out)})")
    return out


# --- Flask + Flask-SQLAlchemy ------------------------------------------------------------------

def flask_model(d: Domain) -> str:
    lines = ["from app.extensions import db", "", "", f"class {d.pascal}(db.Model):", f'    __tablename__ = "{d.table}"',
             f'    __table_args__ = (db.Index("ix_{d.table}_tenant_created", "tenant_id", "created_at"),)', "",
             "    id = db.Column(db.Integer, primary_key=True)",
             '    tenant_id = db.Column(db.Integer, db.ForeignKey("tenants.id"), nullable=False, index=True)']
    if d.parent:
        lines.append(f'    {d.parent}_id = db.Column(db.Integer, db.ForeignKey("{d.parent}s.id"), index=True)')
    lines += [f"    {name} = db.Column(db.{PY_TYPES[kind][0]})" for name, kind in d.fields]
    lines += ["    created_at = db.Column(db.DateTime(timezone=True), server_default=db.func.now())", "",
              "    def to_dict(self) -> dict:", "        return {", '            "id": self.id,',
              *[f'            "{name}": self.{name},' for name, _ in d.fields], "        }", ""]
    return "\n".join(lines)


def flask_routes(d: Domain) -> str:
    m = d.pascal
    cap = 'per_page = request.args.get("per_page", 20, type=int)' if d.unbounded_list else \
        'per_page = min(request.args.get("per_page", 20, type=int), 100)'
    scoped = "" if "list" in d.unscoped else "tenant_id=g.user.tenant_id"
    lines = [
        "from flask import abort, g, jsonify, request", "", "from app.auth import login_required",
        "from app.extensions import db", f"from app.models.{d.name} import {m}",
        f"from app.{d.context}.{d.name} import bp", f"from app.{d.context}.{d.name}.service import apply_changes", "", "",
        '@bp.get("")', "@login_required", f"def list_{d.name}s():", '    page = request.args.get("page", 1, type=int)',
        f"    {cap}", f"    result = {m}.query.filter_by({scoped}).order_by({m}.created_at.desc()).paginate(page=page, per_page=per_page)",
        '    return jsonify(items=[row.to_dict() for row in result.items], total=result.total)', "", "",
        f'@bp.get("/<int:{d.name}_id>")', "@login_required", f"def get_{d.name}({d.name}_id):",
        f"    row = {m}.query.filter_by(id={d.name}_id" + ("" if "get" in d.unscoped else ", tenant_id=g.user.tenant_id") + ").first()",
        "    if row is None:", "        abort(404)", "    return jsonify(row.to_dict())", ""]
    if "create" in d.endpoints:
        lines += ["", '@bp.post("")', "@login_required", f"def create_{d.name}():",
                  f"    row = {m}(tenant_id=g.user.tenant_id)", "    apply_changes(row, request.get_json() or {})",
                  "    db.session.add(row)", "    db.session.commit()", "    return jsonify(row.to_dict()), 201", ""]
    if "update" in d.endpoints:
        lines += ["", f'@bp.patch("/<int:{d.name}_id>")', "@login_required", f"def update_{d.name}({d.name}_id):",
                  f"    row = {m}.query.filter_by(id={d.name}_id, tenant_id=g.user.tenant_id).first_or_404()",
                  "    apply_changes(row, request.get_json() or {})", "    db.session.commit()", "    return jsonify(row.to_dict())", ""]
    if "delete" in d.endpoints:
        lines += ["", f'@bp.delete("/<int:{d.name}_id>")', "@login_required", f"def delete_{d.name}({d.name}_id):",
                  f"    {m}.query.filter_by(id={d.name}_id" + ("" if "delete" in d.unscoped else ", tenant_id=g.user.tenant_id") + ").delete()",
                  "    db.session.commit()", '    return "", 204', ""]
    return "\n".join(lines)


def flask_service(d: Domain) -> str:
    names = ", ".join(f'"{name}"' for name, _ in d.fields)
    lines = [f"EDITABLE = ({names},)", "", "", "def apply_changes(row, data: dict) -> None:",
             "    for key in EDITABLE:", "        if key in data:", "            setattr(row, key, data[key])", ""]
    for index in range(d.helpers):
        lines += ["", f"def summarise_{index}(rows) -> dict:", "    totals: dict = {}", "    for row in rows:",
                  f"        key = getattr(row, {d.fields[index % len(d.fields)][0]!r})",
                  "        totals[key] = totals.get(key, 0) + 1", "    return totals", ""]
    return "\n".join(lines)


def flask_test(d: Domain) -> str:
    return "\n".join(["def test_requires_login(client):",
                      f'    assert client.get("/api/{d.context}/{d.name}s").status_code == 401', "", "",
                      "def test_list(client, login):",
                      f'    response = client.get("/api/{d.context}/{d.name}s?per_page=5")',
                      "    assert response.status_code == 200", ""])


FLASK_FIXED = {
    "app/extensions.py": "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy(engine_options={\"pool_size\": 10, \"max_overflow\": 5})\n",
    "app/auth.py": '''from functools import wraps

from flask import abort, g, request

from app.tokens import decode_token


def login_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            abort(401)
        g.user = decode_token(header.removeprefix("Bearer "))
        if g.user is None:
            abort(401)
        return view(*args, **kwargs)

    return wrapped
''',
    "app/tokens.py": '''import jwt
from flask import current_app


def decode_token(token: str):
    try:
        return jwt.decode(token, current_app.config["SECRET_KEY"], algorithms=["HS256"])
    except jwt.PyJWTError:
        return None
''',
    "app/models/__init__.py": "",
    "app/models/tenant.py": "from app.extensions import db\n\n\nclass Tenant(db.Model):\n    __tablename__ = \"tenants\"\n\n"
                            "    id = db.Column(db.Integer, primary_key=True)\n    name = db.Column(db.String(120), unique=True)\n",
    "wsgi.py": "from app import create_app\n\napp = create_app()\n",
    "requirements.txt": "flask==3.0.3\nflask-sqlalchemy==3.1.1\ngunicorn==23.0.0\npyjwt==2.9.0\npsycopg2-binary==2.9.9\n",
    "tests/conftest.py": "import pytest\n\nfrom app import create_app\n\n\n@pytest.fixture\ndef client():\n"
                         "    return create_app().test_client()\n",
}
FLASK_COMMAND = "gunicorn -w {workers} -b 0.0.0.0:{port} wsgi:app"


def flask_project(files: int, rng: random.Random) -> dict[str, str]:
    fixed = len(FLASK_FIXED) + 4  # + app/__init__.py, Dockerfile, compose, nginx
    count = plan(files, fixed, per_context=2, per_domain=5)
    out = dict(FLASK_FIXED)
    grouped = contexts(domains(count, rng))
    for context, members in grouped.items():
        out[f"app/{context}/__init__.py"] = "\n".join([
            "from flask import Blueprint", "", *[f"from app.{context}.{d.name} import bp as {d.name}_bp" for d in members], "",
            f'bp = Blueprint("{context}", __name__, url_prefix="/{context}")',
            *[f"bp.register_blueprint({d.name}_bp)" for d in members], ""])
        out[f"tests/{context}/__init__.py"] = ""
        for d in members:
            out[f"app/{context}/{d.name}/__init__.py"] = "\n".join([
                "from flask import Blueprint", "", f'bp = Blueprint("{d.name}", __name__, url_prefix="/{d.name}s")', "",
                f"from app.{context}.{d.name} import routes  # noqa: E402,F401 - registers the views", ""])
            out[f"app/{context}/{d.name}/routes.py"] = flask_routes(d)
            out[f"app/{context}/{d.name}/service.py"] = flask_service(d)
            out[f"app/models/{d.name}.py"] = flask_model(d)
            out[f"tests/{context}/test_{d.name}.py"] = flask_test(d)
    out["app/__init__.py"] = "\n".join([
        "from flask import Blueprint, Flask", "", "from app.extensions import db", "", "",
        "def create_app() -> Flask:", "    app = Flask(__name__)", '    app.config.from_prefixed_env()', "    db.init_app(app)",
        '    api = Blueprint("api", __name__, url_prefix="/api")',
        *[f"    from app.{c} import bp as {c}_bp" for c in grouped],
        *[f"    api.register_blueprint({c}_bp)" for c in grouped],
        "    app.register_blueprint(api)", "    return app", ""])
    out["Dockerfile"] = python_dockerfile(f'["sh", "-c", "{FLASK_COMMAND.format(workers=4, port=8000)}"]')
    out["docker-compose.yml"] = compose("web", FLASK_COMMAND, 8000, rng)
    out["nginx/nginx.conf"] = nginx("web", 8000)
    return pad(out, files, "app/common", python_helper, rng)


# --- Express + Prisma (TypeScript) -------------------------------------------------------------

PRISMA_TYPES = {"str": "String", "int": "Int", "bool": "Boolean", "float": "Decimal", "datetime": "DateTime"}
ZOD_TYPES = {"str": "z.string().max(200)", "int": "z.number().int()", "bool": "z.boolean()", "float": "z.number()",
             "datetime": "z.coerce.date()"}


def prisma_model(d: Domain) -> str:
    lines = [f"model {d.pascal} {{", "  id        String   @id @default(cuid())", "  tenantId  String",
             "  tenant    Tenant   @relation(fields: [tenantId], references: [id], onDelete: Cascade)"]
    if d.parent:
        parent = snake_to_pascal(d.parent)
        lines += [f"  {snake_to_camel(d.parent)}Id String?",
                  f"  {snake_to_camel(d.parent)}   {parent}? @relation(\"{d.pascal}{parent}\", fields: [{snake_to_camel(d.parent)}Id], references: [id])"]
    lines += [f"  {snake_to_camel(name)} {PRISMA_TYPES[kind]}?" for name, kind in d.fields]
    lines += ["  createdAt DateTime @default(now())", "  updatedAt DateTime @updatedAt", "",
              "  @@index([tenantId, createdAt])"]
    if d.parent:
        lines.append(f"  @@index([{snake_to_camel(d.parent)}Id])")
    lines += [f'  @@map("{d.table}")', "}", ""]
    return "\n".join(lines)


def prisma_schema(all_domains: list[Domain]) -> str:
    children: dict[str, list[Domain]] = {}
    for d in all_domains:
        if d.parent:
            children.setdefault(d.parent, []).append(d)
    parts = ['generator client {\n  provider = "prisma-client-js"\n}\n',
             'datasource db {\n  provider = "postgresql"\n  url      = env("DATABASE_URL")\n}\n',
             "model Tenant {\n  id   String @id @default(cuid())\n  name String @unique\n"
             + "".join(f"  {d.camel}s {d.pascal}[]\n" for d in all_domains) + "}\n"]
    for d in all_domains:
        model = prisma_model(d)
        back = "".join(f'  {c.camel}s {c.pascal}[] @relation("{c.pascal}{d.pascal}")\n' for c in children.get(d.name, ()))
        parts.append(model.replace("  createdAt", back + "  createdAt", 1))
    return "\n".join(parts)


def ts_service(d: Domain) -> str:
    scope = "tenantId"
    take = "Math.min(query.take ?? 20, 100)" if not d.unbounded_list else "query.take"
    lines = [
        'import { prisma } from "../../../lib/prisma";',
        f'import type {{ {d.pascal}Input }} from "./{d.name}.schema";', "",
        f"export async function list{d.pascal}s(tenantId: string, query: {{ take?: number; skip?: number }}) {{",
        f"  return prisma.{d.camel}.findMany({{",
        f"    where: {{ {'' if 'list' in d.unscoped else scope} }},",
        f"    take: {take},", "    skip: query.skip ?? 0,", '    orderBy: { createdAt: "desc" },', "  });", "}", "",
        f"export async function get{d.pascal}(tenantId: string, id: string) {{",
        f"  return prisma.{d.camel}.findFirst({{ where: {{ id{'' if 'get' in d.unscoped else ', tenantId'} }} }});", "}", ""]
    if "create" in d.endpoints:
        lines += [f"export async function create{d.pascal}(tenantId: string, data: {d.pascal}Input) {{",
                  f"  return prisma.{d.camel}.create({{ data: {{ ...data, tenantId }} }});", "}", ""]
    if "update" in d.endpoints:
        lines += [f"export async function update{d.pascal}(tenantId: string, id: string, data: Partial<{d.pascal}Input>) {{",
                  f"  return prisma.{d.camel}.updateMany({{ where: {{ id, tenantId }}, data }});", "}", ""]
    if "delete" in d.endpoints:
        lines += [f"export async function delete{d.pascal}(tenantId: string, id: string) {{",
                  f"  return prisma.{d.camel}.deleteMany({{ where: {{ id{'' if 'delete' in d.unscoped else ', tenantId'} }} }});",
                  "}", ""]
    for index in range(d.helpers):
        field = snake_to_camel(d.fields[index % len(d.fields)][0])
        lines += [f"export async function countBy{field.title()}{index}(tenantId: string) {{",
                  f"  const rows = await prisma.{d.camel}.groupBy({{ by: [\"{field}\"], where: {{ tenantId }}, _count: true }});",
                  "  const result: Record<string, number> = {};", "  for (const row of rows) {",
                  f"    result[String(row.{field})] = row._count;", "  }", "  return result;", "}", ""]
    return "\n".join(lines)


def ts_controller(d: Domain) -> str:
    p = d.pascal
    lines = ['import type { Request, Response, NextFunction } from "express";',
             f'import * as service from "./{d.name}.service";', f'import {{ {d.camel}Input }} from "./{d.name}.schema";', "",
             f"export async function list(req: Request, res: Response, next: NextFunction) {{", "  try {",
             ("    const take = Number(req.query.take ?? 20);" if d.unbounded_list
              else "    const take = Math.min(Number(req.query.take ?? 20), 100);"),
             "    const skip = Number(req.query.skip ?? 0);",
             f"    res.json(await service.list{p}s(req.user.tenantId, {{ take, skip }}));",
             "  } catch (error) {", "    next(error);", "  }", "}", "",
             "export async function show(req: Request, res: Response) {",
             f"  const row = await service.get{p}(req.user.tenantId, req.params.id);",
             "  if (!row) {", "    return res.status(404).json({ error: \"not found\" });", "  }", "  res.json(row);", "}", ""]
    if "create" in d.endpoints:
        lines += ["export async function create(req: Request, res: Response) {",
                  f"  const data = {d.camel}Input.parse(req.body);",
                  f"  res.status(201).json(await service.create{p}(req.user.tenantId, data));", "}", ""]
    if "update" in d.endpoints:
        lines += ["export async function update(req: Request, res: Response) {",
                  f"  const data = {d.camel}Input.partial().parse(req.body);",
                  f"  const result = await service.update{p}(req.user.tenantId, req.params.id, data);",
                  "  res.status(result.count ? 200 : 404).end();", "}", ""]
    if "delete" in d.endpoints:
        lines += ["export async function remove(req: Request, res: Response) {",
                  f"  await service.delete{p}(req.user.tenantId, req.params.id);", "  res.status(204).end();", "}", ""]
    return "\n".join(lines)


def ts_routes(d: Domain) -> str:
    lines = ['import { Router } from "express";', f'import * as controller from "./{d.name}.controller";',
             'import { requireRole } from "../../../middleware/auth";', "",
             f"export const {d.camel}Router = Router();", "",
             f'{d.camel}Router.get("/", controller.list);', f'{d.camel}Router.get("/:id", controller.show);']
    if "create" in d.endpoints:
        lines.append(f'{d.camel}Router.post("/", controller.create);')
    if "update" in d.endpoints:
        lines.append(f'{d.camel}Router.patch("/:id", controller.update);')
    if "delete" in d.endpoints:
        lines.append(f'{d.camel}Router.delete("/:id", requireRole("admin"), controller.remove);')
    return "\n".join(lines) + "\n"


def ts_schema(d: Domain) -> str:
    return "\n".join(['import { z } from "zod";', "", f"export const {d.camel}Input = z.object({{",
                      *[f"  {snake_to_camel(name)}: {ZOD_TYPES[kind]}.optional()," for name, kind in d.fields], "});", "",
                      f"export type {d.pascal}Input = z.infer<typeof {d.camel}Input>;", ""])


def ts_test(d: Domain) -> str:
    path = d.name.replace("_", "-")
    return "\n".join(['import request from "supertest";', 'import { app } from "../../src/app";', "",
                      f'describe("{d.name}", () => {{', '  it("requires a token", async () => {',
                      f'    const response = await request(app).get("/api/{d.context}/{path}");',
                      "    expect(response.status).toBe(401);", "  });", "});", ""])


def migration_sql(d: Domain) -> str:
    columns = [f'  "{snake_to_camel(name)}" {"TEXT" if kind == "str" else {"int": "INTEGER", "bool": "BOOLEAN", "float": "DECIMAL(65,30)", "datetime": "TIMESTAMP(3)"}[kind]},'
               for name, kind in d.fields]
    parent = [f'  "{snake_to_camel(d.parent)}Id" TEXT,'] if d.parent else []
    return "\n".join([f'-- CreateTable', f'CREATE TABLE "{d.table}" (', '  "id" TEXT NOT NULL,', '  "tenantId" TEXT NOT NULL,',
                      *parent, *columns, '  "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,',
                      '  "updatedAt" TIMESTAMP(3) NOT NULL,', f'  CONSTRAINT "{d.table}_pkey" PRIMARY KEY ("id")', ");", "",
                      f'CREATE INDEX "{d.table}_tenantId_createdAt_idx" ON "{d.table}"("tenantId", "createdAt");', "",
                      f'ALTER TABLE "{d.table}" ADD CONSTRAINT "{d.table}_tenantId_fkey" FOREIGN KEY ("tenantId") '
                      'REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;', ""])


EXPRESS_FIXED = {
    "src/lib/prisma.ts": 'import { PrismaClient } from "@prisma/client";\n\nexport const prisma = new PrismaClient();\n',
    "src/middleware/auth.ts": '''import type { Request, Response, NextFunction } from "express";
import jwt from "jsonwebtoken";

export function requireAuth(req: Request, res: Response, next: NextFunction) {
  const header = req.headers.authorization;
  if (!header || !header.startsWith("Bearer ")) {
    return res.status(401).json({ error: "unauthenticated" });
  }
  try {
    req.user = jwt.verify(header.slice(7), process.env.JWT_SECRET as string) as Express.User;
  } catch {
    return res.status(401).json({ error: "invalid token" });
  }
  next();
}

export function requireRole(role: string) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.user?.role !== role) {
      return res.status(403).json({ error: "forbidden" });
    }
    next();
  };
}
''',
    "src/server.ts": 'import { app } from "./app";\n\nconst port = Number(process.env.PORT ?? 3000);\n'
                     'app.listen(port, () => console.log(`listening on ${port}`));\n',
    "package.json": '{\n  "name": "synthetic-api",\n  "private": true,\n  "scripts": {\n    "build": "tsc",\n'
                    '    "start": "node dist/server.js"\n  },\n  "dependencies": {\n    "@prisma/client": "^5.20.0",\n'
                    '    "express": "^4.21.0",\n    "jsonwebtoken": "^9.0.2",\n    "zod": "^3.23.8"\n  },\n'
                    '  "devDependencies": {\n    "prisma": "^5.20.0",\n    "supertest": "^7.0.0",\n    "typescript": "^5.6.2"\n  }\n}\n',
    "tsconfig.json": '{\n  "compilerOptions": {\n    "target": "ES2022",\n    "module": "commonjs",\n    "outDir": "dist",\n'
                     '    "rootDir": "src",\n    "strict": true,\n    "esModuleInterop": true\n  },\n  "include": ["src"]\n}\n',
    "Dockerfile": 'FROM node:20-slim\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci --omit=dev\nCOPY . .\n'
                  'RUN npx prisma generate && npm run build\nUSER node\nCMD ["node", "dist/server.js"]\n',
}


def ts_helper(index: int, rng: random.Random) -> str:
    lines = [f"// Formatting helpers, set {index}.", ""]
    for n in range(rng.randint(2, 8)):
        lines += [f"export function formatValue{n}(value: unknown, width = {rng.randint(8, 40)}): string {{",
                  "  const text = String(value);", "  return text.length > width ? text.slice(0, width - 1) + \"…\" : text.padEnd(width);",
                  "}", ""]
    return "\n".join(lines)


def express_project(files: int, rng: random.Random) -> dict[str, str]:
    fixed = len(EXPRESS_FIXED) + 5  # + app.ts, routes/index.ts, schema.prisma, compose, nginx
    count = plan(files, fixed, per_context=1, per_domain=6)
    out = dict(EXPRESS_FIXED)
    all_domains = domains(count, rng)
    grouped = contexts(all_domains)
    stamp = 20240101000000
    for context, members in grouped.items():
        base = f"src/modules/{context}"
        out[f"{base}/index.ts"] = "\n".join([
            'import { Router } from "express";',
            *[f'import {{ {d.camel}Router }} from "./{d.name}/{d.name}.routes";' for d in members], "",
            f"export const {snake_to_camel(context)}Router = Router();",
            *[f'{snake_to_camel(context)}Router.use("/{d.name.replace("_", "-")}", {d.camel}Router);' for d in members], ""])
        for d in members:
            out[f"{base}/{d.name}/{d.name}.routes.ts"] = ts_routes(d)
            out[f"{base}/{d.name}/{d.name}.controller.ts"] = ts_controller(d)
            out[f"{base}/{d.name}/{d.name}.service.ts"] = ts_service(d)
            out[f"{base}/{d.name}/{d.name}.schema.ts"] = ts_schema(d)
            out[f"tests/{context}/{d.name}.test.ts"] = ts_test(d)
            stamp += rng.randint(1, 5000)
            out[f"prisma/migrations/{stamp}_create_{d.table}/migration.sql"] = migration_sql(d)
    out["src/routes/index.ts"] = "\n".join([
        'import { Router } from "express";', 'import { requireAuth } from "../middleware/auth";',
        *[f'import {{ {snake_to_camel(c)}Router }} from "../modules/{c}";' for c in grouped], "",
        "export const apiRouter = Router();", "apiRouter.use(requireAuth);",
        *[f'apiRouter.use("/{c}", {snake_to_camel(c)}Router);' for c in grouped], ""])
    out["src/app.ts"] = "\n".join([
        'import express from "express";', 'import { apiRouter } from "./routes";', "",
        "export const app = express();", "app.use(express.json());",
        'app.get("/health", (_req, res) => res.json({ status: "ok" }));', 'app.use("/api", apiRouter);', ""])
    out["prisma/schema.prisma"] = prisma_schema(all_domains)
    out["docker-compose.yml"] = compose("api", "node dist/server.js", 3000, rng)
    out["nginx/nginx.conf"] = nginx("api", 3000)
    return pad(out, files, "src/common", ts_helper, rng)


SHAPES = {"fastapi": fastapi_project, "flask": flask_project, "express": express_project}


def generate(shape: str, files: int, seed: int, out: Path) -> tuple[int, int]:
    """Writes the project under `out`; returns (files, lines)."""
    tree = SHAPES[shape](files, random.Random(f"{shape}:{files}:{seed}"))
    lines = 0
    for relative in sorted(tree):
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        text = tree[relative]
        path.write_text(text, encoding="utf-8", newline="\n")
        lines += text.count("\n")
    return len(tree), lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shape", choices=sorted(SHAPES))
    parser.add_argument("--files", type=int, default=500, help="exact number of files (100 to 10,000 are typical)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, help="directory to write into (default: a new temporary directory)")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix=f"prodlint-{args.shape}-{args.files}-"))
    if out.exists() and any(out.iterdir()):
        print(f"generate: {out} is not empty", file=sys.stderr)
        return 2
    files, lines = generate(args.shape, args.files, args.seed, out)
    print(f"{out}: {args.shape}, {files} files, {lines} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
