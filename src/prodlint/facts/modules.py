"""Import and export facts for TypeScript/JavaScript and Python modules.

Extractors record what each file imports and exports as written; the project
model (`prodlint.model.modules`) resolves specifiers to files and chases names
through re-exports, so any family can ask "which definition does this name in
this file refer to?".
"""

from __future__ import annotations

from dataclasses import dataclass

from prodlint.facts import Location


def scope_chain(scope: str) -> list[str]:
    """`a.b` -> ["a.b", "a", ""]: the scopes where a name used in scope `a.b` may be bound, innermost first."""
    chain = [scope]
    while scope:
        scope = scope.rpartition(".")[0]
        chain.append(scope)
    return chain


@dataclass(frozen=True, slots=True)
class Import:
    """A name bound by an import.

    `imported` is the exported name, `"default"`, or `"*"` for the module object
    itself (ES namespace import, CommonJS `require(...)`, Python `import a.b as c`).
    Python keeps the specifier as written: `from ..api import orders` gives
    `source="..api"`, `imported="orders"` (a submodule or an attribute).
    """

    local: str
    source: str
    imported: str
    at: Location
    scope: str = ""  # enclosing function, for imports inside a function (Flask app factories)
    kind: str = "import"  # "import" | "require"
    type_only: bool = False


@dataclass(frozen=True, slots=True)
class Export:
    """A name a TS/JS module exports. Python modules export every top-level binding (no fact).

    `local` is the binding in this file it refers to; a re-export has `source`
    and `imported` instead (`export * from './x'`: exported `"*"`, imported `"*"`).
    `module.exports = x` and `export = x` are the `"default"` export with `commonjs=True`:
    `require()` of such a module is `x` itself.
    """

    exported: str
    local: str | None
    at: Location
    source: str | None = None
    imported: str | None = None
    commonjs: bool = False


@dataclass(frozen=True, slots=True)
class Alias:
    """`const routes = new OrderRoutes()` / `api = orders.router`: a name standing for another.

    `target` is a dotted name in the same file; `new X()` and `X()` are written `X`
    with `instance=True` / `called=True` so that `routes.router` can be followed to
    the class field `OrderRoutes.router`.
    """

    name: str
    target: str
    at: Location
    scope: str = ""
    instance: bool = False
    called: bool = False
    module: str | None = None  # `const x = require('./x').y`: target is looked up in that module


@dataclass(frozen=True, slots=True)
class DynamicImport:
    """`require(name)`, `import(path)`, `importlib.import_module(name)`: a module chosen at run time.

    A project that loads modules this way may use any file, so "never imported" cannot be known.
    `pattern` keeps what is literal in the specifier, `*` for each computed part
    (`./locales/*.json`, `app.plugins.*`); None when nothing of it is literal.
    """

    at: Location
    pattern: str | None = None


@dataclass(frozen=True, slots=True)
class TsConfig:
    """Module resolution settings of a `tsconfig.json` / `jsconfig.json`.

    Paths are kept as written, relative to the directory of the file itself;
    `extends` is resolved by the project model.
    """

    path: str
    base_url: str | None
    paths: tuple[tuple[str, tuple[str, ...]], ...]
    extends: tuple[str, ...] = ()
