"""The camera-series mechanics without a pipeline run: grouped split, training subsets, probes,
bootstrap and the learning-curve bookkeeping (sdaie.tags.split_groups, sdaie.train.subset, sdaie.premise)."""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import polars as pl
import pytest
import torch

from sdaie.premise.data import EVAL, TRAIN, PremiseData, in_fraction, select_photos
from sdaie.premise.measure import (
    PremiseSettings,
    bootstrap_metrics,
    curve_table,
    learning_curve,
    predictions,
    resample_counts,
)
from sdaie.premise.plan import check_fractions, extractor_names, fraction_label
from sdaie.premise.probes import classification_probe, pairwise_accuracy, ranking_probe
from sdaie.tags.split import SPLITS, split_python, with_split
from sdaie.tags.split_groups import SplitGrouping, _allocate, capture_time_expr, grouped_split
from sdaie.train.subset import photo_subset, subset_mask

FRACTIONS = {"pretext_train": 0.5, "pretext_val": 0.2, "oneclass_fit": 0.15, "test": 0.15}


def _hash(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _rows(cameras: dict[str, list[float]], singletons: int = 0) -> pl.DataFrame:
    """Key rows for grouped_split: per camera, photos at the given capture offsets (seconds); plus singleton cameras."""
    start = dt.datetime(2020, 1, 1)
    rows = []
    for camera, offsets in cameras.items():
        for i, offset in enumerate(offsets):
            rows.append({"camera": camera, "time": start + dt.timedelta(seconds=offset), "name": f"{camera}/{i}"})
    for i in range(singletons):
        rows.append({"camera": f"single{i}", "time": start, "name": f"single/{i}"})
    frame = pl.DataFrame(rows, schema={"camera": pl.String, "time": pl.Datetime("us"), "name": pl.String})
    return frame.with_row_index("row").with_columns(
        pl.col("name").map_elements(lambda n: int(_hash(n)[:16], 16), return_dtype=pl.UInt64).alias("key"),
        pl.lit(True).alias("usable"),
    ).select("row", "key", "camera", "time", "usable", "name")


# ------------------------------------------------------------------------------------------ grouped split
def test_bursts_are_groups_and_never_straddle_splits():
    # camera a: a burst of 5 within 2 s, then 6 shots 60 s apart; camera b: two bursts
    rows = _rows({"a": [0, 1, 1, 2, 2, *range(100, 460, 60)], "b": [0, 3, 6, 500, 505, 509, 1000]})
    out = grouped_split(rows, FRACTIONS, 0, SplitGrouping("camera_burst", burst_seconds=10, min_photos=4)).join(
        rows, on="row")
    groups = out.group_by("split_group").agg(pl.col("split").n_unique().alias("splits"), pl.len().alias("n"))
    assert groups["splits"].max() == 1
    a = out.filter(pl.col("camera") == "a")
    assert a["split_group"].n_unique() == 1 + 6  # the burst, then six single shots
    b = out.filter(pl.col("camera") == "b")
    assert sorted(b.group_by("split_group").len()["len"].to_list()) == [1, 3, 3]


def test_every_stratified_camera_is_on_both_sides_of_the_line():
    rng = np.random.default_rng(0)
    cameras = {f"cam{i}": sorted(rng.uniform(0, 3000, size=int(rng.integers(2, 30))).tolist()) for i in range(40)}
    rows = _rows(cameras, singletons=50)
    grouping = SplitGrouping("camera_burst", burst_seconds=10, min_photos=4)
    out = grouped_split(rows, FRACTIONS, 3, grouping).join(rows, on="row")
    per = out.group_by("camera").agg(pl.len().alias("n"), pl.col("split_group").n_unique().alias("groups"),
                                     pl.col("split").unique().alias("splits"))
    stratified = per.filter((pl.col("n") >= 4) & (pl.col("groups") >= 2))
    assert stratified.height > 20
    for splits in stratified["splits"].to_list():
        assert {"pretext_train", "pretext_val"} <= set(splits)
    # deterministic, and the seed matters
    again = grouped_split(rows, FRACTIONS, 3, grouping)
    assert again["split"].to_list() == out.sort("row")["split"].to_list()
    assert grouped_split(rows, FRACTIONS, 4, grouping)["split"].to_list() != again["split"].to_list()


def test_groups_of_one_get_the_default_split():
    rows = _rows({"big": [0, 100, 200, 300, 400]}, singletons=300)
    out = grouped_split(rows, FRACTIONS, 5, SplitGrouping("camera_burst")).join(rows, on="row")
    single = out.filter(pl.col("camera").str.starts_with("single"))
    # the default rule, computed from the same 64-bit key by the pure-Python reference
    expected = [split_python(f"{k:016x}" + "0" * 16, None, None, fractions=FRACTIONS, seed=5) for k in single["key"]]
    assert single["split"].to_list() == expected


def test_allocation_guarantees_train_and_validation():
    for sizes in ([13, 12], [15, 4, 3, 1], [1, 1, 1, 1], [5, 1], [2, 2, 2, 2, 2, 2, 2, 2, 2, 2], [30, 1, 1]):
        splits = _allocate(sorted(sizes, reverse=True), {**dict.fromkeys(SPLITS, 0.0), **FRACTIONS})
        assert {"pretext_train", "pretext_val"} <= set(splits), (sizes, splits)
    # proportions roughly as configured for a large camera of single shots
    splits = _allocate([1] * 100, FRACTIONS)
    assert [splits.count(name) for name in SPLITS] == [50, 20, 15, 15]


def test_capture_times_parse_exif_text():
    frame = pl.DataFrame({"t": ["2020:04:17 10:03:42", "2020:04:17 10:03:42.123+02:00", "0000:00:00 00:00:00", None, "junk"]})
    parsed = frame.select(capture_time_expr("t"))["t"].to_list()
    assert parsed[0] == parsed[1] == dt.datetime(2020, 4, 17, 10, 3, 42)
    assert parsed[2:] == [None, None, None]


def test_default_split_is_unchanged_by_the_option():
    frame = pl.DataFrame({"dataset": ["d"] * 50, "path": [f"{i}.jpg" for i in range(50)],
                          "content_hash": [_hash(str(i)) for i in range(50)]})
    plain = with_split(frame.lazy(), FRACTIONS, 0).collect()
    assert "split_group" not in plain.columns
    assert not SplitGrouping().grouped and SplitGrouping.from_config({"seed": 0}).group_by == "file"
    with pytest.raises(ValueError):
        SplitGrouping("camera")


# ---------------------------------------------------------------------------------------- training subsets
def test_subsets_are_nested_stratified_and_sized():
    rng = np.random.default_rng(1)
    photos = {}
    for camera in range(60):
        for i in range(int(rng.integers(1, 25))):
            photos[_hash(f"{camera}/{i}")] = f"cam{camera}"
    sizes = {}
    previous = set()
    for fraction in (0.25, 0.5, 1.0):
        kept = photo_subset(photos, fraction, seed=0)
        assert previous <= kept  # nested
        previous = kept
        sizes[fraction] = len(kept)
        for camera in set(photos.values()):
            n = sum(1 for c in photos.values() if c == camera)
            k = sum(1 for h in kept if photos[h] == camera)
            assert np.floor(fraction * n) <= k <= np.ceil(fraction * n)
    assert sizes[1.0] == len(photos)
    assert abs(sizes[0.25] / len(photos) - 0.25) < 0.05
    assert photo_subset(photos, 0.5, seed=1) != photo_subset(photos, 0.5, seed=0)


def test_subset_mask_is_per_photo_and_order_free():
    hashes = [_hash(str(i % 30)) for i in range(120)]  # 4 crops per photo
    cameras = [f"c{(i % 30) % 3}" for i in range(120)]
    mask = subset_mask(hashes, cameras, 0.5, 0)
    by_photo = {}
    for h, keep in zip(hashes, mask):
        by_photo.setdefault(h, set()).add(bool(keep))
    assert all(len(v) == 1 for v in by_photo.values())
    order = np.random.default_rng(0).permutation(120)
    shuffled = subset_mask([hashes[i] for i in order], [cameras[i] for i in order], 0.5, 0)
    assert (shuffled == mask[order]).all()
    assert subset_mask(hashes, cameras, 1.0, 0).all()
    with pytest.raises(ValueError):
        subset_mask(hashes, cameras, 0.0, 0)


# ------------------------------------------------------------------------------------------------- probes
def test_pairwise_accuracy_counts_pairs_and_ties():
    values = np.array([1.0, 2.0, 3.0, np.nan, 3.0])
    assert pairwise_accuracy(values, values) == 1.0
    assert pairwise_accuracy(-values, values) == 0.0
    assert pairwise_accuracy(np.zeros(5), values) == 0.5  # a constant score is at chance
    # duplicating an item (a bootstrap count of 2) weights its pairs twice
    assert pairwise_accuracy(np.array([1.0, 0.0, 3.0]), np.array([1.0, 2.0, 3.0]), np.array([2.0, 1.0, 1.0])) == pytest.approx(3 / 5)


def test_probes_learn_a_linear_signal_and_choose_on_training_photos_only():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 20)) * 3
    y = np.repeat(np.arange(4), 25)
    x = centres[y] + rng.normal(size=(100, 20))
    groups = np.arange(100) // 2
    x_eval = centres[np.repeat(np.arange(4), 5)] + rng.normal(size=(20, 20))
    predicted, fit = classification_probe(x, y, groups, x_eval, grid=[0.001, 0.1, 10.0], n_folds=4)
    assert (predicted == np.repeat(np.arange(4), 5)).mean() > 0.9
    assert set(fit.cv_scores) == {0.001, 0.1, 10.0} and fit.chosen in fit.cv_scores
    _, refit = classification_probe(x, y, groups, rng.normal(size=(20, 20)), grid=[0.001, 0.1, 10.0], n_folds=4)
    assert refit.chosen == fit.chosen and refit.cv_scores == fit.cv_scores  # validation features play no part
    value = x @ rng.normal(size=20)
    scores, rfit = ranking_probe(x, value, groups, x_eval, grid=[1.0, 1000.0], n_folds=4)
    assert pairwise_accuracy(scores, x_eval @ np.linalg.lstsq(x, value, rcond=None)[0]) > 0.9
    constant, cfit = ranking_probe(x, np.ones(100), groups, x_eval, grid=[1.0])
    assert (constant == 0).all() and cfit.note


