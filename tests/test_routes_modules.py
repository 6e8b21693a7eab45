"""Module resolution (`prodlint.model.modules`) and the tsconfig extractor."""

from __future__ import annotations

from pathlib import Path

import pytest

from prodlint.config import DEFAULT_PUBLIC
from prodlint.extract.tsconfig import strict_json
from prodlint.model.modules import Symbol, module_index
from prodlint.model.routes import could_be_public, route_graph


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


TS_PROJECT = {
    "tsconfig.json": '{ "extends": "./config/tsconfig.base.json", // comment\n "compilerOptions": { "paths": { "@app/*": ["src/*"], "~config": ["src/config/index.ts"], }, }, }',
    "config/tsconfig.base.json": '{ "compilerOptions": { "baseUrl": ".." } }',
    "src/config/index.ts": "export const port = 3000;\n",
    "src/server.ts": (
        "import { ordersRouter } from './routes/index.js';\n"
        "import { port } from '~config';\n"
        "import helpers from '@app/lib/helpers';\n"
        "import base from 'src/lib/helpers';\n"
        "import * as all from './routes';\n"
        "const legacy = require('./legacy');\n"
        "import express from 'express';\n"
    ),
    "src/routes/index.ts": "export * from './orders';\nexport * from './loop';\n",
    "src/routes/orders.ts": "import { Router } from 'express';\nexport const ordersRouter = Router();\n",
    "src/routes/loop.ts": "export * from './index';\n",
    "src/lib/helpers.ts": "export default function helpers() {}\n",
    "src/legacy/index.js": "const r = require('express').Router();\nmodule.exports = require('./impl');\n",
    "src/legacy/impl.js": "const router = require('express').Router();\nmodule.exports = router;\n",
}


def test_typescript_specifiers(tmp_path, lint):
    index = lint(write(tmp_path, TS_PROJECT), select="RT001").project.view(module_index)
    resolve = index.resolve_module
    assert resolve("src/server.ts", "./routes/index.js") == "src/routes/index.ts"  # `.js` written for `.ts`
    assert resolve("src/server.ts", "./routes") == "src/routes/index.ts"
    assert resolve("src/server.ts", "~config") == "src/config/index.ts"  # exact `paths` entry
    assert resolve("src/server.ts", "@app/lib/helpers") == "src/lib/helpers.ts"  # `paths` relative to inherited baseUrl
    assert resolve("src/server.ts", "src/lib/helpers") == "src/lib/helpers.ts"  # baseUrl
    assert resolve("src/server.ts", "express") is None
    assert resolve("src/server.ts", "../../outside") is None


def test_typescript_names_through_barrels_and_commonjs(tmp_path, lint):
    project = lint(write(tmp_path, TS_PROJECT), select="RT001").project
    index = project.view(module_index)
    assert index.resolve("src/server.ts", "ordersRouter") == Symbol("src/routes/orders.ts", "ordersRouter")
    assert index.resolve("src/server.ts", "all.ordersRouter") == Symbol("src/routes/orders.ts", "ordersRouter")
    assert index.resolve("src/server.ts", "all.missing") is None  # the `export *` cycle ends
    assert index.resolve("src/server.ts", "legacy") == Symbol("src/legacy/impl.js", "router")
    assert index.resolve("src/server.ts", "express") is None


PY_PROJECT = {
    "backend/src/shop/__init__.py": "",
    "backend/src/shop/main.py": "from shop.api import orders\nfrom .core import settings as conf\nfrom .plugins import extra\n",
    "backend/src/shop/api/__init__.py": "from .users import router as users_router\n",
    "backend/src/shop/api/orders.py": "router = 1\n",
    "backend/src/shop/api/users.py": "router = 2\n",
    "backend/src/shop/core.py": "settings = 3\n",
    "backend/src/shop/plugins/extra.py": "router = 4\n",  # a namespace package: no __init__.py
    "other/shop/api/orders.py": "router = 5\n",
}


def test_python_imports(tmp_path, lint):
    index = lint(write(tmp_path, PY_PROJECT), select="RT001").project.view(module_index)
    main = "backend/src/shop/main.py"
    assert index.resolve_module(main, "shop.api") == "backend/src/shop/api/__init__.py"  # nearest the importer
    assert index.resolve(main, "orders.router") == Symbol("backend/src/shop/api/orders.py", "router")  # a submodule
    assert index.resolve(main, "conf") == Symbol("backend/src/shop/core.py", "settings")
    assert index.resolve(main, "extra.router") == Symbol("backend/src/shop/plugins/extra.py", "router")
    assert index.resolve("backend/src/shop/api/__init__.py", "users_router") == Symbol("backend/src/shop/api/users.py", "router")
    assert index.resolve(main, "fastapi.APIRouter") == Symbol(main, "fastapi.APIRouter")  # unbound: stays here


def test_strict_json_keeps_strings():
    text = '{"a": "http://x/*y*/", // c\n "b": [1, 2,], /* d */ "c": "\\"//\\"",}'
    assert strict_json(text).replace(" ", "").replace("\n", "") == '{"a":"http://x/*y*/","b":[1,2],"c":"\\"//\\""}'


def test_broken_tsconfig_is_a_notification(tmp_path, lint):
    analysis = lint(write(tmp_path, {"tsconfig.json": '{ "compilerOptions": { "baseUrl": . } }'}), select="RT")
    assert [(n.path, n.line) for n in analysis.notifications] == [("tsconfig.json", 1)]


@pytest.mark.parametrize(("path", "public"), [
    ("/health", True),
    ("/api/auth/login", True),
    ("/api/orders", False),
    ("/docs/", True),
])
def test_public_paths(tmp_path, lint, path, public):
    files = {"app.js": f"const app = require('express')();\napp.get('{path}', (req, res) => res.end());\n"}
    graph = lint(write(tmp_path, files), select="RT004").project.view(route_graph)
    (route,) = graph.routes
    assert could_be_public(route, DEFAULT_PUBLIC) is public
