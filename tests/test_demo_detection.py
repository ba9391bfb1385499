"""A real, small run of the detection pipeline on the demo data, through the library (no Snakemake).

Demo data -> EXIF tables -> tag table -> patch shard -> brief pretext training -> the demo config's GMM
on the `oneclass_fit` photos' features -> brief binary training on one stand-in -> scores of the held-out
`test` photos and of the stand-ins, as the evaluation computes them (sdaie.evaluate).

What holds at this budget and is asserted: the binary detector separates held-out images of the
stand-in it trained on from held-out photos, and beats the one-class detector there. Checked with
sdaie 0.1 (before the published architecture became the default; seed 0 passes with it) over
demo seeds 0-4 (this file with SEED changed): binary AUC on held-out upconv images 1.00, 1.00, 1.00,
0.93, 1.00 at 4 patches per crop. With the current code and 2 patches per crop (half the binary
training time; 2026-12-04, 130 s for the whole setup on 2 quiet cores): 1.00 at seed 0 and at seed 3,
the weakest before. Its learning rate is 3e-4, not the published 1e-3: at batch 16 (published: 100), 1e-3
left seed 2's detector at chance (training loss stuck near 0.7, AUC 0.29 at 3 epochs, 0.47 at 6).

What does NOT hold, measured with sdaie 0.1 and left open (issue 16): the one-class detector's AUC on the stand-ins.
At this size the pretext network barely learns camera traces (even after 200 steps, camera-model
validation accuracy 0.31-0.47 over seeds 0-4, chance 0.25), and the AUC moves with the seed.
`bench/oneclass_seeds.py --size test` (this file's data and pretext recipe, every stand-in image),
seeds 0-4, upconv / denoiser, with the demo config's mixture (one full Gaussian, Ledoit-Wolf load): 0.55 / 0.58, 0.71 / 0.53, 0.70 / 0.78, 0.35 / 0.69, 0.92 / 0.63;
the same mixture over the extractor's random initial weights: 0.90 / 0.61, 0.87 / 0.49, 0.94 / 0.78,
0.86 / 0.72, 0.98 / 0.66. At the demo's size (`--size demo`) and for longer training see
experiments/2026-11-30_demo_seed_study/README.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from sdaie.config import load_config
from sdaie.demo import build_demo
from sdaie.detect.binary_data import binary_table, training_rows
from sdaie.detect.oneclass import GMMSettings, OneClassDetector
from sdaie.detect.tables import read_features, write_feature_table
from sdaie.evaluate.evaluation import evaluation_images
from sdaie.evaluate.metrics import compute_metrics
from sdaie.evaluate.perturb import parse_perturbation
from sdaie.detect.features import Patching
from sdaie.evaluate.scoring import binary_scorer, gmm_scorer, score_images
from sdaie.model.checkpoint import load_binary
from sdaie.exif.extract import extract_to_parquet
from sdaie.exif.listing import list_files
from sdaie.patches.cut import cut_photos, readable_rows, select_shard
from sdaie.tags.normalize import normalize_tables
from sdaie.model.checkpoint import load_extractor
from sdaie.train.binary import BinaryConfig, train_binary
from sdaie.train.pretext import PretextConfig, train_pretext

pytestmark = pytest.mark.slow  # a small pretext training and both detectors: about 2 minutes on 2 cores

SEED = 0
MAX_PATCHES = 16  # 64x64 patches per image: all of a 256x256 image
CROP = 128
UPCONV, DENOISER = "standin-upconv", "standin-denoiser"
SPLIT = {"pretext_train": 0.4, "pretext_val": 0.1, "oneclass_fit": 0.25, "test": 0.25}
GENERATED_SPLIT = {"binary_train": 0.5, "binary_val": 0.1, "test": 0.4}  # more held-out images than the default
CPU = torch.device("cpu")
DEMO_ONECLASS = GMMSettings(**load_config(Path(__file__).parents[1] / "config.yaml")["oneclass"])  # the demo's recipe


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict:
    """Everything the assertions need: per-detector AUCs, and the scores."""
    root = tmp_path_factory.mktemp("demo_detection")
    demo = root / "demo"
    build_demo(demo, seed=SEED, cameras=4, photos_per_camera=24, generated_per_set=30, width=256, height=256, workers=2)
    datasets = {
        "demo_photos": demo / "photos",
        "demo_standin_upconv": demo / "generated" / "standin_upconv",
        "demo_standin_denoiser": demo / "generated" / "standin_denoiser",
    }
    generator = {"demo_standin_upconv": UPCONV, "demo_standin_denoiser": DENOISER}

    exif = {}
    for name, folder in datasets.items():
        exif[name] = root / "exif" / f"{name}.parquet"
        extract_to_parquet(folder, list(list_files(folder)), exif[name], dataset=name)
    tags_path, vocab_path = root / "tags" / "tags.parquet", root / "tags" / "vocabulary.json"
    normalize_tables([exif["demo_photos"]], tags_path, vocab_out=vocab_path, summary_out=root / "tags" / "summary.md",
                     min_count=1, split_fractions=SPLIT, split_seed=SEED)
    tags = pq.read_table(tags_path)

    # Pretext: a few steps only (CPU); what this budget gives the one-class detector is in the docstring.
    stem = root / "patches" / "shard_0_of_1"
    cut_photos(select_shard(tags, 0, 1, ["pretext_train", "pretext_val"]), {"demo_photos": datasets["demo_photos"]}, stem,
               crop=CROP, crops_per_photo=4, seed=SEED)
    pretext = PretextConfig(steps=24, batch_size=8, n_patches=4, lr=1e-4, seed=SEED, val_every=24, checkpoint_every=24,
                            workers=0, progress=False, device="cpu")
    train_pretext([stem], root / "pretext", pretext, json.loads(vocab_path.read_text()))
    pretext_model = root / "pretext" / "model.pt"

    # One-class: the demo config's GMM recipe on the oneclass_fit photos' whole-image features.
    photos = readable_rows(tags, ["oneclass_fit"])
    features_path = root / "features" / "demo_photos.parquet"
    features_path.parent.mkdir(parents=True)
    write_feature_table(photos, datasets["demo_photos"], pretext_model, features_path, kind="photo", generator=None,
                        device="cpu", patching=Patching(MAX_PATCHES))
    fit, _, extractor_id = read_features([features_path], splits=["oneclass_fit"])
    oneclass = OneClassDetector.fit(fit, DEMO_ONECLASS, extractor_id=extractor_id, patching=Patching(MAX_PATCHES))

    # Binary: trained on the upconv stand-in (its binary_train/binary_val images) against the pretext photos.
    table = binary_table(tags_path, [exif["demo_standin_upconv"]], GENERATED_SPLIT, SEED)
    crops = root / "binary" / "crops"
    cut_photos(training_rows(table), datasets, crops,
               crop=CROP, crops_per_photo=2, seed=SEED)
    binary_config = BinaryConfig(epochs=6, batch_size=16, n_patches=2, lr=3e-4, alpha=0.05, seed=SEED, val_every=1000,
                                 checkpoint_every=1000, workers=0, progress=False, device="cpu")
    train_binary([crops], root / "binary" / "run", binary_config, pretext_model)
    binary, _ = load_binary(root / "binary" / "run" / "model.pt")

    # Scores: held-out test photos, every denoiser image, the upconv images the binary detector never saw.
    extractor, _, _ = load_extractor(pretext_model)
    scorers = [gmm_scorer("oneclass", extractor, oneclass), binary_scorer(binary)]
    none = [parse_perturbation("none")]
    held_out_photos = evaluation_images(tags, "demo_photos", "photo", None)
    expected = {None: len(held_out_photos)}
    tables = [score_images(held_out_photos, datasets["demo_photos"], none, scorers, device=CPU,
                           patching=Patching(MAX_PATCHES))]
    for name, gen in generator.items():
        images = evaluation_images(pq.read_table(exif[name]), name, "generated", gen,
                                   binary_trained=name == "demo_standin_upconv", generated_fractions=GENERATED_SPLIT,
                                   seed=SEED)
        expected[gen] = len(images)
        tables.append(score_images(images, datasets[name], none, scorers, device=CPU, patching=Patching(MAX_PATCHES)))
    scores = pl.from_arrow(pa.concat_tables(tables))
    metrics = compute_metrics(scores)
    auc = {(d, g): a for d, g, a in metrics.select("detector", "generator", "auc").iter_rows()}
    print("demo detection AUCs:", {f"{d}/{g}": round(a, 3) for (d, g), a in auc.items()})
    return {"scores": scores, "auc": auc, "expected": expected}


def test_scores_cover_the_held_out_images(run):
    scores = run["scores"]
    assert scores["error"].null_count() == scores.height
    counts = scores.filter(pl.col("detector") == "oneclass").group_by("generator").len()
    counts = dict(counts.iter_rows())
    assert counts == run["expected"], counts  # every held-out image scored once per detector
    # held out: the `test` photos, the upconv images the binary detector never saw, every denoiser image
    assert counts[None] >= 10 and counts[UPCONV] >= 5 and counts[DENOISER] == 30, counts


def test_binary_beats_oneclass_on_its_training_generator(run):
    auc = run["auc"]
    assert auc[("binary", UPCONV)] >= 0.85, auc  # seeds 0-4: 1.00, 1.00, 1.00, 0.93, 1.00
    assert auc[("binary", UPCONV)] > auc[("oneclass", UPCONV)], auc
