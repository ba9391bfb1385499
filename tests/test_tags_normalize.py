"""End to end: normalize raw tables into the model-ready table, vocabulary and summary."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import needs_shared

from sdaie.exif.schema import RAW_SCHEMA
from sdaie.tags.categorical import CATEGORICAL_TAGS, index_column
from sdaie.tags.normalize import normalize_tables, output_columns
from sdaie.tags.ranges import NUMERIC_TAGS
from sdaie.tags.split import SPLITS
from sdaie.tags.synthetic import synthetic_raw_table
from sdaie.tags.vocab import Vocabulary

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
MANIFEST = SHARED / "data" / "photos" / "manifest.csv"
ERROR_ROWS = 3
pytestmark = needs_shared("data", "photos", "manifest.csv")


def _manifest_rows() -> list[dict[str, str]]:
    with MANIFEST.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _value(text: str, dtype: pa.DataType):
    if text == "":
        return None
    if pa.types.is_floating(dtype):
        return float(text)
    if pa.types.is_integer(dtype):
        return int(text)
    return text


def _raw_table(rows: list[dict[str, str]]) -> pa.Table:
    """Raw-schema table: manifest columns mapped to raw columns, everything else null, plus a few
    unreadable files (error set, no tags)."""
    n = len(rows) + ERROR_ROWS
    columns = {}
    for field in RAW_SCHEMA:
        if field.name == "dataset":
            values = ["photos"] * n
        elif field.name == "path":
            values = [row["path"] for row in rows] + [f"broken/{i}.jpg" for i in range(ERROR_ROWS)]
        elif field.name == "error":
            values = [None] * len(rows) + ["File is empty"] * ERROR_ROWS
        elif field.name in rows[0]:
            values = [_value(row[field.name], field.type) for row in rows] + [None] * ERROR_ROWS
        else:
            values = [None] * n
        columns[field.name] = pa.array(values, field.type)
    return pa.table(columns, schema=RAW_SCHEMA)


def _expected_numeric(rows: list[dict[str, str]]) -> tuple[dict[str, int], dict[str, int]]:
    """Missing and out-of-range counts computed straight from the CSV."""
    missing, out_of_range = {}, {}
    for tag, spec in NUMERIC_TAGS.items():
        values = [float(row[tag]) if row.get(tag) else None for row in rows]
        out_of_range[tag] = sum(v is not None and not spec.low <= v <= spec.high for v in values)
        missing[tag] = sum(v is None or not spec.low <= v <= spec.high for v in values)
    return missing, out_of_range


def _normalize(tmp_path: Path, raw_paths: list[Path], name: str, **kwargs):
    out = tmp_path / name
    stats = normalize_tables(
        raw_paths,
        out / "normalized.parquet",
        vocab_out=out / "vocab.json",
        summary_out=out / "summary.md",
        **kwargs,
    )
    return stats, pl.read_parquet(out / "normalized.parquet"), out


@pytest.fixture(scope="module")
def manifest_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("normalize")
    rows = _manifest_rows()
    raw = tmp_path / "raw.parquet"
    pq.write_table(_raw_table(rows), raw)
    stats, table, out = _normalize(tmp_path, [raw], "run")
    return rows, raw, stats, table, out


def test_manifest_summary_numbers(manifest_run):
    rows, _, stats, table, out = manifest_run
    n = len(rows)
    assert (stats.rows, stats.usable_rows, stats.error_rows) == (n + ERROR_ROWS, n, ERROR_ROWS)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rows"] == n + ERROR_ROWS and summary["error_rows"] == ERROR_ROWS
    # rows with an error belong to no split
    assert sum(s["rows"] for s in summary["splits"].values()) == n
    assert table.filter(~pl.col("usable"))["split"].to_list() == [None] * ERROR_ROWS
    assert set(summary["splits"]) == set(SPLITS)
    for name, entry in summary["splits"].items():
        assert entry["rows"] == table.filter(pl.col("split") == name).height

    missing, out_of_range = _expected_numeric(rows)
    assert summary["out_of_range"] == out_of_range
    # what the real photos hold: one zero exposure time and focal length, ISO 0 on six Fujifilm
    # files, f/0.2 and f/0.64 on five
    assert {k: out_of_range[k] for k in ("exposure_time", "f_number", "iso", "focal_length")} == {
        "exposure_time": 1, "f_number": 5, "iso": 6, "focal_length": 1,
    }
    for tag in NUMERIC_TAGS:
        assert summary["missing"][tag] == missing[tag], tag
        assert summary["missing_rate"][tag] == pytest.approx(missing[tag] / n)
        assert table.filter(pl.col("usable"))[tag].null_count() == missing[tag]
    assert summary["missing"]["make"] == sum(not row["make"] for row in rows) == 1

    for tag, entry in summary["classes"].items():
        total = sum(c["rows"] for c in entry["classes"]) + entry["missing"]
        assert total == n, tag
        assert entry["missing"] == summary["missing"][tag]
        idx = table.filter(pl.col("usable"))[index_column(tag)]
        assert idx.null_count() == entry["missing"]
        for cls in entry["classes"]:
            assert (idx == cls["index"]).sum() == cls["rows"], (tag, cls)

    markdown = (out / "summary.md").read_text()
    for heading in ("## Rows per split", "## Numeric tags", "## Categorical tags", "### make", "*other*"):
        assert heading in markdown


def test_manifest_output_table(manifest_run):
    rows, _, _stats, table, _out = manifest_run
    assert table.columns == output_columns()
    assert table["path"].to_list()[: len(rows)] == [row["path"] for row in rows]  # input order kept
    for tag in CATEGORICAL_TAGS:
        assert table[index_column(tag)].dtype == pl.Int32
    assert table.select(pl.col("^.*_log$")).dtypes == [pl.Float64] * 5
    logs = table.filter(pl.col("exposure_time").is_not_null())
    assert (logs["exposure_time_log"] - logs["exposure_time"].log(2)).abs().max() < 1e-12
    canon = table.filter(pl.col("path").str.contains("Canon_PowerShot_S40"))
    assert canon["make"][0] == "Canon" and canon["model"][0] == "PowerShot S40"
    assert canon["model_key"][0] == "Canon|PowerShot S40"
    nikon = table.filter(pl.col("make") == "Nikon")
    assert not nikon["model"].str.starts_with("NIKON").any()
    assert set(table["make"].drop_nulls()) >= {"Nikon", "Samsung", "Olympus", "Kodak", "Konica Minolta"}
    # error rows: kept, marked, all class indices null, and never counted in the vocabulary
    errors = table.filter(~pl.col("usable"))
    assert errors.height == ERROR_ROWS and errors["error"].null_count() == 0
    assert errors.select(pl.col("^.*_idx$")).null_count().sum_horizontal().item() == ERROR_ROWS * len(CATEGORICAL_TAGS)


def test_vocabulary_built_on_usable_training_rows_only(manifest_run):
    _rows, _, stats, table, out = manifest_run
    vocab = Vocabulary.load(out / "vocab.json")
    assert vocab.hash == stats.vocab_hash == json.loads((out / "summary.json").read_text())["vocabulary"]["hash"]
    train = table.filter(pl.col("usable") & (pl.col("split") == "pretext_train"))
    assert vocab.built_on["rows"] == train.height
    for tag, column in CATEGORICAL_TAGS.items():
        counts = dict(train.group_by(column).len().iter_rows())
        entry = vocab.tags[tag]
        assert entry.counts == [counts[v] for v in entry.values]
        assert all(n >= vocab.min_count for n in entry.counts)
        assert entry.missing_count == counts.get(None, 0)
        assert sum(entry.counts) + entry.other_count + entry.missing_count == train.height
    # classes come from the training split only: values frequent enough overall but not in training
    # are "other" everywhere, validation and test rows included
    leaked = 0
    usable = table.filter(pl.col("usable"))
    for tag, column in CATEGORICAL_TAGS.items():
        overall = usable.group_by(column).len().filter(pl.col(column).is_not_null() & (pl.col("len") >= vocab.min_count))
        for value in overall[column]:
            if value not in vocab.tags[tag].values:
                leaked += 1
                idx = usable.filter(pl.col(column) == value)[index_column(tag)]
                assert (idx == vocab.tags[tag].other_index).all(), (tag, value)
    assert leaked > 0


def test_reuse_vocabulary_on_new_table(manifest_run, tmp_path):
    rows, _, stats, table, out = manifest_run
    shuffled = list(reversed(rows))
    shuffled[0] = {**shuffled[0], "make": "Brand New Maker", "model": "X1"}
    raw = tmp_path / "raw_new.parquet"
    pq.write_table(_raw_table(shuffled), raw)
    stats2, table2, out2 = _normalize(tmp_path, [raw], "reuse", vocab_in=out / "vocab.json", min_count=1)
    assert stats2.vocab_reused and stats2.vocab_hash == stats.vocab_hash
    assert (out2 / "vocab.json").read_bytes() == (out / "vocab.json").read_bytes()
    joined = table.join(table2, on="path", suffix="_new")
    assert joined.height == len(rows) + ERROR_ROWS
    moved = joined.filter(pl.col("path") == shuffled[0]["path"])
    assert moved["make_new"][0] == "Brand New Maker"
    assert moved["make_idx_new"][0] == Vocabulary.load(out / "vocab.json").tags["make"].other_index
    same = joined.filter(pl.col("path") != shuffled[0]["path"])
    for tag in CATEGORICAL_TAGS:
        assert same[index_column(tag)].equals(same[index_column(tag) + "_new"], null_equal=True), tag
    assert same["split"].equals(same["split_new"])


def _as_text(value: float | None) -> str | None:
    if value is None:
        return None
    if value > 0 and (1 / value).is_integer():
        return f" 1/{int(1 / value)} "
    return repr(value)


def test_text_sources_give_the_same_table(manifest_run, tmp_path):
    _rows, raw, _stats, table, out = manifest_run
    source = pl.read_parquet(raw)
    numeric = list(NUMERIC_TAGS)
    codes = [c for c in CATEGORICAL_TAGS.values() if c in source.columns and source[c].dtype == pl.Int32]
    text = source.with_columns(
        *[pl.col(c).map_elements(_as_text, return_dtype=pl.String) for c in numeric],
        *[pl.col(c).cast(pl.String) for c in codes],
    )
    half = len(text) // 2  # one file with floats, one with text: concatenated by the normalizer
    source.head(half).write_parquet(tmp_path / "a.parquet")
    text.slice(half).write_parquet(tmp_path / "b.parquet")
    _, mixed, _ = _normalize(
        tmp_path, [tmp_path / "a.parquet", tmp_path / "b.parquet"], "mixed", vocab_in=out / "vocab.json"
    )
    assert mixed.columns == table.columns
    for column in table.columns:
        if table[column].dtype == pl.Float64:
            diff = (mixed[column] - table[column]).abs().max()
            assert diff is None or diff < 1e-12, column
            assert mixed[column].null_count() == table[column].null_count(), column
        else:
            assert mixed[column].equals(table[column], null_equal=True), column


def test_synthetic_mess_and_empty_table(tmp_path):
    raw = tmp_path / "synthetic.parquet"
    synthetic_raw_table(5000, seed=3).write_parquet(raw)
    stats, table, out = _normalize(tmp_path, [raw], "synthetic", split_fractions={"pretext_train": 0.8, "test": 0.2})
    assert stats.rows == 5000 and set(table["split"].unique()) == {"pretext_train", "test", None}
    assert table.filter(pl.col("split").is_null()).height == stats.error_rows  # error rows: no split
    assert 0 < stats.error_rows < 150
    assert stats.out_of_range["iso"] > 0  # the synthetic ISO 0 values
    assert table.filter(pl.col("make") == "Nikon")["model"].str.starts_with("NIKON").sum() == 0
    assert not (tmp_path / "synthetic" / "normalized.parquet.facts.tmp").exists()
    empty = tmp_path / "empty.parquet"
    synthetic_raw_table(0).write_parquet(empty)
    stats0, table0, _ = _normalize(tmp_path, [empty], "empty", vocab_in=out / "vocab.json")
    assert stats0.rows == 0 and table0.columns == output_columns()
