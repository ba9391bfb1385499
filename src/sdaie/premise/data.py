"""Which photos train and which evaluate, and their features and labels, aligned row by row.

Training photos
    The ``pretext_train`` photos that have crops in the patch shards: exactly the photos the pretext
    network can train on (a photo too small for a crop, or one that did not decode, is in neither).
    At fraction ``f`` the subset is :func:`sdaie.train.subset.subset_mask` over the shards' training
    rows with the pretext seed: the same call, so the same photos, as ``pretext.train_fraction``.

Evaluation photos
    ``pretext_val`` photos of cameras seen in training: their camera model is a class of the
    vocabulary (at least ``tags.min_count`` training photos, so not ``other``) and at least one
    training photo of that model has crops. The same photos at every fraction and for every extractor.

Photos without a feature from one of the extractors (a file that did not decode, say) are left out of
everything, and counted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from sdaie.detect.tables import read_features
from sdaie.premise.plan import fraction_label
from sdaie.tags.ranges import log_column
from sdaie.train.subset import subset_mask

log = logging.getLogger(__name__)

TRAIN, EVAL = "train", "eval"
KEY = ["dataset", "path"]
LABELS = {"make": "make_idx", "model": "model_idx", "iso": log_column("iso"), "exposure_time": log_column("exposure_time")}


def in_fraction(fraction: float) -> str:
    """Column of ``PremiseData.photos`` saying whether a training photo is in the subset of ``fraction``."""
    return f"in_{fraction_label(fraction)}"


@dataclass
class PremiseData:
    photos: pl.DataFrame  # dataset, path, content_hash, model_key, split_group, role, label columns, in_f* columns
    features: dict[str, np.ndarray]  # extractor name -> (len(photos), d), rows aligned with photos
    fractions: list[float]
    counts: dict = field(default_factory=dict)  # what was left out, and why

    def rows(self, role: str, fraction: float | None = None) -> np.ndarray:
        mask = self.photos["role"] == role
        if fraction is not None:
            mask = mask & self.photos[in_fraction(fraction)]
        return np.flatnonzero(mask.to_numpy())


def training_rows(index: pl.DataFrame, fractions: list[float], seed: int) -> pl.DataFrame:
    """Training photos of the patch index (dataset, path) with one ``in_f*`` column per fraction."""
    train = index.filter(pl.col("split") == "pretext_train")
    hashes, cameras = train["content_hash"].to_list(), train["model_key"].to_list()
    columns = {in_fraction(f): subset_mask(hashes, cameras, f, seed) for f in fractions}
    return train.select(KEY).with_columns(**{name: pl.Series(mask) for name, mask in columns.items()}).unique(
        KEY, keep="first", maintain_order=True)


def select_photos(tags: pl.DataFrame, index: pl.DataFrame, vocabulary: dict, fractions: list[float], seed: int) -> pl.DataFrame:
    """One row per training or evaluation photo: identity, group, role, labels, fraction membership."""
    if "split_group" not in tags.columns:
        tags = tags.with_columns(pl.col("content_hash").alias("split_group"))
    keep = [*KEY, "content_hash", "model_key", "split", "split_group", *LABELS.values()]
    usable = tags.filter(pl.col("usable")).select(keep)
    train = training_rows(index, fractions, seed).join(usable, on=KEY, how="inner", maintain_order="left")
    other_model = len(vocabulary["tags"]["model"]["values"])
    seen = set(train["model_idx"].drop_nulls().to_list()) - {other_model}
    evaluation = usable.filter((pl.col("split") == "pretext_val") & pl.col("model_idx").is_in(sorted(seen)))
    evaluation = evaluation.with_columns(**{in_fraction(f): pl.lit(False) for f in fractions})
    photos = pl.concat([train.with_columns(role=pl.lit(TRAIN)), evaluation.with_columns(role=pl.lit(EVAL))], how="diagonal")
    return photos.select(*keep, "role", *[in_fraction(f) for f in fractions]).drop("split")


def load_features(paths: list[Path]) -> dict[tuple[str, str], np.ndarray]:
    """(dataset, path) -> feature, from one extractor's feature tables (readable images only)."""
    features, rows, _ = read_features(paths)
    return dict(zip(zip(rows.column("dataset").to_pylist(), rows.column("path").to_pylist()), features))


def premise_data(tags: Path, index: list[Path], vocabulary: dict, features: dict[str, list[Path]],
                 fractions: list[float], seed: int) -> PremiseData:
    """Everything the measurements need, from the pipeline's files (see the module doc)."""
    photos = select_photos(pl.read_parquet(tags), pl.concat([pl.read_parquet(p) for p in index], how="diagonal_relaxed"),
                           vocabulary, fractions, seed)
    tables = {name: load_features(paths) for name, paths in features.items()}
    keys = list(zip(photos["dataset"].to_list(), photos["path"].to_list()))
    present = np.array([all(key in table for table in tables.values()) for key in keys], bool)
    counts = {
        "training_photos_with_crops": int((photos["role"] == TRAIN).sum()),
        "evaluation_candidates": int((photos["role"] == EVAL).sum()),
        "left_out_without_features": {role: int(((photos["role"] == role).to_numpy() & ~present).sum()) for role in (TRAIN, EVAL)},
    }
    photos = photos.filter(pl.Series(present))
    keys = [key for key, ok in zip(keys, present) if ok]
    matrices = {name: np.stack([table[key] for key in keys]) if keys else np.zeros((0, 0)) for name, table in tables.items()}
    counts["training_photos"] = {fraction_label(f): int(photos[in_fraction(f)].sum()) for f in fractions}
    counts["evaluation_photos"] = int((photos["role"] == EVAL).sum())
    log.info("premise photos: %s", counts)
    return PremiseData(photos, matrices, list(fractions), counts)
