"""Which images an evaluation scores, and the detectors it scores them with.

Real photos: the `test` split of the tag table (never used for pretext training, binary training or
GMM fitting). Generated sets: every readable image, except for the sets the binary detector trained
on, where only their held-out `test` split counts (sdaie.detect.binary_data.generated_split).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from sdaie.detect.binary_data import generated_split
from sdaie.detect.oneclass import OneClassDetector
from sdaie.evaluate.baselines import RANDOM_ONECLASS, SRM_STATS, SRM_STATS_ID
from sdaie.evaluate.scoring import Scorer, binary_scorer, gmm_scorer, srm_stats_scorer
from sdaie.model.checkpoint import load_binary, load_extractor, state_fingerprint

REAL, GENERATED = 0, 1
DETECTORS = ("oneclass", "binary", RANDOM_ONECLASS, SRM_STATS)


def evaluation_images(table: pa.Table, dataset: str, kind: str, generator: str | None, *,
                      binary_trained: bool = False, generated_fractions: dict[str, float] | None = None,
                      seed: int = 0) -> list[dict]:
    """Images of `dataset` to score: dicts with dataset, path, generator, label."""
    rows = table.select([c for c in ("dataset", "path", "content_hash", "error", "split") if c in table.column_names]).to_pylist()
    chosen = []
    for row in rows:
        if row["dataset"] != dataset or row["error"] is not None:
            continue
        if kind == "photo":
            if row.get("split") != "test":
                continue
        elif binary_trained and generated_split(row["content_hash"], dataset, row["path"], generated_fractions, seed) != "test":
            continue
        chosen.append({"dataset": dataset, "path": row["path"], "generator": generator,
                       "label": REAL if kind == "photo" else GENERATED})
    return chosen


def subset(images: list[dict], max_images: int | None) -> list[dict]:
    """At most `max_images` of them, a fixed choice that does not depend on listing order."""
    if max_images is None or len(images) <= max_images:
        return images
    import hashlib

    key = lambda image: hashlib.sha256(f"{image['dataset']}/{image['path']}".encode()).hexdigest()  # noqa: E731
    return sorted(sorted(images, key=key)[:max_images], key=lambda image: image["path"])


@dataclass
class ModelPaths:
    pretext: Path
    oneclass: Path
    binary: Path | None
    random_extractor: Path
    random_oneclass: Path
    srm_stats: Path


def load_scorers(paths: ModelPaths) -> list[Scorer]:
    """Every detector and baseline, each checked against the features it was fitted on."""
    extractor, _, _ = load_extractor(paths.pretext)
    oneclass = OneClassDetector.load(paths.oneclass, extractor_id=state_fingerprint(extractor.state_dict()))
    scorers = [gmm_scorer("oneclass", extractor, oneclass)]
    if paths.binary is not None:
        binary, _ = load_binary(paths.binary)
        scorers.append(binary_scorer(binary))
    random, _, _ = load_extractor(paths.random_extractor)
    random_gmm = OneClassDetector.load(paths.random_oneclass, extractor_id=state_fingerprint(random.state_dict()))
    scorers.append(gmm_scorer(RANDOM_ONECLASS, random, random_gmm))
    scorers.append(srm_stats_scorer(OneClassDetector.load(paths.srm_stats, extractor_id=SRM_STATS_ID)))
    return scorers
