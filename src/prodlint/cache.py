"""Extraction cache in `.prodlint_cache/`: one JSON store, keyed by content, version and config.

The cache is data, never code: facts are written as JSON naming their class, and read
back only into the fact classes of `prodlint.facts`, every field checked against its
declared type. A cache committed to a repository by someone else can therefore at worst
cost a re-extraction. Anything odd (a bad entry, a store that is a directory, a FIFO or
a link, a cache folder that is a file or read-only) is a miss, never an error.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import os
import pkgutil
import stat
import tempfile
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prodlint import __version__
from prodlint import facts as facts_package
from prodlint.facts import FileFacts

CACHE_DIR = ".prodlint_cache"
FORMAT = 2
STORE = f"v{FORMAT}/facts.json"
MAX_STORE_BYTES = 1 << 30
_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# prodlint extraction cache; safe to delete.\n"


def cache_key(path: str, kind: str, content: bytes, config_digest: str) -> str:
    digest = hashlib.sha256()
    for part in (__version__, config_digest, kind, path):
        digest.update(part.encode("utf-8", "surrogateescape"))  # file names need not be UTF-8
        digest.update(b"\0")
    digest.update(content)
    return digest.hexdigest()


# --- the data-only codec ---------------------------------------------------------------------
# A fact is {"t": "module.Class", "v": [field values in order]}; a tuple is a list; a dict is
# {"d": [[key, value], ...]}; a set is {"s": [...]}.


class _Bad(Exception):
    """An entry that does not decode into facts: a miss."""


_Decode = Callable[[Any], Any]


class _Codec:
    def __init__(self) -> None:
        self.classes: dict[str, type] = {}
        modules = [facts_package] + [
            importlib.import_module(f"{facts_package.__name__}.{info.name}")
            for info in sorted(pkgutil.iter_modules(facts_package.__path__), key=lambda info: info.name)
        ]
        for module in modules:
            short = module.__name__.removeprefix("prodlint.").removeprefix("facts").lstrip(".") or "facts"
            for name, value in sorted(vars(module).items()):
                if isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == module.__name__:
                    self.classes[f"{short}.{name}"] = value
        self.names = {cls: name for name, cls in self.classes.items()}
        self.fields = {cls: tuple(f.name for f in dataclasses.fields(cls)) for cls in self.classes.values()}
        self._decoders: dict[type, _Decode] = {}

    # encoding

    def encode(self, value: Any) -> Any:
        kind = type(value)
        if value is None or kind in (str, int, float, bool):
            return value
        if kind is tuple or kind is list:
            return [self.encode(item) for item in value]
        if kind is dict:
            return {"d": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        if kind is set or kind is frozenset:
            return {"s": sorted((self.encode(item) for item in value), key=repr)}
        name = self.names.get(kind)
        if name is None:
            raise _Bad(f"{kind.__name__} is not a fact class")
        return {"t": name, "v": [self.encode(getattr(value, field)) for field in self.fields[kind]]}

    # decoding, checked against the declared field types

    def decode_file(self, data: Any) -> FileFacts:
        return self._class_decoder(FileFacts)(data)

    def _any(self, value: Any) -> Any:
        """A field declared `object`: any fact, scalar or tuple of them."""
        if value is None or type(value) in (str, int, float, bool):
            return value
        if type(value) is list:
            return tuple(self._any(item) for item in value)
        if type(value) is dict and type(value.get("t")) is str and value["t"] in self.classes:
            return self._class_decoder(self.classes[value["t"]])(value)
        raise _Bad("unexpected value")

    def _class_decoder(self, cls: type) -> _Decode:
        decoder = self._decoders.get(cls)
        if decoder is not None:
            return decoder
        name = self.names.get(cls)
        fields: list[_Decode] = []

        def decode(value: Any) -> Any:
            if type(value) is not dict or value.get("t") != name or len(value) != 2:
                raise _Bad(f"expected {name}")
            items = value.get("v")
            if type(items) is not list or len(items) != len(fields):
                raise _Bad(f"bad fields for {name}")
            return cls(*[field(item) for field, item in zip(fields, items)])

        self._decoders[cls] = decode  # before the fields: facts may nest their own class
        hints = typing.get_type_hints(cls)
        fields.extend(self._decoder(hints[field]) for field in self.fields[cls])
        return decode

    def _decoder(self, hint: Any) -> _Decode:
        if hint is object or hint is typing.Any:
            return self._any
        if hint is type(None):
            return _exact(type(None))
        if hint in (str, int, bool):
            return _exact(hint)
        if hint is float:
            return _float
        if isinstance(hint, type) and hint in self.names:
            return self._class_decoder(hint)
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if origin in (types.UnionType, typing.Union):
            options = [self._decoder(arg) for arg in args]
            return lambda value: _first(options, value)
        if origin is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                item = self._decoder(args[0])
                return lambda value: tuple(item(x) for x in _list(value))
            parts = [self._decoder(arg) for arg in args]
            return lambda value: _fixed(parts, value)
        if origin is dict:
            key, val = self._decoder(args[0]), self._decoder(args[1])
            return lambda value: {key(k): val(v) for k, v in _pairs(value, "d")}
        if origin in (set, frozenset):
            item = self._decoder(args[0])
            return lambda value: origin(item(x) for x in _tagged(value, "s"))
        raise TypeError(f"prodlint cache cannot store fields of type {hint!r}")


def _exact(kind: type) -> _Decode:
    def decode(value: Any) -> Any:
        if type(value) is not kind:
            raise _Bad(f"expected {kind.__name__}")
        return value

    return decode


def _float(value: Any) -> float:
    if type(value) not in (int, float):
        raise _Bad("expected a number")
    return float(value)


def _first(options: list[_Decode], value: Any) -> Any:
    for option in options:
        try:
            return option(value)
        except _Bad:
            continue
    raise _Bad("no option fits")


def _list(value: Any) -> list[Any]:
    if type(value) is not list:
        raise _Bad("expected a list")
    return value


def _fixed(parts: list[_Decode], value: Any) -> tuple[Any, ...]:
    if type(value) is not list or len(value) != len(parts):
        raise _Bad("expected a fixed tuple")
    return tuple(part(item) for part, item in zip(parts, value))


def _tagged(value: Any, tag: str) -> list[Any]:
    if type(value) is not dict or len(value) != 1:
        raise _Bad(f"expected {{{tag!r}: [...]}}")
    return _list(value.get(tag))


def _pairs(value: Any, tag: str) -> list[tuple[Any, Any]]:
    pairs = _tagged(value, tag)
    if not all(type(pair) is list and len(pair) == 2 for pair in pairs):
        raise _Bad("expected pairs")
    return [(k, v) for k, v in pairs]


_CODEC: _Codec | None = None


def _codec() -> _Codec:
    global _CODEC
    if _CODEC is None:
        _CODEC = _Codec()
    return _CODEC


def encode(facts: FileFacts) -> str | None:
    """The entry for these facts, or None when they hold something the cache cannot store."""
    try:
        return json.dumps(_codec().encode(facts), separators=(",", ":"))
    except (_Bad, RecursionError, ValueError, TypeError):
        return None


def decode(entry: str) -> FileFacts | None:
    try:
        return _codec().decode_file(json.loads(entry))
    except (_Bad, RecursionError, ValueError, TypeError):
        return None


# --- the store -------------------------------------------------------------------------------


def _read_regular(path: Path, limit: int) -> bytes | None:
    """The bytes of a regular file that is not a link, or None: a FIFO or a device never blocks us."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        handle = os.open(path, flags)
    except OSError:
        return None
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        with os.fdopen(handle, "rb", closefd=False) as stream:
            return stream.read(limit + 1)
    except OSError:
        return None
    finally:
        os.close(handle)


