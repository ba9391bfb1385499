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

import hashlib
import math
import re

import polars as pl

SPLITS: tuple[str, ...] = ("pretext_train", "pretext_val", "oneclass_fit", "test")
TRAIN_SPLIT = "pretext_train"
DEFAULT_FRACTIONS: dict[str, float] = {
    "pretext_train": 0.6,
    "pretext_val": 0.1,
    "oneclass_fit": 0.15,
    "test": 0.15,
}

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB


def check_fractions(fractions: dict[str, float] | None) -> dict[str, float]:
    """Validate fractions (keys from ``SPLITS``, non-negative, summing to 1) and fill in zeros."""
    if fractions is None:
        return dict(DEFAULT_FRACTIONS)
    unknown = set(fractions) - set(SPLITS)
    if unknown:
        raise ValueError(f"unknown split names {sorted(unknown)}; expected some of {SPLITS}")
    full = {name: float(fractions.get(name, 0.0)) for name in SPLITS}
    if any(value < 0 or not math.isfinite(value) for value in full.values()):
        raise ValueError(f"split fractions must be finite and >= 0: {full}")
    if abs(sum(full.values()) - 1.0) > 1e-9:
        raise ValueError(f"split fractions must sum to 1, got {sum(full.values())}: {full}")
    return full


def _thresholds(fractions: dict[str, float]) -> list[tuple[float, str]]:
    out, total = [], 0.0
    for name in SPLITS:
        total += fractions[name]
        out.append((total, name))
    return out


def _seed_offset(seed: int) -> int:
    return ((int(seed) + 1) * _GOLDEN) & _MASK


def fallback_key(text: str) -> int:
    """64-bit key of a string without a hex hash (BLAKE2b, 8-byte digest, big-endian)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


def hex_key(content_hash: str | None) -> int | None:
    """64-bit key from a hex content hash (first 16 digits), or None if it is not one."""
    if content_hash is None or len(content_hash.encode("utf-8")) < 16:
        return None
    prefix = content_hash[:16]
    # same acceptance as polars' str.to_integer(base=16): an optional "+", then hex digits only
    if re.fullmatch(r"\+?[0-9a-fA-F]+", prefix) is None:
        return None
    return int(prefix, 16)


def row_key_python(content_hash: str | None, dataset: str | None, path: str | None) -> int:
    key = hex_key(content_hash)
    if key is not None:
        return key
    text = content_hash if content_hash is not None else f"{dataset}/{path}"
    return fallback_key(text)


def bucket_python(key: int, seed: int) -> float:
    """``u`` in [0, 1) for a 64-bit key (reference implementation of :func:`bucket_expr`)."""
    z = (key + _seed_offset(seed)) & _MASK
    z = ((z ^ (z >> 30)) * _M1) & _MASK
    z = ((z ^ (z >> 27)) * _M2) & _MASK
    z ^= z >> 31
    return (z >> 11) / float(1 << 53)


def split_python(
    content_hash: str | None,
    dataset: str | None,
    path: str | None,
    *,
    fractions: dict[str, float] | None = None,
    seed: int = 0,
) -> str:
    u = bucket_python(row_key_python(content_hash, dataset, path), seed)
    thresholds = _thresholds(check_fractions(fractions))
    for total, name in thresholds:
        if u < total:
            return name
    return thresholds[-1][1]


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
