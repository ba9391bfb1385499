"""Score images under perturbations with every detector, one row per (image, perturbation, detector).

Detectors (each turns an image's 64x64 patches into a score where higher means "more likely
AI-generated", and a verdict at its own threshold):

    oneclass         the pretext extractor's feature, Gaussian mixture of real photos:
                     score = -log-likelihood, verdict = log-likelihood at or below the GMM's threshold
    binary           the distillation-regularised binary detector: score = P(generated), verdict > 0.5 (published)
    random_oneclass  baseline: the same architecture with random weights, same GMM recipe
    srm_stats        baseline: GMM over simple SRM residual statistics (no learning)

The image is decoded once; each perturbation is applied to the whole image, which is then cut into
patches exactly as `sdaie detect` does, through the same scoring pipeline (sdaie.detect.pipeline).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import torch

from sdaie.detect.features import Patching
from sdaie.detect.pipeline import Network, score_files
from sdaie.detect.oneclass import OneClassDetector
from sdaie.evaluate.perturb import Perturbation, apply
from sdaie.evaluate.srm_stats import srm_statistics
from sdaie.progress import Progress

log = logging.getLogger(__name__)

SCORE_SCHEMA = pa.schema(
    [
        ("dataset", pa.string()),
        ("path", pa.string()),
        ("generator", pa.string()),  # null for photos
        ("label", pa.int8()),  # 0 real photo, 1 AI-generated
        ("perturbation", pa.string()),
        ("detector", pa.string()),
        ("score", pa.float64()),  # higher = more likely AI-generated
        ("raw", pa.float64()),  # log-likelihood (GMM detectors) or probability (binary)
        ("generated", pa.bool_()),  # the detector's verdict at its own threshold
        ("patches", pa.int32()),
        ("error", pa.string()),
    ]
)


@dataclass
class Scorer:
    """A detector: what it reads (a network's output, or a statistic of the patches computed in the
    loader workers) and how that becomes (score, raw, verdict)."""

    name: str
    judge: Callable[[np.ndarray | float], tuple[float, float, bool]]
    network: Network | None = None
    statistic: Callable[[np.ndarray], np.ndarray] | None = None


def _gmm_judge(gmm: OneClassDetector) -> Callable[[np.ndarray], tuple[float, float, bool]]:
    def judge(feature: np.ndarray) -> tuple[float, float, bool]:
        loglik = float(gmm.score(np.asarray(feature, dtype=np.float64)[None])[0])
        if not np.isfinite(loglik):
            loglik = -1e300
        return -loglik, loglik, bool(gmm.verdict(loglik))

    return judge


def gmm_scorer(name: str, extractor, gmm: OneClassDetector) -> Scorer:
    """An extractor's feature under a one-class GMM: score = -log-likelihood."""
    return Scorer(name, _gmm_judge(gmm), network=Network(name, extractor))


def binary_scorer(binary) -> Scorer:
    """The binary detector: score = P(generated), verdict above 0.5."""
    return Scorer("binary", lambda p: (float(p), float(p), float(p) > 0.5), network=Network("binary", binary.extractor, binary.head))


def srm_stats_scorer(gmm: OneClassDetector) -> Scorer:
    return Scorer("srm_stats", _gmm_judge(gmm), statistic=srm_statistics)


def score_images(images: list[dict], root: Path, perturbations: list[Perturbation], scorers: list[Scorer], *,
                 device: torch.device, patching: Patching = Patching(), decode: Callable[[Path], np.ndarray] | None = None,
                 workers: int = 0, progress: bool = False) -> pa.Table:
    """Rows of SCORE_SCHEMA for `images` (dicts with dataset, path, generator, label): every image decoded
    once, each perturbation applied to the whole image in the loader workers, then cut into patches."""
    transforms = [None if p.kind == "none" else partial(apply, perturbation=p) for p in perturbations]
    networks = [s.network for s in scorers if s.network is not None]
    statistics = {s.name: s.statistic for s in scorers if s.statistic is not None}
    tracker = Progress("evaluate", len(images), "images", bar=progress, logger=log)
    rows = []
    results = score_files([root / image["path"] for image in images], networks, patching, device, transforms=transforms,
                          statistics=statistics, decode=decode, workers=workers, progress=tracker)
    for image, result in zip(images, results):
        base = {key: image.get(key) for key in ("dataset", "path", "generator", "label")}
        if result.error is not None:  # a file that cannot be scored keeps a row with the reason
            rows += [{**base, "perturbation": p.name, "detector": s.name, "error": result.error}
                     for p in perturbations for s in scorers]
            continue
        for perturbation, variant in zip(perturbations, result.variants):
            for scorer in scorers:
                score, raw, verdict = scorer.judge(variant.outputs[scorer.name])
                rows.append({**base, "perturbation": perturbation.name, "detector": scorer.name, "score": score,
                             "raw": raw, "generated": verdict, "patches": variant.patches})
    return pa.Table.from_pylist(rows, schema=SCORE_SCHEMA)
