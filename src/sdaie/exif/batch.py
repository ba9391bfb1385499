"""Extract one batch of files into rows: hash and check each file, send the readable ones to exiftool.

Each file is hashed and checked to be a whole image (:func:`sdaie.imagecheck.image_problem`) while
exiftool reads the batch; a file exiftool reads without error but that fails the image check (a
truncated JPEG, a text file named ``.jpg``) gets its metadata row with ``error`` set to the
check's reason.

No file in a batch can cost the batch its other rows:

* files that cannot be stat'ed, or are not regular files, get an error row and are not sent to
  exiftool; files that cannot be opened or read (hashed) get an error row whatever exiftool says;
* exiftool's non-zero exit status for a corrupt file is ignored, its record is used as is;
* a file missing from exiftool's JSON output is retried alone, and if exiftool still says nothing
  about it, it gets an error row holding exiftool's stderr message;
* if the exiftool process itself fails, it is restarted and every file of the batch retried alone.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass

import pyarrow as pa

from sdaie.exif.exifjson import SOURCE_FILE
from sdaie.exif.fileinfo import FileInfo, read_file_info, stat_file
from sdaie.exif.rows import Row, error_row, record_row, rows_to_table
from sdaie.exif.runner import ExifToolRunner
from sdaie.imagecheck import image_problem

log = logging.getLogger(__name__)

NEWLINE_ERROR = "file name contains a line break, which exiftool's argument list cannot carry"


@dataclass(frozen=True, slots=True)
class BatchItem:
    """A file to extract: its path relative to the root, and the path as written in the table."""

    relpath: str
    column_path: str


@dataclass(slots=True)
class _Pending:
    index: int
    item: BatchItem
    abs_path: str
    fs_path: bytes


def extract_batch(
    runner: ExifToolRunner, root: str, dataset: str, items: Sequence[BatchItem], hasher: Executor | None = None
) -> pa.Table:
    """Rows for ``items`` (files under ``root``), in the order given, as a :data:`RAW_SCHEMA` table.

    Each file is ``stat``-ed first; only regular files go to exiftool (a FIFO would block it).
    With a ``hasher`` executor, the files are hashed and image-checked there while exiftool reads
    them, so the two overlap; otherwise they are hashed and checked before.
    """
    rows: list[Row | None] = [None] * len(items)
    pending: list[_Pending] = []
    for index, item in enumerate(items):
        abs_path = os.path.join(root, item.relpath)
        problem = stat_file(abs_path)
        if problem is not None:
            rows[index] = error_row(dataset, item.column_path, problem, problem.error or "")
            continue
        fs_path = os.fsencode(abs_path)
        if b"\n" in fs_path:
            rows[index] = error_row(dataset, item.column_path, read_file_info(abs_path), NEWLINE_ERROR)
            continue
        pending.append(_Pending(index, item, abs_path, fs_path))
    if pending:
        paths = [p.abs_path for p in pending]
        if hasher is None:
            infos = _inspect_all(paths)
            _read_with_exiftool(runner, dataset, pending, infos, rows)
        else:
            future = hasher.submit(_inspect_all, paths)
            try:
                _read_with_exiftool(runner, dataset, pending, future, rows)
            finally:
                future.result()  # never leave a hashing task behind
    return rows_to_table(rows)  # type: ignore[arg-type]  # every slot is filled by now


@dataclass(frozen=True, slots=True)
class _Inspected:
    """A file's size, mtime and hash, and why it is not a whole image (``None``: it is)."""

    info: FileInfo
    image_problem: str | None


def _inspect_all(paths: list[str]) -> list[_Inspected]:
    inspected = []
    for path in paths:
        info = read_file_info(path)
        inspected.append(_Inspected(info, image_problem(path) if info.error is None else None))
    return inspected


def _read_with_exiftool(
    runner: ExifToolRunner,
    dataset: str,
    pending: list[_Pending],
    infos: list[_Inspected] | Future[list[_Inspected]],
    rows: list[Row | None],
) -> None:
    """Fill ``rows`` for the ``pending`` files: one exiftool call, then single-file retries.

    A file that could not be hashed gets an error row whatever exiftool said about it; one that
    fails the image check gets exiftool's row with the check's reason as ``error`` (exiftool's own
    error, when it has one, comes first).
    """
    try:
        output = runner.read([p.fs_path for p in pending])
    except Exception as exc:  # broken process or unparseable output: retry every file alone
        log.warning("exiftool failed on a batch of %d files (%s); retrying them one by one", len(pending), exc)
        runner.restart()
        output = None
    if isinstance(infos, Future):
        infos = infos.result()
    by_source = {} if output is None else {record.get(SOURCE_FILE): record for record in output.records}
    for p, inspected in zip(pending, infos):
        info = inspected.info
        if info.error is not None:
            rows[p.index] = error_row(dataset, p.item.column_path, info, info.error)
            continue
        record = by_source.get(p.abs_path)
        if record is None:
            rows[p.index] = _read_alone(runner, dataset, p, inspected)
        else:
            rows[p.index] = record_row(
                dataset, p.item.column_path, info, record, runner.version or "", inspected.image_problem
            )


def _read_alone(runner: ExifToolRunner, dataset: str, p: _Pending, inspected: _Inspected) -> Row:
    """Retry one file on its own; its record if exiftool gives one, else an error row."""
    info = inspected.info
    try:
        output = runner.read([p.fs_path])
    except Exception as exc:
        log.warning("exiftool failed on %s: %s", p.item.relpath, exc)
        runner.restart()
        return error_row(dataset, p.item.column_path, info, f"exiftool failed: {exc}", runner.version)
    if len(output.records) == 1:  # alone, the record is this file's whatever its SourceFile says
        return record_row(
            dataset, p.item.column_path, info, output.records[0], runner.version or "", inspected.image_problem
        )
    message = output.stderr.replace(p.abs_path, p.item.relpath)
    if not message:
        message = f"exiftool gave no output for this file (exit status {output.status})"
    return error_row(dataset, p.item.column_path, info, message, runner.version)
