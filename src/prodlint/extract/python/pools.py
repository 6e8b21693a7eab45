"""Python connection pools and the settings that size them.

Records SQLAlchemy engines (`create_engine`, `create_async_engine`, SQLModel's),
Flask-SQLAlchemy engine options, module and class constants (settings modules,
config classes, pydantic `BaseSettings` fields with their environment names),
FastAPI handlers (sync ones share a 40-thread pool) and gunicorn.conf.py.
Names are made absolute through this file's imports; the project model resolves
them across files.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Iterator

from prodlint.extract.python import PyModule, collector
from prodlint.extract.python.modules import dotted_name
from prodlint.facts.capacity import UNKNOWN, Binding, GunicornSettings, Handlers, Pool, Value
from prodlint import numbers

ENGINE_FACTORIES = {"create_engine": False, "create_async_engine": True}
ENGINE_OPTIONS_KEYS = ("SQLALCHEMY_ENGINE_OPTIONS",)
ROUTE_DECORATORS = frozenset({"get", "post", "put", "patch", "delete", "options", "head", "api_route"})
GUNICORN_FILES = frozenset({"gunicorn.conf.py", "gunicorn_conf.py", "gunicorn.config.py", "gunicorn_config.py"})
GUNICORN_KEYS = ("workers", "threads", "worker_class", "worker_connections")
ENV_READERS = frozenset({"os.getenv", "os.environ.get", "getenv", "environ.get", "decouple.config", "config"})
DEVELOPMENT_CLASS = re.compile(r"Dev|Test|Local", re.IGNORECASE)
_ARITHMETIC = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.FloorDiv: operator.floordiv}


class _Reader:
    """Values as written in one module, with imported names made absolute."""

    def __init__(self, module: PyModule) -> None:
        self.module = module
        self.imports: dict[str, str] = {}
        for statement in module.tree.body:
            if isinstance(statement, ast.Import):
                for alias in statement.names:
                    self.imports[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
            elif isinstance(statement, ast.ImportFrom):
                base = self._absolute(statement.module or "", statement.level)
                for alias in statement.names:
                    self.imports[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name

    def _absolute(self, name: str, level: int) -> str:
        if not level:
            return name
        package = self.module.dotted.split(".")
        package = package[: len(package) - level + (1 if self.module.is_package else 0)]
        return ".".join([*package, name] if name else package)

    def imported(self, dotted: str) -> str | None:
        """`sa.create_engine` -> `sqlalchemy.create_engine` through this file's imports; None if not imported."""
        root, _, rest = dotted.partition(".")
        if root not in self.imports:
            return None
        return f"{self.imports[root]}.{rest}" if rest else self.imports[root]

    def qualified(self, node: ast.AST) -> str | None:
        """The absolute dotted name an expression refers to (`settings.X` -> `app.config.settings.X`)."""
        dotted = dotted_name(node)
        if dotted is None:
            return None
        return self.imported(dotted) or f"{self.module.dotted}.{dotted}"

    def callee(self, call: ast.Call) -> str:
        """The called name as imported, or as written when defined here."""
        dotted = dotted_name(call.func) or ""
        return self.imported(dotted) or dotted

    def value(self, node: ast.AST | None) -> Value:
        at = self.module.at(node) if node is not None else None
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str)) and not isinstance(node.value, bool):
            return Value("literal", str(node.value), at=at)
        if isinstance(node, (ast.Name, ast.Attribute)):
            name = self.qualified(node)
            return Value("name", name, at=at) if name else UNKNOWN
        if isinstance(node, ast.Subscript) and dotted_name(node.value) in ("os.environ", "environ"):
            key = node.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                return Value("env", key.value, at=at)
            return UNKNOWN
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
            left, right = self.value(node.left), self.value(node.right)
            a, b = (numbers.count(left.text), numbers.count(right.text)) if left.kind == right.kind == "literal" else (None, None)
            if a is None or b is None or (b == 0 and isinstance(node.op, ast.FloorDiv)):
                return UNKNOWN  # `10 // 0` or a number too large to mean a pool size
            return Value("literal", str(_ARITHMETIC[type(node.op)](a, b)), at=at)
        if isinstance(node, ast.Call):
            return self.call_value(node, at)
        return UNKNOWN

    def call_value(self, call: ast.Call, at: object) -> Value:
        name = dotted_name(call.func) or ""
        if name in ("int", "str", "float") and len(call.args) == 1:
            return self.value(call.args[0])
        if name in ENV_READERS and call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
            default = call.args[1] if len(call.args) > 1 else _keyword(call, "default")
            return Value("env", call.args[0].value, self.value(default) if default is not None else None, at=at)
        target = self.qualified(call.func)
        if target and not call.args and not call.keywords:
            return Value("instance", target, at=at)  # `settings = Settings()`, `get_settings()`
        return UNKNOWN


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _has_spread(call: ast.Call) -> bool:
    return any(k.arg is None for k in call.keywords)


