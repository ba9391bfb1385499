"""Tests of merging shard tables (and of the atomic Parquet writer they rely on)."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from conftest import SHARED, needs_shared

import sdaie.exif.table as table_module
from sdaie.exif.extract import extract_to_parquet
from sdaie.exif.listing import list_files, shard_of
from sdaie.exif.schema import RAW_SCHEMA
from sdaie.exif.table import AtomicParquetWriter, merge_tables

PHOTOS = SHARED / "data" / "photos"


def synthetic(paths: list[str], dataset: str = "d") -> pa.Table:
    """A RAW_SCHEMA table with the given paths (in that order), a few columns filled."""
    n = len(paths)
    columns = {name: pa.nulls(n, field.type) for name, field in zip(RAW_SCHEMA.names, RAW_SCHEMA)}
    columns["dataset"] = pa.array([dataset] * n, pa.string())
    columns["path"] = pa.array(paths, pa.string())
    columns["bytes"] = pa.array([len(p) for p in paths], pa.int64())
    columns["iso"] = pa.array([float(i) for i in range(n)], pa.float64())
    return pa.Table.from_pydict(columns, schema=RAW_SCHEMA)


def write(table: pa.Table, path: Path) -> Path:
    pq.write_table(table, path, compression="zstd")
    return path


def sorted_concat(paths: list[Path]) -> pa.Table:
    whole = pa.concat_tables([pq.read_table(p) for p in paths])
    return whole.take(pc.sort_indices(whole, sort_keys=[("path", "ascending")]))


@needs_shared("data", "photos")
def test_merge_of_extracted_shards_equals_one_extraction(tmp_path):
    relpaths = [p for p in list_files(PHOTOS) if p.endswith(".jpg")][:60]
    shards = []
    for k in range(3):
        out = tmp_path / f"shard{k}.parquet"
        extract_to_parquet(PHOTOS, [p for p in relpaths if shard_of(p, 3) == k], out, dataset="photos")
        shards.append(out)
    merged = tmp_path / "merged.parquet"
    assert merge_tables(shards, merged) == 60
    result = pq.read_table(merged)
    assert result.schema.equals(RAW_SCHEMA, check_metadata=False)
    assert result.equals(sorted_concat(shards))
    assert result["path"].to_pylist() == sorted(relpaths)
    whole = tmp_path / "whole.parquet"
    extract_to_parquet(PHOTOS, relpaths, whole, dataset="photos")
    assert result.equals(pq.read_table(whole))
    assert pq.ParquetFile(merged).metadata.row_group(0).column(0).compression == "ZSTD"


def test_streaming_merge_across_many_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(table_module, "READ_BATCH_ROWS", 3)
    monkeypatch.setattr(table_module, "ROW_GROUP_ROWS", 7)
    rng = random.Random(7)
    names = [f"{rng.choice('abc')}/{i:04d}-{rng.random():.6f}.jpg" for i in range(300)]
    parts: list[list[str]] = [[], [], [], []]
    for name in names:
        parts[shard_of(name, 4)].append(name)
    parts.append([])  # an empty shard is fine
    inputs = [write(synthetic(sorted(part), dataset="d"), tmp_path / f"s{k}.parquet") for k, part in enumerate(parts)]
    out = tmp_path / "merged.parquet"
    assert merge_tables(inputs, out) == 300
    result = pq.read_table(out)
    assert result["path"].to_pylist() == sorted(names)
    assert result.equals(sorted_concat(inputs))
    assert pq.ParquetFile(out).metadata.num_row_groups > 1


def test_merge_of_more_inputs_than_the_fan_in_runs_in_passes(tmp_path, monkeypatch):
    """17 shards with a fan-in of 3: three passes through hidden temporary files, none left behind."""
    monkeypatch.setattr(table_module, "MERGE_FAN_IN", 3)
    monkeypatch.setattr(table_module, "READ_BATCH_ROWS", 5)
    monkeypatch.setattr(table_module, "ROW_GROUP_ROWS", 11)
    names = [f"d{i % 9}/{i:04d}.jpg" for i in range(400)]
    parts: list[list[str]] = [[] for _ in range(17)]
    for name in names:
        parts[shard_of(name, 17)].append(name)
    inputs = [write(synthetic(sorted(part)), tmp_path / f"s{k:02d}.parquet") for k, part in enumerate(parts)]
    out = tmp_path / "out" / "merged.parquet"
    merged: list[list[Path]] = []
    real_merge = table_module._merge_files
    monkeypatch.setattr(table_module, "_merge_files", lambda files, output, schema: merged.append(files) or real_merge(files, output, schema))
    assert merge_tables(inputs, out) == 400
    assert all(len(files) <= 3 for files in merged) and len(merged) > 6
    result = pq.read_table(out)
    assert result["path"].to_pylist() == sorted(names)
    assert result.equals(sorted_concat(inputs))
    assert sorted(p.name for p in out.parent.iterdir()) == ["merged.parquet"]
    sizes = [pq.ParquetFile(out).metadata.row_group(i).num_rows for i in range(pq.ParquetFile(out).metadata.num_row_groups)]
    assert sizes[:-1] == [11] * (len(sizes) - 1) and 0 < sizes[-1] <= 11  # row groups of ROW_GROUP_ROWS rows


def test_duplicates_in_different_merge_groups_are_rejected(tmp_path, monkeypatch):
    monkeypatch.setattr(table_module, "MERGE_FAN_IN", 2)
    inputs = [write(synthetic([f"{k}.jpg", "same.jpg" if k in (0, 4) else f"{k}b.jpg"]), tmp_path / f"s{k}.parquet")
              for k in range(5)]
    out = tmp_path / "out" / "merged.parquet"
    out.parent.mkdir()
    with pytest.raises(ValueError, match="same.jpg"):
        merge_tables(inputs, out)
    assert list(out.parent.iterdir()) == []


def test_unsorted_inputs_are_sorted(tmp_path):
    inputs = [write(synthetic(["z.jpg", "a.jpg"]), tmp_path / "x.parquet"),
              write(synthetic(["m.jpg", "b/c.jpg"]), tmp_path / "y.parquet")]
    out = tmp_path / "merged.parquet"
    assert merge_tables(inputs, out) == 4
    assert pq.read_table(out)["path"].to_pylist() == ["a.jpg", "b/c.jpg", "m.jpg", "z.jpg"]


def test_tables_of_several_datasets_merge_by_dataset_then_path(tmp_path):
    inputs = [write(synthetic(["a.jpg", "b.jpg"], dataset="photos"), tmp_path / "x.parquet"),
              write(synthetic(["a.jpg", "c.jpg"], dataset="generated"), tmp_path / "y.parquet")]
    out = tmp_path / "merged.parquet"
    assert merge_tables(inputs, out) == 4
    result = pq.read_table(out)
    assert list(zip(result["dataset"].to_pylist(), result["path"].to_pylist())) == [
        ("generated", "a.jpg"), ("generated", "c.jpg"), ("photos", "a.jpg"), ("photos", "b.jpg")]


def test_duplicate_paths_are_rejected(tmp_path):
    inputs = [write(synthetic(["a.jpg", "b.jpg"]), tmp_path / "x.parquet"),
              write(synthetic(["b.jpg", "c.jpg"]), tmp_path / "y.parquet")]
    out = tmp_path / "merged.parquet"
    with pytest.raises(ValueError, match="b.jpg"):
        merge_tables(inputs, out)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.parquet", "y.parquet"]  # no temp file left


def test_wrong_schema_is_rejected(tmp_path):
    good = write(synthetic(["a.jpg"]), tmp_path / "good.parquet")
    bad_table = synthetic(["b.jpg"]).drop_columns(["warning"])
    bad = write(bad_table, tmp_path / "bad.parquet")
    with pytest.raises(ValueError, match="schema"):
        merge_tables([good, bad], tmp_path / "out.parquet")
    # A column of another type is rejected too.
    retyped = synthetic(["c.jpg"]).set_column(RAW_SCHEMA.get_field_index("iso"), "iso", pa.array([1], pa.int64()))
    with pytest.raises(ValueError, match="schema"):
        merge_tables([write(retyped, tmp_path / "retyped.parquet")], tmp_path / "out.parquet")


def test_no_inputs_give_an_empty_table(tmp_path):
    out = tmp_path / "sub" / "merged.parquet"
    assert merge_tables([], out) == 0
    result = pq.read_table(out)
    assert result.num_rows == 0 and result.schema.equals(RAW_SCHEMA, check_metadata=False)


def test_atomic_writer_leaves_old_file_on_failure(tmp_path):
    out = write(synthetic(["old.jpg"]), tmp_path / "t.parquet")
    with pytest.raises(RuntimeError):
        with AtomicParquetWriter(out) as writer:
            writer.write(synthetic(["new.jpg"]))
            raise RuntimeError("boom")
    assert pq.read_table(out)["path"].to_pylist() == ["old.jpg"]
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]
