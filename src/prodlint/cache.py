"""Extraction cache in `.prodlint_cache/`: one JSON store, keyed by content, version and config.

The cache is data, never code: facts are written as JSON naming their class, and read
back only into the fact classes of `prodlint.facts`, every field checked against its
declared type. A cache committed to a repository by someone else can therefore at worst
cost a re-extraction. Anything odd (a bad entry, a store that is a directory, a FIFO or
a link, a cache folder that is a file or read-only) is a miss, never an error.
"""

from __future__ import annotations

import dataclasses
import functools
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
from prodlint.facts import FileFacts, Location
from prodlint.reading import read_regular

CACHE_DIR = ".prodlint_cache"
FORMAT = 4
STORE = f"v{FORMAT}/facts.json"
JOURNAL = f"v{FORMAT}/facts.journal"  # entries written since the store: one JSON line each
JOURNAL_MAX_ENTRIES = 256  # past this many journal lines the store is rewritten with them
RUNS = f"v{FORMAT}/runs.json"
KEPT_RUNS = 4  # whole-run results kept: a few path selections (pre-commit, editors) each stay warm
MAX_STORE_BYTES = 1 << 30
_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# prodlint extraction cache; safe to delete.\n"


def build_digest() -> str:
    """prodlint's own code and rules (name, size, mtime of each file): an edited checkout is a new version."""
    global _BUILD
    if _BUILD is None:
        digest = hashlib.sha256(__version__.encode())
        package = Path(__file__).resolve().parent
        for folder in (package, package.parents[1] / "rules"):
            for directory, subdirs, names in os.walk(folder):
                subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
                for name in sorted(names):
                    if name.endswith((".py", ".yaml", ".scm")):
                        try:
                            info = os.stat(os.path.join(directory, name))
                        except OSError:
                            continue
                        digest.update(f"{directory}/{name}\0{info.st_size}\0{info.st_mtime_ns}\0".encode("utf-8", "surrogateescape"))
        _BUILD = digest.hexdigest()[:16]
    return _BUILD


_BUILD: str | None = None


def cache_key(path: str, kind: str, content: bytes, config_digest: str) -> str:
    digest = hashlib.sha256()
    for part in (build_digest(), config_digest, kind, path):
        digest.update(part.encode("utf-8", "surrogateescape"))  # file names need not be UTF-8
        digest.update(b"\0")
    digest.update(content)
    return digest.hexdigest()


# --- the data-only codec ---------------------------------------------------------------------
# Facts are encoded by their declared types, so the form is compact: a fact is the list of its
# field values in order, a tuple a list, a dict {"d": [[key, value], ...]}, a set {"s": [...]}.
# Only where a field is declared `object` (FileFacts.facts) does a fact carry its class name:
# ["module.Class", [field values]]; a tuple there is {"l": [...]}.
# Decoders are compiled once per class from the classes' own type hints (never from what is
# read), check every value's type and build only the fact classes; anything else is _Bad.


class _Bad(Exception):
    """An entry that does not decode into facts: a miss."""


_Decode = Callable[[Any], Any]
_Encode = Callable[[Any], Any]
_SCALARS = (str, int, bool, type(None))


