"""Whole-image features for scoring: every non-overlapping 64x64 patch as one sequence.

An image is centre-cropped to a multiple of 64 on each side and cut into all its 64x64 patches in
raster order (capped at `max_patches`, default 20,000: an evenly spread subset is kept beyond that),
then fed to the extractor as one sequence, as published; the feature is output token 0. The CNN runs
over the patches in chunks so memory stays bounded; the Transformer sees the whole sequence. Images
smaller than 64 px on a side are resized up to 64 (bicubic) and flagged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from sdaie.model.backbone import PATCH, SDAIEExtractor

DEFAULT_MAX_PATCHES = 20_000


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


def image_patches(pixels: np.ndarray, max_patches: int = DEFAULT_MAX_PATCHES) -> ImagePatches:
    """uint8 RGB (H, W, 3) -> all non-overlapping 64x64 patches of the centre crop, raster order."""
    pixels, upscaled = upscale_small(pixels)
    height, width = pixels.shape[:2]
    rows, cols = height // PATCH, width // PATCH
    top, left = (height - rows * PATCH) // 2, (width - cols * PATCH) // 2
    crop = pixels[top : top + rows * PATCH, left : left + cols * PATCH]
    patches = crop.reshape(rows, PATCH, cols, PATCH, 3).transpose(0, 2, 4, 1, 3).reshape(rows * cols, 3, PATCH, PATCH)
    if len(patches) > max_patches:
        keep = np.linspace(0, len(patches) - 1, max_patches).round().astype(int)
        patches = patches[keep]
    return ImagePatches(np.ascontiguousarray(patches), upscaled)


@torch.no_grad()
def image_feature(extractor: SDAIEExtractor, patches: np.ndarray, device: torch.device, chunk: int = 256, autocast: bool = False) -> np.ndarray:
    """The 528-d feature of one image from its patches (n, 3, 64, 64) uint8."""
    covariances = []
    for start in range(0, len(patches), chunk):
        x = torch.from_numpy(patches[start : start + chunk]).to(device, non_blocking=True).float().div_(255.0)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=autocast):
            groups = extractor.cnn(x)
            covariances.append(extractor.pool(groups[-1]))
    tokens = torch.cat(covariances).unsqueeze(0)
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=autocast):
        for layer in extractor.layers:
            tokens = layer(tokens)
        tokens = extractor.norm(tokens)
    return tokens[0, 0].float().cpu().numpy()
