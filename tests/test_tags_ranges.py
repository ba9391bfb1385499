"""Physical ranges and log scaling of numeric tags (sdaie.tags.ranges)."""

from __future__ import annotations

import math

import polars as pl
import pytest

from sdaie.tags.ranges import (
    NUMERIC_TAGS,
    check_specs,
    checked_expr,
    log_expr,
    out_of_range_expr,
    output_columns,
)


def test_specs_are_consistent():
    check_specs()
    assert {"exposure_time", "f_number", "iso", "focal_length", "focal_length_35mm"} <= {
        tag for tag, spec in NUMERIC_TAGS.items() if spec.log
    }
    assert not NUMERIC_TAGS["exposure_compensation"].log and not NUMERIC_TAGS["brightness_value"].log
    assert output_columns()[:2] == ["exposure_time", "exposure_time_log"]
    assert "brightness_value_log" not in output_columns()


@pytest.mark.parametrize(
    ("tag", "values", "kept"),
    [
        ("exposure_time", [1 / 8000, 1 / 250, 30.0, 0.0, -1.0, 1e6], [True, True, True, False, False, False]),
        ("f_number", [0.95, 1.4, 22.0, 0.2001953125, 0.0, 1000.0], [True, True, True, False, False, False]),
        ("iso", [32.0, 100.0, 409600.0, 0.0, 65535.0], [True, True, True, False, True]),
        ("focal_length", [0.8, 4.2, 600.0, 0.0], [True, True, True, False]),
        ("exposure_compensation", [-2.0, 0.0, 1 / 3, 99.0], [True, True, True, False]),
        ("brightness_value", [-5.0, 0.0, 12.5, -99.99], [True, True, True, False]),
    ],
)
def test_range_checks(tag, values, kept):
    spec = NUMERIC_TAGS[tag]
    frame = pl.DataFrame({"v": [*values, None]})
    out = frame.select(
        checked_expr(pl.col("v"), spec).alias("checked"),
        out_of_range_expr(pl.col("v"), spec).alias("oor"),
    )
    assert out["checked"].to_list() == [v if k else None for v, k in zip(values, kept)] + [None]
    assert out["oor"].to_list() == [not k for k in kept] + [False]


def test_log2_is_monotone_and_in_stops():
    spec = NUMERIC_TAGS["exposure_time"]
    frame = pl.DataFrame({"v": [1 / 1000, 1 / 500, 1 / 250, 1.0, 0.0, None]})
    logs = frame.select(log_expr(checked_expr(pl.col("v"), spec))).to_series().to_list()
    assert logs[3] == 0.0
    assert math.isclose(logs[1] - logs[0], 1.0) and math.isclose(logs[2] - logs[1], 1.0)  # one stop each
    assert logs[4] is None and logs[5] is None