class _Codec:
    def __init__(self) -> None:
        self._decoders: dict[type, _Decode] = {Location: self._decode_location}
        self._encoders: dict[type, _Encode] = {Location: self._encode_location}
        self._any_decoders: dict[str, _Decode] = {}
        # A location in the file whose facts are being coded leaves its path out: most of them do,
        # and the path is the longest part of the entry.
        self._path: str | None = None

    @functools.cached_property
    def classes(self) -> dict[str, type]:
        """Every fact class by its short name: what a field declared `object` may hold. Built on the
        first such field, so a whole-run entry (findings only) never imports the fact modules."""
        classes: dict[str, type] = {}
        modules = [facts_package] + [
            importlib.import_module(f"{facts_package.__name__}.{info.name}")
            for info in sorted(pkgutil.iter_modules(facts_package.__path__), key=lambda info: info.name)
        ]
        for module in modules:
            short = module.__name__.removeprefix("prodlint.").removeprefix("facts").lstrip(".") or "facts"
            for name, value in sorted(vars(module).items()):
                if isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == module.__name__:
                    classes[f"{short}.{name}"] = value
        return classes

    @functools.cached_property
    def names(self) -> dict[type, str]:
        return {cls: name for name, cls in self.classes.items()}

    # encoding

    def encoder(self, hint: Any) -> _Encode:
        """How to encode a value declared `hint`; values JSON holds as they are encode as themselves."""
        if hint is object or hint is typing.Any:
            return self.encode_any
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            return self._class_encoder(hint)
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if origin in (types.UnionType, typing.Union):
            options = [arg for arg in args if arg is not type(None)]
            if all(arg in _SCALARS or arg is float for arg in options):
                return _same
            if len(options) == 1:
                inner = self.encoder(options[0])
                return lambda value: None if value is None else inner(value)
            return self.encode_any  # a union of classes: name the class
        if origin is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                if args[0] in _SCALARS or args[0] is float:
                    return _same  # json writes a tuple of scalars as a list
                item = self.encoder(args[0])
                return lambda value: [item(x) for x in value]
            parts = [self.encoder(arg) for arg in args]
            return lambda value: [part(x) for part, x in zip(parts, value)]
        if origin is dict:
            key, val = self.encoder(args[0]), self.encoder(args[1])
            return lambda value: {"d": [[key(k), val(v)] for k, v in value.items()]}
        if origin in (set, frozenset):
            item = self.encoder(args[0])
            return lambda value: {"s": sorted((item(x) for x in value), key=repr)}
        return _same

    def _class_encoder(self, cls: type) -> _Encode:
        encoder = self._encoders.get(cls)
        if encoder is not None:
            return encoder
        names = [f.name for f in dataclasses.fields(cls)]
        parts: list[tuple[str, _Encode | None]] = []

        def encode(value: Any) -> Any:
            if type(value) is not cls:
                raise _Bad(f"{type(value).__name__} is not {cls.__name__}")
            return [getattr(value, name) if part is None else part(getattr(value, name)) for name, part in parts]

        self._encoders[cls] = encode  # before the fields: a class may nest itself
        hints = typing.get_type_hints(cls)
        for name in names:
            part = self.encoder(hints[name])
            parts.append((name, None if part is _same else part))
        return encode

    def _encode_location(self, value: Any) -> Any:
        if type(value) is not Location:
            raise _Bad(f"{type(value).__name__} is not Location")
        if value.path == self._path:
            return [value.line, value.column, value.end_line, value.end_column]
        return [value.path, value.line, value.column, value.end_line, value.end_column]

    def _decode_location(self, value: Any) -> Location:
        if type(value) is not list:
            raise _Bad("expected a location")
        if len(value) == 4 and self._path is not None:
            path, (line, column, end_line, end_column) = self._path, value
        elif len(value) == 5:
            path, line, column, end_line, end_column = value
        else:
            raise _Bad("expected a location")
        if (type(path) is not str or type(line) is not int or type(column) is not int
                or (end_line is not None and type(end_line) is not int) or (end_column is not None and type(end_column) is not int)):
            raise _Bad("bad location")
        return Location(path, line, column, end_line, end_column)

    def encode_file(self, value: FileFacts) -> Any:
        self._path = value.path if type(value) is FileFacts else None
        try:
            return self._class_encoder(FileFacts)(value)
        finally:
            self._path = None

    def decode_file(self, value: Any) -> FileFacts:
        self._path = value[0] if type(value) is list and value and type(value[0]) is str else None
        try:
            return self._class_decoder(FileFacts)(value)
        finally:
            self._path = None

    def encode_any(self, value: Any) -> Any:
        kind = type(value)
        if value is None or kind in (str, int, float, bool):
            return value
        if kind is tuple or kind is list:
            return {"l": [self.encode_any(item) for item in value]}
        name = self.names.get(kind)
        if name is None:
            raise _Bad(f"{kind.__name__} is not a fact class")
        return [name, self._class_encoder(kind)(value)]

    # decoding, checked against the declared field types

    def decoder(self, hint: Any) -> _Decode:
        if hint is object or hint is typing.Any:
            return self.decode_any
        if hint in _SCALARS:
            return _exact(hint)
        if hint is float:
            return _float
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            return self._class_decoder(hint)
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if origin in (types.UnionType, typing.Union):
            plain = [arg for arg in args if arg is not type(None)]
            if len(plain) == 1 and len(args) == 2:
                inner = self.decoder(plain[0])
                return lambda value: None if value is None else inner(value)
            if not all(arg in _SCALARS or arg is float for arg in args):
                return self.decode_any  # encoded with its class name
            options = [self.decoder(arg) for arg in args]
            return lambda value: _first(options, value)
        if origin is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                if args[0] in _SCALARS:
                    kind = args[0]
                    return lambda value: _scalars(value, kind)
                item = self.decoder(args[0])
                return lambda value: tuple([item(x) for x in _list(value)])
            parts = [self.decoder(arg) for arg in args]
            return lambda value: _fixed(parts, value)
        if origin is dict:
            key, val = self.decoder(args[0]), self.decoder(args[1])
            return lambda value: {key(k): val(v) for k, v in _pairs(value, "d")}
        if origin in (set, frozenset):
            item = self.decoder(args[0])
            return lambda value: origin(item(x) for x in _tagged(value, "s"))
        raise TypeError(f"prodlint cache cannot store fields of type {hint!r}")

    def decode_any(self, value: Any) -> Any:
        """A field declared `object`: a named fact, a scalar or a tuple of them."""
        kind = type(value)
        if kind is list:
            if len(value) != 2 or type(value[0]) is not str:
                raise _Bad("expected [class, fields]")
            decoder = self._any_decoders.get(value[0])
            if decoder is None:
                cls = self.classes.get(value[0])
                if cls is None:
                    raise _Bad("not a fact class")
                decoder = self._any_decoders[value[0]] = self._class_decoder(cls)
            return decoder(value[1])
        if value is None or kind in (str, int, float, bool):
            return value
        if kind is dict:
            return tuple(self.decode_any(item) for item in _tagged(value, "l"))
        raise _Bad("unexpected value")

    def _class_decoder(self, cls: type) -> _Decode:
        decoder = self._decoders.get(cls)
        if decoder is not None:
            return decoder
        names = [f.name for f in dataclasses.fields(cls)]
        count = len(names)
        checks: list[Any] = []  # per field: a scalar type to match exactly, or a decoder

        def decode(value: Any) -> Any:
            if type(value) is not list or len(value) != count:
                raise _Bad(f"bad fields for {cls.__name__}")
            out = []
            for check, item in zip(checks, value):
                if type(check) is type:
                    if type(item) is not check:
                        raise _Bad(f"expected {check.__name__}")
                    out.append(item)
                else:
                    out.append(check(item))
            return cls(*out)

        self._decoders[cls] = decode  # before the fields: facts may nest their own class
        hints = typing.get_type_hints(cls)
        for name in names:
            hint = hints[name]
            checks.append(hint if hint in (str, int, bool) else self.decoder(hint))
        return decode


