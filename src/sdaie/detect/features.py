"""Whole-image features for scoring: every non-overlapping 64x64 patch as one sequence.

Two patching rules (`features.patching` in the config):

    centre    (default) the centre crop to a multiple of 64 on each side, cut into all its 64x64
              patches in raster order; beyond `max_patches` (default 20,000) an evenly spread subset
              is kept; images smaller than 64 px on a side are resized up (bicubic, aspect kept)
    official  the official code's rule, quirk included: `w, h` rounded down to multiples of 64, then
              torchvision's CenterCrop((w, h)), which reads its argument as (height, width): a
              landscape image becomes a floor64(H)-wide, floor64(W)-high canvas, its centre columns
              with black rows above and below (a portrait image likewise, turned); the first
              `max_patches` patches in raster order are kept; images smaller than 64 px on a side
              are resized to 64x64 (aspect not kept)

The official rule gives a non-square image black patches, and token 0 (the image feature) is then the
top-left patch, which is black for landscape images; `centre` is the default for that reason, and
`official` is there to reproduce published scores. Square images get the same patches from both.
The patches go through the extractor as one sequence, as published; the feature is output token 0.
The CNN runs over the patches in chunks so memory stays bounded; the Transformer sees the whole sequence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from sdaie.model.backbone import PATCH, SDAIEExtractor

DEFAULT_MAX_PATCHES = 20_000
CENTRE, OFFICIAL = "centre", "official"
PATCHING_RULES = (CENTRE, OFFICIAL)


@dataclass(frozen=True)
class Patching:
    """How a whole image becomes its patch sequence: the rule and the cap (config section `features`)."""

    max_patches: int = DEFAULT_MAX_PATCHES
    rule: str = CENTRE

    def __post_init__(self):
        if self.rule not in PATCHING_RULES:
            raise ValueError(f"unknown patching rule {self.rule!r} (expected one of {', '.join(PATCHING_RULES)})")

    @classmethod
    def from_config(cls, features: dict) -> "Patching":
        return cls(features.get("max_patches", DEFAULT_MAX_PATCHES), features.get("patching", CENTRE))

    def __call__(self, pixels: np.ndarray) -> "ImagePatches":
        return image_patches(pixels, self.max_patches, self.rule)


@dataclass
class ImagePatches:
    patches: np.ndarray  # uint8 (n, 3, 64, 64)
    upscaled: bool  # the image was smaller than 64 px on a side and was resized up


def upscale_small(pixels: np.ndarray) -> tuple[np.ndarray, bool]:
    """Resize an image up so both sides are at least 64 px (aspect kept); returns (pixels, resized?)."""
    height, width = pixels.shape[:2]
    if height >= PATCH and width >= PATCH:
        return pixels, False
    from PIL import Image

    scale = PATCH / min(height, width)
    size = (max(PATCH, round(width * scale)), max(PATCH, round(height * scale)))
    return np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BICUBIC)), True


def official_canvas(pixels: np.ndarray) -> tuple[np.ndarray, bool]:
    """The official whole-image crop (module docstring): (canvas uint8 (H', W', 3), resized?)."""
    height, width = pixels.shape[:2]
    resized = min(height, width) < PATCH
    if resized:
        from PIL import Image

        pixels = np.asarray(Image.fromarray(pixels).resize((PATCH, PATCH), Image.Resampling.BILINEAR))
        height, width = PATCH, PATCH
    out_h, out_w = width // PATCH * PATCH, height // PATCH * PATCH  # CenterCrop((w, h)) reads (height, width)
    # torchvision's center_crop: zero padding where the crop is larger, then a crop at round(excess / 2)
    pad_top, pad_left = max(out_h - height, 0) // 2, max(out_w - width, 0) // 2
    padded = np.zeros((max(out_h, height), max(out_w, width), 3), np.uint8)
    padded[pad_top : pad_top + height, pad_left : pad_left + width] = pixels
    top = int(round((padded.shape[0] - out_h) / 2.0))
    left = int(round((padded.shape[1] - out_w) / 2.0))
    return padded[top : top + out_h, left : left + out_w], resized


def image_patches(pixels: np.ndarray, max_patches: int = DEFAULT_MAX_PATCHES, rule: str = CENTRE) -> ImagePatches:
    """uint8 RGB (H, W, 3) -> the image's 64x64 patches (n, 3, 64, 64), raster order, by `rule`."""
    if rule == OFFICIAL:
        crop, upscaled = official_canvas(pixels)
    elif rule == CENTRE:
        pixels, upscaled = upscale_small(pixels)
        height, width = pixels.shape[:2]
        rows, cols = height // PATCH, width // PATCH
        top, left = (height - rows * PATCH) // 2, (width - cols * PATCH) // 2
        crop = pixels[top : top + rows * PATCH, left : left + cols * PATCH]
    else:
        raise ValueError(f"unknown patching rule {rule!r} (expected one of {', '.join(PATCHING_RULES)})")
    rows, cols = crop.shape[0] // PATCH, crop.shape[1] // PATCH
    patches = crop.reshape(rows, PATCH, cols, PATCH, 3).transpose(0, 2, 4, 1, 3).reshape(rows * cols, 3, PATCH, PATCH)
    if len(patches) > max_patches:
        if rule == OFFICIAL:
            keep = np.arange(max_patches)
        else:
            keep = np.linspace(0, len(patches) - 1, max_patches).round().astype(int)
        patches = patches[keep]
    return ImagePatches(np.ascontiguousarray(patches), upscaled)


def image_feature(extractor: SDAIEExtractor, patches: np.ndarray, device: torch.device, chunk: int = 512,
                  autocast: bool = False) -> np.ndarray:
    """The 528-d feature of one image from its patches (n, 3, 64, 64) uint8 (sdaie.detect.pipeline's code path)."""
    from sdaie.detect.pipeline import Network, network_outputs

    extractor.to(device)
    return network_outputs(Network("feature", extractor), [torch.from_numpy(np.ascontiguousarray(patches))], device,
                           chunk=chunk, amp=autocast)[0]
