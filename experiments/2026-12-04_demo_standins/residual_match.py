"""How far each stand-in's SRM residual statistics lie from the photos', as synthesised and photo-like.

    python experiments/2026-12-04_demo_standins/residual_match.py DEMO_DIR

DEMO_DIR: a demo build whose photos/ are compared, e.g. results/demo (config.yaml's demo, seed 0). Ten
fresh stand-ins per generator (seeds 100-109) are made both ways: as synthesised (`standin_finish:
none`) and photo-like (`make_photo_like_standin`). For each of the 90 SRM statistics
(sdaie.evaluate.srm_stats) the standardised difference d (stand-ins minus photos, over the pooled
standard deviation) is taken; printed: the largest |d| (and which statistic), the mean |d|, and d of
the first first-order kernel's log standard deviation and log kurtosis.
"""

import io
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from sdaie.demo.standins import make_photo_like_standin, make_standin
from sdaie.detect.features import Patching
from sdaie.detect.pipeline import score_files
from sdaie.evaluate.srm_stats import srm_statistics

NAMES = [f"{k}{i}" for k in ("log_std", "log_abs", "log_kurt") for i in range(30)]


def statistics(files):
    return np.array([r.variants[0].outputs["s"] for r in
                     score_files(files, [], Patching(16), torch.device("cpu"), statistics={"s": srm_statistics})])


def main():
    torch.set_num_threads(1)
    demo = Path(sys.argv[1])
    photos = statistics(sorted((demo / "photos").rglob("*.jpg"))[::4])
    out = Path(tempfile.mkdtemp())
    for generator in ("standin_upconv", "standin_denoiser"):
        for finish in ("none", "photo_like"):
            files = []
            for k in range(10):
                rng = np.random.default_rng(100 + k)
                if finish == "none":
                    buf = io.BytesIO()
                    Image.fromarray(make_standin(generator, rng, 512, 384)[1]).save(buf, "PNG")
                    data, ext = buf.getvalue(), "png"
                else:
                    data, ext = make_photo_like_standin(generator, rng, 512, 384)[1], "jpg"
                files.append(out / f"{generator}_{finish}_{k}.{ext}")
                files[-1].write_bytes(data)
            g = statistics(files)
            d = (g.mean(0) - photos.mean(0)) / np.sqrt((g.var(0) + photos.var(0)) / 2 + 1e-9)
            worst = int(np.argmax(np.abs(d)))
            print(f"{generator:17s} {finish:10s} max|d| {abs(d[worst]):.2f} ({NAMES[worst]})  mean|d| "
                  f"{np.abs(d).mean():.2f}  d(log_std0) {d[0]:+.2f}  d(log_kurt0) {d[60]:+.2f}", flush=True)


if __name__ == "__main__":
    main()
