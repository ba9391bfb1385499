"""Evaluation units: metrics against scikit-learn, perturbations, baselines, image choice, report."""

from __future__ import annotations

import io

import numpy as np
import polars as pl
import pytest
import torch
from PIL import Image
from sklearn.metrics import average_precision_score, balanced_accuracy_score, roc_auc_score

from sdaie.evaluate.evaluation import evaluation_images, subset
from sdaie.evaluate.metrics import MEAN, UNPERTURBED_AT, binary_metrics, compute_metrics, metrics_summary, robustness_points, tpr_at_fpr
from sdaie.evaluate.perturb import apply, jpeg_bytes, parse_perturbation
from sdaie.evaluate.report import ReportInputs, render_report
from sdaie.evaluate.srm_stats import DIM, srm_statistics

STANDARD_LUMINANCE = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99])


def scene(height=96, width=128, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = 128 + 60 * np.sin(x / 9.0)[..., None] * np.cos(y / 13.0)[..., None]
    return np.clip(base + rng.normal(0, 12, (height, width, 3)), 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------------- metrics
def brute_tpr_at_fpr(labels, scores, max_fpr):
    best = 0.0
    for threshold in np.concatenate([np.unique(scores), [np.inf]]):
        flagged = scores >= threshold
        fpr = flagged[labels == 0].mean()
        if fpr <= max_fpr:
            best = max(best, flagged[labels == 1].mean())
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_equal_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    labels = np.r_[np.zeros(120, int), np.ones(80, int)]
    scores = rng.normal(labels * 1.2, 1.0).round(1)  # rounding makes ties, which every metric must handle
    verdicts = scores > 0.4
    got = binary_metrics(labels, scores, verdicts)
    assert got["auc"] == pytest.approx(roc_auc_score(labels, scores))
    assert got["ap"] == pytest.approx(average_precision_score(labels, scores))
    assert got["ap_real_positive"] == pytest.approx(average_precision_score(1 - labels, -scores))
    assert got["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(labels, verdicts))
    assert got["fpr"] == pytest.approx(verdicts[labels == 0].mean())
    for rate, key in ((0.01, "tpr_at_1fpr"), (0.05, "tpr_at_5fpr")):
        assert got[key] == pytest.approx(brute_tpr_at_fpr(labels, scores, rate))
        assert got[key] == pytest.approx(tpr_at_fpr(labels, scores, rate))
    assert (got["n_real"], got["n_generated"]) == (120, 80)


def test_metrics_per_generator_and_mean():
    rng = np.random.default_rng(3)
    rows = []
    for detector in ("oneclass", "binary"):
        for perturbation in ("none", "jpeg:95"):
            for i in range(30):
                rows.append(dict(detector=detector, perturbation=perturbation, generator=None, label=0,
                                 score=rng.normal(), generated=False, error=None, path=f"r{i}"))
            for generator, shift in (("g1", 3.0), ("g2", 0.0)):
                for i in range(20):
                    rows.append(dict(detector=detector, perturbation=perturbation, generator=generator, label=1,
                                     score=rng.normal(shift), generated=True, error=None, path=f"{generator}{i}"))
    rows.append(dict(detector="oneclass", perturbation="none", generator="g1", label=1, score=None, generated=None,
                     error="cannot decode", path="bad"))
    scores = pl.DataFrame(rows, infer_schema_length=None)
    metrics = compute_metrics(scores)
    assert metrics.height == 2 * 2 * 3
    one = metrics.filter((pl.col("detector") == "oneclass") & (pl.col("perturbation") == "none"))
    g1 = one.filter(pl.col("generator") == "g1").row(0, named=True)
    real = scores.filter((pl.col("label") == 0) & (pl.col("detector") == "oneclass") & (pl.col("perturbation") == "none"))
    fake = scores.filter((pl.col("generator") == "g1") & (pl.col("detector") == "oneclass")
                         & (pl.col("perturbation") == "none") & pl.col("error").is_null())
    both = pl.concat([real, fake])
    assert g1["auc"] == pytest.approx(roc_auc_score(both["label"], both["score"]))
    assert (g1["n_real"], g1["n_generated"]) == (30, 20)  # the unreadable file is left out
    assert g1["auc"] > 0.95
    mean = one.filter(pl.col("generator") == MEAN).row(0, named=True)
    assert mean["auc"] == pytest.approx(one.filter(pl.col("generator") != MEAN)["auc"].mean())
    assert mean["n_generated"] == 40
    summary = metrics_summary(metrics)
    assert set(summary) == {"oneclass", "binary"} and set(summary["binary"]) == {"none", "jpeg:95"}
    points = robustness_points(metrics)
    assert set(points["axis"]) == {"jpeg"} and sorted(points["x"].unique()) == [95.0, UNPERTURBED_AT["jpeg"]]


# ----------------------------------------------------------------------------- perturbations
@pytest.mark.parametrize("quality", [100, 95, 90, 80, 70])
def test_jpeg_quality_reads_back(quality):
    data = jpeg_bytes(scene(), quality)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        luminance = np.array(image.quantization[0])
    scale = 5000 / quality if quality < 50 else 200 - 2 * quality
    expected = np.clip((STANDARD_LUMINANCE * scale + 50) // 100, 1, 255)
    assert np.array_equal(luminance, expected)
    perturbed = apply(scene(), parse_perturbation(f"jpeg:{quality}"))
    assert perturbed.shape == scene().shape and perturbed.dtype == np.uint8
    assert not np.array_equal(perturbed, scene()) or quality == 100


@pytest.mark.parametrize(("spec", "size"), [("scale:0.5", (48, 64)), ("scale:0.75", (72, 96)), ("scale:1.5", (144, 192)),
                                            ("scale:0.33", (32, 42))])
def test_rescale_sizes(spec, size):
    assert apply(scene(), parse_perturbation(spec)).shape == (*size, 3)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0])
def test_blur_strength(sigma):
    """A vertical step edge blurred: its derivative is the Gaussian kernel, whose std must be sigma."""
    step = np.zeros((40, 80, 3), np.uint8)
    step[:, 40:] = 255
    profile = apply(step, parse_perturbation(f"blur:{sigma}"))[20, :, 0].astype(float)
    density = np.diff(profile)
    x = np.arange(len(density)) + 0.5
    mean = (x * density).sum() / density.sum()
    std = np.sqrt(((x - mean) ** 2 * density).sum() / density.sum())
    assert std == pytest.approx(sigma, rel=0.1 if sigma < 1 else 0.05)
    assert density.sum() == pytest.approx(255, abs=1)


def test_none_is_identity_and_bad_specs_are_refused():
    pixels = scene()
    assert apply(pixels, parse_perturbation("none")) is pixels
    for spec in ("jpeg", "jpeg:101", "jpeg:9.5", "blur:0", "scale:-1", "sharpen:1", "blur:x"):
        with pytest.raises(ValueError):
            parse_perturbation(spec)


def test_config_rejects_unknown_perturbation_and_dataset():
    from sdaie.config import ConfigError, validate_config

    base = {"datasets": {"p": {"path": "p", "kind": "photo"}, "g": {"path": "g", "kind": "generated", "generator": "gen"}}}
    assert validate_config(base)["evaluate"]["perturbations"][:4] == ["none", "jpeg:95", "blur:1.0", "scale:0.5"]
    with pytest.raises(ConfigError, match="perturbation"):
        validate_config({**base, "evaluate": {"perturbations": ["jpeg:150"]}})
    with pytest.raises(ConfigError, match="evaluate.generated"):
        validate_config({**base, "evaluate": {"generated": ["p"]}})


# ----------------------------------------------------------------------------- baselines
def test_srm_statistics_see_noise_level():
    flat = np.full((8, 3, 64, 64), 120, np.uint8)
    rng = np.random.default_rng(0)
    noisy = np.clip(120 + rng.normal(0, 4, flat.shape), 0, 255).astype(np.uint8)
    a, b = srm_statistics(flat), srm_statistics(noisy)
    assert a.shape == b.shape == (DIM,) and np.isfinite(a).all() and np.isfinite(b).all()
    assert (b[:30] > a[:30] + 3).all()  # log std of every residual rises with the noise


def test_random_extractor_is_seeded():
    from sdaie.evaluate.baselines import random_extractor
    from sdaie.model.backbone import ExtractorConfig

    config = ExtractorConfig()
    torch.manual_seed(123)
    before = torch.rand(1)
    a, b = random_extractor(config, 7), random_extractor(config, 7)
    torch.manual_seed(123)
    assert torch.equal(before, torch.rand(1))  # the global generator is left as it was
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    c = random_extractor(config, 8)
    assert not all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), c.state_dict().values()))