def _same(value: Any) -> Any:
    return value


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


def _scalars(value: Any, kind: type) -> tuple[Any, ...]:
    if type(value) is not list:
        raise _Bad("expected a list")
    for item in value:
        if type(item) is not kind:
            raise _Bad(f"expected {kind.__name__}")
    return tuple(value)


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


def to_data(value: Any, hint: Any = FileFacts) -> Any:
    """`value`, declared `hint`, as JSON-ready data; raises ValueError when it holds a non-fact."""
    codec = _codec()
    try:
        return codec.encode_file(value) if hint is FileFacts else codec.encoder(hint)(value)
    except (_Bad, RecursionError) as error:
        raise ValueError(str(error)) from None


def from_data(data: Any, hint: Any = FileFacts) -> Any:
    """The value `data` encodes, checked against `hint`; None when it does not fit."""
    codec = _codec()
    try:
        return codec.decode_file(data) if hint is FileFacts else codec.decoder(hint)(data)
    except (_Bad, RecursionError, ValueError, TypeError):
        return None


def encode(facts: FileFacts) -> str | None:
    """The entry for these facts, or None when they hold something the cache cannot store."""
    try:
        return json.dumps(to_data(facts), separators=(",", ":"))
    except (ValueError, RecursionError, TypeError):
        return None


