"""Extract the EXIF metadata of a set of files into one Parquet table (schema ``RAW_SCHEMA``).

:func:`extract_to_parquet` is the entry point for one job: one shard of a dataset, or all of it.

How it works:

1. The relative paths are sorted; the output is written in that order whatever ``jobs`` is.
2. With a ``previous`` table, each file whose (path, size, mtime) matches a row of that table
   for the same dataset keeps its row: the file is only ``stat``-ed, never opened. Files not in
   the previous table, or changed, are extracted; rows of files no longer listed are left out
   (counted as removed). A previous table of an older format (see
   :data:`sdaie.exif.schema.FORMAT_VERSION`) gives no rows: every file is read again.
3. Files to extract are grouped into batches of ``batch_size``. ``jobs`` worker threads each own a
   long-lived exiftool process (stay-open mode) and take batches in turn; each batch is read by
   exiftool in one command while a helper thread hashes its files (see :mod:`sdaie.exif.batch`).
4. Results are written as they come, in order, as Parquet row groups (zstd) to a temporary file
   renamed to ``output`` at the end. Only a bounded number of batches is in flight, so memory stays
   flat however many files there are (the list of paths itself is the only thing held in full).
"""

from __future__ import annotations

import logging
import os
import stat
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from queue import SimpleQueue

import pyarrow as pa

from sdaie.errors import check_output_file
from sdaie.exif.batch import BatchItem, extract_batch
from sdaie.exif.listing import shard_of
from sdaie.exif.previous import PreviousTable
from sdaie.exif.runner import ExifToolRunner, exiftool_version
from sdaie.exif.table import ROW_GROUP_ROWS, AtomicParquetWriter, sort_rows

__all__ = ["ExtractStats", "extract_to_parquet", "exiftool_version"]

log = logging.getLogger(__name__)

# Segments in flight per worker: enough queued work that no worker waits while the main thread
# waits for the oldest batch, few enough that memory stays a handful of batches.
_LOOKAHEAD = 4


@dataclass
class ExtractStats:
    """What one :func:`extract_to_parquet` call did; ``str()`` says it in words.

    ``files``: rows written (one per distinct input path); ``extracted``: files that were read
    (new or changed); ``reused``: rows copied from the previous table without opening the file;
    ``removed``: rows of the previous table (of this dataset, and of this shard when one is given)
    whose file is no longer listed; ``errors``: rows of the output with ``error`` set;
    ``seconds``: wall-clock time of the call; ``previous``: ``None`` without a previous table,
    ``"current"`` or ``"older format"`` (then nothing could be reused).
    """

    files: int = 0
    extracted: int = 0
    reused: int = 0
    removed: int = 0
    errors: int = 0
    seconds: float = 0.0
    previous: str | None = None

    def __str__(self) -> str:
        if self.previous is None:
            done = f"{self.extracted} read (no previous table)"
        else:
            read = "new or changed" if self.previous == "current" else "previous table of an older format: every file read"
            done = (
                f"{self.reused} reused from the previous table, {self.extracted} read ({read}), "
                f"{self.removed} removed since the previous table (no longer in the folder)"
            )
        return f"{self.files} files: {done}; {self.errors} with errors (see the error column); {self.seconds:.1f} s"


