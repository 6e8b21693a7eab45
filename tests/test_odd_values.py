"""A value a rule cannot read is unknown: odd numbers and half-written directives never crash a rule.

The project is generated: 5,000-digit numbers do not belong in a fixture file. Beside each odd
value stands a readable one, whose finding must still be reported.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import FIXTURES

BIG = "9" * 5000


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "odd"
    (root / "app").mkdir(parents=True)
    (root / "nginx").mkdir()
    (root / "docker-compose.yml").write_text(
        "services:\n"
        "  api:\n    image: shop/api\n    command: uvicorn app.main:app --workers ²\n"
        f"    cpus: 1{'0' * 400}\n    mem_limit: 1g\n"
        "  worker:\n    image: shop/api\n"
        f"    command: gunicorn app.main:app --workers {BIG} -k uvicorn.workers.UvicornWorker\n"
        "    cpus: 2\n    mem_limit: 1g\n    deploy:\n"
        f"      replicas: {BIG}\n"
        "  single:\n    image: shop/api\n    command: uvicorn app.main:app\n    cpus: 1\n    mem_limit: 1g\n"
        "  db:\n    image: postgres:16\n"
        f"    command: postgres -c max_connections={BIG}\n    cpus: 1\n    mem_limit: 1g\n")
    big = "9" * 400  # Python itself refuses decimal literals past 4,300 digits
    (root / "app" / "main.py").write_text(
        "from fastapi import FastAPI\nfrom sqlalchemy import create_engine\n\napp = FastAPI()\n"
        f"engine = create_engine('postgresql://x', pool_size=10//0, max_overflow={big})\n"
        f"other = create_engine('postgresql://y', pool_size={big} * {big})\n"
        "small = create_engine('postgresql://z', pool_size=2 * 1)\n\n\n"
        "@app.get('/x')\ndef x():\n    return 1\n")
    (root / "nginx" / "nginx.conf").write_text(
        "events {}\nhttp {\n  upstream api { server api:8000; keepalive; }\n"
        "  upstream web { server web:8000; }\n"
        "  limit_req_zone $binary_remote_addr zone=one:10m rate=5r/s;\n"
        "  server {\n    listen 80;\n    limit_req zone=one;\n"
        "    location / { proxy_pass http://api; }\n    location /web/ { proxy_pass http://web; }\n  }\n}\n")
    (root / ".env").write_text(f"WEB_CONCURRENCY={BIG}\n")
    (root / "postgresql.conf").write_text(f"max_connections = {BIG}\n")
    node = root / "notifications"
    shutil.copytree(FIXTURES / "capacity" / "node_concurrency", node)
    (node / ".env").write_text('DATABASE_URL="postgresql://app:pw@[db:5432/app?connection_limit=10"\n')
    return root


def test_odd_values_are_unknown(tmp_path: Path, lint) -> None:
    analysis = lint(_project(tmp_path))  # PRODLINT_DEBUG=1: a crashing rule raises here
    assert analysis.internal_errors == []
    found = [f"{r.at.path}:{r.at.line} {r.code}" for r in analysis.reported if r.code in ("CP001", "NX001", "SV002")]
    assert found == [
        "app/main.py:7 CP001",  # pool_size=2 * 1 is read; 10//0 and 400-digit sizes are not
        "docker-compose.yml:16 SV002",  # the readable single-worker service
        "nginx/nginx.conf:10 NX001",  # upstream web has no keepalive; `keepalive;` of api is unjudged
    ]
