"""Reading a file prodlint did not write: a regular file only, and never a blocking open."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


def read_regular(path: Path, limit: int, *, follow_links: bool = True) -> bytes:
    """At most `limit` + 1 bytes of a regular file: one byte more than allowed tells the caller
    the file is (or grew) over the limit. OSError for a FIFO, a device, a folder and, unless
    followed, a link. O_NONBLOCK: a FIFO, or a file swapped for one, never blocks the run."""
    return _read(path, limit, follow_links, refuse_over=False)[1]  # type: ignore[return-value]


def read_within(path: Path, limit: int) -> tuple[int, bytes | None]:
    """(the file's size, its bytes), or (size, None) without reading when it is over `limit`; the
    bytes may still be `limit` + 1 long when the file grew while it was read. OSError as above."""
    return _read(path, limit, True, refuse_over=True)


def _read(path: Path, limit: int, follow_links: bool, refuse_over: bool) -> tuple[int, bytes | None]:
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | (0 if follow_links else getattr(os, "O_NOFOLLOW", 0))
    descriptor = os.open(path, flags)
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        if refuse_over and info.st_size > limit:
            return info.st_size, None
        chunks: list[bytes] = []
        wanted = min(info.st_size, limit) + 1  # one byte past the size: a short read is the end
        left = limit + 1
        while left > 0:
            chunk = os.read(descriptor, min(wanted, left))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
            if len(chunk) < wanted:
                break  # a regular file reads short only at its end
            wanted = left
        return info.st_size, b"".join(chunks)
    finally:
        os.close(descriptor)
