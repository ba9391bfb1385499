"""Seed study of the one-class detector on the demo data: how far its ROC AUC moves with the seed.

For each seed (it sets the demo images, the splits, the crops and the training run alike): build the
demo, its tag table and splits, cut the pretext splits' crops, train the pretext extractor, take the
whole-image features (the scoring path: all 64x64 patches as one sequence) of the `oneclass_fit` and
`test` photos and of every stand-in image, fit the one-class mixture under each setting below on the
`oneclass_fit` photos, and print the ROC AUC of the held-out `test` photos against each stand-in. The
same is done with the extractor's random initial weights (the evaluation's random-weights baseline).

    python bench/oneclass_seeds.py --size test --steps 24 --lr 1e-4 --batch 8          # the CI test's size
    python bench/oneclass_seeds.py --size demo --steps 300 --lr 3e-4 --batch 16        # config.yaml's size
    python bench/oneclass_seeds.py --size demo --photos-per-camera 200 --steps 600 --lr 3e-4 --batch 16

Sizes: `test` is tests/test_demo_detection.py's data (4 cameras x 24 photos at 256 x 256, 30 images
per stand-in, 128 px crops, splits 0.4/0.1/0.25/0.25); `demo` is config.yaml's (4 x 40 photos at
512 x 384, 40 per stand-in, 256 px crops, splits 0.6/0.1/0.15/0.15). Data and runs are kept under
--work and reused. CPU only; a `demo`-size seed takes about 7 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import torch
from sklearn.metrics import roc_auc_score

from sdaie.demo import build_demo
from sdaie.detect.features import Patching
from sdaie.detect.oneclass import GMMSettings, OneClassDetector
from sdaie.detect.pipeline import Network, score_files
from sdaie.exif.extract import extract_to_parquet
from sdaie.exif.listing import list_files
from sdaie.model.backbone import ExtractorConfig, SDAIEExtractor
from sdaie.patches.cut import cut_photos, readable_rows, select_shard
from sdaie.tags.normalize import normalize_tables
from sdaie.model.checkpoint import load_extractor
from sdaie.train.pretext import PretextConfig, train_pretext

SIZES = {
    "test": dict(photos_per_camera=24, generated_per_set=30, width=256, height=256, crop=128, min_count=1,
                 split={"pretext_train": 0.4, "pretext_val": 0.1, "oneclass_fit": 0.25, "test": 0.25}),
    "demo": dict(photos_per_camera=40, generated_per_set=40, width=512, height=384, crop=256, min_count=3,
                 split={"pretext_train": 0.6, "pretext_val": 0.1, "oneclass_fit": 0.15, "test": 0.15}),
}
MIXTURES = {  # name -> one-class settings (all with the cross-validated 2% threshold of the demo config)
    "diag": GMMSettings(n_components=1, covariance_type="diag", threshold_from="crossval"),
    "ledoit_wolf": GMMSettings(n_components=1, covariance_type="full", reg_covar="ledoit_wolf", threshold_from="crossval"),
    "published_5_full": GMMSettings(n_components=5, covariance_type="full", threshold_from="crossval"),
}
STANDINS = ("standin_upconv", "standin_denoiser")
MAX_PATCHES = 16
CPU = torch.device("cpu")


def prepare(work: Path, seed: int, size: dict) -> Path:
    """Demo data, tag table and pretext crops for one seed (kept and reused)."""
    root = work / f"seed{seed}"
    if (root / "ready").exists():
        return root
    demo = root / "demo"
    build_demo(demo, seed=seed, cameras=4, photos_per_camera=size["photos_per_camera"],
               generated_per_set=size["generated_per_set"], width=size["width"], height=size["height"], workers=2)
    photos = demo / "photos"
    extract_to_parquet(photos, list(list_files(photos)), root / "exif.parquet", dataset="demo_photos")
    normalize_tables([root / "exif.parquet"], root / "tags.parquet", vocab_out=root / "vocabulary.json",
                     summary_out=root / "summary.md", min_count=size["min_count"], split_fractions=size["split"],
                     split_seed=seed)
    cut_photos(select_shard(pq.read_table(root / "tags.parquet"), 0, 1, ["pretext_train", "pretext_val"]),
               {"demo_photos": photos}, root / "patches" / "shard_0_of_1", crop=size["crop"], crops_per_photo=4, seed=seed)
    (root / "ready").touch()
    return root


def features(extractor: SDAIEExtractor, files: list[Path]) -> np.ndarray:
    results = score_files(files, [Network("feature", extractor)], Patching(MAX_PATCHES), CPU)
    return np.array([r.variants[0].outputs["feature"].astype(np.float64) for r in results])


def held_out_aucs(extractor: SDAIEExtractor, root: Path) -> dict[tuple[str, str], float]:
    """(mixture, stand-in) -> ROC AUC of the `test` photos against that stand-in's images."""
    tags = pq.read_table(root / "tags.parquet")
    photos = root / "demo" / "photos"
    fit = features(extractor, [photos / p for p in readable_rows(tags, ["oneclass_fit"]).column("path").to_pylist()])
    test = features(extractor, [photos / p for p in readable_rows(tags, ["test"]).column("path").to_pylist()])
    generated = {g: features(extractor, sorted((root / "demo" / "generated" / g).glob("*.png"))) for g in STANDINS}
    aucs = {}
    for name, settings in MIXTURES.items():
        detector = OneClassDetector.fit(fit, settings, extractor_id="study")
        real = detector.score(test)
        for g, x in generated.items():
            labels = np.r_[np.zeros(len(real)), np.ones(len(x))]
            aucs[(name, g)] = float(roc_auc_score(labels, -np.r_[real, detector.score(x)]))
    return aucs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--size", choices=sorted(SIZES), default="test")
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--photos-per-camera", type=int, help="instead of the size's (24 test, 40 demo)")
    parser.add_argument("--work", type=Path, default=Path("results-bench/oneclass_seeds"))
    args = parser.parse_args()
    size = dict(SIZES[args.size])
    if args.photos_per_camera:
        size["photos_per_camera"] = args.photos_per_camera
    data = args.size if not args.photos_per_camera else f"{args.size}_{args.photos_per_camera}"
    results: dict[str, dict[tuple[str, str], list[float]]] = {"pretext": {}, "random weights": {}}
    for seed in args.seeds:
        started = time.perf_counter()
        root = prepare(args.work / data, seed, size)
        run = root / f"pretext_{args.steps}_{args.lr:g}_{args.batch}"
        if not (run / "model.pt").exists():
            config = PretextConfig(steps=args.steps, batch_size=args.batch, n_patches=4, lr=args.lr, seed=seed,
                                   val_every=args.steps, checkpoint_every=args.steps, workers=0, progress=False, device="cpu")
            train_pretext([root / "patches" / "shard_0_of_1"], run, config, json.loads((root / "vocabulary.json").read_text()))
        trained, _, _ = load_extractor(run / "model.pt")
        torch.manual_seed(seed)
        extractors = {"pretext": trained, "random weights": SDAIEExtractor(ExtractorConfig()).eval()}
        line = {"seed": seed}
        for kind, extractor in extractors.items():
            for key, auc in held_out_aucs(extractor, root).items():
                results[kind].setdefault(key, []).append(auc)
                line[f"{kind}/{key[0]}/{key[1]}"] = round(auc, 3)
        line["seconds"] = round(time.perf_counter() - started)
        print(json.dumps(line), flush=True)

    print(f"\nOne-class ROC AUC, held-out photos against each stand-in; size {data}, pretext {args.steps} steps, "
          f"lr {args.lr:g}, batch {args.batch}; seeds {args.seeds}\n")
    print("| extractor | mixture | stand-in | per seed | median | min |")
    print("|---|---|---|---|---|---|")
    for kind, table in results.items():
        for (name, g), values in table.items():
            per_seed = ", ".join(f"{v:.2f}" for v in values)
            print(f"| {kind} | {name} | {g.removeprefix('standin_')} | {per_seed} | {statistics.median(values):.2f} | {min(values):.2f} |")


if __name__ == "__main__":
    main()
