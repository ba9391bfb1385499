"""A previous raw EXIF table, used by a refresh to reuse the rows of unchanged files.

Only the key columns are loaded up front (``path``, ``bytes``, ``mtime_ns``, ``content_hash``);
the rows chosen for reuse are read later, in path order, batch by batch, so memory does not grow
with the size of the previous table. The file is opened once and held open, so the output may
replace it (same path) while it is being read: the rename does not affect the open file.

A previous table that cannot be read (not Parquet, damaged, not a raw EXIF table) raises
:class:`sdaie.errors.InputError` rather than being ignored: ignoring it would silently read every
file again, and a damaged table usually means something else went wrong. The hint says what to do:
delete it (or, with ``sdaie exif``, pass ``--no-reuse``). A table of an older format (see
:data:`sdaie.exif.schema.FORMAT_VERSION`) is used only for its keys: every file is read again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from sdaie.errors import PARQUET_READ_ERRORS, open_parquet_checked, parquet_error
from sdaie.exif.schema import FORMAT_VERSION, RAW_SCHEMA, format_version
from sdaie.exif.table import READ_BATCH_ROWS, check_schema, is_sorted

PREVIOUS_HINT = "delete it, or run `sdaie exif` with --no-reuse, to read every file again"

log = logging.getLogger(__name__)


class PreviousTable:
    """Key lookup and ordered row access into the rows of one dataset of a previous table.

    A row is reusable when the table is of the current format, the file it describes was read
    (``content_hash`` set) and its size and mtime are known; :meth:`reusable` then compares them
    with the file's current ones. Rows of other datasets (a table merged from several) are ignored.
    Raises :class:`~sdaie.errors.InputError` for a table that cannot be read, now or later.
    """

    def __init__(self, path: Path, dataset: str) -> None:
        self.path = Path(path)
        self._parquet = open_parquet_checked(path, hint=PREVIOUS_HINT)
        try:
            schema = self._parquet.schema_arrow
            check_schema(schema, path, PREVIOUS_HINT)
            keys = self._read_keys()
        except BaseException:
            self._parquet.close()
            raise
        self.format_version = format_version(schema)
        self.current_format = self.format_version == FORMAT_VERSION.decode()
        if not self.current_format:
            log.info(
                "%s: previous table of format %s (current %s: files are also checked to be whole images); "
                "every file is read again", path, self.format_version, FORMAT_VERSION.decode(),
            )
        rows = pc.indices_nonzero(pc.equal(keys["dataset"], dataset))  # row numbers in the file
        keys = keys.take(rows)
        self.num_rows = keys.num_rows
        self._sorted = is_sorted(keys.select(["dataset", "path"]))
        self._keys: dict[str, tuple[int, int | None, int | None, bool]] = {
            path: (index, size, mtime, digest is not None)
            for index, path, size, mtime, digest in zip(
                rows.to_pylist(), *(keys[name].to_pylist() for name in ("path", "bytes", "mtime_ns", "content_hash"))
            )
        }
        del keys, rows
        self._batches = None
        self._batch: pa.RecordBatch | None = None
        self._batch_start = 0
        self._whole: pa.Table | None = None
        self._last_taken = -1

    def _read_keys(self) -> pa.Table:
        try:
            return self._parquet.read(columns=["dataset", "path", "bytes", "mtime_ns", "content_hash"])
        except PARQUET_READ_ERRORS as exc:
            raise parquet_error(self.path, exc, PREVIOUS_HINT) from exc

    def paths(self) -> Iterable[str]:
        """The paths of this dataset's rows."""
        return self._keys.keys()

    def __contains__(self, path: str) -> bool:
        return path in self._keys

    def reusable(self, path: str, size: int, mtime_ns: int) -> int | None:
        """Row index of ``path``'s row if it can be reused for a file of this size and mtime."""
        entry = self._keys.get(path)
        if entry is None:
            return None
        index, old_size, old_mtime, was_read = entry
        if self.current_format and was_read and old_size == size and old_mtime == mtime_ns:
            return index
        return None

    def take(self, indices: list[int]) -> pa.Table:
        """Rows at ``indices``, in that order.

        For a sorted table, requested in path order, the indices increase within and across calls,
        and rows are streamed; otherwise the table is read whole once. A damaged page raises
        :class:`~sdaie.errors.InputError`.
        """
        try:
            return self._take(indices)
        except PARQUET_READ_ERRORS as exc:
            raise parquet_error(self.path, exc, PREVIOUS_HINT) from exc

    def _take(self, indices: list[int]) -> pa.Table:
        if not indices:
            return RAW_SCHEMA.empty_table()
        if not self._sorted:  # rows are not in path order: fall back to reading the table once
            if self._whole is None:
                log.info("previous table is not sorted by dataset and path; reading it whole")
                self._whole = self._parquet.read()
            return self._whole.take(pa.array(indices, pa.int64()))
        if indices[0] <= self._last_taken:
            raise ValueError("PreviousTable.take() indices must increase across calls")
        self._last_taken = indices[-1]
        pieces: list[pa.RecordBatch] = []
        position = 0
        while position < len(indices):
            self._advance_to(indices[position])
            assert self._batch is not None
            end = self._batch_start + self._batch.num_rows
            stop = position
            while stop < len(indices) and indices[stop] < end:
                stop += 1
            local = [index - self._batch_start for index in indices[position:stop]]
            pieces.append(self._batch.take(pa.array(local, pa.int64())))
            position = stop
        return pa.Table.from_batches(pieces).cast(RAW_SCHEMA)

    def _advance_to(self, index: int) -> None:
        """Read forward until the current batch holds row ``index``."""
        if self._batches is None:
            self._batches = self._parquet.iter_batches(batch_size=READ_BATCH_ROWS)
        while self._batch is None or index >= self._batch_start + self._batch.num_rows:
            if self._batch is not None:
                self._batch_start += self._batch.num_rows
            self._batch = next(self._batches)

    def close(self) -> None:
        self._batch = self._batches = self._whole = None
        self._parquet.close()
