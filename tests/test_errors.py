"""sdaie.errors: the one-line InputError and the readers that raise it."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sdaie.errors import InputError, check_output_file, read_json_checked, read_parquet_checked


def test_input_error_is_one_line_with_path_what_and_hint():
    error = InputError(Path("/data/raw.parquet"), "not a readable Parquet file: Couldn't deserialize thrift\nDeserializing page header failed.\n", "recreate it")
    assert isinstance(error, ValueError)
    assert (error.path, error.hint) == ("/data/raw.parquet", "recreate it")
    assert str(error) == "/data/raw.parquet: not a readable Parquet file: Couldn't deserialize thrift Deserializing page header failed. (recreate it)"


def test_read_parquet_checked(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": [1, 2], "b": ["x", "y"]}), path)
    assert read_parquet_checked(path, ["a"], columns=["a"]).column_names == ["a"]
    with pytest.raises(InputError, match="not a tiny table: it lacks the columns c, d"):
        read_parquet_checked(path, ["a", "c", "d"], kind="a tiny table")
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(InputError, match="not a readable Parquet file"):
        read_parquet_checked(path)


def test_read_json_checked(tmp_path):
    path = tmp_path / "v.json"
    path.write_text('{"a": [1, 2]}')
    assert read_json_checked(path, "hint") == {"a": [1, 2]}
    path.write_text('{"a": [1, 2}')
    with pytest.raises(InputError, match=r"not valid JSON: .* at line 1 column 12 \(hint\)"):
        read_json_checked(path, "hint")


def test_output_in_a_folder_that_cannot_be_written(tmp_path):
    """A read-only folder (checked as user nobody when the tests run as root, who may write anywhere)."""
    world = Path(tempfile.mkdtemp(prefix="sdaie-readonly-"))
    try:
        world.chmod(0o755)
        (world / "locked").mkdir(mode=0o555)
        (world / "locked").chmod(0o555)
        if os.geteuid() == 0:
            os.setegid(65534)
            os.seteuid(65534)
        try:
            with pytest.raises(InputError, match="cannot write in the output folder: PermissionError: Permission denied"):
                check_output_file(world / "locked" / "raw.parquet")
            with pytest.raises(InputError, match="cannot create the output folder: PermissionError"):
                check_output_file(world / "locked" / "sub" / "raw.parquet")
        finally:
            if os.geteuid() != os.getuid():
                os.seteuid(0)
                os.setegid(0)
        assert sorted(p.name for p in (world / "locked").iterdir()) == []
    finally:
        shutil.rmtree(world)
