"""Smoke check of the generators: exact file counts, byte-identical output for one seed.

    python benchmarks/smoke.py

Not part of the test suite (nothing here is timed or about prodlint's findings).
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate  # noqa: E402 - the sibling module


def digest(root: Path) -> str:
    hashed = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        hashed.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return hashed.hexdigest()


def main() -> int:
    failures = 0
    for shape in sorted(generate.SHAPES):
        for files in (100, 537, 2000):
            with tempfile.TemporaryDirectory() as first, tempfile.TemporaryDirectory() as second:
                written, _ = generate.generate(shape, files, 7, Path(first))
                generate.generate(shape, files, 7, Path(second))
                on_disk = sum(1 for p in Path(first).rglob("*") if p.is_file())
                same = digest(Path(first)) == digest(Path(second))
                ok = written == on_disk == files and same
                failures += not ok
                print(f"{'ok  ' if ok else 'FAIL'} {shape:<8} {files:>5} files asked, {on_disk:>5} written, "
                      f"{'deterministic' if same else 'NOT deterministic'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
