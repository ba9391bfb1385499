"""Find the files of a dataset and split them into shards.

:func:`list_files` walks a dataset root and yields every file as a path relative to the root, in
sorted order. :func:`shard_of` assigns each such path to one of ``n`` shards with a stable hash, so
that many jobs (local cores, SLURM jobs) can each extract one shard, and adding a file to the
dataset changes only the shard that file falls in; :func:`partition_by_shard` splits a whole listing
at once. :func:`write_file_list` saves one shard's files (with size and modification time) to a file
that is rewritten only when they change, and :func:`read_file_list` reads the paths back: the
workflow's EXIF shard jobs take that one file as input instead of every photo of the shard.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

log = logging.getLogger(__name__)


def shard_of(relpath: str, n_shards: int) -> int:
    """Return the shard index in ``[0, n_shards)`` of a dataset-relative path.

    The index is ``BLAKE2b-64(utf-8 path) mod n_shards``: the same on every machine, process and
    Python version (unlike the built-in ``hash``, which is salted per process), and it depends on
    the path alone, so adding or removing one file never moves another file to a different shard.
    """
    if n_shards < 1:
        raise ValueError(f"n_shards must be at least 1, got {n_shards}")
    digest = hashlib.blake2b(relpath.encode("utf-8", "surrogateescape"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % n_shards


def partition_by_shard(relpaths: Iterable[str], n_shards: int) -> list[list[str]]:
    """``relpaths`` split into ``n_shards`` lists by :func:`shard_of`, each in the input order.

    One pass over the paths, one hash each: what every shard job's input would otherwise recompute
    over the whole dataset.
    """
    if n_shards < 1:
        raise ValueError(f"n_shards must be at least 1, got {n_shards}")
    shards: list[list[str]] = [[] for _ in range(n_shards)]
    for relpath in relpaths:
        shards[shard_of(relpath, n_shards)].append(relpath)
    return shards


_FILE_LIST_MAGIC = b"sdaie-file-list 1"


def file_list_bytes(root: Path, relpaths: Iterable[str]) -> bytes:
    """The file list of ``relpaths`` under ``root``: what :func:`write_file_list` writes.

    NUL-separated fields (the one byte a file name cannot hold, so any name round-trips): a magic
    word, the absolute root, then per file its relative path as the file system's bytes and
    ``"<size> <mtime_ns>"`` from ``stat`` (links followed; ``"-"`` when the file cannot be stat-ed).
    Any change of the root, of the set of files, or of a file's size or modification time changes it.
    """
    fields = [_FILE_LIST_MAGIC, os.fsencode(os.path.abspath(root))]
    root_str = os.fspath(root)
    for relpath in relpaths:
        try:
            info = os.stat(os.path.join(root_str, relpath))
            stamp = f"{info.st_size} {info.st_mtime_ns}".encode()
        except OSError:
            stamp = b"-"
        fields += [os.fsencode(relpath), stamp]
    return b"\0".join(fields)


def write_file_list(path: Path, root: Path, relpaths: Iterable[str]) -> bool:
    """Write the file list of ``relpaths`` (see :func:`file_list_bytes`) to ``path``, atomically, unless
    ``path`` already holds exactly that list; returns whether it wrote.

    A file that is left alone keeps its modification time: a job that takes it as input reruns only
    when its files changed.
    """
    path = Path(path)
    data = file_list_bytes(root, relpaths)
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.tmp"
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return True


def read_file_list(path: Path) -> list[str]:
    """The relative paths of a file list written by :func:`write_file_list`, in its order."""
    fields = Path(path).read_bytes().split(b"\0")
    if fields[0] != _FILE_LIST_MAGIC or len(fields) % 2:
        raise ValueError(f"{path} is not a file list")
    return [os.fsdecode(name) for name in fields[2::2]]


def list_files(root: Path) -> Iterator[str]:
    """Yield the files under ``root``, recursively, as relative POSIX paths in sorted order.

    * Hidden entries (name starting with ``.``) are skipped, files and directories alike; so are
      temporary files this package writes next to its outputs.
    * Symbolic links are followed, to files and to directories, but a link back to a directory
      that is already being walked (a loop) is not entered again.
    * Yielded: every entry that is not a directory: regular files, and also dangling symbolic links,
      FIFOs, sockets and devices, so that each gets a row with its error ("not a regular file (FIFO)")
      rather than vanishing; readers check with ``stat`` and never open them (a FIFO would block).
    * The order is plain string order of the whole relative path (``"a-b/x"`` before ``"a/x"``),
      the same order the extracted tables are sorted in.
    * A subdirectory that cannot be read is logged and skipped. A missing ``root`` raises
      ``FileNotFoundError``; a root that is not a directory raises ``NotADirectoryError``.
    """
    root_str = os.fspath(root)
    info = os.stat(root_str)
    if not os.path.isdir(root_str):
        raise NotADirectoryError(f"dataset root is not a directory: {root_str}")
    yield from _walk(root_str, "", frozenset({(info.st_dev, info.st_ino)}))


def _walk(directory: str, prefix: str, ancestors: frozenset[tuple[int, int]]) -> Iterator[str]:
    """Yield the files below ``directory`` (with ``prefix`` prepended), sorted by full path."""
    try:
        with os.scandir(directory) as scan:
            entries = [entry for entry in scan if not entry.name.startswith(".")]
    except OSError as exc:
        log.warning("skipping unreadable directory %s: %s", directory, exc)
        return
    # Sort directories by "name/" so that the walk order equals the sort order of full paths.
    keyed: list[tuple[str, os.DirEntry[str], bool]] = []
    for entry in entries:
        is_dir = _is_dir(entry)
        keyed.append((entry.name + "/" if is_dir else entry.name, entry, is_dir))
    keyed.sort(key=lambda item: item[0])
    for _, entry, is_dir in keyed:
        relpath = prefix + entry.name
        if not is_dir:
            yield relpath
            continue
        try:
            info = entry.stat()  # follows symlinks: the identity of the directory itself
        except OSError as exc:
            log.warning("skipping unreadable directory %s: %s", entry.path, exc)
            continue
        identity = (info.st_dev, info.st_ino)
        if identity in ancestors:
            log.warning("skipping symlink loop %s", entry.path)
            continue
        yield from _walk(entry.path, relpath + "/", ancestors | {identity})


def _is_dir(entry: os.DirEntry[str]) -> bool:
    """A directory (or a link to one); anything else is listed as a file (extraction records errors)."""
    try:
        return entry.is_dir()
    except OSError:
        return False  # cannot tell: let extraction try it and record the error
