"""`normalize_tables` on input that is not what it should be: one InputError naming the file, before
any output is written; and rows with an error in no split."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import needs_shared
from damage import damage_column

from sdaie.errors import InputError
from sdaie.tags.normalize import RAW_COLUMNS_READ, normalize_tables
from sdaie.tags.synthetic import synthetic_raw_table

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
BROKEN = SHARED / "edge_cases" / "broken_files"
PHOTOS = SHARED / "photos" / "exif-samples"
RAW_HINT = "give a raw EXIF table written by `sdaie exif`"


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("raw") / "raw.parquet"
    synthetic_raw_table(3000, seed=1).write_parquet(path, compression="zstd", row_group_size=1000)
    return path


def normalize(raw_paths: list[Path], out: Path, **options):
    return normalize_tables(raw_paths, out / "tags.parquet", vocab_out=out / "vocabulary.json",
                            summary_out=out / "summary.md", **options)




def expect_input_error(raw_paths: list[Path], out: Path, path: Path, what: str, **options) -> InputError:
    with pytest.raises(InputError) as caught:
        normalize(raw_paths, out, **options)
    error = caught.value
    assert error.path == str(path) and error.what.startswith(what), error.what
    assert str(error) == f"{path}: {error.what} ({error.hint})" and "\n" not in str(error)
    assert not (out / "tags.parquet").exists()
    return error


def test_table_without_the_raw_columns_is_an_error_naming_them(tmp_path, raw):
    """The issue's case: dataset, path and Make only gave exit 0 and every tag null."""
    bad = tmp_path / "three_columns.parquet"
    pq.write_table(pa.table({"dataset": ["d"], "path": ["a.jpg"], "Make": ["Canon"]}), bad)
    error = expect_input_error([raw, bad], tmp_path / "out", bad, "not a raw EXIF table: it lacks the columns content_hash")
    assert all(name in error.what for name in RAW_COLUMNS_READ if name not in ("dataset", "path"))
    assert error.hint == RAW_HINT
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_parquet_that_is_cut_short_text_or_empty(tmp_path, raw):
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(raw.read_bytes()[: raw.stat().st_size // 2])
    expect_input_error([cut], tmp_path / "o1", cut, "not a readable Parquet file: Parquet magic bytes not found")
    text = tmp_path / "notes.parquet"
    text.write_text("not a table\n")
    expect_input_error([text], tmp_path / "o2", text, "not a readable Parquet file")
    empty = tmp_path / "empty.parquet"
    empty.write_bytes(b"")
    expect_input_error([empty], tmp_path / "o3", empty, "not a readable Parquet file: Parquet file size is 0 bytes")


def test_parquet_damaged_in_the_middle(tmp_path, raw):
    """Footer and schema intact, a data page damaged: found while reading, the file still named."""
    damaged = tmp_path / "damaged.parquet"
    shutil.copyfile(raw, damaged)
    damage_column(damaged, "make")
    expect_input_error([raw, damaged], tmp_path / "out", damaged, "not a readable Parquet file")


def test_paths_that_are_not_regular_files(tmp_path, raw):
    os.mkfifo(tmp_path / "pipe.parquet")
    (tmp_path / "folder.parquet").mkdir()
    shutil.copyfile(raw, tmp_path / "folder.parquet" / "part.parquet")  # polars would read a folder of parts
    (tmp_path / "dangling.parquet").symlink_to(tmp_path / "gone.parquet")
    cases = {
        "pipe.parquet": "not a regular file (FIFO)",
        "folder.parquet": "not a regular file (directory)",
        "dangling.parquet": "dangling symbolic link: its target does not exist",
        "missing.parquet": "FileNotFoundError: No such file or directory",
    }
    errors = {}

    def run() -> None:
        for name in cases:
            errors[name] = expect_input_error([tmp_path / name], tmp_path / f"out_{name}", tmp_path / name, cases[name])

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "reading a FIFO hung"
    assert set(errors) == set(cases)


# --- the vocabulary ------------------------------------------------------------------------------

VOCAB_HINT = "give the vocabulary.json that `sdaie tags` wrote"


@pytest.fixture(scope="module")
def vocabulary(raw, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("vocab")
    normalize([raw], out)
    return json.loads((out / "vocabulary.json").read_text())


@pytest.mark.parametrize(
    "name, content, what",
    [
        ("malformed", '{"format": "sdaie.tags.vocabulary/1", "tags": {', "not valid JSON: Expecting property name"),
        ("list", "[1, 2]", "not a vocabulary of sdaie: the JSON is a list, not an object"),
        ("other_format", '{"format": "something/2"}', "not a vocabulary of sdaie: format is 'something/2'"),
        ("no_tags", None, "not a vocabulary of sdaie: tags is missing or not an object"),
        ("values_not_strings", None, "not a vocabulary of sdaie: tags.make.values is missing or not a list of strings"),
        ("edited", None, "not a vocabulary of sdaie: vocabulary hash mismatch"),
        ("missing_tag", None, "vocabulary tags"),
        ("binary", b"\xff\xfe\x00garbage", "not a UTF-8 text file"),
    ],
)
def test_vocabulary_that_cannot_be_used(tmp_path, raw, vocabulary, name, content, what):
    if content is None:
        data = json.loads(json.dumps(vocabulary))
        if name == "no_tags":
            del data["tags"]
        elif name == "values_not_strings":
            data["tags"]["make"]["values"] = [1, 2]
        elif name == "edited":
            data["tags"]["make"]["values"][0] = "Edited"
        elif name == "missing_tag":
            del data["tags"]["flash"]
            from sdaie.tags.vocab import Vocabulary

            data["hash"] = Vocabulary.from_dict({**data, "hash": None}).hash
        content = json.dumps(data)
    path = tmp_path / f"{name}.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    error = expect_input_error([raw], tmp_path / "out", path, what, vocab_in=path)
    assert error.hint in (VOCAB_HINT, "give a vocabulary written by this version of `sdaie tags`")


def test_missing_vocabulary(tmp_path, raw):
    missing = tmp_path / "nowhere" / "vocabulary.json"
    expect_input_error([raw], tmp_path / "out", missing, "FileNotFoundError: No such file or directory", vocab_in=missing)


# --- outputs -------------------------------------------------------------------------------------

def test_output_that_cannot_be_written_is_an_error_before_any_work(tmp_path, raw):
    (tmp_path / "taken").mkdir()
    with pytest.raises(InputError, match="is a folder; the output must be a file"):
        normalize_tables([raw], tmp_path / "taken", vocab_out=tmp_path / "v.json", summary_out=tmp_path / "s.md")
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is a file, not a folder") as caught:
        normalize([raw], tmp_path / "file" / "out")
    assert caught.value.path == str(tmp_path / "file" / "out" / "tags.parquet")
    assert not (tmp_path / "v.json").exists()


# --- rows with an error ---------------------------------------------------------------------------

@needs_shared("data", "edge_cases", "broken_files")
def test_broken_files_are_unusable_and_in_no_split(tmp_path):
    """Truncated JPEG, text named .jpg, README, empty file: extracted, then kept out of every split."""
    from sdaie.exif.extract import extract_to_parquet
    from sdaie.exif.listing import list_files

    root = tmp_path / "data"
    shutil.copytree(BROKEN, root)
    for photo in sorted(PHOTOS.glob("*.jpg"))[:6]:
        shutil.copyfile(photo, root / photo.name)
    raw_path = tmp_path / "raw.parquet"
    extract_to_parquet(root, list_files(root), raw_path, dataset="d")
    stats = normalize([raw_path], tmp_path / "out")
    table = pl.read_parquet(tmp_path / "out" / "tags.parquet")
    broken = table.filter(pl.col("path").is_in(["empty.jpg", "header_only.jpg", "not_an_image.jpg", "truncated_half.jpg", "README.txt"]))
    assert broken.height == 5 and broken["usable"].to_list() == [False] * 5
    assert broken["split"].to_list() == [None] * 5
    good = table.filter(pl.col("usable"))
    assert good.height == 6 and good["split"].null_count() == 0
    assert stats.error_rows == 5 and sum(stats.rows_per_split.values()) == 6
