"""Whole-image scoring speed, the old path against the scoring pipeline, in one run.

    python bench/score_throughput.py [--device auto|cpu|cuda] [--sizes 1mp 12mp] [--images 8 2] [--workers N]

Writes JPEG files (seeded noise, so every patch is busy) of about 1 and 12 megapixels and scores them
with the extractor (random weights: speed does not depend on them), all 64x64 patches of each image:

    old   what sdaie did before the pipeline, kept here as the reference: for each file in turn decode,
          cut, then the CNN in chunks of 256 patches and the Transformer, one image at a time
    new   sdaie.detect.pipeline.score_files: decoding and cutting in loader workers while the networks
          run, small images packed together (what `sdaie detect`, the features rule and the evaluation use)

Prints images/s per path and size, the ratio new/old, and on CUDA the share of wall time the GPU was
busy (nvidia-smi utilization sampled every 0.2 s during the run).
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from sdaie.detect.features import Patching
from sdaie.detect.pipeline import Network, default_workers, network_outputs, score_files
from sdaie.imageio import decode_rgb
from sdaie.model.backbone import SDAIEExtractor
from sdaie.train.common import pick_device

SIZES = {"1mp": (864, 1152), "12mp": (3000, 4000)}


def write_images(folder: Path, size: str, count: int) -> list[Path]:
    height, width = SIZES[size]
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    paths = []
    for i in range(count):
        path = folder / f"{size}_{i}.jpg"
        Image.fromarray(np.roll(base, i * 7, axis=1)).save(path, quality=92)
        paths.append(path)
    return paths


@torch.no_grad()
def old_path(extractor: SDAIEExtractor, paths: list[Path], patching: Patching, device: torch.device, amp: bool) -> None:
    for path in paths:
        patches = patching(decode_rgb(path)).patches
        network_outputs(Network("f", extractor), [torch.from_numpy(patches)], device, chunk=256, amp=amp)


def new_path(extractor: SDAIEExtractor, paths: list[Path], patching: Patching, device: torch.device, amp: bool, workers: int) -> None:
    for _ in score_files(paths, [Network("f", extractor)], patching, device, workers=workers, amp=amp):
        pass


class GpuBusy:
    """Mean nvidia-smi utilization.gpu while the block runs (CUDA only)."""

    def __init__(self, device: torch.device):
        self.on, self.samples, self.stop = device.type == "cuda", [], threading.Event()

    def __enter__(self):
        if self.on:
            self.thread = threading.Thread(target=self._sample, daemon=True)
            self.thread.start()
        return self

    def _sample(self):
        while not self.stop.wait(0.2):
            out = subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
                                 capture_output=True, text=True)
            if out.returncode == 0 and out.stdout.strip():
                self.samples.append(float(out.stdout.split()[0]))

    def __exit__(self, *exc):
        if self.on:
            self.stop.set()
            self.thread.join()

    @property
    def busy(self) -> str:
        return f"{np.mean(self.samples):.0f}%" if self.samples else "-"


def timed(run, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    run()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--sizes", nargs="+", default=["1mp", "12mp"], choices=list(SIZES))
    parser.add_argument("--images", nargs="+", type=int, default=[8, 2], help="images per size (one number per size)")
    parser.add_argument("--workers", type=int, default=None, help="loader workers of the new path (default: sdaie's choice)")
    parser.add_argument("--amp", action=argparse.BooleanOptionalAction, default=False, help="bf16 autocast")
    args = parser.parse_args()
    device = pick_device(args.device)
    workers = args.workers if args.workers is not None else default_workers(torch.get_num_threads(), device)
    torch.manual_seed(0)
    extractor = SDAIEExtractor().to(device).eval()
    patching = Patching()  # every patch (up to 20,000)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size, count in zip(args.sizes, args.images):
            paths = write_images(Path(tmp), size, count)
            old_path(extractor, paths[:1], patching, device, args.amp)  # warm-up (allocator, kernels)
            old = timed(lambda: old_path(extractor, paths, patching, device, args.amp), device)
            with GpuBusy(device) as busy:
                new = timed(lambda: new_path(extractor, paths, patching, device, args.amp, workers), device)
            patches = len(patching(decode_rgb(paths[0])).patches)
            rows.append((size, patches, count, count / old, count / new, busy.busy))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU {platform.machine()}"
    print(f"\n{name}, {torch.get_num_threads()} threads, {workers} loader workers, {'bf16' if args.amp else 'fp32'}")
    print("| image | patches | images | old img/s | new img/s | new/old | GPU busy (new) |")
    print("|---|---|---|---|---|---|---|")
    for size, patches, count, old, new, busy in rows:
        print(f"| {size} | {patches} | {count} | {old:.3f} | {new:.3f} | {new / old:.2f}x | {busy} |")


if __name__ == "__main__":
    main()
