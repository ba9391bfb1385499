"""Whole-image scoring speed: images/s for a 12-megapixel photo (4000x3000), all 64x64 patches.

    python bench/score_throughput.py [--device auto|cpu|cuda] [--images 2] [--chunk 256]

Times the extractor on every patch of the centre crop (62 x 46 = 2,852 patches) as one sequence,
with random weights (speed does not depend on them) and a synthetic image.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from sdaie.detect.features import image_feature, image_patches
from sdaie.model.backbone import SDAIEExtractor
from sdaie.train.common import pick_device


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=256, help="patches per CNN forward")
    parser.add_argument("--amp", action=argparse.BooleanOptionalAction, default=False, help="bf16 autocast (CUDA)")
    args = parser.parse_args()
    device = pick_device(args.device)
    extractor = SDAIEExtractor().to(device).eval()
    pixels = np.random.default_rng(0).integers(0, 256, (3000, 4000, 3), dtype=np.uint8)
    image_feature(extractor, image_patches(pixels).patches[:64], device, args.chunk)  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(args.images):
        cut = image_patches(pixels)
        image_feature(extractor, cut.patches, device, args.chunk, autocast=args.amp and device.type == "cuda")
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = (time.perf_counter() - start) / args.images
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.machine()
    print("| device | patches/image | s/image | images/s |")
    print("|---|---|---|---|")
    print(f"| {name} ({torch.get_num_threads()} threads) | {len(cut.patches)} | {seconds:.2f} | {1 / seconds:.3f} |")


if __name__ == "__main__":
    main()