# -------------------------------------------------------------------------------- bootstrap and curve
def test_resampling_by_photo_and_by_group():
    counts = resample_counts(10, None, 50, seed=0)
    assert counts.shape == (50, 10) and (counts.sum(axis=1) == 10).all()
    groups = np.array(["a", "a", "a", "b", "c", "c", "d", "e", "e", "e"])
    by_group = resample_counts(10, groups, 50, seed=0)
    for g in set(groups):
        members = by_group[:, groups == g]
        assert (members == members[:, :1]).all()  # a group's photos are drawn together


def _synthetic_premise(tmp_path, n_train=60, n_eval=24, cameras=3, dim=8):
    """PremiseData with features where camera (model) is linearly visible to 'pretext' and not to 'random'."""
    rng = np.random.default_rng(0)
    fractions = [0.5, 1.0]
    model = np.concatenate([np.arange(n_train) % cameras, np.arange(n_eval) % cameras])
    role = [TRAIN] * n_train + [EVAL] * n_eval
    hashes = [_hash(f"p{i}") for i in range(n_train + n_eval)]
    keep = subset_mask(hashes[:n_train], [str(m) for m in model[:n_train]], 0.5, 0)
    photos = pl.DataFrame({
        "dataset": "d", "path": [f"{i}.jpg" for i in range(len(role))], "content_hash": hashes,
        "model_key": [str(m) for m in model], "split_group": [f"g{i // 2}" for i in range(len(role))], "role": role,
        "make_idx": (model > 0).astype(np.int32), "model_idx": model.astype(np.int32),
        "iso_log": rng.normal(size=len(role)), "exposure_time_log": rng.normal(size=len(role)),
        in_fraction(0.5): np.concatenate([keep, np.zeros(n_eval, bool)]),
        in_fraction(1.0): np.array([r == TRAIN for r in role]),
    })
    centres = rng.normal(size=(cameras, dim)) * 4
    informative = centres[model] + rng.normal(size=(len(role), dim))
    noise = rng.normal(size=(len(role), dim))
    features = {"pretext_f50": informative, "pretext_f100": informative, "random": noise, "srm_stats": noise}
    heads = {}
    for fraction in fractions:
        state = {"model": {f"heads.categorical.{t}.weight": torch.zeros(k, dim) for t, k in (("make", 3), ("model", cameras + 1))}}
        state["model"].update({f"heads.categorical.{t}.bias": torch.arange(k, dtype=torch.float32) for t, k in (("make", 3), ("model", cameras + 1))})
        state["model"].update({f"heads.ordinal.{t}.weight": torch.ones(1, dim) for t in ("iso", "exposure_time")})
        state["model"].update({f"heads.ordinal.{t}.bias": torch.zeros(1) for t in ("iso", "exposure_time")})
        path = tmp_path / f"heads_{fraction_label(fraction)}.pt"
        torch.save(state, path)
        heads[fraction] = path
    counts = {"training_photos": {fraction_label(f): int(photos[in_fraction(f)].sum()) for f in fractions}}
    return PremiseData(photos, features, fractions, counts), heads


