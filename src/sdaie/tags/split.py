"""Deterministic, hash-bucketed split of files into pretext train / validation / one-class fit / test.

Each row gets a number ``u`` in [0, 1) from a 64-bit key and the seed, and ``u`` picks the split
by cumulative fractions (in the order of ``SPLITS``). No shuffle: a row's split depends on nothing but
its own key, the seed and the fractions, so adding or removing other files never moves it.

Key: the first 16 hex digits of ``content_hash`` (the BLAKE2b-128 of the file's bytes), so identical
files share a split wherever they are. Where ``content_hash`` is null (unreadable file) or not hex
(another source), the key is the first 8 bytes of ``blake2b(text, digest_size=8)`` of the
``content_hash`` text, or of ``"<dataset>/<path>"`` when it is null; that fallback runs in Python but
only on those rows.

Mixing: ``z = key + (seed + 1) * 0x9E3779B97F4A7C15 (mod 2**64)`` then the SplitMix64 finalizer;
``u = (z >> 11) / 2**53``. Everything is fixed-width integer arithmetic, identical across platforms
and polars versions (unlike ``Expr.hash``), and :func:`bucket_python` is its pure-Python twin.
"""

from __future__ import annotations

import polars as pl

from sdaie.tags.split_keys import (  # noqa: F401 (re-exported)
    SPLITS,
    TRAIN_SPLIT,
    DEFAULT_FRACTIONS,
    _MASK,
    _M1,
    _M2,
    _GOLDEN,
    check_fractions,
    _thresholds,
    _seed_offset,
    fallback_key,
    hex_key,
    row_key_python,
    bucket_python,
    split_python,
)


def _fill_fallback_keys(batch: pl.Series) -> pl.Series:
    """Struct batch {hex, content_hash, dataset, path} -> UInt64 keys; Python only where hex is null."""
    hex_key_series = batch.struct.field("hex")
    if hex_key_series.null_count() == 0:
        return hex_key_series.alias(batch.name)
    need = hex_key_series.is_null()
    rows = batch.filter(need).struct.unnest().select("content_hash", "dataset", "path").rows()
    keys = pl.Series(
        [fallback_key(h if h is not None else f"{d}/{p}") for h, d, p in rows], dtype=pl.UInt64
    )
    return hex_key_series.scatter(need.arg_true(), keys).alias(batch.name)


def hex_key_expr(content_hash: str = "content_hash") -> pl.Expr:
    """UInt64 from the first 16 hex digits of ``content_hash``; null where it is not such a hash."""
    value = pl.col(content_hash)
    return (
        pl.when(value.str.len_bytes() >= 16)
        .then(value.str.slice(0, 16))
        .str.to_integer(base=16, dtype=pl.UInt64, strict=False)
    )


def key_expr(content_hash: str = "content_hash", dataset: str = "dataset", path: str = "path") -> pl.Expr:
    """UInt64 key per row (see the module doc)."""
    return pl.struct(
        hex_key_expr(content_hash).alias("hex"),
        pl.col(content_hash).cast(pl.String).alias("content_hash"),
        pl.col(dataset).cast(pl.String).alias("dataset"),
        pl.col(path).cast(pl.String).alias("path"),
    ).map_batches(_fill_fallback_keys, return_dtype=pl.UInt64, is_elementwise=True)


_MIX_STEPS = ((30, _M1), (27, _M2))


def bucket_expr(key: pl.Expr, seed: int) -> pl.Expr:
    """Float64 ``u`` in [0, 1) from a UInt64 key (wrapping 64-bit arithmetic).

    A single expression: ``key`` is referenced several times, so pass a column, not a costly
    expression (:func:`with_split` stages the work in columns).
    """
    z = key + pl.lit(_seed_offset(seed), pl.UInt64)
    for shift, multiplier in _MIX_STEPS:
        z = z.xor(z // pl.lit(1 << shift, pl.UInt64)) * pl.lit(multiplier, pl.UInt64)
    z = z.xor(z // pl.lit(1 << 31, pl.UInt64))
    return (z // pl.lit(1 << 11, pl.UInt64)).cast(pl.Float64) / float(1 << 53)


def _split_from_u(u: pl.Expr, fractions: dict[str, float]) -> pl.Expr:
    thresholds = _thresholds(check_fractions(fractions))
    total, name = thresholds[0]
    chain = pl.when(u < total).then(pl.lit(name))
    for total, name in thresholds[1:-1]:
        chain = chain.when(u < total).then(pl.lit(name))
    return chain.otherwise(pl.lit(thresholds[-1][1]))


def with_split(
    frame: pl.LazyFrame,
    fractions: dict[str, float] | None = None,
    seed: int = 0,
    *,
    column: str = "split",
    content_hash: str = "content_hash",
    dataset: str = "dataset",
    path: str = "path",
) -> pl.LazyFrame:
    """``frame`` with a String ``column`` holding the split; the work is staged in temporary columns."""
    key, mixed = "__split_key", "__split_u"
    return (
        frame.with_columns(key_expr(content_hash, dataset, path).alias(key))
        .with_columns(bucket_expr(pl.col(key), seed).alias(mixed))
        .with_columns(_split_from_u(pl.col(mixed), fractions).alias(column))
        .drop(key, mixed)
    )


def split_expr(
    fractions: dict[str, float] | None = None,
    seed: int = 0,
    *,
    content_hash: str = "content_hash",
    dataset: str = "dataset",
    path: str = "path",
) -> pl.Expr:
    """String split name per row (one of ``SPLITS``), as one expression.

    Convenient for small frames; on large ones prefer :func:`with_split`, which computes the key once.
    """
    u = bucket_expr(key_expr(content_hash, dataset, path), seed)
    return _split_from_u(u, fractions)