def _usable_dir(path: Path) -> bool:
    """A real directory, not a link (a committed link could point anywhere)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _create(path: Path, text: str) -> None:
    """Create a new file; never write through a link someone left there."""
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError:
        return
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)


class Cache:
    """One store per cache folder: {path: [key, entry]}, loaded once, written once per run."""

    def __init__(self, directory: Path) -> None:
        self.base = directory
        self.store = directory / STORE
        self._entries: dict[str, list[str]] | None = None
        self._changed = False

    def _load(self) -> dict[str, list[str]]:
        if self._entries is None:
            self._entries = {}
            if _usable_dir(self.base) and _usable_dir(self.store.parent):
                raw = _read_regular(self.store, MAX_STORE_BYTES)
                try:
                    data = json.loads(raw) if raw is not None else None
                except (ValueError, RecursionError):
                    data = None
                if type(data) is dict and data.get("prodlint-cache") == FORMAT and type(data.get("entries")) is dict:
                    self._entries = data["entries"]
        return self._entries

    def get(self, path: str, key: str) -> FileFacts | None:
        entry = self._load().get(path)
        if type(entry) is not list or len(entry) != 2 or entry[0] != key or type(entry[1]) is not str:
            return None
        facts = decode(entry[1])
        if facts is None or facts.path != path:
            self._load().pop(path, None)
            self._changed = True
            return None
        return facts

    def put(self, path: str, key: str, facts: FileFacts) -> None:
        entry = encode(facts)
        if entry is None:
            return
        self._load()[path] = [key, entry]
        self._changed = True

    def save(self) -> None:
        """Write the store if anything changed; a cache that cannot be written is no cache."""
        if not self._changed:
            return
        entries = {path: entry for path, entry in sorted(self._load().items()) if type(entry) is list}
        try:
            self._prepare()
            if not _usable_dir(self.base) or not _usable_dir(self.store.parent):
                return
            # Write then rename, so a concurrent run never reads half a store.
            handle, temporary = tempfile.mkstemp(dir=self.store.parent, prefix=".tmp-")
            try:
                with os.fdopen(handle, "w", encoding="utf-8", errors="surrogateescape") as out:
                    json.dump({"prodlint-cache": FORMAT, "entries": entries}, out, separators=(",", ":"))
                os.replace(temporary, self.store)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except (OSError, ValueError):
            pass  # a read-only tree still lints, only slower
        self._changed = False

    def _prepare(self) -> None:
        if os.path.lexists(self.base) and not _usable_dir(self.base):
            return
        self.base.mkdir(parents=True, exist_ok=True)
        if not os.path.lexists(self.base / "CACHEDIR.TAG"):
            _create(self.base / "CACHEDIR.TAG", _TAG)
            _create(self.base / ".gitignore", "*\n")
        if not os.path.lexists(self.store.parent):
            self.store.parent.mkdir()
