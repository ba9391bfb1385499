"""`Detector`: "is this image AI-generated?" with the trained models of a pipeline run.

    from sdaie import Detector
    detector = Detector("results/models")
    for result in detector.score(["photo.jpg", "folder/"]):
        print(result.path, result.oneclass_generated, result.binary_probability)

A models folder holds `pretext.pt` (the feature extractor, from pretext training), `oneclass.npz`
(the GMM) and, optionally, `binary.pt` (the binary detector). Each image is decoded as stored (no
rotation), centre-cropped to a multiple of 64 and cut into all its 64x64 patches, which go through
the extractor as one sequence (see `sdaie.detect.features`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from sdaie.detect.binary import BinaryDetector
from sdaie.detect.features import DEFAULT_MAX_PATCHES, image_feature, image_patches
from sdaie.detect.oneclass import OneClassDetector, state_fingerprint
from sdaie.exif.listing import list_files
from sdaie.model.backbone import ExtractorConfig
from sdaie.train.binary import teacher_from_checkpoint
from sdaie.train.common import load_checkpoint, pick_device

PRETEXT, ONECLASS, BINARY = "pretext.pt", "oneclass.npz", "binary.pt"


@dataclass
class DetectionResult:
    path: str
    oneclass_loglik: float | None = None  # log-likelihood under the GMM of real photos
    oneclass_generated: bool | None = None  # below the GMM's threshold
    binary_probability: float | None = None  # binary detector's probability of "AI-generated"
    binary_generated: bool | None = None  # probability >= 0.5
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
    def __init__(self, models: str | Path, device: str = "auto", max_patches: int | None = None):
        """`max_patches` defaults to what the one-class GMM's features were computed with."""
        models = Path(models)
        missing = [name for name in (PRETEXT, ONECLASS) if not (models / name).exists()]
        if missing:
            raise FileNotFoundError(f"{models}: missing {', '.join(missing)} (run the pipeline, or point --models at its models folder)")
        self.device = pick_device(device)
        self.extractor, _, pretext_state = teacher_from_checkpoint(models / PRETEXT)
        self.extractor.to(self.device)
        self.extractor_id = state_fingerprint(self.extractor.state_dict())
        self.oneclass = OneClassDetector.load(models / ONECLASS, extractor_id=self.extractor_id)
        self.max_patches = max_patches or self.oneclass.max_patches or DEFAULT_MAX_PATCHES
        self.binary = None
        if (models / BINARY).exists():
            state = load_checkpoint(models / BINARY)
            config = ExtractorConfig.from_dict(state["extractor_config"])
            self.binary = BinaryDetector(config)
            self.binary.load_state_dict(state["model"])
            self.binary.to(self.device).eval()
        self.vocabulary_hash = pretext_state.get("vocabulary_hash")

    def features(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, int, bool]:
        """(extractor feature, binary probability or None, patch count, upscaled) of one RGB image."""
        cut = image_patches(pixels, self.max_patches)
        feature = image_feature(self.extractor, cut.patches, self.device)
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
        loglik = float(self.oneclass.score(feature[None])[0])
        result.oneclass_loglik = loglik if math.isfinite(loglik) else float("-inf")
        result.oneclass_generated = bool(loglik < self.oneclass.threshold)
        if probability is not None:
            result.binary_probability = probability
            result.binary_generated = probability >= 0.5
        return result

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
