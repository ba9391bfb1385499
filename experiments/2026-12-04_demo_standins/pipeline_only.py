"""Which stand-in differences do the trained features see that the baselines do not?

Reuses the pretext extractors that `bench/oneclass_seeds.py` trained (its --work folder, one
`seed<S>/` per seed) and the same one-class recipe, and scores fresh stand-in variants against the
held-out `test` photos of each seed, for the trained extractor, its random initial weights and SRM
statistics (the bench's `features` and `held_out_aucs`, so the numbers compare with its table):

    upconv, denoiser   the photo-like stand-ins of `demo.standin_finish: photo_like`
    render             no generator at all: the stand-ins' scene content (the photos' scene
                       generator, neutral rendering) with the same photo-like finish (noise at the
                       photos' levels on every RGB value, JPEG at the cameras' qualities); what it
                       lacks against a photo is only the camera pipeline
    render_blur        the same after a Gaussian blur of 0.7 px (the optics' softness, no camera)

    python experiments/2026-12-04_demo_standins/pipeline_only.py --work results-bench/v3 --seeds 0 1
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import torch
import yaml
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from oneclass_seeds import DETECTORS, features, held_out_aucs  # noqa: E402

from sdaie.config import validate_config  # noqa: E402
from sdaie.demo import standins  # noqa: E402
from sdaie.detect.features import Patching  # noqa: E402
from sdaie.detect.oneclass import GMMSettings  # noqa: E402
from sdaie.evaluate.baselines import random_extractor  # noqa: E402
from sdaie.model.checkpoint import load_extractor  # noqa: E402
from sdaie.patches.cut import readable_rows  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def render(rng: np.random.Generator, width: int, height: int, blur: float = 0.0) -> bytes:
    _, content = standins.scene_content(rng, height, width)
    if blur:
        content = ndimage.gaussian_filter(content, (blur, blur, 0), mode="mirror")
    return standins.finish_like_photo(rng, (np.clip(content, 0, 1) * 255 + 0.5).astype(np.uint8))


VARIANTS = {
    "upconv": lambda rng, w, h: standins.make_photo_like_standin("standin_upconv", rng, w, h)[1],
    "denoiser": lambda rng, w, h: standins.make_photo_like_standin("standin_denoiser", rng, w, h)[1],
    "render": lambda rng, w, h: render(rng, w, h),
    "render_blur": lambda rng, w, h: render(rng, w, h, blur=0.7),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="bench/oneclass_seeds.py's --work folder")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--images", type=int, default=30, help="images per variant and seed")
    args = parser.parse_args()
    config = validate_config(yaml.safe_load((REPO / "config.yaml").read_text()))
    torch.set_num_threads(config["threads"])
    patching = Patching.from_config(config["features"])
    settings = GMMSettings(**{k: v for k, v in config["oneclass"].items() if k in GMMSettings.__dataclass_fields__})
    width, height = config["demo"]["width"], config["demo"]["height"]
    rows = []
    for seed in args.seeds:
        root = args.work / f"seed{seed}"
        trained, extractor_config, _ = load_extractor(root / "pretext" / "model.pt")
        extractors = {"trained": trained, "random weights": random_extractor(extractor_config, seed)}
        tags = pq.read_table(root / "tags.parquet")
        photos = root / "demo" / "photos"
        split = {s: [photos / p for p in readable_rows(tags, [s]).column("path").to_pylist()] for s in ("oneclass_fit", "test")}
        fit, test = features(split["oneclass_fit"], extractors, patching), features(split["test"], extractors, patching)
        for name, make in VARIANTS.items():
            folder = root / "pipeline_only" / name
            folder.mkdir(parents=True, exist_ok=True)
            files = []
            for i in range(args.images):
                path = folder / f"{i:03d}.jpg"
                if not path.exists():
                    path.write_bytes(make(np.random.default_rng([seed, 2026, i]), width, height))
                files.append(path)
            generated = features(files, extractors, patching)
            aucs = {d: held_out_aucs(fit[d], test[d], {name: generated[d]}, settings)[name] for d in DETECTORS}
            rows.append((seed, name, aucs))
            print(seed, name, {d: round(a, 3) for d, a in aucs.items()}, flush=True)
    print("\n| seed | stand-in | " + " | ".join(DETECTORS) + " | trained above both |")
    print("|---" * (len(DETECTORS) + 3) + "|")
    for seed, name, aucs in rows:
        above = aucs["trained"] > max(aucs[d] for d in DETECTORS if d != "trained")
        print(f"| {seed} | {name} | " + " | ".join(f"{aucs[d]:.2f}" for d in DETECTORS) + f" | {'yes' if above else 'no'} |")


if __name__ == "__main__":
    main()