@collector
def connection_pools(module: PyModule) -> Iterator[object]:
    if not any(name in module.text for name in (*ENGINE_FACTORIES, *ENGINE_OPTIONS_KEYS, "SQLAlchemy")):
        return
    reader = _Reader(module)
    development = {id(node) for cls in module.nodes if isinstance(cls, ast.ClassDef)
                   and DEVELOPMENT_CLASS.search(cls.name) for node in ast.walk(cls)}
    for node in module.nodes:
        if id(node) in development:
            continue  # `class DevelopmentConfig` / `TestingConfig` never serve production traffic
        if isinstance(node, ast.Call):
            yield from _engine(reader, node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            yield from _engine_options(reader, node)


def _engine(reader: _Reader, call: ast.Call) -> Iterator[Pool]:
    callee = reader.callee(call)
    factory = callee.rsplit(".", 1)[-1]
    if callee == "flask_sqlalchemy.SQLAlchemy":
        options = _keyword(call, "engine_options")
        if isinstance(options, ast.Dict):
            yield _options_pool(reader, options)
        elif options is None:  # configured through app.config, or the 5 + 10 default
            yield Pool("flask-sqlalchemy", reader.module.at(call), reader.module.dotted)
        return
    if factory not in ENGINE_FACTORIES or not (callee.startswith(("sqlalchemy.", "sqlmodel.")) or callee == factory):
        return
    url = reader.value(call.args[0]) if call.args else reader.value(_keyword(call, "url"))
    if url.kind == "literal" and url.text.startswith("sqlite"):
        return  # one file, no server connections to count
    spread = _has_spread(call)
    size, overflow = _keyword(call, "pool_size"), _keyword(call, "max_overflow")
    poolclass = _keyword(call, "poolclass")
    lifetime, owner, opt_in = _lifetime(reader.module, call)
    yield Pool(
        "sqlalchemy", reader.module.at(call), reader.module.dotted,
        size=reader.value(size) if size is not None else (UNKNOWN if spread else None),
        overflow=reader.value(overflow) if overflow is not None else (UNKNOWN if spread else None),
        poolclass=(dotted_name(poolclass) or "?").rsplit(".", 1)[-1] if poolclass is not None else ("?" if spread else None),
        is_async=ENGINE_FACTORIES[factory],
        url=url,
        lifetime=lifetime,
        owner=owner,
        opt_in=opt_in,
    )


def _lifetime(module: PyModule, call: ast.Call) -> tuple[str, str, str | None]:
    """(lifetime, owner, opt_in) of the engine a call creates (see `Pool`)."""
    parents = module.parents
    function, node, branch_tests = None, call, []
    while node in parents:
        parent = parents[node]
        if isinstance(parent, ast.If) and node in parent.body:
            branch_tests.append(parent.test)
        if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            function = parent
            break
        node = parent
    if function is None or isinstance(function, ast.Lambda):
        return "shared", "", None
    opt_in = _opt_in(function, branch_tests)
    statement = parents.get(call)
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target = statement.targets[0]
        if isinstance(target, ast.Name) and not _global(function, target.id) and _used_in_place(function, target.id, statement):
            return "call", "", opt_in
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
            cls = parents.get(function)
            if isinstance(cls, ast.ClassDef) and function.name == "__init__":
                return "instance", f"{module.dotted}.{cls.name}", opt_in
    return "shared", "", opt_in


def _global(function: ast.AST, name: str) -> bool:
    return any(isinstance(n, (ast.Global, ast.Nonlocal)) and name in n.names for n in ast.walk(function))


def _used_in_place(function: ast.AST, name: str, binding: ast.Assign) -> bool:
    """Every other use of the local is a method call on it (`engine.begin()`, `engine.dispose()`):
    the engine is not returned, stored or handed to anything that outlives the call."""
    uses = [n for n in ast.walk(function) if isinstance(n, ast.Name) and n.id == name and n is not binding.targets[0]]
    parents = {child: parent for parent in ast.walk(function) for child in ast.iter_child_nodes(parent)}
    for use in uses:
        attribute = parents.get(use)
        if not (isinstance(attribute, ast.Attribute) and isinstance(parents.get(attribute), ast.Call) and parents[attribute].func is attribute):
            return False
    return bool(uses)


def _opt_in(function: ast.FunctionDef | ast.AsyncFunctionDef, tests: list[ast.expr]) -> str | None:
    """`if test_mode:` on a parameter that defaults to False/None: a branch callers must ask for."""
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args]
    defaults = dict(zip([a.arg for a in positional[len(positional) - len(arguments.defaults):]], arguments.defaults, strict=False))
    defaults.update({a.arg: d for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=False) if d is not None})
    for test in tests:
        if isinstance(test, ast.Name) and isinstance(defaults.get(test.id), ast.Constant) and not defaults[test.id].value:
            return test.id
    return None


