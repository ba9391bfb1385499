"""`sdaie exif` and `sdaie tags` on bad input: one line `ERROR <path>: <what> (<hint>)`, exit 2,
never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from sdaie.cli import main
from sdaie.tags.synthetic import synthetic_raw_table


def jpeg(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(0).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, "JPEG")
    return path


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(["--quiet", *map(str, argv)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_error_line(err: str, path: Path, what: str) -> None:
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"ERROR {path}: {what}"), lines[0]
    assert lines[0].endswith(")"), lines[0]


@pytest.fixture
def raw(tmp_path) -> Path:
    path = tmp_path / "raw.parquet"
    synthetic_raw_table(500, seed=2).write_parquet(path)
    return path


def test_exif_output_is_a_folder(tmp_path, capsys):
    jpeg(tmp_path / "photos" / "a.jpg")
    status, _, err = run_cli(capsys, "exif", tmp_path / "photos", "-o", tmp_path)
    assert status == 2
    assert_one_error_line(err, tmp_path, "is a folder; the output must be a file (give a file name")


def test_exif_output_below_a_file(tmp_path, capsys):
    jpeg(tmp_path / "photos" / "a.jpg")
    (tmp_path / "notes").write_text("x")
    output = tmp_path / "notes" / "raw.parquet"
    status, _, err = run_cli(capsys, "exif", tmp_path / "photos", "-o", output)
    assert status == 2
    assert_one_error_line(err, output, f"cannot create the output folder: {tmp_path / 'notes'} is a file, not a folder")


def test_exif_missing_input(tmp_path, capsys):
    status, _, err = run_cli(capsys, "exif", tmp_path / "nowhere", "-o", tmp_path / "raw.parquet")
    assert status == 2
    assert_one_error_line(err, tmp_path / "nowhere", "no such file or folder (check the path)")


def test_exif_damaged_previous_output(tmp_path, capsys):
    """The output exists (a refresh reuses it) but is cut short: an error with the way out."""
    jpeg(tmp_path / "photos" / "a.jpg")
    output = tmp_path / "raw.parquet"
    assert run_cli(capsys, "exif", tmp_path / "photos", "-o", output)[0] == 0
    output.write_bytes(output.read_bytes()[:-40])
    status, _, err = run_cli(capsys, "exif", tmp_path / "photos", "-o", output)
    assert status == 2
    assert_one_error_line(err, output, "not a readable Parquet file")
    assert "--no-reuse" in err
    status, out, _ = run_cli(capsys, "exif", tmp_path / "photos", "-o", output, "--no-reuse")
    assert status == 0 and "1 rows, 0 with errors" in out


def test_exif_fifo_given_directly_gets_an_error_row(tmp_path, capsys):
    os.mkfifo(tmp_path / "pipe.jpg")
    output = tmp_path / "raw.parquet"
    status, out, _ = run_cli(capsys, "exif", tmp_path / "pipe.jpg", "-o", output)
    assert status == 0 and "1 rows, 1 with errors" in out
    assert pq.read_table(output)["error"].to_pylist() == ["not a regular file (FIFO)"]


@pytest.mark.parametrize("case", ["cut", "text", "wrong_columns", "folder", "missing"])
def test_tags_raw_table_that_cannot_be_used(tmp_path, capsys, raw, case):
    path = tmp_path / f"{case}.parquet"
    what = {
        "cut": "not a readable Parquet file",
        "text": "not a readable Parquet file",
        "wrong_columns": "not a raw EXIF table: it lacks the columns content_hash",
        "folder": "not a regular file (directory)",
        "missing": "FileNotFoundError: No such file or directory",
    }[case]
    if case == "cut":
        path.write_bytes(raw.read_bytes()[: raw.stat().st_size // 2])
    elif case == "text":
        path.write_text("hello\n")
    elif case == "wrong_columns":
        pq.write_table(pa.table({"dataset": ["d"], "path": ["a.jpg"], "Make": ["Canon"]}), path)
    elif case == "folder":
        path.mkdir()
    status, out, err = run_cli(capsys, "tags", raw, path, "-o", tmp_path / "out" / "tags.parquet")
    assert status == 2 and out == ""
    assert_one_error_line(err, path, what)
    assert not (tmp_path / "out" / "tags.parquet").exists()


def test_tags_bad_vocabulary(tmp_path, capsys, raw):
    vocabulary = tmp_path / "vocabulary.json"
    vocabulary.write_text('{"format": ')
    status, _, err = run_cli(capsys, "tags", raw, "-o", tmp_path / "tags.parquet", "--vocabulary", vocabulary)
    assert status == 2
    assert_one_error_line(err, vocabulary, "not valid JSON: Expecting value at line 1 column 12")


def test_tags_prints_rows_in_no_split(tmp_path, capsys, raw):
    status, out, _ = run_cli(capsys, "tags", raw, "-o", tmp_path / "tags.parquet")
    table = pq.read_table(tmp_path / "tags.parquet")
    errors = table.num_rows - table["error"].null_count
    assert status == 0 and f"500 rows, {500 - errors} usable, {errors} with errors (in no split)" in out


def test_real_process_exit_status_and_no_traceback(tmp_path):
    """The same through `python -m sdaie`: exit status 2 and one line on stderr."""
    damaged = tmp_path / "damaged.parquet"
    damaged.write_bytes(b"PAR1" + bytes(100) + b"PAR1")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1] / "src"),
                                                         os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-m", "sdaie", "tags", str(damaged), "-o", str(tmp_path / "t.parquet")],
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 2 and result.stdout == ""
    assert_one_error_line(result.stderr, damaged, "not a readable Parquet file")
