"""`Detector`: "is this image AI-generated?" with the trained models of a pipeline run.

    from sdaie import Detector
    detector = Detector("results/models")
    for result in detector.score(["photo.jpg", "folder/"]):
        print(result.path, result.oneclass_generated, result.binary_probability)

A models folder holds `pretext.pt` (the feature extractor, from pretext training or `sdaie
import-weights`), `oneclass.npz` (the GMM, from the pipeline or `sdaie fit-oneclass`) and `binary.pt`
(the binary detector); a folder needs the extractor and at least one detector. Each image is decoded
as stored (no rotation), centre-cropped to a multiple of 64 and cut into all its 64x64 patches, which
go through the extractor as one sequence (see `sdaie.detect.features`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from sdaie.detect.features import Patching, image_feature
from sdaie.detect.oneclass import OneClassDetector, state_fingerprint
from sdaie.exif.listing import list_files
from sdaie.errors import InputError
from sdaie.model.checkpoint import load_binary, load_extractor
from sdaie.train.common import pick_device

PRETEXT, ONECLASS, BINARY = "pretext.pt", "oneclass.npz", "binary.pt"


@dataclass
class DetectionResult:
    path: str
    oneclass_loglik: float | None = None  # log-likelihood under the GMM of real photos (higher = more photo-like)
    oneclass_generated: bool | None = None  # at or below the GMM's threshold
    oneclass_threshold: float | None = None  # the GMM's threshold (log-likelihood)
    binary_probability: float | None = None  # binary detector's probability of "AI-generated"
    binary_generated: bool | None = None  # probability > 0.5
    width: int | None = None
    height: int | None = None
    patches: int | None = None
    upscaled: bool = False  # smaller than 64 px on a side: resized up before scoring
    error: str | None = None  # why the file could not be scored


def iter_image_paths(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files as given, folders recursively (the EXIF stage's listing: sorted, hidden entries skipped)."""
    for path in map(Path, paths):
        if path.is_dir():
            yield from (path / relpath for relpath in list_files(path))
        else:
            yield path


class Detector:
    def __init__(self, models: str | Path, device: str = "auto", max_patches: int | None = None, patching: str | None = None):
        """`max_patches` and the `patching` rule default to what the one-class GMM's features were
        computed with (without a GMM: 20,000 patches, centre crop).

        Raises `sdaie.errors.InputError` when the folder lacks the extractor or both detectors, or a
        model file is damaged or of another kind."""
        models = Path(models)
        if not models.is_dir():
            raise InputError(models, "not a models folder", "point --models at a pipeline's results/models or an import-weights output")
        if not (models / PRETEXT).exists() or not ((models / ONECLASS).exists() or (models / BINARY).exists()):
            raise InputError(models, f"needs {PRETEXT} and at least one of {ONECLASS}, {BINARY}",
                             "run the pipeline, `sdaie import-weights`, or `sdaie fit-oneclass`")
        self.device = pick_device(device)
        self.extractor, _, pretext_state = load_extractor(models / PRETEXT)
        self.extractor.to(self.device)
        self.extractor_id = state_fingerprint(self.extractor.state_dict())
        self.oneclass = None
        if (models / ONECLASS).exists():
            self.oneclass = OneClassDetector.load(models / ONECLASS, extractor_id=self.extractor_id)
        fitted = (self.oneclass.patching if self.oneclass else None) or Patching()
        self.patching = Patching(max_patches or fitted.max_patches, patching or fitted.rule)
        self.binary = None
        if (models / BINARY).exists():
            self.binary, _ = load_binary(models / BINARY)
            self.binary.to(self.device)
        self.vocabulary_hash = pretext_state.get("vocabulary_hash")

    def features(self, pixels: np.ndarray) -> tuple[np.ndarray | None, float | None, int, bool]:
        """(extractor feature or None without a GMM, binary probability or None, patch count, upscaled) of one RGB image."""
        cut = self.patching(pixels)
        feature = image_feature(self.extractor, cut.patches, self.device) if self.oneclass else None
        probability = None
        if self.binary is not None:
            binary_feature = image_feature(self.binary.extractor, cut.patches, self.device)
            with torch.no_grad():
                logits = self.binary.head(torch.from_numpy(binary_feature).to(self.device).unsqueeze(0))
            probability = float(logits.float().softmax(dim=1)[0, 1])
        return feature, probability, len(cut.patches), cut.upscaled

    def score_file(self, path: Path) -> DetectionResult:
        from sdaie.patches.cut import decode_rgb

        result = DetectionResult(path=str(path))
        try:
            pixels = decode_rgb(path)
        except Exception as exc:  # unreadable, truncated, not an image: a row with the reason
            result.error = f"cannot decode: {exc}"
            return result
        result.height, result.width = pixels.shape[:2]
        feature, probability, result.patches, result.upscaled = self.features(pixels)
        if feature is not None:
            loglik = float(self.oneclass.score(feature[None])[0])
            result.oneclass_loglik = loglik if math.isfinite(loglik) else float("-inf")
            result.oneclass_generated = bool(self.oneclass.verdict(loglik))
            result.oneclass_threshold = self.oneclass.threshold
        if probability is not None:
            result.binary_probability = probability
            result.binary_generated = probability > 0.5
        return result

    def legend(self) -> list[str]:
        """What the scores mean, one line per detector of this folder (printed above `sdaie detect`'s table)."""
        lines = []
        if self.oneclass is not None:
            o = self.oneclass
            lines.append(f"one-class: log-likelihood of the image's features under a Gaussian mixture of {o.fit_size} real "
                         f"photos (higher = more like them); AI-generated at or below {o.threshold:.6g}, where "
                         f"{o.settings.target_fpr:.0%} of the photos it was fitted on fall")
        if self.binary is not None:
            lines.append("binary: the binary detector's probability that the image is AI-generated; AI-generated above 0.5")
        lines.append(f"patches: {self.patching.rule} crop, at most {self.patching.max_patches} 64x64 patches per image")
        return lines

    def score(self, paths: Iterable[str | Path], progress: bool = False) -> Iterator[DetectionResult]:
        files = list(iter_image_paths(paths))
        bar = None
        if progress and len(files) > 1:
            from tqdm import tqdm

            bar = tqdm(total=len(files), desc="detect", unit="image", dynamic_ncols=True)
        for path in files:
            yield self.score_file(path)
            if bar:
                bar.update(1)
        if bar:
            bar.close()