def test_predictions_metrics_and_learning_curve_bookkeeping(tmp_path):
    data, heads = _synthetic_premise(tmp_path)
    settings = PremiseSettings(fractions=[0.5, 1.0], bootstrap=200, probe_c=[0.01, 1.0], ridge_alpha=[1.0, 100.0], cv_folds=3)
    table, fits = predictions(data, heads, settings)
    # one row per evaluation photo for each (extractor, fraction, method, tag)
    sizes = table.group_by("extractor", "fraction", "method", "tag").len()["len"].unique().to_list()
    assert sizes == [24]
    assert {f["extractor"] for f in fits} == {"pretext", "random", "srm_stats"} and len(fits) == 2 * 3 * 4
    groups = data.photos["split_group"].to_numpy()[data.rows(EVAL)]
    metrics, comparisons = bootstrap_metrics(table, groups, settings)
    row = lambda name, tag, f: metrics.filter((pl.col("name") == name) & (pl.col("tag") == tag) & (pl.col("fraction") == f)).row(0, named=True)  # noqa: E731
    probe, random = row("pretext + probe", "model", 1.0), row("random weights + probe", "model", 1.0)
    assert probe["value"] > 0.9 and probe["ci_low"] <= probe["value"] <= probe["ci_high"]
    assert random["value"] < 0.7
    # heads with zero weights and increasing biases always say the last class: accuracy 0 for the model tag
    assert row("pretext heads", "model", 1.0)["value"] == 0.0
    # majority class from the fraction's training photos
    assert row("majority class", "model", 0.5)["n_photos"] == 24
    diff = comparisons.filter((pl.col("a") == "pretext + probe") & (pl.col("b") == "random weights + probe")
                              & (pl.col("tag") == "model") & (pl.col("fraction") == 1.0)).row(0, named=True)
    assert diff["ci_low"] > 0 and diff["share_not_above"] < 0.05
    curve = learning_curve(metrics, data.counts)
    assert curve.filter(pl.col("fraction") == 0.5)["training_photos"].unique().to_list() == [data.counts["training_photos"]["f50"]]
    assert data.counts["training_photos"]["f50"] < data.counts["training_photos"]["f100"] == 60
    table_view = curve_table(curve)
    assert table_view.height == 2 * 5 + 2 * 4  # make/model: 5 methods; iso/exposure: 4 (no majority class)
    assert any(c.startswith("f50 (") for c in table_view.columns)


