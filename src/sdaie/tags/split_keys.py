"""The pure-Python half of the split (:mod:`sdaie.tags.split`): keys, buckets and fractions.

No polars here, so that code running where polars is not installed (the binary detector's data
split on a GPU node) computes exactly the buckets that :mod:`sdaie.tags.split`'s expressions give.
"""

from __future__ import annotations

import hashlib
import math
import re

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
