"""Seed study of the demo's one-class detector against both no-learning baselines.

For each seed S (it sets the demo images, the splits, the crops, the pretext run and the random
weights alike: demo.seed = tags.split.seed = patches.seed = pretext.seed = evaluate.baseline_seed = S),
with every other setting read from the config file (config.yaml by default, so the study measures the
README's demo): build the demo data, its EXIF table, tag table and splits, cut the pretext crops, train
the pretext extractor, take the whole-image features (the scoring pipeline, `features.max_patches`
patches) of the `oneclass_fit` and `test` photos and of every stand-in image, fit the one-class mixture
(`oneclass` settings) on the `oneclass_fit` photos, and print the ROC AUC of the held-out `test` photos
against each stand-in. The same is done for the two baselines of the evaluation: the extractor's
random initial weights, and SRM residual statistics (sdaie.evaluate.srm_stats).

    python bench/oneclass_seeds.py                         # seeds 0-4, config.yaml's demo
    python bench/oneclass_seeds.py --seeds 0 --config config.yaml configs/demo_photo_like.yaml

Several --config files are merged in order, as `snakemake --configfile` merges them over config.yaml.

These are the library calls the pipeline's rules make, in one process (one crop shard instead of
`patches.shards`, so the crops' order, and with it the trained weights, differ from a pipeline run
at the same seed). Data and runs are kept under --work and reused. CPU only.
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

import yaml
from snakemake.utils import update_config

from sdaie.config import validate_config
from sdaie.demo import build_demo
from sdaie.detect.features import Patching
from sdaie.detect.oneclass import GMMSettings, OneClassDetector
from sdaie.detect.pipeline import Network, score_files
from sdaie.evaluate.baselines import random_extractor
from sdaie.evaluate.srm_stats import srm_statistics
from sdaie.exif.extract import extract_to_parquet
from sdaie.exif.listing import list_files
from sdaie.model.checkpoint import load_extractor
from sdaie.patches.cut import cut_photos, readable_rows, select_shard
from sdaie.tags.normalize import normalize_tables
from sdaie.train.pretext import PretextConfig, train_pretext

CPU = torch.device("cpu")
SRM = "SRM statistics"
DETECTORS = ("trained", "random weights", SRM)


def prepare(root: Path, seed: int, config: dict) -> Path:
    """Demo data, tag table and pretext crops for one seed (kept and reused)."""
    if (root / "ready").exists():
        return root
    demo = config["demo"]
    build_demo(root / "demo", seed=seed, cameras=demo["cameras"], photos_per_camera=demo["photos_per_camera"],
               generated_per_set=demo["generated_per_set"], width=demo["width"], height=demo["height"],
               standin_finish=demo["standin_finish"], workers=config["threads"])
    photos = root / "demo" / "photos"
    extract_to_parquet(photos, list(list_files(photos)), root / "exif.parquet", dataset="demo_photos")
    tags = config["tags"]
    normalize_tables([root / "exif.parquet"], root / "tags.parquet", vocab_out=root / "vocabulary.json",
                     summary_out=root / "summary.md", min_count=tags["min_count"],
                     split_fractions=tags["split"]["fractions"], split_seed=seed)
    patches = config["patches"]
    cut_photos(select_shard(pq.read_table(root / "tags.parquet"), 0, 1, patches["splits"]), {"demo_photos": photos},
               root / "patches" / "shard_0_of_1", crop=patches["crop"], crops_per_photo=patches["crops_per_photo"],
               seed=seed)
    (root / "ready").touch()
    return root


def features(files: list[Path], extractors: dict, patching: Patching) -> dict[str, np.ndarray]:
    """Each extractor's features and the SRM statistics of each file (every file decoded once)."""
    scored = list(score_files(files, [Network(name, e) for name, e in extractors.items()], patching, CPU,
                              statistics={SRM: srm_statistics}))
    return {name: np.array([r.variants[0].outputs[name].astype(np.float64) for r in scored])
            for name in [*extractors, SRM]}


