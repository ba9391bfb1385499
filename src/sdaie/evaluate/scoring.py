"""Score images under perturbations with every detector, one row per (image, perturbation, detector).

Detectors (each turns an image's 64x64 patches into a score where higher means "more likely
AI-generated", and a verdict at its own threshold):

    oneclass         the pretext extractor's feature, Gaussian mixture of real photos:
                     score = -log-likelihood, verdict = log-likelihood at or below the GMM's threshold
    binary           the distillation-regularised binary detector: score = P(generated), verdict > 0.5 (published)
    random_oneclass  baseline: the same architecture with random weights, same GMM recipe
    srm_stats        baseline: GMM over simple SRM residual statistics (no learning)

The image is decoded once; each perturbation is applied to the whole image, which is then cut into
patches exactly as `sdaie detect` does (sdaie.detect.features).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import torch

from sdaie.detect.features import Patching, image_feature
from sdaie.detect.oneclass import OneClassDetector
from sdaie.evaluate.perturb import Perturbation, apply
from sdaie.evaluate.srm_stats import srm_statistics

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
    """A detector as a function of an image's patches -> (score, raw, verdict)."""

    name: str
    score: Callable[[np.ndarray], tuple[float, float, bool]]


def gmm_scorer(name: str, featurize: Callable[[np.ndarray], np.ndarray], gmm: OneClassDetector) -> Scorer:
    def score(patches: np.ndarray) -> tuple[float, float, bool]:
        loglik = float(gmm.score(featurize(patches)[None])[0])
        if not np.isfinite(loglik):
            loglik = -1e300
        return -loglik, loglik, bool(gmm.verdict(loglik))

    return Scorer(name, score)


def extractor_featurizer(extractor, device: torch.device) -> Callable[[np.ndarray], np.ndarray]:
    return lambda patches: image_feature(extractor, patches, device).astype(np.float64)


def binary_scorer(binary, device: torch.device) -> Scorer:
    def score(patches: np.ndarray) -> tuple[float, float, bool]:
        feature = image_feature(binary.extractor, patches, device)
        with torch.no_grad():
            logits = binary.head(torch.from_numpy(feature).to(device).unsqueeze(0))
        probability = float(logits.float().softmax(dim=1)[0, 1])
        return probability, probability, probability > 0.5

    return Scorer("binary", score)


def srm_stats_scorer(gmm: OneClassDetector) -> Scorer:
    return gmm_scorer("srm_stats", srm_statistics, gmm)


def score_images(images: list[dict], root: Path, perturbations: list[Perturbation], scorers: list[Scorer], *,
                 patching: Patching = Patching(), decode: Callable[[Path], np.ndarray] | None = None,
                 progress: bool = False) -> pa.Table:
    """Rows of SCORE_SCHEMA for `images` (dicts with dataset, path, generator, label)."""
    if decode is None:
        from sdaie.patches.cut import decode_rgb as decode
    rows = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(images), desc="evaluate", unit="image", dynamic_ncols=True)
    for image in images:
        base = {key: image.get(key) for key in ("dataset", "path", "generator", "label")}
        try:
            pixels = decode(root / image["path"])
        except Exception as exc:  # a file that cannot be scored keeps a row with the reason
            rows += [{**base, "perturbation": p.name, "detector": s.name, "error": f"cannot decode: {exc}"}
                     for p in perturbations for s in scorers]
        else:
            for perturbation in perturbations:
                patches = patching(apply(pixels, perturbation)).patches
                for scorer in scorers:
                    score, raw, verdict = scorer.score(patches)
                    rows.append({**base, "perturbation": perturbation.name, "detector": scorer.name, "score": score,
                                 "raw": raw, "generated": verdict, "patches": len(patches)})
        if bar:
            bar.update(1)
    if bar:
        bar.close()
    return pa.Table.from_pylist(rows, schema=SCORE_SCHEMA)
