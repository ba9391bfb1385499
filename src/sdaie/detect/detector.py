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

import torch

from sdaie.detect.features import Patching
from sdaie.detect.pipeline import Network, Scored, default_workers, score_files
from sdaie.detect.oneclass import OneClassDetector
from sdaie.exif.listing import list_files
from sdaie.errors import InputError
from sdaie.model.checkpoint import load_binary, load_extractor, state_fingerprint
from sdaie.progress import Progress
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
    def __init__(self, models: str | Path, device: str = "auto", max_patches: int | None = None, patching: str | None = None,
                 workers: int | None = None):
        """`max_patches` and the `patching` rule default to what the one-class GMM's features were
        computed with (without a GMM: 20,000 patches, centre crop). `workers` decode images in parallel
        (default: as many as PyTorch has threads on a GPU, one on the CPU).

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
        self.workers = workers if workers is not None else default_workers(torch.get_num_threads(), self.device)

    def networks(self) -> list[Network]:
        """What runs over each image: the extractor when there is a GMM, the binary detector when there is one."""
        networks = [Network("oneclass", self.extractor)] if self.oneclass is not None else []
        if self.binary is not None:
            networks.append(Network("binary", self.binary.extractor, self.binary.head))
        return networks

    def result(self, scored: Scored) -> DetectionResult:
        """A pipeline result (sdaie.detect.pipeline) as a DetectionResult."""
        result = DetectionResult(path=str(scored.path), width=scored.width, height=scored.height, error=scored.error)
        if scored.error is not None:
            return result
        variant = scored.variants[0]
        result.patches, result.upscaled = variant.patches, variant.upscaled
        if "oneclass" in variant.outputs:
            loglik = float(self.oneclass.score(variant.outputs["oneclass"][None])[0])
            result.oneclass_loglik = loglik if math.isfinite(loglik) else float("-inf")
            result.oneclass_generated = bool(self.oneclass.verdict(loglik))
            result.oneclass_threshold = self.oneclass.threshold
        if "binary" in variant.outputs:
            result.binary_probability = float(variant.outputs["binary"])
            result.binary_generated = result.binary_probability > 0.5
        return result

    def score_file(self, path: str | Path) -> DetectionResult:
        return next(self.score([path]))

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
        """Results in the order of the files (folders listed recursively); `progress` draws a bar."""
        files = list(iter_image_paths(paths))
        tracker = Progress("detect", len(files), "images", bar=progress and len(files) > 1)
        for scored in score_files(files, self.networks(), self.patching, self.device, workers=self.workers, progress=tracker):
            yield self.result(scored)
