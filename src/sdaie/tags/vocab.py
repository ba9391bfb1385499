"""Class vocabularies for categorical tags: built once on the training split, saved, reused.

For each categorical tag (:data:`sdaie.tags.categorical.CATEGORICAL_TAGS`) the vocabulary keeps the
values seen at least ``min_count`` times among usable training rows, ordered by count (descending),
then value. Kept values get indices ``0..K-1``; every other non-missing value, including values never
seen when the vocabulary was built, maps to ``other`` = index ``K``; a missing value stays null (Int32
null), which the loss later ignores. Applying a saved vocabulary never rebuilds it.

Saved form (JSON)::

    {"format": "sdaie.tags.vocabulary/1", "min_count": 3, "other": "other",
     "built_on": {"split": "pretext_train", "rows": 1234},
     "tags": {"make": {"values": ["Canon", ...], "counts": [43, ...],
                       "other_count": 7, "missing_count": 1}, ...},
     "hash": "<sha256 hex>"}

``hash`` is the SHA-256 of the canonical JSON (sorted keys, no spaces) of ``format``, ``min_count``
and each tag's ``values`` list: exactly what decides the mapping from value to index, so later stages
can compare hashes to know they use the same classes. Counts are informative and not hashed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from sdaie.errors import InputError, read_json_checked
from sdaie.tags.categorical import CATEGORICAL_TAGS, index_column

FORMAT = "sdaie.tags.vocabulary/1"
OTHER = "other"
VOCABULARY_HINT = "give the vocabulary.json that `sdaie tags` wrote"


@dataclass
class TagVocab:
    values: list[str]
    counts: list[int]
    other_count: int = 0  # training rows whose value fell below min_count
    missing_count: int = 0  # training rows without a value

    @property
    def other_index(self) -> int:
        return len(self.values)

    @property
    def n_classes(self) -> int:
        """Number of classes including ``other``."""
        return len(self.values) + 1


@dataclass
class Vocabulary:
    tags: dict[str, TagVocab]
    min_count: int
    built_on: dict = field(default_factory=dict)

    # ---------------------------------------------------------------- building
    @classmethod
    def from_counts(
        cls,
        counts: dict[str, dict[str | None, int]],
        min_count: int,
        built_on: dict | None = None,
    ) -> Vocabulary:
        """Build from value counts per tag (``None`` key = missing)."""
        if min_count < 1:
            raise ValueError("min_count must be >= 1")
        tags: dict[str, TagVocab] = {}
        for tag, tag_counts in counts.items():
            present = [(value, n) for value, n in tag_counts.items() if value is not None]
            kept = sorted(((v, n) for v, n in present if n >= min_count), key=lambda vn: (-vn[1], vn[0]))
            tags[tag] = TagVocab(
                values=[v for v, _ in kept],
                counts=[int(n) for _, n in kept],
                other_count=int(sum(n for _, n in present if n < min_count)),
                missing_count=int(tag_counts.get(None, 0)),
            )
        return cls(tags=tags, min_count=int(min_count), built_on=dict(built_on or {}))

    @classmethod
    def build(
        cls,
        frame: pl.LazyFrame | pl.DataFrame,
        min_count: int,
        columns: dict[str, str] | None = None,
        built_on: dict | None = None,
    ) -> Vocabulary:
        """Count values with one lazy ``group_by`` over all tag columns (streaming) and build.

        ``frame`` must already hold only the rows to learn from (usable training rows).
        ``columns`` maps tag -> source column (default :data:`CATEGORICAL_TAGS`).
        """
        columns = dict(CATEGORICAL_TAGS if columns is None else columns)
        sources = list(dict.fromkeys(columns.values()))
        groups = (
            frame.lazy()
            .group_by([pl.col(c).cast(pl.String) for c in sources])
            .agg(pl.len().alias("__n"))
            .collect(engine="streaming")
        )
        counts: dict[str, dict[str | None, int]] = {}
        for tag, column in columns.items():
            marginal = groups.group_by(column).agg(pl.col("__n").sum())
            counts[tag] = {value: int(n) for value, n in marginal.iter_rows()}
        built_on = dict(built_on or {})
        built_on.setdefault("rows", int(groups["__n"].sum()))
        return cls.from_counts(counts, min_count, built_on)

    # ---------------------------------------------------------------- identity
    def _hashed_content(self) -> dict:
        return {
            "format": FORMAT,
            "min_count": self.min_count,
            "tags": {tag: vocab.values for tag, vocab in self.tags.items()},
        }

    @property
    def hash(self) -> str:
        text = json.dumps(self._hashed_content(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "min_count": self.min_count,
            "other": OTHER,
            "built_on": self.built_on,
            "tags": {
                tag: {
                    "values": vocab.values,
                    "counts": vocab.counts,
                    "other_count": vocab.other_count,
                    "missing_count": vocab.missing_count,
                }
                for tag, vocab in self.tags.items()
            },
            "hash": self.hash,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Vocabulary:
        """The vocabulary saved as ``data``; ``ValueError`` saying what is wrong with its shape."""
        _check_shape(data)
        tags = {
            tag: TagVocab(
                values=list(entry["values"]),
                counts=[int(n) for n in entry.get("counts", [0] * len(entry["values"]))],
                other_count=int(entry.get("other_count", 0)),
                missing_count=int(entry.get("missing_count", 0)),
            )
            for tag, entry in data["tags"].items()
        }
        vocab = cls(tags=tags, min_count=int(data["min_count"]), built_on=dict(data.get("built_on", {})))
        stored = data.get("hash")
        if stored is not None and stored != vocab.hash:
            raise ValueError(f"vocabulary hash mismatch: stored {stored}, content {vocab.hash} (edited by hand?)")
        return vocab

    def save(self, path: Path | str) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n"
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path | str) -> Vocabulary:
        """Read a saved vocabulary; :class:`~sdaie.errors.InputError` if it is missing, not a regular
        file, not JSON, or not shaped like one."""
        data = read_json_checked(path, VOCABULARY_HINT)
        try:
            return cls.from_dict(data)
        except ValueError as exc:
            raise InputError(path, f"not a vocabulary of sdaie: {exc}", VOCABULARY_HINT) from exc

    # ---------------------------------------------------------------- applying
    def labels(self, tag: str) -> list[str]:
        """Class names by index, ``other`` last."""
        return [*self.tags[tag].values, OTHER]

    def index_expr(self, tag: str, column: str | pl.Expr | None = None) -> pl.Expr:
        """Int32 class index of ``column`` (default: the tag's source column); null stays null.

        An Enum cast of the kept values gives the index as its physical code (values not kept give
        null there, hence ``other``); it streams, unlike ``replace_strict``.
        """
        vocab = self.tags[tag]
        if column is None:
            column = CATEGORICAL_TAGS.get(tag, tag)
        text = (pl.col(column) if isinstance(column, str) else column).cast(pl.String)
        kept = text.cast(pl.Enum(vocab.values), strict=False).to_physical().cast(pl.Int32)
        return pl.when(text.is_not_null()).then(kept.fill_null(vocab.other_index)).otherwise(pl.lit(None, pl.Int32))

    def index_exprs(self, columns: dict[str, str] | None = None) -> list[pl.Expr]:
        """``<tag>_idx`` expressions for every tag of the vocabulary."""
        columns = dict(CATEGORICAL_TAGS if columns is None else columns)
        return [self.index_expr(tag, columns.get(tag, tag)).alias(index_column(tag)) for tag in self.tags]

    def apply(self, frame: pl.LazyFrame | pl.DataFrame, columns: dict[str, str] | None = None):
        """``frame`` with the ``<tag>_idx`` columns added (same kind of frame back)."""
        return frame.with_columns(self.index_exprs(columns))


def _check_shape(data: object) -> None:
    """Raise ``ValueError`` naming the first thing that makes ``data`` not a saved vocabulary."""
    if not isinstance(data, dict):
        raise ValueError(f"the JSON is a {type(data).__name__}, not an object")
    if data.get("format") != FORMAT:
        raise ValueError(f"format is {data.get('format')!r}, not {FORMAT!r}")
    if not isinstance(data.get("min_count"), int) or isinstance(data.get("min_count"), bool):
        raise ValueError("min_count is missing or not an integer")
    tags = data.get("tags")
    if not isinstance(tags, dict):
        raise ValueError("tags is missing or not an object")
    for tag, entry in tags.items():
        if not isinstance(entry, dict):
            raise ValueError(f"tags.{tag} is not an object")
        values = entry.get("values")
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ValueError(f"tags.{tag}.values is missing or not a list of strings")
        counts = entry.get("counts", [0] * len(values))
        if not isinstance(counts, list) or len(counts) != len(values) or not all(isinstance(n, int) for n in counts):
            raise ValueError(f"tags.{tag}.counts is not a list of integers, one per value")
        for key in ("other_count", "missing_count"):
            if not isinstance(entry.get(key, 0), int):
                raise ValueError(f"tags.{tag}.{key} is not an integer")
    if not isinstance(data.get("built_on", {}), dict):
        raise ValueError("built_on is not an object")