def _engine_options(reader: _Reader, node: ast.Assign | ast.AnnAssign) -> Iterator[Pool]:
    """`SQLALCHEMY_ENGINE_OPTIONS = {...}` in a config class or `app.config[...] = {...}`."""
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    for target in targets:
        key = target.id if isinstance(target, ast.Name) else None
        if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant):
            key = target.slice.value
        if key in ENGINE_OPTIONS_KEYS and isinstance(node.value, ast.Dict):
            yield _options_pool(reader, node.value)


def _options_pool(reader: _Reader, options: ast.Dict) -> Pool:
    entries = {k.value: v for k, v in zip(options.keys, options.values) if isinstance(k, ast.Constant)}
    spread = None in options.keys
    default = UNKNOWN if spread else None
    size, overflow, poolclass = (entries.get(key) for key in ("pool_size", "max_overflow", "poolclass"))
    return Pool(
        "flask-sqlalchemy", reader.module.at(options), reader.module.dotted,
        size=reader.value(size) if size is not None else default,
        overflow=reader.value(overflow) if overflow is not None else default,
        poolclass=(dotted_name(poolclass) or "?").rsplit(".", 1)[-1] if poolclass is not None else None,
        options=True,
    )


@collector
def settings_bindings(module: PyModule) -> Iterator[Binding]:
    """Constants a pool size may name: module level, class level, pydantic settings fields."""
    reader = _Reader(module)
    for statement in module.tree.body:
        if isinstance(statement, ast.ClassDef):
            yield from _class_bindings(reader, statement)
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            returned = _returned_instance(reader, statement)
            if returned is not None:
                yield Binding(module.dotted, statement.name, returned, module.at(statement))
        else:
            for name, value in _assignments(statement):
                found = reader.value(value)
                if found.kind != "unknown":
                    yield Binding(module.dotted, name, found, module.at(statement))


