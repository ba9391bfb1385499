"""The pipeline from published weights: official-format checkpoints used as they are (pretext.steps 0,
binary.epochs 0), a real Snakemake run on the demo data, and `configs/published.yaml` itself.

The checkpoints are written here in the official format (DDP `module.` keys, the 14 pretext heads,
teacher and student in the binary one) from seeded networks, so this runs without the shared data;
tests/test_official_parity.py checks the same importer against the official code's own files."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml
from test_workflow import snakemake
from tiny_pipeline import planned_jobs, tiny_config

from sdaie.config import load_config
from sdaie.model.backbone import SDAIEExtractor
from sdaie.model.checkpoint import load_binary, load_extractor
from sdaie.model.official import to_official

pytestmark = pytest.mark.slow
HEAD_CLASSES = [1, 7, 1, 1, 1, 6, 4, 1, 1, 6, 4, 2, 1, 5]  # fc1..fc14 of the official backbone


def official_checkpoints(folder) -> tuple:
    """backbone.pth and bc.pth in the official training scripts' format, from seeded weights."""
    torch.manual_seed(3)
    backbone = SDAIEExtractor()
    torch.manual_seed(4)
    student = SDAIEExtractor()
    net = to_official(backbone.state_dict(), "backbone.")
    for i, classes in enumerate(HEAD_CLASSES, start=1):
        net[f"fc{i}.weight"], net[f"fc{i}.bias"] = torch.randn(classes, 528), torch.randn(classes)
    torch.save({"state_net": {f"module.{k}": v for k, v in net.items()}}, folder / "backbone.pth")
    bc = {**to_official(backbone.state_dict(), "diffusionextractor_pretrained."),
          **to_official(student.state_dict(), "diffusionextractor_random."),
          "fc.weight": torch.randn(2, 528), "fc.bias": torch.randn(2)}
    torch.save({"state_net": {f"module.{k}": v for k, v in bc.items()}, "state_optimizer": {}, "epoch": 15}, folder / "bc.pth")
    return backbone, student


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("published")
    backbone, student = official_checkpoints(workdir)
    published = yaml.safe_load((__import__("conftest").REPO / "configs" / "published.yaml").read_text())
    config = tiny_config(
        datasets={name: spec for name, spec in tiny_config()["datasets"].items() if name != "my_photos"},
        tags={"datasets": ["demo_photos"], "min_count": 1, "split": published["tags"]["split"]},
        pretext={"init": "backbone.pth", "steps": 0},
        binary={"init": "bc.pth", "epochs": 0, "generated": []},
        features={"max_patches": 8, "patching": "official"},
        evaluate={"perturbations": ["none", "jpeg:95"]},
    )
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    dry_run = planned_jobs(snakemake(workdir, "--cores", "2", "-n"))
    snakemake(workdir, "--cores", "2")
    return workdir, backbone, student, dry_run


def test_nothing_is_trained_and_no_patches_are_cut(run):
    workdir, _, _, jobs = run
    assert jobs.get("pretext_use_init") == 1 and jobs.get("binary_use_init") == 1
    assert not {"patch_shard", "pretext_train", "binary_crops", "binary_train"} & set(jobs)
    assert not (workdir / "results" / "patches").exists()


def test_models_are_the_published_weights(run):
    workdir, backbone, student, _ = run
    models = workdir / "results" / "models"
    extractor, config, state = load_extractor(models / "pretext.pt")
    assert not config.final_norm and state["kind"] == "init" and state["origin"]["path"] == "backbone.pth"
    for key, value in backbone.state_dict().items():
        assert torch.equal(extractor.state_dict()[key], value)
    detector, _ = load_binary(models / "binary.pt")
    for key, value in student.state_dict().items():
        assert torch.equal(detector.extractor.state_dict()[key], value)


def test_detectors_fitted_and_evaluated_on_the_imported_extractor(run):
    workdir = run[0]
    results = workdir / "results"
    report = __import__("json").loads((results / "oneclass" / "fit_report.json").read_text())
    assert report["fit_images"] >= 5 and report["threshold"] == report["threshold"]  # finite
    metrics = __import__("polars").read_parquet(results / "evaluation" / "metrics.parquet")
    assert {"oneclass", "binary", "random_oneclass", "srm_stats"} <= set(metrics["detector"])
    assert set(metrics["perturbation"]) == {"none", "jpeg:95"}
    assert np.isfinite(metrics.filter(metrics["generator"] == "mean")["auc"].to_numpy()).all()
    assert (results / "evaluation" / "report.html").stat().st_size > 0


def test_published_config_is_valid_and_is_the_published_recipe():
    from conftest import REPO

    config = load_config(REPO / "configs" / "published.yaml")
    assert config["pretext"]["steps"] == 0 and config["binary"]["epochs"] == 0
    assert config["oneclass"] == {"n_components": 5, "covariance_type": "full", "init_params": "k-means++", "reg_covar": 1e-6,
                                  "max_iter": 100, "seed": 42, "target_fpr": 0.02, "threshold_from": "fit"}
    assert config["features"]["patching"] == "official" and config["features"]["max_patches"] == 20000
