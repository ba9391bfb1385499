"""Vectorized parsing of tag values that may arrive as numbers or as strings.

The raw table of :mod:`sdaie.exif.schema` stores numeric tags as Float64 and EXIF codes as Int32, but
tables from other sources carry the same tags as text, in whatever form the writer chose
(``"1/250"``, ``" 1/250 "``, ``"0.004"``, ``"250/1"``, ``"2.8 mm"``, ``"inf"``, ``""``, ``"undef"``).
The helpers here turn either kind into one clean dtype with plain polars string kernels (no Python
per row):

* :func:`parse_float_expr` -> Float64: numbers and rationals ``a/b``; surrounding whitespace and unit
  words (``mm``, ``s``, ``EV``, ``f/``) are ignored; anything unparsable, empty, infinite or NaN
  (including ``x/0``) becomes null.
* :func:`parse_code_expr` -> String: a categorical EXIF code in canonical text form. Integral numbers
  print without a decimal part (``24``, ``24.0`` and ``" 24 "`` all give ``"24"``); other text is
  kept trimmed; empty text is null.

Both take the column's dtype when the caller knows it (``LazyFrame.collect_schema()``): numeric
columns then skip the string path entirely. Without a dtype the expression casts to String first,
which works for every dtype but costs a float-to-text round trip on numeric columns.
:func:`with_parsed_columns` gives the same results for many columns of a LazyFrame, parsing each
text column once per distinct value (what :mod:`sdaie.tags.normalize` uses: raw tags take few
distinct values).
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

# Characters stripped from both ends of a numeric string: whitespace and ASCII letters, which removes
# units ("mm", "s", "sec", "EV") and words that carry no number ("undef", "inf", "nan" -> "" -> null).
_STRIP = " \t\r\n\x00" + "abcdefghijklmnopqrstuvwxyz" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _as_expr(column: str | pl.Expr) -> pl.Expr:
    return pl.col(column) if isinstance(column, str) else column


def _is_textual(dtype: pl.DataType | None) -> bool:
    if dtype is None:
        return True
    return dtype == pl.String or isinstance(dtype, (pl.Categorical, pl.Enum))


def _is_numeric(dtype: pl.DataType | None) -> bool:
    return dtype is not None and (dtype.is_numeric() or dtype == pl.Boolean)


def _finite_or_null(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr.is_finite()).then(expr)


def parse_float_text_expr(text: pl.Expr) -> pl.Expr:
    """Parse a String expression to Float64 (numbers and ``a/b`` rationals); see the module doc."""
    s = text.str.strip_chars(_STRIP).str.strip_prefix("/")  # "f/2.8" -> "/2.8" -> "2.8"
    slash = s.str.find("/", literal=True)  # null where there is no slash
    whole = s.str.strip_chars().cast(pl.Float64, strict=False)
    numerator = s.str.head(slash).str.strip_chars().cast(pl.Float64, strict=False)
    denominator = s.str.slice(slash + 1).str.strip_chars().cast(pl.Float64, strict=False)
    value = pl.when(slash.is_null()).then(whole).otherwise(numerator / denominator)
    return _finite_or_null(value)


def parse_float_expr(column: str | pl.Expr, dtype: pl.DataType | None = None) -> pl.Expr:
    """A Float64 expression for ``column`` whatever its dtype (numeric, String, Categorical, ...).

    ``dtype`` is the column's dtype if known; numeric columns are then only cast. Non-finite results
    (``inf``, ``nan``, ``x/0``) are null. The output keeps the input's name.
    """
    expr = _as_expr(column)
    if _is_numeric(dtype):
        return _finite_or_null(expr.cast(pl.Float64))
    if dtype == pl.Null:
        return expr.cast(pl.Float64)
    return parse_float_text_expr(expr.cast(pl.String))


def parse_code_text_expr(text: pl.Expr) -> pl.Expr:
    """Canonical code text of a String expression (the text case of :func:`parse_code_expr`)."""
    text = text.str.strip_chars(" \t\r\n\x00")
    number = text.cast(pl.Float64, strict=False)
    integral = number.is_finite() & (number.round(0) == number) & (number.abs() < 2.0**53)
    return (
        pl.when(text == "")
        .then(pl.lit(None, pl.String))
        .when(integral)
        .then(number.cast(pl.Int64, strict=False).cast(pl.String))
        .otherwise(text)
    )


def parse_code_expr(column: str | pl.Expr, dtype: pl.DataType | None = None) -> pl.Expr:
    """A String expression with a categorical code in canonical text form (see the module doc)."""
    expr = _as_expr(column)
    if dtype is not None and dtype.is_integer():
        return expr.cast(pl.String)
    if dtype == pl.Boolean:
        return expr.cast(pl.Int8).cast(pl.String)
    if dtype == pl.Null:
        return expr.cast(pl.String)
    if _is_numeric(dtype):  # floats, decimals
        value = _finite_or_null(expr.cast(pl.Float64))
        integral = value.round(0) == value
        return (
            pl.when(integral)
            .then(value.cast(pl.Int64, strict=False).cast(pl.String))
            .otherwise(value.cast(pl.String))
        )
    return parse_code_text_expr(expr.cast(pl.String))


def by_distinct_values(
    parse: Callable[[pl.Expr], pl.Expr], dtype: pl.DataType
) -> Callable[[pl.Series], pl.Series]:
    """A batch function for ``Expr.map_batches``: ``parse`` on the batch's distinct values only.

    Rows pick up their value by a hash lookup (``replace_strict``), so a column with few distinct
    strings (the usual case: ``"1/250"``, ``"f/2.8"``...) costs one lookup per row instead of a chain
    of string kernels. A batch with mostly distinct values is parsed row by row. Either way the result
    equals ``parse`` applied to every row (null rows give null, as ``parse`` does).
    """

    def run(batch: pl.Series) -> pl.Series:
        distinct = batch.unique().drop_nulls()
        if 2 * len(distinct) > len(batch):
            return batch.to_frame("v").select(parse(pl.col("v")).cast(dtype)).to_series().alias(batch.name)
        parsed = distinct.to_frame("v").select(parse(pl.col("v")).cast(dtype)).to_series()
        return batch.replace_strict(distinct, parsed, default=None, return_dtype=dtype)

    return run


def with_parsed_columns(
    frame: pl.LazyFrame,
    floats: dict[str, str],
    codes: dict[str, str],
    schema: pl.Schema | dict[str, pl.DataType],
    keep: list[str] | None = None,
) -> pl.LazyFrame:
    """Select ``keep`` columns plus parsed columns from ``frame``, parsing text on distinct values.

    ``floats`` and ``codes`` map an output name to its source column; the result is the same as
    ``parse_float_expr`` / ``parse_code_expr`` per column, but text columns are parsed once per
    distinct value in each batch (:func:`by_distinct_values`; elementwise, so it streams). Source
    columns absent from ``schema`` give all-null outputs. Output columns: ``keep``, then ``floats``,
    then ``codes``, in the order given, whatever the source dtypes (so tables of different sources
    concatenate).
    """
    keep = list(keep or [])
    exprs: list[pl.Expr] = []
    for out, source in floats.items():
        dtype = schema.get(source)
        if dtype is None:
            exprs.append(pl.lit(None, pl.Float64).alias(out))
        elif _is_textual(dtype):
            batch = by_distinct_values(parse_float_text_expr, pl.Float64)
            text = pl.col(source).cast(pl.String)
            exprs.append(text.map_batches(batch, return_dtype=pl.Float64, is_elementwise=True).alias(out))
        else:
            exprs.append(parse_float_expr(source, dtype).alias(out))
    for out, source in codes.items():
        dtype = schema.get(source)
        if dtype is None:
            exprs.append(pl.lit(None, pl.String).alias(out))
        elif _is_textual(dtype):
            batch = by_distinct_values(parse_code_text_expr, pl.String)
            text = pl.col(source).cast(pl.String)
            exprs.append(text.map_batches(batch, return_dtype=pl.String, is_elementwise=True).alias(out))
        else:
            exprs.append(parse_code_expr(source, dtype).alias(out))
    # with_columns, not select: literal (all-null) outputs then take the frame's height
    return frame.with_columns(exprs).select(*keep, *floats, *codes)
