"""Size, modification time and content hash of one file, with failures returned instead of raised.

The content hash is BLAKE2b with a 16-byte digest (hex), computed over the file streamed in 1 MiB
chunks. Size and mtime come from ``fstat`` on the same open file descriptor that is hashed, so the
three values describe the same file even if the path is replaced meanwhile.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from dataclasses import dataclass

from sdaie.errors import DANGLING_LINK, describe_os_error, file_kind

CHUNK_BYTES = 1 << 20
HASH_DIGEST_SIZE = 16

_local = threading.local()


@dataclass(frozen=True, slots=True)
class FileInfo:
    """What the file system says about one file. ``error`` is set when it could not be read."""

    bytes: int | None
    mtime_ns: int | None
    content_hash: str | None
    error: str | None = None


def content_hash_of(fd: int) -> str:
    """BLAKE2b-128 (hex) of everything readable from ``fd``, read in 1 MiB chunks."""
    buffer = getattr(_local, "buffer", None)
    if buffer is None:
        buffer = _local.buffer = bytearray(CHUNK_BYTES)
    view = memoryview(buffer)
    digest = hashlib.blake2b(digest_size=HASH_DIGEST_SIZE)
    while True:
        n = os.readv(fd, [view])
        if n == 0:
            break
        digest.update(view[:n])
    return digest.hexdigest()


def stat_file(path: str | bytes) -> FileInfo | None:
    """``None`` if ``path`` is a regular file (after following links), else why it cannot be read.

    The returned :class:`FileInfo` always has ``error`` set: missing path, dangling link, or not a
    regular file (size and mtime filled in when ``stat`` succeeded).
    """
    checked = _checked_stat(path)
    return checked if isinstance(checked, FileInfo) else None


def read_file_info(path: str | bytes) -> FileInfo:
    """Stat and hash ``path``; never raises ``OSError``.

    A path that is missing, a dangling link, not a regular file (FIFO, directory...) or unreadable
    gives a :class:`FileInfo` whose ``error`` says why, e.g. ``"FileNotFoundError: No such file or
    directory"`` or ``"dangling symbolic link: its target does not exist"``; size and mtime are filled in when at least ``stat`` succeeded. FIFOs are never
    opened (opening one would block).
    """
    checked = _checked_stat(path)
    if isinstance(checked, FileInfo):
        return checked
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        return FileInfo(checked.st_size, checked.st_mtime_ns, None, describe_os_error(exc))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # replaced between stat and open
            return FileInfo(info.st_size, info.st_mtime_ns, None, f"not a regular file ({file_kind(info.st_mode)})")
        return FileInfo(info.st_size, info.st_mtime_ns, content_hash_of(fd))
    except OSError as exc:
        return FileInfo(checked.st_size, checked.st_mtime_ns, None, describe_os_error(exc))
    finally:
        os.close(fd)


def _checked_stat(path: str | bytes) -> os.stat_result | FileInfo:
    """The ``stat`` of a regular file, or a :class:`FileInfo` with the reason it is not one."""
    try:
        info = os.stat(path)
    except FileNotFoundError as exc:
        return FileInfo(None, None, None, DANGLING_LINK if os.path.islink(path) else describe_os_error(exc))
    except OSError as exc:
        return FileInfo(None, None, None, describe_os_error(exc))
    if not stat.S_ISREG(info.st_mode):
        return FileInfo(info.st_size, info.st_mtime_ns, None, f"not a regular file ({file_kind(info.st_mode)})")
    return info
