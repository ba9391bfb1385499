"""Baselines that show what the pretext task adds, fitted exactly like the one-class detector.

    random_oneclass   the extractor's architecture with random (seeded) weights + the same GMM recipe
    srm_stats         a GMM over simple SRM residual statistics (sdaie.evaluate.srm_stats)

Both are fitted on the features of the same `oneclass_fit` photos, unperturbed, with the settings of
the `oneclass` config section.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import torch

from sdaie.detect.features import Patching
from sdaie.detect.oneclass import GMMSettings, OneClassDetector
from sdaie.model.backbone import ExtractorConfig, SDAIEExtractor
from sdaie.model.checkpoint import state_fingerprint
from sdaie.patches.cut import readable_rows
from sdaie.train.common import save_checkpoint

log = logging.getLogger(__name__)

RANDOM_ONECLASS, SRM_STATS = "random_oneclass", "srm_stats"
SRM_STATS_ID = "srm_stats/1"  # the "extractor id" of the non-learned features


def random_extractor(config: ExtractorConfig, seed: int) -> SDAIEExtractor:
    """The extractor's architecture at its seeded random initialisation, frozen."""
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        extractor = SDAIEExtractor(config)
    finally:
        torch.random.set_rng_state(generator_state)
    return extractor.eval().requires_grad_(False)


def save_random_extractor(extractor: SDAIEExtractor, config: ExtractorConfig, path: Path, seed: int) -> None:
    """Saved like a pretext model.pt, so every loader of extractors reads it."""
    save_checkpoint(path, model={f"extractor.{k}": v for k, v in extractor.state_dict().items()},
                    extractor_config=asdict(config), kind="random_baseline", seed=seed)


def oneclass_fit_images(tags_path: Path, roots: dict[str, Path]) -> list[Path]:
    """Files of the readable photos of the ``oneclass_fit`` split: what the baselines' GMMs fit on."""
    fit = readable_rows(pq.read_table(tags_path, columns=["dataset", "path", "error", "split"]), ["oneclass_fit"])
    return [Path(roots[d]) / p for d, p in zip(fit.column("dataset").to_pylist(), fit.column("path").to_pylist())]


def fit_baselines(images: list[Path], extractor: SDAIEExtractor, settings: GMMSettings, *, patching: Patching,
                  device: torch.device, workers: int = 0) -> dict[str, OneClassDetector]:
    """Both baseline GMMs from the same photos (each decoded once, through the scoring pipeline)."""
    from sdaie.detect.pipeline import Network, score_files
    from sdaie.evaluate.srm_stats import srm_statistics

    random_features, srm_features = [], []
    for result in score_files(images, [Network(RANDOM_ONECLASS, extractor)], patching, device,
                              statistics={SRM_STATS: srm_statistics}, workers=workers):
        if result.error is not None:
            log.warning("%s: skipped, %s", result.path, result.error)
            continue
        random_features.append(result.variants[0].outputs[RANDOM_ONECLASS].astype(np.float64))
        srm_features.append(result.variants[0].outputs[SRM_STATS])
    log.info("baselines: fitting on %d photos", len(random_features))
    return {
        RANDOM_ONECLASS: OneClassDetector.fit(np.array(random_features), settings,
                                              extractor_id=state_fingerprint(extractor.state_dict())),
        SRM_STATS: OneClassDetector.fit(np.array(srm_features), settings, extractor_id=SRM_STATS_ID),
    }
