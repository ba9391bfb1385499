"""Build rows of the raw EXIF table (see :mod:`sdaie.exif.schema`) and turn them into Arrow tables.

A row is made from what the file system says about a file (:class:`~sdaie.exif.fileinfo.FileInfo`)
and, when exiftool read it, exiftool's JSON record for it. Every file gets exactly one row:
:func:`error_row` covers the files exiftool never reported on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pyarrow as pa

from sdaie.exif.exifjson import dump_exif_json
from sdaie.exif.fileinfo import FileInfo
from sdaie.exif.pick import candidates, pick, stored_size
from sdaie.exif.runner import ERROR, FILE_TYPE, WARNING
from sdaie.exif.schema import RAW_SCHEMA, TAGS
from sdaie.exif.values import clean_string, parse_dimension, parse_float, parse_int

Row = dict[str, Any]

_CONVERTERS: dict[pa.DataType, Callable[[Any], Any]] = {
    pa.string(): clean_string,
    pa.int32(): parse_int,
    pa.float64(): parse_float,
}
# (column, exiftool tag, converter, is text) for every typed tag column.
_TAG_CONVERTERS = [(column, tag, _CONVERTERS[dtype], dtype == pa.string()) for column, tag, dtype in TAGS]
_NULL_TAGS: Row = {column: None for column, _, _ in TAGS}


def _base_row(dataset: str, path: str, info: FileInfo) -> Row:
    return {
        "dataset": dataset,
        "path": path,
        "content_hash": info.content_hash,
        "bytes": info.bytes,
        "mtime_ns": info.mtime_ns,
    }


def error_row(dataset: str, path: str, info: FileInfo, error: str, exiftool_version: str | None = None) -> Row:
    """A row for a file exiftool gave no record for: only file-system columns and ``error``."""
    return {
        **_base_row(dataset, path, info),
        "format": None,
        "width": None,
        "height": None,
        **_NULL_TAGS,
        "exif_json": None,
        "warning": None,
        "error": error,
        "exiftool_version": exiftool_version,
    }


def record_row(
    dataset: str,
    path: str,
    info: FileInfo,
    record: dict[str, Any],
    exiftool_version: str,
    image_problem: str | None = None,
) -> Row:
    """A row from exiftool's JSON record for a file.

    Tag columns take the best copy of each tag (standard EXIF first, see :mod:`sdaie.exif.pick`).
    When exiftool reports an ``Error`` for the file (empty file, unknown type...), the row is an
    error row: tags, width and height are null, ``format`` is kept if exiftool named one.
    Otherwise ``image_problem`` (why the file is not a whole image, see :mod:`sdaie.imagecheck`)
    becomes ``error``, and the tags exiftool read are kept.
    ``exif_json`` always holds the record exactly (minus ``SourceFile``).
    """
    exiftool_error = clean_string(record.get(ERROR))
    error = exiftool_error if exiftool_error is not None else image_problem
    row = _base_row(dataset, path, info)
    row["format"] = clean_string(record.get(FILE_TYPE))
    if exiftool_error is None:
        width, height = stored_size(record)
        row["width"], row["height"] = parse_dimension(width), parse_dimension(height)
        copies = candidates(record)
        for column, tag, convert, text in _TAG_CONVERTERS:
            row[column] = convert(pick(copies.get(tag), text=text))
    else:
        row["width"] = row["height"] = None
        row.update(_NULL_TAGS)
    row["exif_json"] = dump_exif_json(record)
    row["warning"] = clean_string(record.get(WARNING))
    row["error"] = error
    row["exiftool_version"] = exiftool_version
    return row


def rows_to_table(rows: Iterable[Row]) -> pa.Table:
    """An Arrow table with exactly :data:`RAW_SCHEMA` from rows in the given order."""
    rows = list(rows)
    columns = {name: [row[name] for row in rows] for name in RAW_SCHEMA.names}
    return pa.Table.from_pydict(columns, schema=RAW_SCHEMA)
