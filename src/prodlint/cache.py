"""Per-file extraction cache in `.prodlint_cache/`, keyed by content, version and config.

A cache entry that cannot be read back (truncated, from another Python, tampered)
is discarded and the file extracted again: the cache can never fail a run.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path

from prodlint import __version__
from prodlint.facts import FileFacts

CACHE_DIR = ".prodlint_cache"
_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# prodlint extraction cache; safe to delete.\n"


def cache_key(path: str, kind: str, content: bytes, config_digest: str) -> str:
    digest = hashlib.sha256()
    for part in (__version__, config_digest, kind, path):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(content)
    return digest.hexdigest()


class Cache:
    def __init__(self, directory: Path) -> None:
        self.directory = directory / "v1"
        self._ready = False

    def _entry(self, key: str) -> Path:
        return self.directory / key[:2] / key[2:]

    def get(self, key: str) -> FileFacts | None:
        entry = self._entry(key)
        try:
            with entry.open("rb") as handle:
                facts = pickle.load(handle)
        except FileNotFoundError:
            return None
        except Exception:  # noqa: BLE001 - any unreadable entry is simply stale
            entry.unlink(missing_ok=True)
            return None
        return facts if isinstance(facts, FileFacts) else None

    def put(self, key: str, facts: FileFacts) -> None:
        entry = self._entry(key)
        try:
            self._prepare()
            entry.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename, so a concurrent run never reads half an entry.
            handle, temporary = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-")
            with os.fdopen(handle, "wb") as out:
                pickle.dump(facts, out, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, entry)
        except OSError:
            pass  # a read-only tree still lints, only slower

    def _prepare(self) -> None:
        if self._ready:
            return
        self._ready = True
        base = self.directory.parent
        base.mkdir(parents=True, exist_ok=True)
        if not (base / "CACHEDIR.TAG").exists():
            (base / "CACHEDIR.TAG").write_text(_TAG)
            (base / ".gitignore").write_text("*\n")
