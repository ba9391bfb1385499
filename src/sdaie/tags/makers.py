"""Canonical maker names and cleaned model names, driven by data tables.

``sdaie/data/makers.csv`` maps a *make key* to a canonical maker name. The key of a raw ``Make``
string is: lowercase, runs of whitespace, control characters and punctuation ``. , ; : / ( ) " ' _``
replaced by one space, trimmed (``"OLYMPUS OPTICAL CO.,LTD"`` -> ``"olympus optical co ltd"``). A row
with ``match = exact`` applies when the key equals ``raw``; ``match = prefix`` when the key starts with
``raw`` followed by a space or the end (whole words: ``nikon`` matches ``nikon corporation``, not
``nikonos``). Exact rows win over prefix rows, and a longer prefix over a shorter one. An empty
``canonical`` marks a placeholder (``Unknown``) that becomes null. A make not in the table keeps a
cleaned form of itself: control characters dropped, whitespace collapsed, trimmed, case kept.

Model names are trimmed the same way, lose a wrapping ``<...>`` (Samsung Techwin writes
``<KENOX S730 / Samsung S730>``) and a trailing firmware version such as ``(V09.33)``, and lose a
repeated maker prefix: ``Canon`` + ``Canon EOS 40D`` -> ``EOS 40D``, ``NIKON CORPORATION`` +
``NIKON D70`` -> ``D70``, ``SAMSUNG`` + ``SAMSUNG-SM-N900A`` -> ``SM-N900A``. The prefixes tried are the
canonical name itself plus the extra brand prefixes in ``sdaie/data/model_prefixes.csv`` (for
example ``KODAK`` under ``JK Imaging``); a prefix must be followed by a space, ``-`` or ``_``, and is
not stripped when nothing would remain (``Jolla`` + ``Jolla`` stays ``Jolla``).

``model_key`` is ``<canonical make>|<model>``, so two makers' ``D70`` never share a class.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import polars as pl

MATCH_KINDS = ("exact", "prefix")
MODEL_KEY_SEPARATOR = "|"

_KEY_PUNCTUATION = r"[\s\x00-\x1f.,;:/()\"'_]+"
_CONTROL = r"[\x00-\x1f\x7f]+"


def _read_data_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("sdaie").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@dataclass(frozen=True)
class MakerTable:
    exact: dict[str, str]  # key -> canonical ("" = missing)
    prefix: list[tuple[str, str]]  # (key prefix, canonical), longest prefix first
    model_prefixes: dict[str, list[str]]  # canonical -> lowercase prefixes, longest first

    def canonical_names(self) -> list[str]:
        names = set(self.exact.values()) | {c for _, c in self.prefix}
        return sorted(name for name in names if name)


def make_key(raw: str) -> str:
    """The make key of one string (Python twin of :func:`make_key_expr`)."""
    return re.sub(_KEY_PUNCTUATION, " ", raw.lower()).strip()


@lru_cache(maxsize=1)
def load_maker_table() -> MakerTable:
    """Read and validate ``makers.csv`` and ``model_prefixes.csv`` (cached)."""
    exact: dict[str, str] = {}
    prefix: dict[str, str] = {}
    for line, row in enumerate(_read_data_csv("makers.csv"), start=2):
        raw, match, canonical = row["raw"], row["match"], row["canonical"].strip()
        if raw != make_key(raw) or not raw:
            raise ValueError(f"makers.csv line {line}: raw {raw!r} is not a cleaned make key")
        if match not in MATCH_KINDS:
            raise ValueError(f"makers.csv line {line}: match must be one of {MATCH_KINDS}")
        target = exact if match == "exact" else prefix
        if raw in target:
            raise ValueError(f"makers.csv line {line}: duplicate {match} key {raw!r}")
        target[raw] = canonical
    model_prefixes: dict[str, set[str]] = {}
    for canonical in set(exact.values()) | set(prefix.values()):
        if canonical:
            model_prefixes[canonical] = {canonical.lower()}
    for line, row in enumerate(_read_data_csv("model_prefixes.csv"), start=2):
        canonical, extra = row["canonical"].strip(), row["prefix"].strip().lower()
        if canonical not in model_prefixes or not extra:
            raise ValueError(f"model_prefixes.csv line {line}: unknown maker {canonical!r} or empty prefix")
        model_prefixes[canonical].add(extra)
    return MakerTable(
        exact=exact,
        prefix=sorted(prefix.items(), key=lambda item: (-len(item[0]), item[0])),
        model_prefixes={
            canonical: sorted(prefixes, key=lambda p: (-len(p), p))
            for canonical, prefixes in model_prefixes.items()
        },
    )


def clean_text_expr(expr: pl.Expr) -> pl.Expr:
    """Drop control characters, collapse whitespace, trim; empty -> null."""
    text = expr.cast(pl.String).str.replace_all(_CONTROL, " ").str.replace_all(r"\s+", " ")
    text = text.str.strip_chars()
    return pl.when(text != "").then(text)


def make_key_expr(expr: pl.Expr) -> pl.Expr:
    """The make key (see the module doc) of a String expression."""
    return expr.cast(pl.String).str.to_lowercase().str.replace_all(_KEY_PUNCTUATION, " ").str.strip_chars()


def canonical_make_expr(make: str | pl.Expr) -> pl.Expr:
    """Canonical maker name for a raw ``Make`` expression (String); null stays null.

    Vectorized (a few hash lookups per value, no Python per row). Its lookups are ``replace_strict``,
    which the streaming engine runs on whole columns: on large tables apply it to the distinct values
    and map rows through the result, as :mod:`sdaie.tags.normalize` does.
    """
    table = load_maker_table()
    expr = pl.col(make) if isinstance(make, str) else make
    key = make_key_expr(expr)
    exact = key.replace_strict(
        list(table.exact), list(table.exact.values()), default=None, return_dtype=pl.String
    )
    # Prefix rows match whole words: look up the key's first k words, longest k first.
    by_length: dict[int, dict[str, str]] = {}
    for raw, canonical in table.prefix:
        by_length.setdefault(raw.count(" ") + 1, {})[raw] = canonical
    words = key.str.split(" ")
    candidates = [
        words.list.head(k).list.join(" ").replace_strict(
            list(mapping), list(mapping.values()), default=None, return_dtype=pl.String
        )
        for k, mapping in sorted(by_length.items(), reverse=True)
    ]
    by_prefix = pl.coalesce(candidates) if candidates else pl.lit(None, pl.String)
    result = pl.coalesce(exact, by_prefix, clean_text_expr(expr))
    return pl.when(result != "").then(result)


_REGEX_META = r"[\\.+*?()|\[\]{}^$]"


def _escape_regex(text: str) -> str:
    return re.sub(_REGEX_META, lambda m: "\\" + m.group(0), text)


def _prefix_pattern(alternatives: str | pl.Expr) -> str | pl.Expr:
    """Regex: one of the (escaped) alternatives at the start, any case, then a separator
    (space, ``-``, ``_``) and a non-empty rest, captured as group 1."""
    head, tail = "(?i)^(?:", r")[ _-]+(.+)$"
    if isinstance(alternatives, pl.Expr):
        return pl.lit(head) + alternatives + pl.lit(tail)
    return head + alternatives + tail


def _unwrap(text: pl.Expr) -> pl.Expr:
    """``<KENOX S730 / Samsung S730>`` -> ``KENOX S730 / Samsung S730``."""
    return pl.coalesce(text.str.extract(r"^<\s*(.*?\S)\s*>$", 1), text)


def _drop_firmware(text: pl.Expr) -> pl.Expr:
    """``DC210 Zoom (V05.00)`` -> ``DC210 Zoom``."""
    return pl.coalesce(text.str.extract(r"^(.*?\S)\s*\([vV]\d+(?:\.\d+)*\)$", 1), text)


def _model_steps(make_expr: pl.Expr) -> list[Callable[[pl.Expr], pl.Expr]]:
    """The cleaning steps of a model name, in order; each maps the previous result to the next."""
    table = load_maker_table()
    # One alternation of the maker's prefixes, longest first; makers not in the table (kept in cleaned
    # form) use their own name.
    known = {
        canonical: _prefix_pattern("|".join(_escape_regex(p) for p in prefixes))
        for canonical, prefixes in table.model_prefixes.items()
    }
    own = _prefix_pattern(make_expr.str.replace_all(_REGEX_META, r"\${0}"))
    pattern = pl.coalesce(
        make_expr.replace_strict(list(known), list(known.values()), default=None, return_dtype=pl.String), own
    )

    def strip_prefix(text: pl.Expr) -> pl.Expr:
        return pl.coalesce(text.str.extract(pattern, 1), text)

    return [clean_text_expr, _unwrap, _drop_firmware, strip_prefix]


def clean_model_expr(model: str | pl.Expr, canonical_make: str | pl.Expr) -> pl.Expr:
    """Cleaned model name given the raw model and the *canonical* make (see the module doc).

    One nested expression: fine in a LazyFrame (common subexpressions are computed once) or on a few
    values; :func:`maker_model_mapping` runs the same steps staged in columns.
    """
    text = pl.col(model) if isinstance(model, str) else model
    make_expr = pl.col(canonical_make) if isinstance(canonical_make, str) else canonical_make
    for step in _model_steps(make_expr):
        text = step(text)
    return text


def model_key_expr(canonical_make: str | pl.Expr, clean_model: str | pl.Expr) -> pl.Expr:
    """``<make>|<model>`` (empty make when unknown); null when the model is missing."""
    make_expr = pl.col(canonical_make) if isinstance(canonical_make, str) else canonical_make
    model_expr = pl.col(clean_model) if isinstance(clean_model, str) else clean_model
    key = pl.concat_str([make_expr.fill_null(""), model_expr], separator=MODEL_KEY_SEPARATOR)
    return pl.when(model_expr.is_not_null()).then(key)


def maker_model_mapping(pairs: pl.DataFrame, make: str = "make", model: str = "model") -> pl.DataFrame:
    """For distinct raw (make, model) pairs: add ``make_canonical``, ``model_clean``, ``model_key``."""
    work = "__model"
    frame = pairs.lazy().with_columns(
        canonical_make_expr(make).alias("make_canonical"), pl.col(model).cast(pl.String).alias(work)
    )
    for step in _model_steps(pl.col("make_canonical")):
        frame = frame.with_columns(step(pl.col(work)).alias(work))
    return (
        frame.rename({work: "model_clean"})
        .with_columns(model_key_expr("make_canonical", "model_clean").alias("model_key"))
        .collect()
    )
