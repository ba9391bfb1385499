"""Input that cannot be used: one exception type that names the file, and readers that raise it.

Every file the program reads can be missing, of the wrong kind or corrupt. The readers here turn
what the libraries raise (pyarrow's ``ArrowInvalid`` and ``OSError``, polars' errors, ``json``'s
``JSONDecodeError``, ``OSError``) into :class:`InputError`, whose message is one line::

    <path>: <what is wrong> (<what to do>)

The command line prints it as ``ERROR <path>: <what> (<hint>)`` and exits with status 2; a Python
caller catches ``InputError`` (a ``ValueError``) and reads ``.path``, ``.what`` and ``.hint``.

Paths are checked with ``stat`` before they are opened: a FIFO opened for reading would block
forever, so anything that is not a regular file is refused without opening it.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

PARQUET_HINT = "recreate it with the command that wrote it"
DANGLING_LINK = "dangling symbolic link: its target does not exist"


class InputError(ValueError):
    """A file or path given to sdaie cannot be used; ``str()`` is ``<path>: <what> (<hint>)``.

    ``path``: the file or folder at fault; ``what``: what is wrong with it; ``hint``: what to do.
    Line breaks in ``what`` and ``hint`` are folded into spaces, so the message is one line.
    """

    def __init__(self, path: str | os.PathLike, what: str, hint: str) -> None:
        self.path = os.fspath(path)
        self.what = " ".join(str(what).split())
        self.hint = " ".join(str(hint).split())
        super().__init__(f"{self.path}: {self.what} ({self.hint})")


def file_kind(mode: int) -> str:
    """``"directory"``, ``"FIFO"``, ``"socket"``... for a ``st_mode`` that is not a regular file."""
    for test, name in (
        (stat.S_ISDIR, "directory"),
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
    ):
        if test(mode):
            return name
    return "special file"


def describe_os_error(exc: OSError) -> str:
    """``"PermissionError: Permission denied"``: the kind of failure, without the path."""
    return f"{type(exc).__name__}: {exc.strerror or exc}"


def regular_file_problem(path: str | bytes | os.PathLike) -> str | None:
    """Why ``path`` is not a readable regular file (after following links), or ``None``.

    Only ``stat`` is used, nothing is opened. A dangling symbolic link is named as such.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError as exc:
        if os.path.islink(path):
            return DANGLING_LINK
        return describe_os_error(exc)
    except OSError as exc:
        return describe_os_error(exc)
    if not stat.S_ISREG(info.st_mode):
        return f"not a regular file ({file_kind(info.st_mode)})"
    return None


def check_regular_file(path: str | os.PathLike, hint: str) -> None:
    """Raise :class:`InputError` unless ``path`` is a regular file (never opens it)."""
    problem = regular_file_problem(path)
    if problem is not None:
        raise InputError(path, problem, hint)


def parquet_error(path: str | os.PathLike, exc: BaseException, hint: str = PARQUET_HINT) -> InputError:
    """The :class:`InputError` for a Parquet file that pyarrow or polars could not read."""
    if isinstance(exc, OSError) and exc.errno is not None:
        return InputError(path, f"cannot read the file: {describe_os_error(exc)}", hint)
    return InputError(path, f"not a readable Parquet file: {exc}", hint)


# What pyarrow raises for a file that is not Parquet or is damaged (polars: see polars_read_errors).
PARQUET_READ_ERRORS: tuple[type[BaseException], ...] = (OSError, pa.ArrowException)


def polars_read_errors() -> tuple[type[BaseException], ...]:
    """What polars (imported only here, when asked) or pyarrow raise for a damaged Parquet file."""
    import polars.exceptions

    return (*PARQUET_READ_ERRORS, polars.exceptions.PolarsError)


def missing_columns(names: Iterable[str], required: Iterable[str]) -> list[str]:
    """The ``required`` column names not in ``names``, in ``required``'s order."""
    present = set(names)
    return [name for name in required if name not in present]


def open_parquet_checked(
    path: str | os.PathLike,
    required_columns: Iterable[str] = (),
    hint: str = PARQUET_HINT,
    kind: str = "the expected table",
) -> pq.ParquetFile:
    """Open a Parquet file for streaming reads: a regular file, a valid footer, the columns needed.

    Raises :class:`InputError` otherwise (missing columns: "not <kind>: it lacks the columns ...").
    Data pages are not read here; errors in them surface while reading (turn them into
    :class:`InputError` with :func:`parquet_error`).
    """
    check_regular_file(path, hint)
    try:
        parquet = pq.ParquetFile(path)
    except PARQUET_READ_ERRORS as exc:
        raise parquet_error(path, exc, hint) from exc
    missing = missing_columns(parquet.schema_arrow.names, required_columns)
    if missing:
        parquet.close()
        raise InputError(path, f"not {kind}: it lacks the columns {', '.join(missing)}", hint)
    return parquet


def read_parquet_checked(
    path: str | os.PathLike,
    required_columns: Iterable[str] = (),
    columns: list[str] | None = None,
    hint: str = PARQUET_HINT,
    kind: str = "the expected table",
) -> pa.Table:
    """Read a whole Parquet table (or ``columns`` of it), raising :class:`InputError` on any fault:
    not a regular file, not Parquet, damaged pages, or a ``required_columns`` name missing."""
    parquet = open_parquet_checked(path, required_columns, hint, kind)
    try:
        return parquet.read(columns=columns)
    except PARQUET_READ_ERRORS as exc:
        raise parquet_error(path, exc, hint) from exc
    finally:
        parquet.close()


def read_json_checked(path: str | os.PathLike, hint: str) -> Any:
    """The parsed JSON of a file; :class:`InputError` if it is missing, unreadable or not JSON."""
    check_regular_file(path, hint)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(path, f"cannot read the file: {describe_os_error(exc)}", hint) from exc
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not a UTF-8 text file ({exc.reason} at byte {exc.start})", hint) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", hint) from exc


def check_output_file(path: str | os.PathLike) -> None:
    """Make sure a file can be written at ``path`` before any work starts.

    Creates the missing parent folders, then creates and removes a hidden probe file in the
    parent (the honest test: it also catches read-only mounts and ACLs, and works for root).
    Raises :class:`InputError` when ``path`` is a folder, or its folder cannot be created or
    written.
    """
    path = Path(path)
    hint = "choose an output path in a folder you can write"
    if path.is_dir():
        raise InputError(path, "is a folder; the output must be a file", "give a file name, e.g. " + str(path / "out.parquet"))
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError(path, f"cannot create the output folder: {ancestor} is a file, not a folder", hint)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(path, f"cannot create the output folder: {describe_os_error(exc)}", hint) from exc
    try:
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".sdaie-write-test-"):
            pass
    except OSError as exc:
        raise InputError(path, f"cannot write in the output folder: {describe_os_error(exc)}", hint) from exc