def extract_to_parquet(
    root: Path,
    relpaths: Iterable[str],
    output: Path,
    *,
    dataset: str,
    previous: Path | None = None,
    batch_size: int = 64,
    jobs: int = 1,
    progress: bool = False,
    shard: tuple[int, int] | None = None,
) -> ExtractStats:
    """Write one ``RAW_SCHEMA`` row per file of ``relpaths`` (relative to ``root``) to ``output``.

    :param root: the dataset root; ``relpaths`` are relative to it (e.g. from
        :func:`sdaie.exif.listing.list_files`, possibly filtered to one shard).
    :param output: the Parquet file to write, atomically (temporary file + rename).
    :param dataset: the value of the ``dataset`` column.
    :param previous: an earlier output for the same files (may be ``output`` itself, and need not
        exist yet; a merged table of several datasets or shards is fine too). Its rows of this
        ``dataset`` are reused for files whose path, size and mtime are unchanged; its rows of
        other datasets are ignored, and ``removed`` counts only this dataset's rows.
    :param batch_size: files per exiftool command.
    :param jobs: worker threads, each with its own exiftool process.
    :param progress: show a tqdm progress bar on stderr.
    :param shard: ``(k, n)`` when ``relpaths`` are the files of shard ``k`` of ``n``
        (:func:`sdaie.exif.listing.shard_of`) and ``previous`` holds the whole dataset: only its
        rows of that shard count as removed.

    Unreadable, vanished or corrupt files give error rows, never exceptions. Raises
    ``ValueError`` for bad arguments, and :class:`sdaie.errors.InputError` for an ``output`` that
    cannot be written or a ``previous`` table that cannot be read or whose schema is not
    ``RAW_SCHEMA``: before any file is read, or (a damaged page) with the output untouched.
    """
    started = time.perf_counter()
    if batch_size < 1 or jobs < 1:
        raise ValueError(f"batch_size and jobs must be at least 1 (got {batch_size}, {jobs})")
    check_output_file(output)
    root_str = os.fspath(root)
    items = _sorted_items(relpaths)
    old = PreviousTable(Path(previous), dataset) if previous is not None and Path(previous).exists() else None
    stats = ExtractStats(files=len(items))
    if old is not None:
        stats.previous = "current" if old.current_format else "older format"
        listed = {item.column_path for item in items}
        stats.removed = sum(
            1 for path in old.paths() if path not in listed and (shard is None or shard_of(path, shard[1]) == shard[0])
        )
    runners = _RunnerPool(min(jobs, -(-len(items) // batch_size) or 1))
    try:
        with AtomicParquetWriter(output) as writer, _progress_bar(progress, len(items), dataset) as bar:
            with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="exiftool") as executor:
                in_flight: deque[tuple[_Segment, Future[pa.Table] | None]] = deque()
                try:
                    for segment in _segments(items, old, root_str, batch_size):
                        stats.reused += len(segment.reuse)
                        stats.extracted += len(segment.extract)
                        future = None
                        if segment.extract:
                            runners.start()
                            future = executor.submit(runners.extract, root_str, dataset, segment.extract)
                        in_flight.append((segment, future))
                        while len(in_flight) > _LOOKAHEAD * jobs:
                            stats.errors += _emit(*in_flight.popleft(), old, writer, bar)
                    while in_flight:
                        stats.errors += _emit(*in_flight.popleft(), old, writer, bar)
                except BaseException:
                    executor.shutdown(wait=True, cancel_futures=True)
                    raise
    finally:
        runners.close()
        if old is not None:
            old.close()
    stats.seconds = time.perf_counter() - started
    log.info("%s: %s", dataset, stats)
    return stats


def _column_path(relpath: str) -> str:
    """The path as stored in the table: the relative path itself when it is valid UTF-8.

    A file name that is not valid UTF-8 (a Linux name in another encoding, which Python holds
    with surrogate escapes) cannot be stored in a Parquet string; its bad bytes are written as
    ``\\xNN`` instead, so it still gets a row.
    """
    try:
        relpath.encode("utf-8")
        return relpath
    except UnicodeEncodeError:
        return relpath.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _sorted_items(relpaths: Iterable[str]) -> list[BatchItem]:
    """The distinct relative paths as batch items, sorted by their stored path."""
    by_column: dict[str, BatchItem] = {}
    for relpath in relpaths:
        relpath = os.fspath(relpath)
        column = _column_path(relpath)
        by_column.setdefault(column, BatchItem(relpath, column))
    return [by_column[column] for column in sorted(by_column)]


@dataclass
class _Segment:
    """A run of consecutive files (in path order): rows to reuse and files to extract."""

    reuse: list[int] = field(default_factory=list)
    extract: list[BatchItem] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.reuse) + len(self.extract)


def _segments(items: list[BatchItem], old: PreviousTable | None, root: str, batch_size: int) -> Iterator[_Segment]:
    """Cut the sorted files into segments of at most ``batch_size`` files to extract.

    A segment also ends after ``max(ROW_GROUP_ROWS, 4 * batch_size)`` files in all, so that the
    reused rows interleaved with one batch stay few (new files scattered through a large dataset
    then give small batches, which is cheap since there are few of them).
    """
    max_span = max(ROW_GROUP_ROWS, 4 * batch_size)
    segment = _Segment()
    for item in items:
        index = _reusable_row(old, root, item) if old is not None else None
        if index is None:
            segment.extract.append(item)
        else:
            segment.reuse.append(index)
        if len(segment.extract) >= batch_size or len(segment) >= max_span:
            yield segment
            segment = _Segment()
    if len(segment):
        yield segment


def _reusable_row(old: PreviousTable, root: str, item: BatchItem) -> int | None:
    """Index of the previous row for ``item`` if the file is unchanged (only ``stat``, no read)."""
    if item.column_path not in old:
        return None
    try:
        info = os.stat(os.path.join(root, item.relpath))
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return old.reusable(item.column_path, info.st_size, info.st_mtime_ns)


def _emit(segment: _Segment, future: Future[pa.Table] | None, old: PreviousTable | None,
          writer: AtomicParquetWriter, bar) -> int:
    """Write one segment's rows in path order; returns its number of error rows."""
    pieces = []
    if segment.reuse:
        assert old is not None
        pieces.append(old.take(segment.reuse))
    if future is not None:
        pieces.append(future.result())
    table = pieces[0] if len(pieces) == 1 else sort_rows(pa.concat_tables(pieces))
    writer.write(table)
    bar.update(table.num_rows)
    return table.num_rows - table["error"].null_count


class _RunnerPool:
    """Up to ``size`` exiftool processes, each used by one worker at a time, and a hashing pool.

    While a worker waits for exiftool to read a batch, the batch's files are hashed by a thread
    of the hashing pool, so hashing and exiftool overlap even with a single worker.
    :meth:`start` runs in the main thread, before any batch is submitted (it forks processes,
    which is best done while no worker thread is busy).
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._runners: list[ExifToolRunner] = []
        self._idle: SimpleQueue[ExifToolRunner] = SimpleQueue()
        self._hasher: ThreadPoolExecutor | None = None

    def start(self) -> None:
        if self._hasher is None:
            self._hasher = ThreadPoolExecutor(max_workers=self._size, thread_name_prefix="hash")
        while len(self._runners) < self._size:
            runner = ExifToolRunner()
            self._runners.append(runner)
            runner.start()
            self._idle.put(runner)

    def extract(self, root: str, dataset: str, items: list[BatchItem]) -> pa.Table:
        runner = self._idle.get()
        try:
            return extract_batch(runner, root, dataset, items, hasher=self._hasher)
        finally:
            self._idle.put(runner)

    def close(self) -> None:
        for runner in self._runners:
            runner.close()
        self._runners.clear()
        if self._hasher is not None:
            self._hasher.shutdown(wait=True)
            self._hasher = None


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *_: object) -> None:
        pass


def _progress_bar(enabled: bool, total: int, dataset: str):
    """A tqdm bar over the files when ``enabled``, else a no-op stand-in."""
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="file", desc=f"exif {dataset}", smoothing=0.1)
