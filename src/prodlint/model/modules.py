"""Module resolution: from a name in a file to the file and name that define it.

TypeScript/JavaScript specifiers resolve the way `tsc` and Node do for relative
paths (extensions, `index` files, `.js` written for a `.ts` file) and through
`tsconfig.json` `baseUrl` / `paths` (following relative `extends`). Python
imports resolve relative to the importing package, and absolute module names
to the file whose path ends with them, nearest the importer first (`src/`
layouts and monorepos need no configuration).

Use `project.view(module_index)`; `index.resolve(path, "orders.router", scope, defined)`
chases a dotted name through aliases, imports, re-exports and barrels and
returns the `Symbol` where the chain ends, or None when it leaves the project.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from prodlint.facts import Location
from prodlint.facts.modules import Alias, Export, Import, TsConfig, scope_chain
from prodlint.project import Project

TS_EXTENSIONS = (".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs")
JS_TO_TS = {".js": (".ts", ".tsx"), ".jsx": (".tsx",), ".mjs": (".mts",), ".cjs": (".cts",)}
MAX_HOPS = 32  # re-export chains longer than this are cycles in practice

Defined = Callable[[str, str, str], bool]  # (path, dotted name, scope) -> does the caller know this definition?


@dataclass(frozen=True, slots=True)
class Symbol:
    """A definition: a dotted name in a file (`""`: the module itself). `called`: what calling it returns."""

    path: str
    name: str
    scope: str = ""
    called: bool = False


def _never(path: str, name: str, scope: str) -> bool:
    return False


def is_python(path: str) -> bool:
    return path.endswith((".py", ".pyi"))


class ModuleIndex:
    def __init__(self, project: Project) -> None:
        self.files = {file.path for file in project.files}
        self.directories = {posixpath.dirname(path) for path in self.files}
        self.imports: dict[str, dict[tuple[str, str], Import]] = defaultdict(dict)
        self.star_imports: dict[str, list[Import]] = defaultdict(list)
        self.exports: dict[str, list[Export]] = defaultdict(list)
        self.aliases: dict[str, dict[tuple[str, str], Alias]] = defaultdict(dict)
        self.tsconfigs: dict[str, TsConfig] = {}
        for fact in project.facts_of(Import, Export, Alias, TsConfig):
            if isinstance(fact, Import):
                if fact.local == "*":
                    self.star_imports[fact.at.path].append(fact)
                elif not fact.type_only:
                    self.imports[fact.at.path].setdefault((fact.scope, fact.local), fact)
            elif isinstance(fact, Export):
                self.exports[fact.at.path].append(fact)
            elif isinstance(fact, Alias):
                self.aliases[fact.at.path].setdefault((fact.scope, fact.name), fact)
            else:
                self.tsconfigs[fact.path] = fact
        self._modules: dict[tuple[str, str], str | None] = {}
        self._names: dict[tuple[str, str, str], Symbol | None] = {}
        self._importers: dict[str, list[Import | Export]] | None = None
        self.python_by_suffix: dict[str, list[str]] = defaultdict(list)
        for path in sorted(self.files):
            if is_python(path):
                parts = path.split("/")
                for start in range(len(parts)):
                    self.python_by_suffix["/".join(parts[start:])].append(path)
        self.directories_by_suffix: dict[str, list[str]] = defaultdict(list)
        for directory in sorted(self.directories):
            parts = directory.split("/")
            for start in range(len(parts)):
                self.directories_by_suffix["/".join(parts[start:])].append(directory)

    # --- specifiers to files -----------------------------------------------------------------

    def resolve_module(self, importer: str, specifier: str) -> str | None:
        """The project file a module specifier names, or None (a package, or not in the tree)."""
        key = (importer, specifier)
        if key not in self._modules:
            self._modules[key] = self._resolve_module(importer, specifier)
        return self._modules[key]

    def resolve_required(self, importer: str, specifier: str, name: str, defined: Defined = _never) -> Symbol | None:
        """`require('./x')` (name "") or `require('./x').name`, written inline."""
        target = self.resolve_module(importer, specifier)
        if target is None:
            return None
        if is_python(target):
            return self._python_member(target, name, defined, 1)
        inline = Import("<require>", specifier, "*", _nowhere(importer), kind="require")
        return self._follow(inline, _join(inline.local, name), defined, 0)

    def _resolve_module(self, importer: str, specifier: str) -> str | None:
        if is_python(importer):
            return self._python_module(importer, specifier)
        if specifier.startswith((".", "/")):
            base = posixpath.normpath(posixpath.join(posixpath.dirname(importer), specifier))
            return self._ts_file(base)
        return self._ts_alias(importer, specifier)

    def _ts_file(self, base: str) -> str | None:
        if base.startswith("../") or base == "..":
            return None
        base = base.removeprefix("./")
        stem, extension = posixpath.splitext(base)
        candidates = [base] if extension in TS_EXTENSIONS else []
        candidates += [stem + ts for ts in JS_TO_TS.get(extension, ())]
        candidates += [base + ext for ext in TS_EXTENSIONS]
        candidates += [posixpath.join(base, "index" + ext) for ext in TS_EXTENSIONS]
        return next((c for c in candidates if c in self.files), None)

    def _ts_alias(self, importer: str, specifier: str) -> str | None:
        settings = self._tsconfig_for(importer)
        if settings is None:
            return None
        base_url, paths = settings
        best: tuple[int, list[str]] | None = None
        for pattern, (root, targets) in paths.items():
            prefix, star, suffix = pattern.partition("*")
            if star and specifier.startswith(prefix) and specifier.endswith(suffix) and len(specifier) >= len(prefix) + len(suffix):
                matched = specifier[len(prefix) : len(specifier) - len(suffix)]
                candidates = [posixpath.join(root, t.replace("*", matched, 1)) for t in targets]
            elif not star and pattern == specifier:
                candidates, prefix = [posixpath.join(root, t) for t in targets], pattern + "  "  # exact beats any wildcard
            else:
                continue
            if best is None or len(prefix) > best[0]:
                best = (len(prefix), candidates)
        for candidate in best[1] if best else []:
            found = self._ts_file(posixpath.normpath(candidate))
            if found:
                return found
        if base_url is not None:
            return self._ts_file(posixpath.normpath(posixpath.join(base_url, specifier)))
        return None

    def _tsconfig_for(self, importer: str) -> tuple[str | None, dict[str, tuple[str, tuple[str, ...]]]] | None:
        """(baseUrl, {pattern: (directory the targets are relative to, targets)}) of the nearest tsconfig."""
        directory = posixpath.dirname(importer)
        while True:
            for name in ("tsconfig.json", "jsconfig.json"):
                candidate = posixpath.join(directory, name) if directory else name
                if candidate in self.tsconfigs:
                    return self._effective(candidate, set())
            if not directory:
                return None
            directory = posixpath.dirname(directory)

    def _effective(self, path: str, seen: set[str]) -> tuple[str | None, dict[str, tuple[str, tuple[str, ...]]]]:
        seen.add(path)
        config = self.tsconfigs[path]
        here = posixpath.dirname(path)
        base_url: str | None = None
        paths: dict[str, tuple[str, tuple[str, ...]]] = {}
        for parent in config.extends:  # later entries override earlier ones, the file itself overrides all
            if not parent.startswith("."):
                continue  # a package such as @tsconfig/node20: not in the tree
            target = posixpath.normpath(posixpath.join(here, parent))
            target = target if target.endswith(".json") else target + ".json"
            if target in self.tsconfigs and target not in seen:
                inherited_base, inherited_paths = self._effective(target, seen)
                base_url = inherited_base or base_url
                paths = inherited_paths or paths
        if config.base_url is not None:
            base_url = posixpath.normpath(posixpath.join(here, config.base_url))
        if config.paths:
            root = base_url if base_url is not None else here
            paths = {pattern: (root, targets) for pattern, targets in config.paths}
        return base_url, paths

    def _python_module(self, importer: str, specifier: str) -> str | None:
        level = len(specifier) - len(specifier.lstrip("."))
        dotted = specifier[level:]
        if level:
            package = posixpath.dirname(importer)
            for _ in range(level - 1):
                package = posixpath.dirname(package)
            base = posixpath.join(package, *dotted.split(".")) if dotted else package
            return self._python_file(base)
        suffixes = [f"{dotted.replace('.', '/')}.py", f"{dotted.replace('.', '/')}/__init__.py"]
        candidates = [path for suffix in suffixes for path in self.python_by_suffix.get(suffix, ())]
        if not candidates:
            return self._namespace_package(importer, dotted.replace(".", "/"))
        # Nearest the importer: the same project root of a monorepo, then the shortest path.
        return min(candidates, key=lambda c: (-_shared_prefix(c, importer), len(c), c))

    def _python_file(self, base: str) -> str | None:
        base = base.removeprefix("./")
        for candidate in (f"{base}.py", f"{base}/__init__.py" if base else "__init__.py"):
            if candidate in self.files:
                return candidate
        if base in self.directories:
            return f"{base}/__init__.py"  # a namespace package: its names are its submodules
        return None

    def _namespace_package(self, importer: str, relative: str) -> str | None:
        matches = self.directories_by_suffix.get(relative)
        if not matches:
            return None
        best = min(matches, key=lambda d: (-_shared_prefix(d, importer), len(d), d))
        return f"{best}/__init__.py"

    # --- names to definitions ----------------------------------------------------------------

    def resolve(self, path: str, name: str, scope: str = "", defined: Defined = _never, *, hops: int = 0) -> Symbol | None:
        """Chase `name`, as written in `path` within `scope`, to where it is defined."""
        if defined is _never and not hops:  # a question of the imports alone: asked again and again
            key = (path, name, scope)
            if key in self._names:
                return self._names[key]
            found = self._names[key] = self._resolve(path, name, scope, defined, hops)
            return found
        return self._resolve(path, name, scope, defined, hops)

    def _resolve(self, path: str, name: str, scope: str, defined: Defined, hops: int) -> Symbol | None:
        if hops > MAX_HOPS:
            return None
        head, _, rest = name.partition(".")
        for level in scope_chain(scope):
            if defined(path, name, level):
                return Symbol(path, name, level)
            alias = self.aliases[path].get((level, head))
            if alias is not None:
                # An alias of something outside the project (`new PrismaClient()`) is defined here.
                here = Symbol(path, name, level)
                if alias.called:
                    found = self.resolve(path, alias.target, level, defined, hops=hops + 1)
                    if found is None:
                        return here
                    return Symbol(found.path, found.name, found.scope, called=True) if not rest else None
                return self.resolve(path, _join(alias.target, rest), level, defined, hops=hops + 1) or here
            imported = self._binding_import(path, level, name)
            if imported is not None:
                return self._follow(imported, name, defined, hops)
        if is_python(path):
            for star in self.star_imports.get(path, ()):
                target = self.resolve_module(path, star.source)
                if target is not None and self.binds(target, head, defined):
                    return self.resolve(target, name, "", defined, hops=hops + 1)
        return Symbol(path, name, "")

    def _binding_import(self, path: str, scope: str, name: str) -> Import | None:
        """The import binding `name`'s head; Python `import a.b` binds the dotted `a.b`."""
        table = self.imports[path]
        parts = name.split(".")
        for size in range(len(parts), 0, -1):
            found = table.get((scope, ".".join(parts[:size])))
            if found is not None:
                return found
        return None

    def _follow(self, imported: Import, name: str, defined: Defined, hops: int) -> Symbol | None:
        rest = name[len(imported.local) + 1 :] if name != imported.local else ""
        target = self.resolve_module(imported.at.path, imported.source)
        if target is None:
            return None
        if is_python(target):
            member = imported.imported if imported.imported != "*" else ""
            return self._python_member(target, _join(member, rest), defined, hops + 1)
        if imported.imported == "*":
            commonjs = self._export(target, "default") if imported.kind == "require" else None
            if commonjs is not None and commonjs.commonjs and not rest.startswith("default"):
                return self.resolve_export(target, _join("default", rest), defined, hops + 1)
            return self.resolve_export(target, rest, defined, hops + 1) if rest else Symbol(target, "")
        return self.resolve_export(target, _join(imported.imported, rest), defined, hops + 1)

    def _python_member(self, module: str, name: str, defined: Defined, hops: int) -> Symbol | None:
        """`name` in a Python module: a binding there, else a submodule of the package."""
        if not name:
            return Symbol(module, "")
        head, _, rest = name.partition(".")
        if (self.binds(module, head, defined) and not self._imports_own_submodule(module, head)) or not module.endswith("__init__.py"):
            return self.resolve(module, name, "", defined, hops=hops)
        if self._star_binds(module, head, defined):  # `from .base import *` in the package
            return self.resolve(module, name, "", defined, hops=hops)
        submodule = self._python_file(posixpath.join(posixpath.dirname(module), head))
        if submodule is None:
            return Symbol(module, name, "")
        return self._python_member(submodule, rest, defined, hops + 1)

    def _star_binds(self, path: str, name: str, defined: Defined) -> bool:
        for star in self.star_imports.get(path, ()):
            target = self.resolve_module(path, star.source)
            if target is not None and target != path and self.binds(target, name, defined):
                return True
        return False

    def _imports_own_submodule(self, package: str, name: str) -> bool:
        """`from . import orders` in a package's `__init__.py` binds its own submodule `orders`."""
        imported = self.imports[package].get(("", name))
        return imported is not None and imported.imported == name and self.resolve_module(package, imported.source) == package

    def binds(self, path: str, name: str, defined: Defined) -> bool:
        """Does the module-level scope of `path` bind `name`?"""
        return (
            defined(path, name, "")
            or ("", name) in self.imports[path]
            or ("", name) in self.aliases[path]
            or any(key[0] == "" and key[1].split(".")[0] == name for key in self.imports[path])
        )

    def _export(self, path: str, exported: str) -> Export | None:
        return next((e for e in self.exports.get(path, ()) if e.exported == exported), None)

    def resolve_export(self, path: str, name: str, defined: Defined = _never, hops: int = 0) -> Symbol | None:
        """`name` as another module sees it: through `export`, re-exports and `export *`."""
        if hops > MAX_HOPS:
            return None
        if not name:
            return Symbol(path, "")
        head, _, rest = name.partition(".")
        export = self._export(path, head)
        if export is not None:
            if export.source is None:
                return self.resolve(path, _join(export.local, rest), "", defined, hops=hops + 1) if export.local else None
            target = self.resolve_module(path, export.source)
            if target is None:
                return None
            if export.imported == "*":
                if export.commonjs:  # module.exports = require('./x')
                    return self._follow(Import(head, export.source, "*", export.at, kind="require"), name, defined, hops + 1)
                return self.resolve_export(target, rest, defined, hops + 1)
            return self.resolve_export(target, _join(export.imported or head, rest), defined, hops + 1)
        for star in self.exports.get(path, ()):
            if star.exported == "*" and star.source is not None:
                target = self.resolve_module(path, star.source)
                if target is not None and head != "default" and self._exports_name(target, head, hops + 1):
                    return self.resolve_export(target, name, defined, hops + 1)
        if defined(path, name, ""):
            return Symbol(path, name, "")
        return None

    def _exports_name(self, path: str, name: str, hops: int) -> bool:
        if hops > MAX_HOPS:
            return False
        for export in self.exports.get(path, ()):
            if export.exported == name:
                return True
            if export.exported == "*" and export.source is not None:
                target = self.resolve_module(path, export.source)
                if target is not None and self._exports_name(target, name, hops + 1):
                    return True
        return False

    def importers(self, path: str) -> list[Import | Export]:
        """Imports and re-exports (`export ... from`) anywhere in the project whose specifier names `path`."""
        if self._importers is None:
            self._importers = self._importer_index()
        return list(self._importers.get(path, ()))

    def _importer_index(self) -> dict[str, list[Import | Export]]:
        """Every file to the bindings that name it, resolved once (a scan per file was quadratic)."""
        index: dict[str, list[Import | Export]] = defaultdict(list)
        for importer, table in sorted(self.imports.items()):
            for imported in table.values():
                module, submodule = self.resolve_module(importer, imported.source), self._submodule(imported)
                for target in (module, submodule) if module != submodule else (module,):
                    if target is not None:
                        index[target].append(imported)
        for importer, exports in sorted(self.exports.items()):
            for export in exports:
                if export.source is not None and (target := self.resolve_module(importer, export.source)) is not None:
                    index[target].append(export)
        return index

    def _submodule(self, imported: Import) -> str | None:
        """`from app.api import orders` imports the module app/api/orders.py."""
        if not is_python(imported.at.path) or imported.imported == "*":
            return None
        package = self.resolve_module(imported.at.path, imported.source)
        if package is None or not package.endswith("__init__.py"):
            return None
        return self._python_file(posixpath.join(posixpath.dirname(package), imported.imported))


def _nowhere(path: str) -> Location:
    return Location(path, 1)


def _join(head: str, rest: str) -> str:
    return f"{head}.{rest}" if head and rest else head or rest


def _shared_prefix(a: str, b: str) -> int:
    count = 0
    for left, right in zip(a.split("/")[:-1], b.split("/")[:-1]):
        if left != right:
            break
        count += 1
    return count


def module_index(project: Project) -> ModuleIndex:
    """The project's module resolver; use `project.view(module_index)`."""
    return ModuleIndex(project)
