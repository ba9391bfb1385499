"""Ordinal and continuous tags: physical ranges and scaling, kept as data in one place.

Each numeric tag is parsed to Float64 (:func:`sdaie.tags.parse.parse_float_expr`), then checked
against a physical range: values outside ``[low, high]`` (bounds included) become null and are
counted as out of range in the summary. Zero, which many cameras write for "unknown" (ISO 0, focal
length 0, f-number 0), falls outside every multiplicative range and is counted there too.

Multiplicative quantities (exposure time, f-number, ISO, focal lengths) also get a ``<tag>_log``
column: **log2** of the in-range value, so one unit is one photographic stop for exposure time and
ISO (for f-number one unit is two stops) and later models see evenly spaced steps. Additive APEX
quantities (exposure compensation and brightness value, both already in EV) stay linear and get no
log column. Ranking only needs order, and both the value and its log2 are monotone.

Ranges are generous on purpose: they reject impossible values (negative times, f/0.2, ISO 0), not
unusual photographs (30 s exposures, f/0.95 lenses, ISO 409600, 2000 mm lenses).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class NumericSpec:
    """How one numeric tag is checked and scaled."""

    low: float
    high: float
    log: bool  # True: multiplicative, gets a log2 column
    unit: str


# column -> spec. The order is the column order of the output table.
NUMERIC_TAGS: dict[str, NumericSpec] = {
    # 1/100000 s (fastest electronic shutters ~1/32000) to 2 h (long astro / bulb exposures)
    "exposure_time": NumericSpec(1e-5, 7200.0, True, "s"),
    # f/0.7 (fastest production lenses: Zeiss Planar 50mm f/0.7) to f/256 (pinhole-like)
    "f_number": NumericSpec(0.7, 256.0, True, "f-number"),
    # ISO 1 to 10,000,000 (specialist video bodies reach ~4,000,000)
    "iso": NumericSpec(1.0, 1e7, True, "ISO"),
    # real focal length: 0.5 mm (360-degree and tiny phone modules) to 5000 mm (telescopes)
    "focal_length": NumericSpec(0.5, 5000.0, True, "mm"),
    # 35 mm equivalent: 4 mm (extreme fisheye) to 20000 mm (superzoom digiscoping)
    "focal_length_35mm": NumericSpec(4.0, 20000.0, True, "mm (35 mm equivalent)"),
    # exposure bias in EV; cameras allow +-5 EV, +-10 leaves room for odd firmware
    "exposure_compensation": NumericSpec(-10.0, 10.0, False, "EV"),
    # APEX brightness value Bv; real scenes span about -10 (starlight) to +17 (sunlit snow)
    "brightness_value": NumericSpec(-20.0, 25.0, False, "EV (APEX Bv)"),
}


def log_column(tag: str) -> str:
    return f"{tag}_log"


def output_columns() -> list[str]:
    """Numeric columns of the normalized table, in order (value, then log2 where multiplicative)."""
    columns: list[str] = []
    for tag, spec in NUMERIC_TAGS.items():
        columns.append(tag)
        if spec.log:
            columns.append(log_column(tag))
    return columns


def in_range_expr(value: pl.Expr, spec: NumericSpec) -> pl.Expr:
    """True where ``value`` (Float64, already finite or null) lies in the spec's range."""
    return value.is_between(spec.low, spec.high, closed="both")


def checked_expr(value: pl.Expr, spec: NumericSpec) -> pl.Expr:
    """``value`` where in range, else null."""
    return pl.when(in_range_expr(value, spec)).then(value)


def log_expr(checked: pl.Expr) -> pl.Expr:
    """log2 of an in-range (hence positive) value."""
    return checked.log(2.0)


def out_of_range_expr(value: pl.Expr, spec: NumericSpec) -> pl.Expr:
    """True where a parsed value exists but is outside the range; False where there is no value."""
    return value.is_not_null() & ~in_range_expr(value, spec)


def check_specs() -> None:
    """Sanity check of the table itself (used by the tests)."""
    for tag, spec in NUMERIC_TAGS.items():
        if not spec.low < spec.high:
            raise ValueError(f"{tag}: empty range")
        if spec.log and not (spec.low > 0 and math.isfinite(spec.high)):
            raise ValueError(f"{tag}: log-scaled tags need a positive finite range")
