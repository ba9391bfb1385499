"""configs/camera_series.yaml's mechanics, run for real by Snakemake on a tiny subset of the shared camera
series: grouped split, the pretext trained on a share of the photos, probes, bootstrap, learning curve, and
the report's premise section. (The whole pipeline with premise.enabled is the configs' own run, RESULTS.md.)"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml
from conftest import shared_path

from sdaie.config import load_config
from sdaie.train.subset import subset_mask

REPO = Path(__file__).resolve().parents[1]
CONFIGS = [REPO / "configs" / "camera_series.yaml", REPO / "configs" / "camera_series_gpu.yaml"]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
# four cameras of the series, and six frames of one iPhone XR burst (all within 2 s: one group)
CAMERAS = {"SONY|SLT-A57": 5, "PENTAX Corporation|PENTAX *ist DL": 6, "Hewlett-Packard|Photosmart M417": 5,
           "NIKON CORPORATION|NIKON D90": 5, "Apple|iPhone XR": 6}

pytestmark = pytest.mark.slow


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    command = [*SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir), *args]
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}, timeout=1200)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


def tiny_config(photos: Path, generated: Path) -> dict:
    """configs/camera_series.yaml on the tiny folders, with CI sizes; the split and premise sections kept."""
    config = yaml.safe_load(CONFIGS[0].read_text())
    config["results"] = "results"
    config["datasets"] = {"series": {"path": str(photos), "kind": "photo"},
                          "ldm": {"path": str(generated), "kind": "generated", "generator": "ldm"}}
    config["tags"]["datasets"] = ["series"]
    config["exif"] = {"shards": 1, "batch_size": 16}
    config["patches"] = {"crop": 128, "crops_per_photo": 2, "shards": 1}
    config["pretext"].update(steps=2, batch_size=4, n_patches=2, val_every=2, checkpoint_every=2, workers=0)
    config["features"] = {"max_patches": 4}
    config["oneclass"].update(threshold_from="fit")
    config["binary"] = {"generated": []}
    config["premise"].update(fractions=[0.5, 1.0], bootstrap=100, cv_folds=2, probe_c=[0.1, 1.0], ridge_alpha=[10.0, 1000.0])
    return config


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    series = shared_path("data", "camera_series")
    generated = shared_path("data", "generated", "ldm")
    workdir = tmp_path_factory.mktemp("camera_series")
    photos, fakes = workdir / "photos", workdir / "ldm"
    photos.mkdir()
    fakes.mkdir()
    with (series / "manifest.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for camera, count in CAMERAS.items():
        chosen = [r for r in rows if f"{r['make']}|{r['model']}" == camera and r["path"].endswith(".jpg")][:count]
        assert len(chosen) == count, camera
        for row in chosen:
            shutil.copy2(series.parent / row["path"], photos / Path(row["path"]).name)
    for image in sorted(generated.glob("*.png"))[:3]:
        shutil.copy2(image, fakes / image.name)
    (workdir / "config.yaml").write_text(yaml.safe_dump(tiny_config(photos, fakes)))
    # only the premise's outputs and what they need (the detection half is tested in test_workflow.py)
    targets = [f"results/premise/{name}" for name in ("summary.json", "learning_curve.csv", "comparisons.parquet",
                                                       "metrics.parquet", "learning_curve.png")]
    snakemake(workdir, "--cores", "2", *targets)
    return workdir / "results"


def test_configs_are_valid_and_plan_every_premise_rule(tmp_path):
    shared = shared_path("data", "camera_series").parents[1]
    (tmp_path / "shared").symlink_to(shared)  # the configs read ../shared from the folder they run in
    (tmp_path / "run").mkdir()
    for path in CONFIGS:
        config = load_config(path)
        assert config["tags"]["split"]["group_by"] == "camera_burst" and config["premise"]["enabled"]
        assert config["premise"]["fractions"] == [0.25, 0.5, 1.0]
        dry = snakemake(tmp_path / "run", "-n", "--cores", "2", "--configfile", str(path))
        planned = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", dry.stdout + dry.stderr, re.M)}
        assert planned["premise_pretext_train"] == 2 and planned["premise_measure"] == 1
        assert planned["premise_features"] == 8  # (f25, f50, random, SRM) x 2 photo folders; f100 is the pipeline's own


def test_grouped_split_keeps_bursts_together_and_cameras_on_both_sides(run):
    tags = pl.read_parquet(run / "tags" / "tags.parquet").filter(pl.col("usable"))
    assert tags.group_by("split_group").agg(pl.col("split").n_unique())["split"].max() == 1
    burst = tags.filter(pl.col("model_key") == "Apple|iPhone XR")
    assert burst["split_group"].n_unique() == 1  # six frames within two seconds
    per = tags.group_by("model_key").agg(pl.len().alias("n"), pl.col("split_group").n_unique().alias("groups"),
                                         pl.col("split").unique().alias("splits"))
    for row in per.filter((pl.col("n") >= 4) & (pl.col("groups") >= 2)).iter_rows(named=True):
        assert {"pretext_train", "pretext_val"} <= set(row["splits"]), row
    summary = json.loads((run / "tags" / "summary.json").read_text())
    assert summary["split_grouping"] == {"group_by": "camera_burst", "burst_seconds": 10, "min_photos": 4}


def test_learning_curve_bookkeeping(run):
    premise = run / "premise"
    summary = json.loads((premise / "summary.json").read_text())
    counts = summary["counts"]
    index = pl.read_parquet(run / "patches" / "shard_0_of_1.index.parquet").filter(pl.col("split") == "pretext_train")
    assert counts["training_photos"]["f100"] == index["content_hash"].n_unique()
    kept = subset_mask(index["content_hash"].to_list(), index["model_key"].to_list(), 0.5, 0)
    assert counts["training_photos"]["f50"] == index.filter(pl.Series(kept))["content_hash"].n_unique()
    assert 0 < counts["training_photos"]["f50"] < counts["training_photos"]["f100"]
    # the pretext network of fraction 0.5 trained on exactly those crops
    log = (run / "logs" / "premise" / "pretext_f50.log").read_text()
    assert f"training on 0.5 of the pretext_train photos: {int(kept.sum())} of {index.height} crops" in log
    curve = pl.read_csv(premise / "learning_curve.csv")
    assert curve.group_by("tag", "name").agg(pl.col("fraction").sort())["fraction"].to_list() == [[0.5, 1.0]] * curve.select("tag", "name").unique().height
    names = set(curve.filter(pl.col("tag") == "model")["name"])
    assert names == {"pretext heads", "pretext + probe", "random weights + probe", "SRM statistics + probe", "majority class"}
    assert (curve["n_photos"] == counts["evaluation_photos"]).filter(curve["tag"].is_in(["make", "model"])).all()
    assert {p["extractor"] for p in summary["probes"]} == {"pretext", "random", "srm_stats"}
    assert all(p["chosen"] in (0.1, 1.0, 10.0, 1000.0) for p in summary["probes"])
    comparisons = pl.read_parquet(premise / "comparisons.parquet")
    assert set(comparisons["b"]) >= {"random weights + probe", "SRM statistics + probe", "majority class"}
    assert (premise / "learning_curve.png").stat().st_size > 1000


def test_report_section_renders(run):
    from sdaie.evaluate.report import _image
    from sdaie.evaluate.report_premise import premise_section

    premise = run / "premise"
    html = premise_section(*(premise / name for name in ("summary.json", "metrics.parquet", "comparisons.parquet",
                                                          "learning_curve.csv", "learning_curve.png")), image=_image)
    assert "Premise: does the extractor learn camera traces?" in html and "Learning curve" in html
    assert "data:image/png;base64," in html and "SRM statistics + probe" in html