# ----------------------------------------------------------------------------- image choice
def test_evaluation_images_keep_training_images_out():
    import pyarrow as pa

    from sdaie.detect.binary_data import generated_split

    photos = pa.table({"dataset": ["p"] * 4, "path": ["a", "b", "c", "d"], "content_hash": list("wxyz"),
                       "error": [None, None, "broken", None], "split": ["test", "pretext_train", "test", "oneclass_fit"]})
    chosen = evaluation_images(photos, "p", "photo", None)
    assert [image["path"] for image in chosen] == ["a"] and chosen[0]["label"] == 0
    paths = [f"g{i}.png" for i in range(200)]
    generated = pa.table({"dataset": ["g"] * 200, "path": paths, "content_hash": [f"h{i}" for i in range(200)],
                          "error": [None] * 200})
    fractions = {"binary_train": 0.6, "binary_val": 0.1, "test": 0.3}
    unseen = evaluation_images(generated, "g", "generated", "gen")
    assert len(unseen) == 200 and {image["label"] for image in unseen} == {1}
    trained = evaluation_images(generated, "g", "generated", "gen", binary_trained=True, generated_fractions=fractions)
    expected = [p for i, p in enumerate(paths) if generated_split(f"h{i}", "g", p, fractions, 0) == "test"]
    assert [image["path"] for image in trained] == expected and 30 < len(expected) < 90
    few = subset(unseen, 10)
    assert len(few) == 10 and few == subset(list(reversed(unseen)), 10)


