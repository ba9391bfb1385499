"""Parsing tag values from numbers or text (sdaie.tags.parse)."""

from __future__ import annotations

import math

import polars as pl
import pytest

from sdaie.tags.parse import parse_code_expr, parse_float_expr, with_parsed_columns
from sdaie.tags.synthetic import synthetic_raw_table

TEXT_CASES = [
    ("1/250", 0.004),
    (" 1/250 ", 0.004),
    ("250/1", 250.0),
    ("0.004", 0.004),
    ("1e-3", 0.001),
    (" 1 / 250", 0.004),
    ("+2/3", 2 / 3),
    ("-1/3", -1 / 3),
    ("-1.5", -1.5),
    ("2.8 mm", 2.8),
    ("f/2.8", 2.8),
    ("1/250 s", 0.004),
    ("+0.7 EV", 0.7),
    ("30", 30.0),
    ("inf", None),
    ("-inf", None),
    ("Infinity", None),
    ("nan", None),
    ("3/0", None),
    ("1/", None),
    ("/", None),
    ("", None),
    ("   ", None),
    ("undef", None),
    ("1,5", None),
    (None, None),
]


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-12)


@pytest.mark.parametrize("dtype", [pl.String, None, pl.Categorical])
def test_parse_float_from_text(dtype):
    frame = pl.DataFrame({"x": [text for text, _ in TEXT_CASES]}, schema={"x": pl.String})
    if dtype == pl.Categorical:
        frame = frame.with_columns(pl.col("x").cast(pl.Categorical))
    got = frame.select(parse_float_expr("x", dtype)).to_series().to_list()
    for (text, expected), value in zip(TEXT_CASES, got):
        assert _close(value, expected), (text, value, expected)


def test_parse_float_from_numbers():
    frame = pl.DataFrame(
        {
            "f": [0.004, 250.0, float("inf"), float("nan"), None],
            "i": [1, 250, None, 0, -3],
        },
        schema={"f": pl.Float64, "i": pl.Int32},
    )
    out = frame.select(parse_float_expr("f", pl.Float64), parse_float_expr("i", pl.Int32))
    assert out.schema == pl.Schema({"f": pl.Float64, "i": pl.Float64})
    assert out["f"].to_list() == [0.004, 250.0, None, None, None]
    assert out["i"].to_list() == [1.0, 250.0, None, 0.0, -3.0]
    # without a dtype the expression casts through text and still gives the same numbers
    assert frame.select(parse_float_expr("f")).to_series().to_list() == [0.004, 250.0, None, None, None]


def test_parse_code_forms():
    text = pl.DataFrame({"x": ["24", " 24 ", "24.0", "Auto", "", None, "2.5"]})
    assert text.select(parse_code_expr("x", pl.String)).to_series().to_list() == [
        "24", "24", "24", "Auto", None, None, "2.5",
    ]
    ints = pl.DataFrame({"x": [24, None, 0]}, schema={"x": pl.Int32})
    assert ints.select(parse_code_expr("x", pl.Int32)).to_series().to_list() == ["24", None, "0"]
    floats = pl.DataFrame({"x": [24.0, 2.5, None]})
    assert floats.select(parse_code_expr("x", pl.Float64)).to_series().to_list() == ["24", "2.5", None]


def test_staged_parsing_matches_single_expressions():
    raw = synthetic_raw_table(3000, seed=5, numeric_as_text=True)
    floats = {"t": "exposure_time", "f": "f_number", "c": "exposure_compensation", "b": "brightness_value"}
    codes = {"fl": "flash", "m": "metering_mode"}
    staged = with_parsed_columns(raw.lazy(), floats, codes, raw.schema, keep=["path"]).collect()
    single = raw.select(
        "path",
        *[parse_float_expr(src, raw.schema[src]).alias(out) for out, src in floats.items()],
        *[parse_code_expr(src, raw.schema[src]).alias(out) for out, src in codes.items()],
    )
    assert staged.columns == ["path", *floats, *codes]
    assert staged.equals(single)
    # and a source column that does not exist gives nulls of the right type
    missing = with_parsed_columns(raw.lazy(), {"z": "nope"}, {"y": "nope"}, raw.schema).collect()
    assert missing.schema == pl.Schema({"z": pl.Float64, "y": pl.String})
    assert missing.null_count().row(0) == (len(raw), len(raw))
