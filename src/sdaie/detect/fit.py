"""`sdaie fit-oneclass`: the one-class detector fitted on the real photos of some files and folders.

The extractor of a models folder turns every readable image into its whole-image feature (as
`sdaie detect` will score it: same patching, recorded in the saved GMM), and a Gaussian mixture is fitted
on them (sdaie.detect.oneclass) and saved as MODELS/oneclass.npz.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from sdaie.detect.features import Patching
from sdaie.detect.pipeline import Network, default_workers, score_files
from sdaie.detect.oneclass import GMMSettings, OneClassDetector
from sdaie.errors import InputError
from sdaie.model.checkpoint import load_extractor, state_fingerprint
from sdaie.progress import Progress


@dataclass
class FitReport:
    detector: OneClassDetector
    output: Path
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    fit_fpr: float = float("nan")  # share of the fitting photos called AI-generated

    def summary(self) -> str:
        d = self.detector
        s = d.settings
        lines = [
            f"{self.output}: {s.n_components}-component {s.covariance_type} Gaussian mixture on {d.fit_size} photos "
            f"({len(self.skipped)} files skipped), extractor {d.extractor_id}",
            f"threshold: log-likelihood {d.threshold:.4g}; at or below it an image is called AI-generated "
            f"({self.fit_fpr:.1%} of the fitting photos are)",
        ]
        dim = d.gmm.means_.shape[1]
        if s.covariance_type == "full" and d.fit_size / s.n_components < dim:
            lines.append(
                f"warning: {d.fit_size / s.n_components:.0f} photos per component for {dim}-d features: the covariances are "
                "held up by reg_covar alone and new real photos will score far below the fitting ones (the published "
                "recipe fits 10,000 photos); with few photos try --components 1 --reg-covar ledoit_wolf --threshold-from crossval"
            )
        return "\n".join(lines)


def fit_oneclass_on_files(paths: Iterable[str | Path], models: str | Path, settings: GMMSettings, patching: Patching,
                          *, device: str = "auto", progress: bool = False) -> FitReport:
    """Fit and save MODELS/oneclass.npz from the readable images below `paths`; InputError when too few are readable."""
    from sdaie.detect.detector import PRETEXT, iter_image_paths
    from sdaie.train.common import pick_device

    models = Path(models)
    output = models / "oneclass.npz"
    torch_device = pick_device(device)
    extractor, _, state = load_extractor(models / PRETEXT)
    extractor.to(torch_device)
    files = list(iter_image_paths(paths))
    features, skipped = [], []
    tracker = Progress("features", len(files), "images", bar=progress)
    for result in score_files(files, [Network("feature", extractor)], patching, torch_device,
                              workers=default_workers(torch.get_num_threads(), torch_device), progress=tracker):
        if result.error is not None:  # not an image, truncated, unreadable: listed, not fatal
            skipped.append((str(result.path), result.error))
        else:
            features.append(result.variants[0].outputs["feature"])
    if len(features) < max(2, settings.n_components):
        where = ", ".join(map(str, paths))
        raise InputError(where, f"{len(features)} readable photos for a {settings.n_components}-component mixture",
                         "give more real photos, or fewer --components")
    features = np.asarray(features, dtype=np.float64)
    detector = OneClassDetector.fit(features, settings, extractor_id=state_fingerprint(extractor.state_dict()),
                                    vocabulary_hash=state.get("vocabulary_hash"), patching=patching)
    detector.save(output)
    return FitReport(detector, output, skipped, float(detector.is_generated(features).mean()))