def held_out_aucs(fit: np.ndarray, test: np.ndarray, generated: dict[str, np.ndarray], settings: GMMSettings) -> dict:
    detector = OneClassDetector.fit(fit, settings, extractor_id="seed-study")
    real = detector.score(test)
    aucs = {}
    for name, x in generated.items():
        labels = np.r_[np.zeros(len(real)), np.ones(len(x))]
        aucs[name] = float(roc_auc_score(labels, -np.r_[real, detector.score(x)]))
    return aucs


def one_seed(work: Path, seed: int, config: dict) -> dict[str, dict[str, float]]:
    root = prepare(work / f"seed{seed}", seed, config)
    pretext = {k: v for k, v in config["pretext"].items() if k in PretextConfig.__dataclass_fields__}
    pretext.update(seed=seed, device="cpu", progress=False, workers=0)
    run = root / "pretext"
    if not (run / "model.pt").exists():
        train_pretext([root / "patches" / "shard_0_of_1"], run, PretextConfig(**pretext),
                      json.loads((root / "vocabulary.json").read_text()))
    trained, extractor_config, _ = load_extractor(run / "model.pt")
    random = random_extractor(extractor_config, seed)
    tags = pq.read_table(root / "tags.parquet")
    photos = root / "demo" / "photos"
    split_files = {s: [photos / p for p in readable_rows(tags, [s]).column("path").to_pylist()]
                   for s in ("oneclass_fit", "test")}
    generated = {g.name.removeprefix("standin_"): sorted(f for f in g.iterdir() if f.is_file())
                 for g in sorted((root / "demo" / "generated").iterdir())}
    patching = Patching.from_config(config["features"])
    oneclass = {k: v for k, v in config["oneclass"].items() if k in GMMSettings.__dataclass_fields__}
    settings = GMMSettings(**oneclass)
    extractors = {"trained": trained, "random weights": random}
    fit = features(split_files["oneclass_fit"], extractors, patching)
    test = features(split_files["test"], extractors, patching)
    gen = {g: features(files, extractors, patching) for g, files in generated.items()}
    return {name: held_out_aucs(fit[name], test[name], {g: v[name] for g, v in gen.items()}, settings)
            for name in DETECTORS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--config", type=Path, nargs="+", default=[Path("config.yaml")],
                        help="config files, merged in order (default: config.yaml)")
    parser.add_argument("--work", type=Path, default=Path("results-bench/oneclass_seeds"))
    args = parser.parse_args()
    config: dict = {}
    for path in args.config:
        update_config(config, yaml.safe_load(path.read_text()))
    config = validate_config(config)
    torch.set_num_threads(config["threads"])
    rows = []
    for seed in args.seeds:
        started = time.perf_counter()
        aucs = one_seed(args.work, seed, config)
        means = {d: statistics.mean(aucs[d].values()) for d in DETECTORS}
        rows.append((seed, aucs, means))
        print(json.dumps({"seed": seed, "aucs": aucs, "seconds": round(time.perf_counter() - started)}), flush=True)

    demo = config["demo"]
    print(f"\nOne-class ROC AUC, held-out photos against each stand-in ({' + '.join(map(str, args.config))}: {demo['cameras']} cameras x "
          f"{demo['photos_per_camera']} photos, stand-ins finished {demo['standin_finish']}, pretext "
          f"{config['pretext']['steps']} steps)\n")
    generators = list(rows[0][1]["trained"])
    print("| seed | " + " | ".join(f"{d}: mean ({', '.join(generators)})" for d in DETECTORS) + " | trained above both |")
    print("|---" * (len(DETECTORS) + 2) + "|")
    for seed, aucs, means in rows:
        cells = [f"{means[d]:.3f} ({', '.join(f'{aucs[d][g]:.2f}' for g in generators)})" for d in DETECTORS]
        above = means["trained"] > max(means["random weights"], means["SRM statistics"])
        print(f"| {seed} | " + " | ".join(cells) + f" | {'yes' if above else 'no'} |")
    wins = sum(m["trained"] > max(m["random weights"], m["SRM statistics"]) for _, _, m in rows)
    print(f"\ntrained above both baselines at {wins} of {len(rows)} seeds")


if __name__ == "__main__":
    main()
