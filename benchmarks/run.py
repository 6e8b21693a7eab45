"""prodlint's benchmark: a generated project of realistic size, linted cold and warm.

    python benchmarks/run.py [--services 40] [--jobs 1 2]

Prints lines per second for cold runs (no cache) and the time of a warm run (every
file cached) per job count. The generated tree lives in a temporary directory.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY_ROUTER = '''\
from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from app.auth import get_current_user
from app.db import get_db
from app.models import Item{n}

router = APIRouter(prefix="/items{n}", dependencies=[Depends(get_current_user)])


@router.get("")
def list_items{n}(limit: int = Query(50, le=100), db: Session = Depends(get_db), user=Depends(get_current_user)):
    return db.query(Item{n}).filter(Item{n}.tenant_id == user.tenant_id).limit(limit).all()


@router.get("/{{item_id}}")
def get_item{n}(item_id: int, db: Session = Depends(get_db), user=Depends(get_current_user)):
    return db.query(Item{n}).filter(Item{n}.id == item_id, Item{n}.tenant_id == user.tenant_id).first()
'''

PY_MODEL = '''\
class Item{n}(Base):
    __tablename__ = "items{n}"

    id = Column(Integer, primary_key=True)
    tenant_id = Column(Integer, ForeignKey("tenants.id"), nullable=False, index=True)
    name = Column(String(120), nullable=False)
    status = Column(String(20), nullable=False)
'''

TS_ROUTER = '''\
import {{ Router }} from "express";
import {{ prisma }} from "../db";
import {{ requireAuth }} from "../auth";

export const items{n}Router = Router();

items{n}Router.get("/", requireAuth, async (req, res) => {{
  const rows = await prisma.item{n}.findMany({{ where: {{ tenantId: req.user.tenantId }}, take: 50 }});
  res.json(rows);
}});

items{n}Router.get("/:id", requireAuth, async (req, res) => {{
  const row = await prisma.item{n}.findFirst({{ where: {{ id: req.params.id, tenantId: req.user.tenantId }} }});
  res.json(row);
}});
'''

PRISMA_MODEL = '''\
model Item{n} {{
  id       String @id @default(cuid())
  tenantId String
  name     String
  status   String

  @@index([tenantId, status])
}}
'''


def generate(root: Path, services: int) -> int:
    """A monorepo of `services` Python and TypeScript services; returns its line count."""
    lines = 0

    def write(path: Path, text: str) -> None:
        nonlocal lines
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        lines += text.count("\n")

    for s in range(services):
        py = root / f"py{s}" / "app"
        write(py / "__init__.py", "")
        write(py / "models.py", "from sqlalchemy import Column, ForeignKey, Integer, String\nfrom app.db import Base\n\n\n"
              + "\n\n".join(PY_MODEL.format(n=n) for n in range(20)))
        for n in range(20):
            write(py / "api" / f"items{n}.py", PY_ROUTER.format(n=n))
        write(py / "main.py", "from fastapi import FastAPI\n" + "".join(f"from app.api import items{n}\n" for n in range(20))
              + "\napp = FastAPI()\n" + "".join(f"app.include_router(items{n}.router)\n" for n in range(20)))
        ts = root / f"ts{s}"
        for n in range(20):
            write(ts / "src" / "routes" / f"items{n}.routes.ts", TS_ROUTER.format(n=n))
        write(ts / "src" / "app.ts", 'import express from "express";\n'
              + "".join(f'import {{ items{n}Router }} from "./routes/items{n}.routes";\n' for n in range(20))
              + "export const app = express();\n" + "".join(f'app.use("/items{n}", items{n}Router);\n' for n in range(20)))
        write(ts / "prisma" / "schema.prisma", 'datasource db {\n  provider = "postgresql"\n  url = env("DATABASE_URL")\n}\n\n'
              + "\n".join(PRISMA_MODEL.format(n=n) for n in range(20)))
        write(root / f"py{s}" / "docker-compose.yml", "services:\n  api:\n    build: .\n"
              "    command: gunicorn -k uvicorn.workers.UvicornWorker -w 4 app.main:app\n"
              "    deploy:\n      resources:\n        limits: {memory: 1g, cpus: '2'}\n")
    return lines


def timed(root: Path, *args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "prodlint.cli", "check", str(root), "--format", "json", "--output",
                    str(root / "out.json"), *args], check=False, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=40)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="prodlint-bench-") as tmp:
        root = Path(tmp)
        lines = generate(root, args.services)
        files = sum(1 for p in root.rglob("*") if p.is_file())
        print(f"project: {files} files, {lines} lines")
        for jobs in args.jobs:
            cold = timed(root, "--no-cache", "--jobs", str(jobs))
            shutil.rmtree(root / ".prodlint_cache", ignore_errors=True)
            timed(root, "--jobs", str(jobs))
            warm = timed(root, "--jobs", str(jobs))
            print(f"jobs={jobs}: cold {cold:.2f}s ({lines / cold:,.0f} lines/s), warm {warm:.2f}s")


if __name__ == "__main__":
    main()
