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
:func:`with_parsed_columns` gives the same results for many columns of a LazyFrame with the text
work staged in temporary columns (what :mod:`sdaie.tags.normalize` uses).
"""

from __future__ import annotations

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
    text = expr.cast(pl.String).str.strip_chars(" \t\r\n\x00")
    number = text.cast(pl.Float64, strict=False)
    integral = number.is_finite() & (number.round(0) == number) & (number.abs() < 2.0**53)
    return (
        pl.when(text == "")
        .then(pl.lit(None, pl.String))
        .when(integral)
        .then(number.cast(pl.Int64, strict=False).cast(pl.String))
        .otherwise(text)
    )


def with_parsed_columns(
    frame: pl.LazyFrame,
    floats: dict[str, str],
    codes: dict[str, str],
    schema: pl.Schema | dict[str, pl.DataType],
    keep: list[str] | None = None,
) -> pl.LazyFrame:
    """Select ``keep`` columns plus parsed columns from ``frame``, staging the text parsing.

    ``floats`` and ``codes`` map an output name to its source column; the result is the same as
    ``parse_float_expr`` / ``parse_code_expr`` per column, but the text paths run as successive
    ``with_columns`` steps over temporary columns, so every intermediate string is computed once
    whatever the engine's common-subexpression elimination does. Source columns absent from
    ``schema`` give all-null outputs. Output columns: ``keep``, then ``floats``, then ``codes``, in the
    order given, whatever the source dtypes (so tables of different sources concatenate).
    """
    keep = list(keep or [])
    first: list[pl.Expr] = []
    text_floats: list[str] = []
    text_codes: list[str] = []
    for out, source in floats.items():
        dtype = schema.get(source)
        if dtype is None:
            first.append(pl.lit(None, pl.Float64).alias(out))
        elif _is_textual(dtype):
            text_floats.append(out)
            s = pl.col(source).cast(pl.String).str.strip_chars(_STRIP).str.strip_prefix("/")
            first.append(s.alias(f"__s_{out}"))
        else:
            first.append(parse_float_expr(source, dtype).alias(out))
    for out, source in codes.items():
        dtype = schema.get(source)
        if dtype is None:
            first.append(pl.lit(None, pl.String).alias(out))
        elif _is_textual(dtype):
            text_codes.append(out)
            first.append(pl.col(source).cast(pl.String).str.strip_chars(" \t\r\n\x00").alias(f"__t_{out}"))
        else:
            first.append(parse_code_expr(source, dtype).alias(out))
    # with_columns, not select: literal (all-null) outputs then take the frame's height
    staged = frame.with_columns(first).select(*keep, *[expr.meta.output_name() for expr in first])
    order = [*keep, *floats, *codes]
    if not (text_floats or text_codes):
        return staged.select(order)
    second: list[pl.Expr] = []
    for out in text_floats:
        s = pl.col(f"__s_{out}")
        second += [
            s.cast(pl.Float64, strict=False).alias(f"__w_{out}"),
            s.str.find("/", literal=True).alias(f"__p_{out}"),
        ]
    for out in text_codes:
        second.append(pl.col(f"__t_{out}").cast(pl.Float64, strict=False).alias(f"__n_{out}"))
    third: list[pl.Expr] = []
    for out in text_floats:
        s, slash = pl.col(f"__s_{out}"), pl.col(f"__p_{out}")
        numerator = s.str.head(slash).str.strip_chars().cast(pl.Float64, strict=False)
        denominator = s.str.slice(slash + 1).str.strip_chars().cast(pl.Float64, strict=False)
        third.append(
            pl.when(slash.is_null()).then(pl.col(f"__w_{out}")).otherwise(numerator / denominator).alias(f"__v_{out}")
        )
    for out in text_codes:
        text, number = pl.col(f"__t_{out}"), pl.col(f"__n_{out}")
        integral = number.is_finite() & (number.round(0) == number) & (number.abs() < 2.0**53)
        third.append(
            pl.when(text == "")
            .then(pl.lit(None, pl.String))
            .when(integral)
            .then(number.cast(pl.Int64, strict=False).cast(pl.String))
            .otherwise(text)
            .alias(out)
        )
    fourth = [_finite_or_null(pl.col(f"__v_{out}")).alias(out) for out in text_floats]
    return staged.with_columns(second).with_columns(third).with_columns(fourth).select(order)