# ----------------------------------------------------------------------------- report
def test_report_names_every_generator_and_perturbation(tmp_path):
    from sdaie.evaluate.figures import robustness_figure, roc_figure

    rng = np.random.default_rng(0)
    rows = []
    perturbations = ["none", "jpeg:95", "blur:1.0", "scale:0.5"]
    for detector in ("oneclass", "binary", "random_oneclass", "srm_stats"):
        for p in perturbations:
            rows += [dict(dataset="photos", path=f"r{i}", generator=None, label=0, perturbation=p, detector=detector,
                          score=rng.normal(), raw=0.0, generated=False, patches=4, error=None) for i in range(10)]
            for g in ("alpha-gen", "beta-gen"):
                rows += [dict(dataset=g, path=f"{g}{i}", generator=g, label=1, perturbation=p, detector=detector,
                              score=rng.normal(1), raw=0.0, generated=True, patches=4, error=None) for i in range(6)]
    scores = pl.DataFrame(rows, infer_schema_length=None)
    metrics = compute_metrics(scores)
    roc, robust = tmp_path / "roc.png", tmp_path / "robustness.png"
    roc_figure(scores, roc)
    robustness_figure(robustness_points(metrics), robust)
    html = render_report(ReportInputs(scores, metrics, {"ROC": roc, "Robustness": robust}, {"evaluate": {"x": 1}},
                                      {"software": {"sdaie": "0"}}, {"target_fpr": 0.02, "held_out_fpr": 0.1},
                                      ["alpha-gen"]))
    for name in ["alpha-gen *", "beta-gen", *perturbations, "random_oneclass", "srm_stats", "ap_real_positive"]:
        assert name in html
    assert html.count("data:image/png;base64,") == 2
    assert roc.stat().st_size > 10_000 and robust.stat().st_size > 10_000


def test_headline_says_whether_each_learned_detector_beats_both_baselines():
    from sdaie.evaluate.headline import headline

    def rows(aucs):
        return [{"detector": d, "generator": "mean", "perturbation": "none", "auc": a} for d, a in aucs.items()]

    metrics = pl.DataFrame(rows({"oneclass": 0.81, "binary": 0.53, "random_oneclass": 0.62, "srm_stats": 0.56}))
    top = headline(metrics)
    assert top["detectors"]["oneclass"] == {"mean_auc": 0.81, "vs_random_oneclass": 0.19, "vs_srm_stats": 0.25,
                                            "beats_baselines": True}
    assert not top["detectors"]["binary"]["beats_baselines"]
    one, two = top["sentences"]
    assert "above both no-learning baselines (random weights 0.62, SRM statistics 0.56)" in one
    assert "not above random weights or SRM statistics" in two and "(0.5 is chance)" in two
    level = headline(pl.DataFrame(rows({"oneclass": 0.575, "random_oneclass": 0.56, "srm_stats": 0.40})))
    assert not level["detectors"]["oneclass"]["beats_baselines"]  # within 0.02 of a baseline: level, not above