def _assignments(statement: ast.stmt) -> Iterator[tuple[str, ast.expr | None]]:
    if isinstance(statement, ast.Assign):
        for target in statement.targets:
            if isinstance(target, ast.Name):
                yield target.id, statement.value
    elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
        yield statement.target.id, statement.value


def _returned_instance(reader: _Reader, function: ast.FunctionDef | ast.AsyncFunctionDef) -> Value | None:
    """`def get_settings(): return Settings()` (often behind `@lru_cache`)."""
    returns = [s for s in function.body if isinstance(s, ast.Return)]
    if len(returns) == 1 and isinstance(returns[0].value, ast.Call):
        found = reader.value(returns[0].value)
        return found if found.kind == "instance" else None
    return None


def _class_bindings(reader: _Reader, cls: ast.ClassDef) -> Iterator[Binding]:
    owner = f"{reader.module.dotted}.{cls.name}"
    settings = any((dotted_name(base) or "").endswith("Settings") for base in cls.bases)
    prefix = _env_prefix(cls) if settings else ""
    for statement in cls.body:
        for name, value in _assignments(statement):
            if name in ("model_config", "Config"):
                continue
            env_name = None
            if isinstance(value, ast.Call) and (dotted_name(value.func) or "").endswith("Field"):
                env_name = _keyword(value, "env") or _keyword(value, "validation_alias") or _keyword(value, "alias")
                value = value.args[0] if value.args else _keyword(value, "default")
            found = reader.value(value) if value is not None else UNKNOWN
            env: tuple[str, ...] = ()
            if settings:
                explicit = env_name.value if isinstance(env_name, ast.Constant) and isinstance(env_name.value, str) else None
                env = (explicit,) if explicit else (f"{prefix}{name}".upper(),)
            if found.kind != "unknown" or env:
                yield Binding(owner, name, found, reader.module.at(statement), env)


def _env_prefix(cls: ast.ClassDef) -> str:
    """pydantic-settings `model_config = SettingsConfigDict(env_prefix=...)` or v1 `class Config`."""
    for statement in cls.body:
        if isinstance(statement, ast.ClassDef) and statement.name == "Config":
            for name, value in (pair for s in statement.body for pair in _assignments(s)):
                if name == "env_prefix" and isinstance(value, ast.Constant) and isinstance(value.value, str):
                    return value.value
        for name, value in _assignments(statement):
            if name == "model_config" and isinstance(value, ast.Call):
                found = _keyword(value, "env_prefix")
                if isinstance(found, ast.Constant) and isinstance(found.value, str):
                    return found.value
            if name == "model_config" and isinstance(value, ast.Dict):
                for key, item in zip(value.keys, value.values):
                    if isinstance(key, ast.Constant) and key.value == "env_prefix" and isinstance(item, ast.Constant):
                        return str(item.value)
    return ""


@collector
def fastapi_handlers(module: PyModule) -> Iterator[Handlers]:
    if "fastapi" not in module.text:
        return
    sync, asynchronous, first_sync = 0, 0, None
    for node in module.nodes:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or not any(map(_is_route, node.decorator_list)):
            continue
        if isinstance(node, ast.AsyncFunctionDef):
            asynchronous += 1
        else:
            sync += 1
            if first_sync is None or node.lineno < first_sync.line:
                first_sync = module.at(node)
    if sync or asynchronous:
        yield Handlers(module.path, sync, asynchronous, first_sync)


def _is_route(decorator: ast.expr) -> bool:
    return (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)
            and decorator.func.attr in ROUTE_DECORATORS)


@collector
def gunicorn_settings(module: PyModule) -> Iterator[GunicornSettings]:
    if module.path.rsplit("/", 1)[-1] not in GUNICORN_FILES:
        return
    reader = _Reader(module)
    found: dict[str, Value] = {}
    for statement in module.tree.body:
        for name, value in _assignments(statement):
            if name in GUNICORN_KEYS:
                found[name] = reader.value(value)
    yield GunicornSettings(module.path, *(found.get(key) for key in GUNICORN_KEYS), at=module.at(module.tree))