def decode(entry: str) -> FileFacts | None:
    try:
        data = json.loads(entry)
    except (ValueError, RecursionError, TypeError):
        return None
    return from_data(data)


# --- the store -------------------------------------------------------------------------------


def _read_regular(path: Path, limit: int) -> bytes | None:
    """The bytes of a regular file that is not a link, or None: a FIFO or a device never blocks us."""
    try:
        content = read_regular(path, limit, follow_links=False)
    except OSError:
        return None
    return content if len(content) <= limit else None


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
    """The cache folder: `facts.json` holds {path: [key, data]} for every source, loaded once per
    run; a run that changed a few entries appends them to `facts.journal` (read over the store)
    rather than rewriting it; `runs.json` holds the last few whole-run results by run key."""

    def __init__(self, directory: Path) -> None:
        self.base = directory
        self.store = directory / STORE
        self.journal = directory / JOURNAL
        self.runs = directory / RUNS
        self._entries: dict[str, Any] | None = None
        self._saved_runs: list[list[Any]] | None = None
        self._changed: dict[str, list[Any]] = {}  # entries put this run, by path
        self._journalled = 0  # lines in the journal as read
        self._store_read = False  # the journal extends only a store that was read
        self._journal_ok = True  # and only a journal whose every line was an entry

    def _read_json(self, path: Path, tag: str) -> Any:
        if not (_usable_dir(self.base) and _usable_dir(path.parent)):
            return None
        raw = _read_regular(path, MAX_STORE_BYTES)
        try:
            data = json.loads(raw) if raw is not None else None
        except (ValueError, RecursionError):
            return None
        return data if type(data) is dict and data.get(tag) == FORMAT else None

    def _load(self) -> dict[str, Any]:
        if self._entries is None:
            data = self._read_json(self.store, "prodlint-cache")
            entries = data.get("entries") if data is not None else None
            self._entries = entries if type(entries) is dict else {}
            self._store_read = type(entries) is dict
            if self._store_read:
                self._read_journal(self._entries)
        return self._entries

    def _read_journal(self, entries: dict[str, Any]) -> None:
        """Entries appended since the store was written, later lines over earlier ones; a line
        that is not one (half written by a run that was stopped) ends the journal."""
        raw = _read_regular(self.journal, MAX_STORE_BYTES) if _usable_dir(self.journal.parent) else None
        self._journal_ok = not raw or raw.endswith(b"\n")  # appending after half a line would spoil the next
        for line in (raw or b"").splitlines():
            try:
                item = json.loads(line)
            except (ValueError, RecursionError):
                item = None
            if type(item) is not list or len(item) != 3 or type(item[0]) is not str or type(item[1]) is not str:
                self._journal_ok = False
                break
            entries[item[0]] = [item[1], item[2]]
            self._journalled += 1

    def has(self, path: str, key: str) -> bool:
        entry = self._load().get(path)
        return type(entry) is list and len(entry) == 2 and entry[0] == key

    def entry(self, path: str, key: str) -> Any:
        """The stored data of the file's facts under `key`, undecoded, or None."""
        return self._load()[path][1] if self.has(path, key) else None

    def put_data(self, path: str, key: str, data: Any) -> None:
        """Store facts already encoded (a worker sends them so)."""
        self._load()[path] = [key, data]
        self._changed[path] = [key, data]

    def save(self) -> None:
        """Keep what changed: a few entries are appended to the journal, more (or a journal grown
        long) rewrite the store. A cache that cannot be written is no cache."""
        if not self._changed:
            return
        entries = self._load()
        if self._store_read and self._journal_ok and self._journalled + len(self._changed) <= JOURNAL_MAX_ENTRIES:
            lines = "".join(json.dumps([path, *entry], separators=(",", ":")) + "\n" for path, entry in sorted(self._changed.items()))
            if self._append(self.journal, lines):
                self._journalled += len(self._changed)
                self._changed = {}
                return
        stored = {path: entry for path, entry in sorted(entries.items()) if type(entry) is list}
        if self._write(self.store, {"prodlint-cache": FORMAT, "entries": stored}):
            self._remove(self.journal)  # its entries are in the store now
            self._journalled = 0
        self._changed = {}

    # whole runs

    def _runs(self) -> list[list[Any]]:
        if self._saved_runs is None:
            data = self._read_json(self.runs, "prodlint-runs")
            runs = data.get("runs") if data is not None else None
            self._saved_runs = [run for run in runs if type(run) is list and len(run) == 3] if type(runs) is list else []
        return self._saved_runs

    def run(self, key: str) -> Any:
        """The data saved for the run `key`, or None."""
        return next((run[1] for run in self._runs() if run[0] == key), None)

    def runs_under(self, settings: str) -> list[tuple[Any, dict[str, Any]]]:
        """The runs saved under these settings, newest first: each one's data and what it was
        computed from ({"facts": key of every file's facts, "files": {path: [content key, facts digest]}})."""
        return [(record, basis) for _, record, basis in self._runs()
                if type(basis) is dict and basis.get("settings") == settings
                and type(basis.get("facts")) is str and type(basis.get("files")) is dict]

    def save_run(self, key: str, record: Any, basis: dict[str, Any]) -> None:
        kept = [run for run in self._runs() if run[0] != key]
        self._saved_runs = [[key, record, basis], *kept[: KEPT_RUNS - 1]]
        self._write(self.runs, {"prodlint-runs": FORMAT, "runs": self._saved_runs})

    def _write(self, target: Path, data: Any) -> bool:
        try:
            self._prepare()
            if not _usable_dir(self.base) or not _usable_dir(target.parent):
                return False
            # Write then rename, so a concurrent run never reads half a file.
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    out.write(json.dumps(data, separators=(",", ":")))  # ASCII: lone surrogates escaped
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except (OSError, ValueError, RecursionError):
            return False  # a read-only tree still lints, only slower
        return True

    def _append(self, target: Path, text: str) -> bool:
        """Append in one write to a regular file that is not a link (ASCII: lone surrogates escaped)."""
        if not (_usable_dir(self.base) and _usable_dir(target.parent)):
            return False
        try:
            handle = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except OSError:
            return False
        try:
            if not stat.S_ISREG(os.fstat(handle).st_mode):
                return False
            data = text.encode("ascii")
            return os.write(handle, data) == len(data)
        except (OSError, ValueError):
            return False
        finally:
            os.close(handle)

    @staticmethod
    def _remove(target: Path) -> None:
        try:
            if os.path.lexists(target) and not os.path.isdir(target):
                os.unlink(target)
        except OSError:
            pass

    def _prepare(self) -> None:
        if os.path.lexists(self.base) and not _usable_dir(self.base):
            return
        self.base.mkdir(parents=True, exist_ok=True)
        if not os.path.lexists(self.base / "CACHEDIR.TAG"):
            _create(self.base / "CACHEDIR.TAG", _TAG)
            _create(self.base / ".gitignore", "*\n")
        if not os.path.lexists(self.store.parent):
            self.store.parent.mkdir()
