"""Binary detector: the extractor's architecture with a 2-way head, regularised by feature distillation.

    loss = cross-entropy(real vs generated)
         + alpha * sum of MSE(student, teacher) over each conv group's output and the per-patch
                   covariance vectors

The teacher is the frozen pretext extractor: the distillation term keeps the student's features close
to the camera-trace features learned on photos only, so it does not overfit to the generators it sees
(alpha = 0.05 by default, the published best). The student starts from scratch (as published) or,
as an option, from the pretext weights.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageFilter
from torch import nn
from torch.nn import functional as F

from sdaie.model.backbone import PATCH, ExtractorConfig, ExtractorOutput, SDAIEExtractor

REAL, GENERATED = 0, 1


class BinaryDetector(nn.Module):
    """Patches (B, n, 3, 64, 64) in [0, 1] -> (logits (B, 2), extractor output)."""

    def __init__(self, config: ExtractorConfig | None = None):
        super().__init__()
        self.extractor = SDAIEExtractor(config)
        self.head = nn.Linear(self.extractor.feature_dim, 2)

    def forward(self, patches: torch.Tensor) -> tuple[torch.Tensor, ExtractorOutput]:
        out = self.extractor(patches)
        return self.head(out.feature), out

    def probability_generated(self, patches: torch.Tensor) -> torch.Tensor:
        logits, _ = self(patches)
        return logits.float().softmax(dim=1)[:, GENERATED]


def distillation_loss(student: ExtractorOutput, teacher: ExtractorOutput) -> torch.Tensor:
    """Sum of mean squared errors over the conv groups' outputs and the covariance vectors.

    The teacher's tensors are detached: the gradient reaches the student only. Computed in float32 (float64
    for float64 models)."""
    pairs = list(zip(student.groups, teacher.groups)) + [(student.covariances, teacher.covariances)]
    wide = (lambda t: t) if student.feature.dtype == torch.float64 else (lambda t: t.float())
    return sum(F.mse_loss(wide(s), wide(t.detach())) for s, t in pairs)


def binary_loss(logits: torch.Tensor, labels: torch.Tensor, student: ExtractorOutput, teacher: ExtractorOutput | None,
                alpha: float, class_weights: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(total, cross-entropy, distillation); without a teacher or with alpha 0 the last is zero.

    ``class_weights`` (real, generated) weight the cross-entropy (see :func:`balanced_class_weights`)."""
    ce = F.cross_entropy(logits.float(), labels.long(), weight=class_weights)
    distill = distillation_loss(student, teacher) if teacher is not None and alpha > 0 else ce.new_zeros(())
    return ce + alpha * distill, ce, distill


def balanced_class_weights(labels: np.ndarray) -> torch.Tensor:
    """Weights (real, generated) that give both classes the same total weight: n / (2 n_c).

    Equal to 1 for a balanced training set (the published setting); with, say, three real images per
    generated one, an unweighted loss learns to call almost everything real at the 0.5 threshold."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=2).astype(np.float64)
    if (counts == 0).any():
        raise ValueError(f"the binary training split needs both classes, got counts (real, generated) {counts.tolist()}")
    return torch.tensor(counts.sum() / (2 * counts), dtype=torch.float32)


# ------------------------------------------------------------------------------- augmentation
@dataclass(frozen=True)
class Augmentation:
    """As published: random downscale (p 0.3), Gaussian blur sigma in [0, 1] (p 0.1), JPEG 90-99 (p 0.25)."""

    downscale_p: float = 0.3
    downscale_range: tuple[int, int] = (64, 128)  # a region this size is resized down to 64 px
    blur_p: float = 0.1
    blur_sigma: tuple[float, float] = (0.0, 1.0)
    jpeg_p: float = 0.25
    jpeg_quality: tuple[int, int] = (90, 99)


def augment_crop(crop: np.ndarray, rng: np.random.Generator, aug: Augmentation) -> np.ndarray:
    """Blur and JPEG on the whole crop (uint8 HxWx3), as post-processing would be applied to an image."""
    image = Image.fromarray(crop)
    if rng.random() < aug.blur_p:
        image = image.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(*aug.blur_sigma))))
    if rng.random() < aug.jpeg_p:
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=int(rng.integers(aug.jpeg_quality[0], aug.jpeg_quality[1] + 1)))
        buffer.seek(0)
        image = Image.open(buffer).convert("RGB")
    return np.asarray(image)


def random_patches(crop: np.ndarray, n: int, rng: np.random.Generator, aug: Augmentation | None) -> np.ndarray:
    """n random 64x64 patches (n, 3, 64, 64) uint8 from a crop; with `aug`, some are downscaled regions."""
    height, width = crop.shape[:2]
    out = np.empty((n, 3, PATCH, PATCH), np.uint8)
    for i in range(n):
        size = PATCH
        if aug is not None and rng.random() < aug.downscale_p:
            size = int(rng.integers(aug.downscale_range[0], min(aug.downscale_range[1], height, width) + 1))
        y = int(rng.integers(0, height - size + 1))
        x = int(rng.integers(0, width - size + 1))
        region = crop[y : y + size, x : x + size]
        if size != PATCH:
            region = np.asarray(Image.fromarray(region).resize((PATCH, PATCH), Image.Resampling.BILINEAR))
        out[i] = region.transpose(2, 0, 1)
    return out
