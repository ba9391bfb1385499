"""Deterministic post-processing applied to an image before it is cut into patches.

A perturbation is written as a short string in the config and in every table:

    none          the image as stored
    jpeg:Q        re-encoded as JPEG at quality Q (Pillow, 4:2:0 chroma subsampling, standard tables)
    blur:S        Gaussian blur with standard deviation S pixels (scipy.ndimage, per channel)
    scale:F       resized by factor F (Pillow bicubic, antialiased when shrinking), sides rounded

The published robustness tests are `jpeg:95`, `blur:1.0` and `scale:0.5`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

KINDS = ("none", "jpeg", "blur", "scale")
PUBLISHED = ("none", "jpeg:95", "blur:1.0", "scale:0.5")


@dataclass(frozen=True)
class Perturbation:
    kind: str
    value: float | None = None
    spec: str = "none"  # as written in the config; the name used in every table

    @property
    def name(self) -> str:
        return self.spec


def parse_perturbation(spec: str) -> Perturbation:
    """`"jpeg:90"` -> Perturbation("jpeg", 90); a clear ValueError for anything else."""
    spec = str(spec).strip()
    if spec == "none":
        return Perturbation("none", None, spec)
    kind, sep, raw = spec.partition(":")
    if not sep or kind not in KINDS[1:]:
        raise ValueError(f"perturbation {spec!r}: expected none, jpeg:QUALITY, blur:SIGMA or scale:FACTOR")
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"perturbation {spec!r}: {raw!r} is not a number") from None
    if kind == "jpeg" and not (1 <= value <= 100 and value == int(value)):
        raise ValueError(f"perturbation {spec!r}: JPEG quality must be an integer from 1 to 100")
    if kind == "blur" and not value > 0:
        raise ValueError(f"perturbation {spec!r}: blur sigma must be positive")
    if kind == "scale" and not 0 < value <= 8:
        raise ValueError(f"perturbation {spec!r}: scale factor must be in (0, 8]")
    return Perturbation(kind, value, spec)


def jpeg_bytes(pixels: np.ndarray, quality: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=int(quality), subsampling="4:2:0")
    return buffer.getvalue()


def jpeg(pixels: np.ndarray, quality: int) -> np.ndarray:
    with Image.open(io.BytesIO(jpeg_bytes(pixels, quality))) as image:
        return np.asarray(image.convert("RGB"))


def gaussian_blur(pixels: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    blurred = gaussian_filter(pixels.astype(np.float32), sigma=(sigma, sigma, 0), mode="reflect", truncate=4.0)
    return np.clip(np.rint(blurred), 0, 255).astype(np.uint8)


def rescale(pixels: np.ndarray, factor: float) -> np.ndarray:
    height, width = pixels.shape[:2]
    size = (max(1, int(width * factor + 0.5)), max(1, int(height * factor + 0.5)))  # sides rounded half up
    return np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BICUBIC))


def apply(pixels: np.ndarray, perturbation: Perturbation) -> np.ndarray:
    """The perturbed copy of uint8 RGB pixels (H, W, 3); `none` returns the input itself."""
    if perturbation.kind == "none":
        return pixels
    if perturbation.kind == "jpeg":
        return jpeg(pixels, int(perturbation.value))
    if perturbation.kind == "blur":
        return gaussian_blur(pixels, perturbation.value)
    return rescale(pixels, perturbation.value)