def test_photo_selection_uses_crops_and_seen_cameras():
    vocabulary = {"tags": {"model": {"values": ["A|x", "B|y"]}}}  # index 2 = other
    tags = pl.DataFrame({
        "dataset": "d", "path": [f"{i}.jpg" for i in range(8)], "content_hash": [_hash(str(i)) for i in range(8)],
        "model_key": ["A|x", "A|x", "B|y", "C|z", "A|x", "B|y", "C|z", "A|x"], "usable": True,
        "split": ["pretext_train", "pretext_train", "pretext_train", "pretext_train", "pretext_val", "pretext_val",
                  "pretext_val", "test"],
        "split_group": [f"g{i}" for i in range(8)], "make_idx": 0, "model_idx": [0, 0, 1, 2, 0, 1, 2, 0],
        "iso_log": 1.0, "exposure_time_log": 1.0,
    })
    # photo 2 (the only B|y training photo) gave no crop: B|y is not seen in training
    index = tags.filter(pl.col("path").is_in(["0.jpg", "1.jpg", "3.jpg"])).select("dataset", "path", "content_hash", "model_key", "split")
    index = pl.concat([index, index])  # two crops per photo
    photos = select_photos(tags, index, vocabulary, [0.5, 1.0], seed=0)
    assert photos.filter(pl.col("role") == TRAIN)["path"].to_list() == ["0.jpg", "1.jpg", "3.jpg"]
    assert photos.filter(pl.col("role") == EVAL)["path"].to_list() == ["4.jpg"]  # B|y unseen, C|z is `other`
    assert photos[in_fraction(1.0)].to_list() == [True, True, True, False]


def test_fraction_names():
    assert fraction_label(0.25) == "f25" and fraction_label(1.0) == "f100" and fraction_label(0.125) == "f12.5"
    assert extractor_names([1.0, 0.5, 0.25]) == ["pretext_f25", "pretext_f50", "pretext_f100", "random", "srm_stats"]
    with pytest.raises(ValueError):
        check_fractions([0.0])
    with pytest.raises(ValueError):
        check_fractions([])
