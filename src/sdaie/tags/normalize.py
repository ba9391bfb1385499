"""Normalize raw EXIF tables into model-ready columns, a saved vocabulary and a summary.

``normalize_tables(raw_paths, output, vocab_out=..., summary_out=...)`` reads one or more raw tables
(Parquet, schema :data:`sdaie.exif.schema.RAW_SCHEMA`; numeric tags may also be text, EXIF codes may
also be text or floats) and writes one normalized Parquet table. Every column it reads
(:data:`RAW_COLUMNS_READ`) must be there: a table without them is not a raw EXIF table, and raises
:class:`sdaie.errors.InputError` naming the file and the missing columns, as does a file that is not
Parquet, is damaged, or a vocabulary that cannot be used. The outputs' folders are checked to be
writable before any work starts.
Everything runs on polars LazyFrames with the streaming engine, in two passes: (1) compact per-row
facts (raw make/model, split, code values, numeric status) stream to a temporary Parquet file and
lazy ``group_by`` queries count them (distinct make/model pairs, vocabulary counts, summary numbers),
(2) ``scan_parquet`` -> expressions -> ``sink_parquet``. Make/model cleaning runs on the distinct
pairs only; rows pick up the result by an Enum cast and a gather, which stream (memory stays flat as
the input grows).

Output columns, in order
------------------------
=====================  =======  ======================================================================
column                 type     meaning
=====================  =======  ======================================================================
dataset                string   as in the raw table
path                   string   as in the raw table
content_hash           string   as in the raw table
format                 string   as in the raw table
width, height          int32    as in the raw table
error                  string   as in the raw table: why the file cannot be used
usable                 bool     ``error`` is null; unusable rows never enter the vocabulary
split                  string   ``pretext_train`` | ``pretext_val`` | ``oneclass_fit`` | ``test``
                                (:mod:`sdaie.tags.split`: hash-bucketed, deterministic); null for
                                unusable rows, which belong to no split
split_group            string   only with ``split_grouping`` camera_burst: the group the split was
                                assigned to (:mod:`sdaie.tags.split_groups`)
make                   string   canonical maker (:mod:`sdaie.tags.makers`, ``data/makers.csv``)
model                  string   model without a repeated maker prefix
model_key              string   ``<make>|<model>``: the class key of ``model_idx``
flash, metering_mode,  string   EXIF codes as integer text (``"24"``), trimmed text otherwise
exposure_mode,
white_balance,
scene_capture_type,
exposure_program,
light_source
exposure_time          float64  seconds              } parsed from numbers or text (``1/250``),
exposure_time_log      float64  log2 seconds          } null when missing or out of the physical
f_number(_log)         float64  f-number, log2        } range (:mod:`sdaie.tags.ranges`); ``_log``
iso(_log)              float64  ISO, log2             } columns are log2 of the value for the
focal_length(_log)     float64  mm, log2              } multiplicative tags
focal_length_35mm(_log) float64 mm, log2              }
exposure_compensation  float64  EV (linear)           }
brightness_value       float64  APEX Bv (linear)      }
<tag>_idx              int32    class index for make, model (from ``model_key``), flash,
                                metering_mode, exposure_mode, white_balance, scene_capture_type,
                                exposure_program, light_source: ``0..K-1`` kept classes by training
                                count, ``K`` = ``other``, null = missing (:mod:`sdaie.tags.vocab`)
=====================  =======  ======================================================================

Row order follows the inputs (files in the given order, rows in file order).
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from sdaie.errors import InputError, check_output_file, open_parquet_checked, parquet_error, polars_read_errors
from sdaie.tags.categorical import CATEGORICAL_TAGS, CODE_TAGS, index_column
from sdaie.tags.makers import maker_model_mapping
from sdaie.tags.parse import with_parsed_columns
from sdaie.tags.ranges import (
    NUMERIC_TAGS,
    checked_expr,
    in_range_expr,
    log_column,
    log_expr,
)
from sdaie.tags.split import SPLITS, TRAIN_SPLIT, check_fractions, with_split
from sdaie.tags.split_groups import SplitGrouping, with_grouped_split
from sdaie.tags.summary import build_summary, write_summary
from sdaie.tags.vocab import Vocabulary

IDENTITY_COLUMNS: dict[str, pl.DataType] = {
    "dataset": pl.String(),
    "path": pl.String(),
    "content_hash": pl.String(),
    "format": pl.String(),
    "width": pl.Int32(),
    "height": pl.Int32(),
    "error": pl.String(),
}
RAW_TABLE_HINT = "give a raw EXIF table written by `sdaie exif`"
_MAKE_RAW, _MODEL_RAW = "_make_raw", "_model_raw"
_CAPTURE_RAW = "_capture_raw"  # DateTimeOriginal text: only the grouped split reads it
_PAIR_KEY, _PAIR = "_pair_key", "_pair"
_ROW_CLASS = "_row_class"
# Parquet codec of the output: lz4 writes with about 12% less CPU than zstd for a file about 1.8x as
# large (1M rows: ~69 MiB instead of ~38 MiB); pass compression="zstd" to favour size.
PARQUET_COMPRESSION = "lz4"
# Inputs up to this many rows are read and parsed once and kept in memory (about 200 MiB per million
# rows); larger ones stream twice through the raw files, with memory independent of their size.
IN_MEMORY_ROWS = 4_000_000


# The columns of a raw table that normalization reads; each must be present.
RAW_COLUMNS_READ: list[str] = [*IDENTITY_COLUMNS, "make", "model", *NUMERIC_TAGS, *CODE_TAGS]


def check_raw_table(path: Path) -> None:
    """Raise :class:`~sdaie.errors.InputError` unless ``path`` is a readable Parquet file (footer,
    schema) holding every column of :data:`RAW_COLUMNS_READ`; the data pages are not read."""
    open_parquet_checked(path, RAW_COLUMNS_READ, RAW_TABLE_HINT, kind="a raw EXIF table").close()


def _damaged_input(paths: list[Path]) -> tuple[Path, BaseException] | None:
    """The first raw table whose data polars cannot read in full, with the error; ``None`` if all read."""
    for path in paths:
        try:
            pl.scan_parquet(path).select(RAW_COLUMNS_READ).collect()
        except polars_read_errors() as exc:
            return path, exc
    return None


def _parsed(tag: str) -> str:
    return f"_parsed_{tag}"


def output_columns(vocab_tags: list[str] | None = None, grouped: bool = False) -> list[str]:
    """Column names of the normalized table, in order (``grouped``: with ``split_group``)."""
    tags = list(CATEGORICAL_TAGS) if vocab_tags is None else vocab_tags
    numeric: list[str] = []
    for tag, spec in NUMERIC_TAGS.items():
        numeric += [tag, log_column(tag)] if spec.log else [tag]
    return [
        *IDENTITY_COLUMNS,
        "usable",
        "split",
        *(["split_group"] if grouped else []),
        "make",
        "model",
        "model_key",
        *CODE_TAGS,
        *numeric,
        *[index_column(tag) for tag in tags],
    ]


@dataclass
class NormalizeStats:
    """What ``normalize_tables`` did: counts (the same as the summary's), vocabulary identity, timing."""

    rows: int
    usable_rows: int
    error_rows: int
    rows_per_split: dict[str, int]
    out_of_range: dict[str, int]
    vocab_hash: str
    vocab_reused: bool
    seconds: float
    output: Path
    summary: dict = field(default_factory=dict, repr=False)
    phases: dict[str, float] = field(default_factory=dict)  # wall seconds per step

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


def _stage0(path: Path) -> pl.LazyFrame:
    """One raw file -> uniform columns: identity, raw make/model text, code text, parsed floats."""
    lazy = pl.scan_parquet(path)
    schema = lazy.collect_schema()

    def column(name: str, dtype: pl.DataType) -> pl.Expr:
        if name in schema:
            return pl.col(name).cast(dtype, strict=False) if schema[name] != dtype else pl.col(name)
        return pl.lit(None, dtype)

    identity = [column(name, dtype).alias(name) for name, dtype in IDENTITY_COLUMNS.items()]
    identity += [column("make", pl.String()).alias(_MAKE_RAW), column("model", pl.String()).alias(_MODEL_RAW),
                 column("datetime_original", pl.String()).alias(_CAPTURE_RAW)]
    return with_parsed_columns(
        lazy.with_columns(identity),
        floats={_parsed(tag): tag for tag in NUMERIC_TAGS},
        codes={tag: tag for tag in CODE_TAGS},
        schema=schema,
        keep=[*IDENTITY_COLUMNS, _MAKE_RAW, _MODEL_RAW, _CAPTURE_RAW],
    )


def _input_rows(paths: list[Path]) -> int:
    """Total rows of the raw tables, from their Parquet metadata."""
    return sum(pl.scan_parquet(p).select(pl.len()).collect().item() for p in paths)


def _pair_key_expr() -> pl.Expr:
    """One String per raw (make, model) pair; nulls become a NUL byte so they stay distinct."""
    return pl.concat_str(
        [pl.col(_MAKE_RAW).fill_null("\x00"), pl.col(_MODEL_RAW).fill_null("\x00")], separator="\x1f"
    )


def _camera_key_expr(frame: pl.LazyFrame) -> pl.Expr:
    """Canonical ``model_key`` per row, from the distinct raw (make, model) pairs of ``frame``."""
    pairs = (frame.select(_MAKE_RAW, _MODEL_RAW).unique().with_columns(_pair_key_expr().alias(_PAIR_KEY)).collect()
             .unique(_PAIR_KEY, keep="first").sort(_PAIR_KEY))
    mapping = maker_model_mapping(pairs, _MAKE_RAW, _MODEL_RAW)
    return pl.lit(mapping["model_key"]).gather(_pair_key_expr().cast(pl.Enum(mapping[_PAIR_KEY])).to_physical())


def _with_base_columns(stage0: pl.LazyFrame, fractions: dict[str, float], seed: int,
                       grouping: SplitGrouping = SplitGrouping()) -> pl.LazyFrame:
    """``usable`` and ``split``: unusable rows (``error`` set) get no split."""
    frame = stage0.with_columns(pl.col("error").is_null().alias("usable"))
    if grouping.grouped:
        frame = with_grouped_split(frame, fractions, seed, grouping, camera=_camera_key_expr(frame),
                                   capture_time=pl.col(_CAPTURE_RAW))
    else:
        frame = with_split(frame, fractions, seed)
    return frame.with_columns(pl.when(pl.col("usable")).then(pl.col("split")).alias("split"))


@dataclass
class _Counts:
    """Pass-1 results: small tables of row counts.

    ``pairs``: per (raw make, raw model, split, usable): ``rows`` and, per numeric tag,
    ``present:<tag>`` (in range) and ``oor:<tag>`` (out of range) counts. ``codes``: per code tag, per
    (value, split, usable): ``rows``.
    """

    pairs: pl.DataFrame
    codes: dict[str, pl.DataFrame]


_PRESENT, _OUT_OF_RANGE = 1, 2  # numeric status codes in the facts file (0: missing)


def _count_pass(base: pl.LazyFrame, facts_path: Path | None) -> _Counts:
    """Pass 1: count everything later steps need.

    The compact per-row facts (raw make and model, split, usable, code values, numeric status as
    Int8) feed independent ``group_by`` queries. With ``facts_path`` (streaming mode) the facts first
    stream to that temporary Parquet file and each query reads only its columns from it, so memory
    does not depend on the number of rows (several ``group_by`` queries over one shared plan would
    make polars cache that plan whole, which grows with the input). Without it, ``base`` is an
    in-memory frame and the queries run on the facts in memory.
    """
    status = []
    for tag, spec in NUMERIC_TAGS.items():
        value = pl.col(_parsed(tag))
        status.append(
            pl.when(in_range_expr(value, spec))
            .then(pl.lit(_PRESENT, pl.Int8))
            .when(value.is_not_null())
            .then(pl.lit(_OUT_OF_RANGE, pl.Int8))
            .otherwise(pl.lit(0, pl.Int8))
            .alias(f"status:{tag}")
        )
    facts = base.select(_MAKE_RAW, _MODEL_RAW, _row_class_expr(), *CODE_TAGS, *status)
    if facts_path is not None:
        facts.sink_parquet(facts_path, compression="lz4", statistics=False)
        facts = pl.scan_parquet(facts_path)
    else:
        facts = facts.collect().lazy()
    numeric = []
    for tag in NUMERIC_TAGS:
        state = pl.col(f"status:{tag}")
        numeric += [(state == _PRESENT).sum().alias(f"present:{tag}"), (state == _OUT_OF_RANGE).sum().alias(f"oor:{tag}")]
    queries = [
        facts.group_by(_MAKE_RAW, _MODEL_RAW, _ROW_CLASS).agg(pl.len().alias("rows"), *numeric),
        *[facts.group_by(tag, _ROW_CLASS).agg(pl.len().alias("rows")) for tag in CODE_TAGS],
    ]
    # the streaming engine's group_by is also the faster one on in-memory frames
    pairs, *codes = pl.collect_all(
        queries, engine="streaming", optimizations=pl.QueryOptFlags(comm_subplan_elim=False)
    )
    return _Counts(pairs=_decode_row_class(pairs), codes={tag: _decode_row_class(c) for tag, c in zip(CODE_TAGS, codes)})


def _row_class_expr() -> pl.Expr:
    """One small integer per (split, usable): a cheaper group key than the split's text.

    No split (unusable rows) is code ``len(SPLITS)``.
    """
    split = pl.col("split").cast(pl.Enum(SPLITS)).to_physical().cast(pl.UInt8).fill_null(len(SPLITS))
    return (split * 2 + pl.col("usable").cast(pl.UInt8)).alias(_ROW_CLASS)


def _decode_row_class(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with ``split`` (null: no split) and ``usable`` in place of the row class."""
    names = [*SPLITS, None]
    classes = pl.DataFrame(
        {
            _ROW_CLASS: [2 * i + u for i in range(len(names)) for u in (0, 1)],
            "split": [name for name in names for _ in (0, 1)],
            "usable": [bool(u) for _ in names for u in (0, 1)],
        },
        schema={_ROW_CLASS: pl.UInt8, "split": pl.String, "usable": pl.Boolean},
    )
    return frame.join(classes, on=_ROW_CLASS, how="left").drop(_ROW_CLASS)


def _marginal(groups: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Rows, usable rows and usable training rows per value of ``by``."""
    usable = pl.col("usable")
    train = usable & (pl.col("split") == TRAIN_SPLIT)
    return groups.group_by(by).agg(
        pl.col("rows").sum(),
        pl.col("rows").filter(usable).sum().alias("usable"),
        pl.col("rows").filter(train).sum().alias("train"),
    )


def _pairs(counts: _Counts) -> pl.DataFrame:
    """Distinct raw (make, model) pairs with their key and counts, sorted by key."""
    pairs = _marginal(counts.pairs, [_MAKE_RAW, _MODEL_RAW]).with_columns(_pair_key_expr().alias(_PAIR_KEY))
    # Pairs whose keys coincide (only possible with NUL / unit-separator bytes in the raw text) merge.
    return (
        pairs.group_by(_PAIR_KEY)
        .agg(pl.col(_MAKE_RAW).first(), pl.col(_MODEL_RAW).first(), pl.col("rows", "usable", "train").sum())
        .sort(_PAIR_KEY)
    )


def _value_counts(frame: pl.DataFrame, value: str, count: str) -> dict[str | None, int]:
    grouped = frame.group_by(value).agg(pl.col(count).sum())
    return {v: int(n) for v, n in grouped.iter_rows() if n}


def _tag_counts(mapping: pl.DataFrame, counts: _Counts, count: str) -> dict[str, dict[str | None, int]]:
    """Value counts per vocabulary tag (``count``: "train" or "usable"); ``None`` = missing."""
    out: dict[str, dict[str | None, int]] = {}
    for tag, column in CATEGORICAL_TAGS.items():
        if tag == "make":
            out[tag] = _value_counts(mapping, "make_canonical", count)
        elif tag == "model":
            out[tag] = _value_counts(mapping, "model_key", count)
        else:
            out[tag] = _value_counts(_marginal(counts.codes[column], [column]), column, count)
    return out


def _class_counts(vocab: Vocabulary, values: dict[str, dict[str | None, int]]) -> dict[str, dict[int | None, int]]:
    """Rows per class index (``None`` = missing), from value counts and the vocabulary."""
    out: dict[str, dict[int | None, int]] = {}
    for tag in vocab.tags:
        index = {value: i for i, value in enumerate(vocab.tags[tag].values)}
        other = vocab.tags[tag].other_index
        per_class: dict[int | None, int] = {}
        for value, n in values.get(tag, {}).items():
            key = None if value is None else index.get(value, other)
            per_class[key] = per_class.get(key, 0) + n
        out[tag] = per_class
    return out


def _summary_counts(counts: _Counts, mapping: pl.DataFrame, vocab: Vocabulary) -> dict:
    """The summary's numbers, all from the pass-1 tables and the make/model mapping."""
    usable = counts.pairs.filter(pl.col("usable"))
    rows, usable_rows = int(counts.pairs["rows"].sum()), int(usable["rows"].sum())
    splits = {
        name: {"rows": int(n), "usable_rows": int(u)}
        for name, n, u, _ in _marginal(counts.pairs, ["split"]).iter_rows()
        if name is not None  # unusable rows: in no split
    }
    values = _tag_counts(mapping, counts, "usable")
    missing = {tag: values[tag].get(None, 0) for tag in CATEGORICAL_TAGS}
    for tag in NUMERIC_TAGS:
        missing[tag] = usable_rows - int(usable[f"present:{tag}"].sum())
    return {
        "rows": rows,
        "usable_rows": usable_rows,
        "splits": splits,
        "missing": missing,
        "out_of_range": {tag: int(usable[f"oor:{tag}"].sum()) for tag in NUMERIC_TAGS},
        "class_counts": _class_counts(vocab, values),
    }


def _final(base: pl.LazyFrame, mapping: pl.DataFrame, vocab: Vocabulary) -> pl.LazyFrame:
    """Pass 2: every output column.

    Rows find their make/model entry by casting the pair key to an Enum of the mapping's keys (its
    physical code is the mapping row) and gathering from the mapping's columns; the vocabulary
    indices of make and model are computed on the mapping, not per row. Casts and gathers stream;
    ``replace_strict`` would hold whole columns in memory.
    """
    pair_index = mapping.select(
        vocab.index_expr("make", "make_canonical").alias("make"),
        vocab.index_expr("model", "model_key").alias("model"),
    )

    def by_pair(values: pl.Series) -> pl.Expr:
        return pl.lit(values).gather(pl.col(_PAIR))

    numeric: list[pl.Expr] = []
    for tag, spec in NUMERIC_TAGS.items():
        checked = checked_expr(pl.col(_parsed(tag)), spec)
        numeric.append(checked.alias(tag))
        if spec.log:
            numeric.append(log_expr(checked).alias(log_column(tag)))
    return base.with_columns(
        _pair_key_expr().cast(pl.Enum(mapping[_PAIR_KEY]), strict=False).to_physical().alias(_PAIR)
    ).with_columns(
        by_pair(mapping["make_canonical"]).alias("make"),
        by_pair(mapping["model_clean"]).alias("model"),
        by_pair(mapping["model_key"]).alias("model_key"),
        by_pair(pair_index["make"]).alias(index_column("make")),
        by_pair(pair_index["model"]).alias(index_column("model")),
        *[vocab.index_expr(tag, tag).alias(index_column(tag)) for tag in CODE_TAGS if tag in vocab.tags],
        *numeric,
    )


def normalize_tables(
    raw_paths: list[Path],
    output: Path,
    *,
    vocab_out: Path,
    summary_out: Path,
    vocab_in: Path | None = None,
    min_count: int = 3,
    split_fractions: dict[str, float] | None = None,
    split_seed: int = 0,
    split_grouping: SplitGrouping = SplitGrouping(),
    compression: str = PARQUET_COMPRESSION,
    in_memory_rows: int | None = IN_MEMORY_ROWS,
) -> NormalizeStats:
    """Normalize ``raw_paths`` into ``output`` (Parquet); see the module doc for the columns.

    The vocabulary is built on usable ``pretext_train`` rows and saved to ``vocab_out``, unless
    ``vocab_in`` is given: then it is loaded and applied unchanged, and ``vocab_out`` gets a copy.
    Before any work, every input is checked (:func:`check_raw_table`), the vocabulary loaded and the
    outputs' folders checked to be writable; :class:`~sdaie.errors.InputError` names what is wrong.
    ``summary_out`` is the Markdown summary; the JSON with the same numbers goes beside it
    (same stem, ``.json``). ``compression`` is the output's Parquet codec. ``split_grouping`` picks
    the split rule (default: each file by its content hash; :mod:`sdaie.tags.split_groups`).

    Two streaming passes over the inputs: (1) compact per-row facts to a temporary file beside
    ``output`` and ``group_by`` counts over it (make/model pairs, vocabulary, summary), (2) the output
    table, straight to ``sink_parquet``.
    """
    start = time.perf_counter()
    raw_paths = [Path(p) for p in raw_paths]
    if not raw_paths:
        raise ValueError("normalize_tables needs at least one raw table")
    output, vocab_out, summary_out = Path(output), Path(vocab_out), Path(summary_out)
    fractions = check_fractions(split_fractions)
    for path in raw_paths:
        check_raw_table(path)
    vocab = Vocabulary.load(vocab_in) if vocab_in is not None else None
    if vocab is not None and set(vocab.tags) != set(CATEGORICAL_TAGS):
        raise InputError(
            vocab_in, f"vocabulary tags {sorted(vocab.tags)} do not match {sorted(CATEGORICAL_TAGS)}",
            "give a vocabulary written by this version of `sdaie tags`",
        )
    for path in (output, vocab_out, summary_out, summary_out.with_suffix(".json")):
        check_output_file(path)
    try:
        return _normalize(raw_paths, output, vocab_out, summary_out, vocab, vocab_in, min_count, fractions,
                          split_seed, split_grouping, compression, in_memory_rows, start)
    except polars_read_errors() as exc:  # a damaged data page: find the input that has it
        damaged = _damaged_input(raw_paths)
        if damaged is None:
            raise
        raise parquet_error(damaged[0], damaged[1], RAW_TABLE_HINT) from exc


def _normalize(
    raw_paths: list[Path],
    output: Path,
    vocab_out: Path,
    summary_out: Path,
    vocab: Vocabulary | None,
    vocab_in: Path | None,
    min_count: int,
    fractions: dict[str, float],
    split_seed: int,
    split_grouping: SplitGrouping,
    compression: str,
    in_memory_rows: int | None,
    start: float,
) -> NormalizeStats:
    """The work of :func:`normalize_tables`, on checked inputs."""
    phases: dict[str, float] = {}
    mark = time.perf_counter()
    base = _with_base_columns(pl.concat([_stage0(p) for p in raw_paths], how="vertical"), fractions, split_seed,
                              split_grouping)
    in_memory = in_memory_rows is not None and _input_rows(raw_paths) <= in_memory_rows
    if in_memory:
        base = base.collect().lazy()
        phases["read, parse, split"] = time.perf_counter() - mark
        mark = time.perf_counter()
        counts = _count_pass(base, None)
    else:
        facts_path = output.with_name(output.name + ".facts.tmp")
        try:
            counts = _count_pass(base, facts_path)
        finally:
            facts_path.unlink(missing_ok=True)
    phases["pass 1: counts"] = time.perf_counter() - mark

    mark = time.perf_counter()
    pairs = _pairs(counts)
    mapping = maker_model_mapping(pairs, _MAKE_RAW, _MODEL_RAW)
    if vocab is None:
        built_on = {"split": TRAIN_SPLIT, "usable_only": True, "rows": int(pairs["train"].sum())}
        vocab = Vocabulary.from_counts(_tag_counts(mapping, counts, "train"), min_count, built_on)
        vocab.save(vocab_out)
    else:
        vocab_out.parent.mkdir(parents=True, exist_ok=True)
        if Path(vocab_in).resolve() != vocab_out.resolve():
            shutil.copyfile(vocab_in, vocab_out)
    phases["make/model mapping, vocabulary"] = time.perf_counter() - mark

    mark = time.perf_counter()
    columns = output_columns(list(vocab.tags), grouped=split_grouping.grouped)
    tmp = output.with_name(output.name + ".tmp")
    _final(base, mapping, vocab).select(columns).sink_parquet(tmp, compression=compression, statistics=False)
    tmp.replace(output)
    phases["pass 2: output table"] = time.perf_counter() - mark

    mark = time.perf_counter()
    summary = build_summary(
        vocab,
        **_summary_counts(counts, mapping, vocab),
        extra={
            "inputs": [str(p) for p in raw_paths],
            "output": str(output),
            "vocabulary_path": str(vocab_out),
            "vocabulary_reused": vocab_in is not None,
            "split_fractions": fractions,
            "split_seed": split_seed,
            **({"split_grouping": {"group_by": split_grouping.group_by, "burst_seconds": split_grouping.burst_seconds,
                                   "min_photos": split_grouping.min_photos}} if split_grouping.grouped else {}),
            "columns": columns,
        },
    )
    write_summary(summary, summary_out)
    phases["summary"] = time.perf_counter() - mark
    seconds = time.perf_counter() - start
    return NormalizeStats(
        rows=summary["rows"],
        usable_rows=summary["usable_rows"],
        error_rows=summary["error_rows"],
        rows_per_split={name: entry["rows"] for name, entry in summary["splits"].items()},
        out_of_range=summary["out_of_range"],
        vocab_hash=vocab.hash,
        vocab_reused=vocab_in is not None,
        seconds=seconds,
        output=output,
        summary=summary,
        phases=phases,
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m sdaie.tags.normalize RAW... --output OUT --vocab-out V --summary-out S``."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("raw", nargs="+", type=Path)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--vocab-out", type=Path, required=True)
    parser.add_argument("--summary-out", type=Path, required=True)
    parser.add_argument("--vocab-in", type=Path)
    parser.add_argument("--min-count", type=int, default=3)
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--split-fractions", type=json.loads, help='JSON, e.g. {"pretext_train": 0.6, ...}')
    args = parser.parse_args(argv)
    stats = normalize_tables(
        args.raw,
        args.output,
        vocab_out=args.vocab_out,
        summary_out=args.summary_out,
        vocab_in=args.vocab_in,
        min_count=args.min_count,
        split_fractions=args.split_fractions,
        split_seed=args.split_seed,
    )
    print(
        f"{stats.rows} rows ({stats.usable_rows} usable, {stats.error_rows} errors) in "
        f"{stats.seconds:.2f} s ({stats.rows_per_second:,.0f} rows/s); vocabulary {stats.vocab_hash[:16]}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
