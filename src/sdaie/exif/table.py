"""Parquet files of the raw EXIF table: schema check, atomic streaming writer, merge of shard tables.

All files are written with zstd compression, in row groups of a few thousand rows, to a temporary
file next to the output (hidden, so dataset listings skip it) that is renamed over the output only
once complete: readers never see a half-written table, and a failed run leaves the old one intact.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sdaie.errors import PARQUET_READ_ERRORS, InputError, open_parquet_checked, parquet_error
from sdaie.exif.schema import FORMAT_KEY, RAW_SCHEMA, format_version

COMPRESSION = "zstd"
ROW_GROUP_ROWS = 4096
READ_BATCH_ROWS = 8192
# A k-way merge holds, per input, the reader's current row group (ROW_GROUP_ROWS rows, decoded) and
# one batch: about 7 MiB of EXIF rows. Merges of more inputs than MERGE_FAN_IN run in passes of at
# most MERGE_FAN_IN inputs each, through temporary files, so memory does not grow with the number of
# shards (1,000,000 rows in 64 shards: 1.7 GiB in one pass, bench/data_half_memory.py).
MERGE_FAN_IN = 16
# Rows buffered by a k-way merge over all its inputs together (each input's batch is this divided by
# the number of inputs, at most READ_BATCH_ROWS).
MERGE_BUFFER_ROWS = 32768


SHARD_HINT = "delete it and run the extraction again"


def check_schema(schema: pa.Schema, source: object, hint: str = SHARD_HINT) -> None:
    """Raise :class:`~sdaie.errors.InputError` unless ``schema`` is exactly :data:`RAW_SCHEMA`
    (metadata aside); the message names the missing, extra and differently typed columns."""
    if schema.equals(RAW_SCHEMA, check_metadata=False):
        return
    expected = {field.name: field.type for field in RAW_SCHEMA}
    found = {field.name: field.type for field in schema}
    parts = []
    if missing := [name for name in expected if name not in found]:
        parts.append("missing " + ", ".join(missing))
    if extra := [name for name in found if name not in expected]:
        parts.append("unexpected " + ", ".join(extra))
    if retyped := [f"{name} is {found[name]} not {expected[name]}" for name in expected if name in found and found[name] != expected[name]]:
        parts.append("; ".join(retyped))
    detail = "; ".join(parts) or "columns in another order or nullability"
    raise InputError(source, f"not a raw EXIF table, its schema differs from RAW_SCHEMA: {detail}", hint)


SORT_KEYS = [("dataset", "ascending"), ("path", "ascending")]


def sort_rows(table: pa.Table) -> pa.Table:
    """``table`` sorted by (dataset, path); for one dataset, simply by path.

    Strings compare by UTF-8 bytes, which is code-point order, the order of Python's ``sorted``.
    """
    if table.num_rows < 2:
        return table
    return table.take(pc.sort_indices(table, sort_keys=SORT_KEYS))


def is_sorted(keys: pa.Table) -> bool:
    """Whether the rows of ``keys`` (columns dataset, path) strictly increase: sorted, unique."""
    if keys.num_rows < 2:
        return True
    dataset, path = (keys[name].combine_chunks() for name in ("dataset", "path"))
    d0, d1, p0, p1 = dataset[:-1], dataset[1:], path[:-1], path[1:]
    increasing = pc.or_(pc.less(d0, d1), pc.and_(pc.equal(d0, d1), pc.less(p0, p1)))
    return bool(pc.all(increasing).as_py())


class AtomicParquetWriter:
    """Write :data:`RAW_SCHEMA` tables piece by piece to ``output``, atomically.

    Pieces are buffered into row groups of ``row_group_rows`` rows (default
    :data:`ROW_GROUP_ROWS`; the last one may be shorter), so memory stays bounded by one row group
    and one piece whatever the total size, and so does the memory of a reader of the file. Use as a context manager: the file appears at
    ``output`` when the block ends normally; on an exception the temporary file is removed.
    """

    def __init__(self, output: Path, row_group_rows: int | None = None, schema: pa.Schema = RAW_SCHEMA) -> None:
        self.output = Path(output)
        self.output.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.output.parent / f".{self.output.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
        self._writer = pq.ParquetWriter(self._tmp, schema, compression=COMPRESSION)
        self._row_group_rows = row_group_rows or ROW_GROUP_ROWS
        self._buffer: list[pa.Table] = []
        self._buffered = 0
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        """Append the rows of ``table`` (schema :data:`RAW_SCHEMA`)."""
        if table.num_rows == 0:
            return
        self._buffer.append(table)
        self._buffered += table.num_rows
        self.rows += table.num_rows
        if self._buffered >= self._row_group_rows:
            self._flush(whole_groups_only=True)

    def _flush(self, whole_groups_only: bool = False) -> None:
        """Write the buffered rows as row groups of ``row_group_rows`` rows (the last one may be
        shorter); with ``whole_groups_only``, keep a shorter remainder buffered for the next write."""
        if not self._buffer:
            return
        table = pa.concat_tables(self._buffer)
        size = self._row_group_rows
        whole = table.num_rows - table.num_rows % size if whole_groups_only else table.num_rows
        if whole:
            self._writer.write_table(table.slice(0, whole), row_group_size=size)
        rest = table.slice(whole)
        self._buffer, self._buffered = ([rest], rest.num_rows) if rest.num_rows else ([], 0)

    def commit(self) -> None:
        """Finish the file and move it to ``output``."""
        self._flush()
        self._writer.close()
        with open(self._tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(self._tmp, self.output)

    def abort(self) -> None:
        """Drop everything written so far."""
        try:
            self._writer.close()
        finally:
            self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> AtomicParquetWriter:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def merge_tables(inputs: list[Path], output: Path) -> int:
    """Merge shard tables into one table at ``output``, sorted by path; returns the row count.

    Every input must be a readable table with exactly :data:`RAW_SCHEMA`
    (:class:`~sdaie.errors.InputError` otherwise) and no file may appear twice, i.e. no
    (dataset, path) pair in two rows (``ValueError``: shards must not overlap). The output's
    format version (:func:`~sdaie.exif.schema.format_version`) is the oldest of the inputs', so
    rows extracted by an older version are never taken for checked ones. Rows are sorted by path
    within a dataset, datasets in name order (tables of several datasets may be merged too). Inputs that are each sorted (as
    :func:`~sdaie.exif.extract.extract_to_parquet` writes them) are merged in a streaming k-way
    merge with memory bounded by a row group and a batch per input, over at most
    :data:`MERGE_FAN_IN` inputs at a time (more inputs are merged in passes, through hidden
    temporary files next to ``output``); otherwise they are sorted in memory.
    No inputs give an empty table.
    """
    files: list[pq.ParquetFile] = []
    reading: Path | None = None
    try:
        for path in inputs:
            files.append(open_parquet_checked(path, hint=SHARD_HINT))
            check_schema(files[-1].schema_arrow, path)
        version = min((format_version(parquet.schema_arrow) for parquet in files), default=None)
        schema = RAW_SCHEMA if version is None else RAW_SCHEMA.with_metadata({FORMAT_KEY: version.encode()})
        try:
            all_sorted = True
            for reading, parquet in zip(inputs, files):
                all_sorted = all_sorted and is_sorted(parquet.read(columns=["dataset", "path"]))
            reading = None
            if all_sorted and len(files) > MERGE_FAN_IN:
                for parquet in files:
                    parquet.close()
                files = []
                return _merge_in_passes([Path(p) for p in inputs], Path(output), schema)
            return _write_merged(_merge_sorted(files) if all_sorted else _sort_in_memory(files), Path(output), schema)
        except PARQUET_READ_ERRORS as exc:
            # a damaged page: name the input that has it (found by reading each in full)
            damaged = reading or _first_unreadable(inputs)
            if damaged is None:
                raise
            raise parquet_error(damaged, exc, SHARD_HINT) from exc
    finally:
        for parquet in files:
            parquet.close()


def _write_merged(chunks: Iterator[pa.Table], output: Path, schema: pa.Schema = RAW_SCHEMA) -> int:
    """Write sorted ``chunks`` to ``output`` (atomically), checking that no key repeats."""
    last: tuple[str, str] | None = None
    with AtomicParquetWriter(output, schema=schema) as writer:
        for chunk in chunks:
            last = _check_no_duplicates(chunk, last)
            writer.write(chunk)
    return writer.rows


def _merge_in_passes(inputs: list[Path], output: Path, schema: pa.Schema = RAW_SCHEMA) -> int:
    """Merge sorted ``inputs`` in groups of :data:`MERGE_FAN_IN` until one merge makes ``output``."""
    temporary: set[Path] = set()
    level = inputs
    try:
        while len(level) > MERGE_FAN_IN:
            merged = []
            for start in range(0, len(level), MERGE_FAN_IN):
                group = level[start : start + MERGE_FAN_IN]
                if len(group) == 1:
                    merged.append(group[0])
                    continue
                part = output.parent / f".{output.name}.merge-{uuid.uuid4().hex[:8]}.parquet"
                _merge_files(group, part, schema)
                temporary.add(part)
                merged.append(part)
                for done in group:  # temporaries of the previous pass, now merged
                    if done in temporary:
                        done.unlink()
                        temporary.discard(done)
            level = merged
        return _merge_files(level, output, schema)
    finally:
        for path in temporary:
            path.unlink(missing_ok=True)


def _merge_files(inputs: list[Path], output: Path, schema: pa.Schema = RAW_SCHEMA) -> int:
    """One streaming k-way merge of sorted ``inputs`` into ``output``."""
    files = [pq.ParquetFile(path) for path in inputs]
    try:
        return _write_merged(_merge_sorted(files), output, schema)
    finally:
        for parquet in files:
            parquet.close()


def _first_unreadable(paths: list[Path]) -> Path | None:
    """The first of ``paths`` whose data cannot be read in full, or ``None``."""
    for path in paths:
        try:
            pq.read_table(path)
        except PARQUET_READ_ERRORS:
            return path
    return None


def _merge_sorted(files: list[pq.ParquetFile]) -> Iterator[pa.Table]:
    """K-way merge of sorted files, yielding sorted chunks in order."""
    batch_rows = max(1, min(READ_BATCH_ROWS, MERGE_BUFFER_ROWS // max(1, len(files))))
    streams = [_SortedStream(parquet, batch_rows) for parquet in files]
    while True:
        active = [stream for stream in streams if stream.fill()]
        if not active:
            return
        # Every row up to the smallest of the buffers' last keys can be emitted now: no stream
        # can later produce a smaller key. The stream holding that bound is emptied, so each
        # round makes progress.
        bound = min(stream.last_key() for stream in active)
        pieces = [stream.take_through(bound) for stream in active]
        yield sort_rows(pa.concat_tables(pieces))


def _sort_in_memory(files: list[pq.ParquetFile]) -> Iterator[pa.Table]:
    if not files:
        return
    table = sort_rows(pa.concat_tables([parquet.read() for parquet in files]))
    for start in range(0, table.num_rows, ROW_GROUP_ROWS):
        yield table.slice(start, ROW_GROUP_ROWS)


def _check_no_duplicates(chunk: pa.Table, previous_last: tuple[str, str] | None) -> tuple[str, str] | None:
    """Raise ``ValueError`` on a repeated (dataset, path) in sorted ``chunk`` or across chunks."""
    if chunk.num_rows == 0:
        return previous_last
    dataset, path = (chunk[name].combine_chunks() for name in ("dataset", "path"))
    first = (dataset[0].as_py(), path[0].as_py())
    if previous_last is not None and first == previous_last:
        raise ValueError(f"path {first[1]!r} of dataset {first[0]!r} appears in more than one input")
    if chunk.num_rows > 1:
        same = pc.and_(pc.equal(dataset[:-1], dataset[1:]), pc.equal(path[:-1], path[1:]))
        if pc.any(same).as_py():
            index = pc.index(same, True).as_py()
            raise ValueError(
                f"path {path[index].as_py()!r} of dataset {dataset[index].as_py()!r} appears in more than one input"
            )
    return (dataset[-1].as_py(), path[-1].as_py())


class _SortedStream:
    """A sorted Parquet file read batch by batch, consumed from the front."""

    def __init__(self, parquet: pq.ParquetFile, batch_rows: int = READ_BATCH_ROWS) -> None:
        self._batches = parquet.iter_batches(batch_size=batch_rows)
        self._buffer: pa.Table | None = None

    def fill(self) -> bool:
        """Make sure the buffer holds rows; False when the file is exhausted."""
        while self._buffer is None or self._buffer.num_rows == 0:
            batch = next(self._batches, None)
            if batch is None:
                self._buffer = None
                return False
            self._buffer = pa.Table.from_batches([batch])
        return True

    def last_key(self) -> tuple[str, str]:
        assert self._buffer is not None
        return (self._buffer["dataset"][-1].as_py(), self._buffer["path"][-1].as_py())

    def take_through(self, bound: tuple[str, str]) -> pa.Table:
        """Remove and return the buffered rows whose (dataset, path) is <= ``bound``."""
        assert self._buffer is not None
        dataset, path = self._buffer["dataset"], self._buffer["path"]
        below = pc.or_(
            pc.less(dataset, bound[0]),
            pc.and_(pc.equal(dataset, bound[0]), pc.less_equal(path, bound[1])),
        )
        count = pc.sum(below).as_py() or 0
        head, self._buffer = self._buffer.slice(0, count), self._buffer.slice(count)
        return head
