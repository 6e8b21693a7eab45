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
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | (0 if follow_links else getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(os.open(path, flags), "rb") as stream:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        return stream.read(limit + 1)
