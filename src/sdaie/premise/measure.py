"""Predictions of every method on the evaluation photos, accuracies with bootstrap intervals, comparisons.

Methods, at each training fraction ``f`` (tags: make and model by accuracy, ISO and exposure time by
pairwise ranking accuracy):

    heads      the pretext network trained on fraction f, its own heads on the whole-image feature
    probe      a linear probe (sdaie.premise.probes) on the features of one extractor, trained on the
               fraction-f training photos: the pretext network of fraction f, the random-weights
               network, the SRM statistics
    majority   the most frequent class among the fraction-f training photos (categorical tags only;
               the ranking tags' chance level is 0.5)

Intervals: the evaluation photos are resampled with replacement ``bootstrap`` times (the same
resamples for every method, so differences are paired); an interval is the central ``ci`` share of
the resampled values. ``*_group`` columns resample whole split groups (bursts) instead of photos, the
more cautious interval where photos of one burst are alike.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from sdaie.model.checkpoint import read_torch_file
from sdaie.premise.data import EVAL, LABELS, TRAIN, PremiseData
from sdaie.premise.plan import CATEGORICAL, ORDINAL, RANDOM, REFERENCES, SRM_STATS, fraction_label
from sdaie.premise.probes import classification_probe, pair_matrices, ranking_probe

log = logging.getLogger(__name__)

PRETEXT, NONE = "pretext", "none"
HEADS, PROBE, MAJORITY = "heads", "probe", "majority"
METHOD_NAMES = {
    (PRETEXT, HEADS): "pretext heads",
    (PRETEXT, PROBE): "pretext + probe",
    (RANDOM, PROBE): "random weights + probe",
    (SRM_STATS, PROBE): "SRM statistics + probe",
    (NONE, MAJORITY): "majority class",
}


@dataclass
class PremiseSettings:
    """Config section ``premise`` (defaults as in the schema)."""

    fractions: list[float] = field(default_factory=lambda: [0.25, 0.5, 1.0])
    bootstrap: int = 2000
    ci: float = 0.95
    probe_c: list[float] = field(default_factory=lambda: [0.001, 0.01, 0.1, 1.0, 10.0])
    ridge_alpha: list[float] = field(default_factory=lambda: [1.0, 10.0, 100.0, 1000.0, 10000.0])
    cv_folds: int = 5
    seed: int = 0

    @classmethod
    def from_config(cls, section: dict) -> "PremiseSettings":
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in section.items() if k in names})


def head_outputs(model_path: Path, features: np.ndarray) -> dict[str, np.ndarray]:
    """The pretext heads applied to whole-image features: logits (n, K) per categorical tag, scores (n,) per ordinal tag."""
    state = read_torch_file(model_path)["model"]
    out = {}
    for tag in CATEGORICAL:
        weight, bias = state[f"heads.categorical.{tag}.weight"].double().numpy(), state[f"heads.categorical.{tag}.bias"].double().numpy()
        out[tag] = features @ weight.T + bias
    for tag in ORDINAL:
        key = f"heads.ordinal.{tag}.weight"
        if key in state:
            out[tag] = (features @ state[key].double().numpy().T + state[f"heads.ordinal.{tag}.bias"].double().numpy())[:, 0]
    return out


def _labels(data: PremiseData, rows: np.ndarray, tag: str) -> np.ndarray:
    values = data.photos[LABELS[tag]].cast(pl.Float64).to_numpy()[rows]
    return values


def predictions(data: PremiseData, heads: dict[float, Path], settings: PremiseSettings) -> tuple[pl.DataFrame, list[dict]]:
    """Long table (extractor, fraction, method, tag, photo, label, prediction) over the evaluation photos,
    and one record per probe (what cross-validation chose)."""
    evaluation = data.rows(EVAL)
    groups = data.photos["split_group"].to_numpy()
    frames, fits = [], []

    def add(extractor, fraction, method, tag, values):
        frames.append(pl.DataFrame({
            "extractor": extractor, "fraction": fraction, "method": method, "tag": tag,
            "photo": np.arange(len(evaluation)), "label": _labels(data, evaluation, tag),
            "prediction": np.asarray(values, float)}))

    for fraction in data.fractions:
        label = fraction_label(fraction)
        train = data.rows(TRAIN, fraction)
        pretext = f"pretext_{label}"
        outputs = head_outputs(heads[fraction], data.features[pretext][evaluation].astype(np.float64))
        for tag in CATEGORICAL:
            add(PRETEXT, fraction, HEADS, tag, outputs[tag].argmax(axis=1))
            y = _labels(data, train, tag)
            known = ~np.isnan(y)
            classes, counts = np.unique(y[known], return_counts=True)
            add(NONE, fraction, MAJORITY, tag, np.full(len(evaluation), classes[np.argmax(counts)] if len(classes) else np.nan))
        for tag in ORDINAL:
            if tag in outputs:
                add(PRETEXT, fraction, HEADS, tag, outputs[tag])
        for extractor, features in ((PRETEXT, data.features[pretext]), (RANDOM, data.features[RANDOM]),
                                    (SRM_STATS, data.features[SRM_STATS])):
            x_train, x_eval = features[train].astype(np.float64), features[evaluation].astype(np.float64)
            for tag in CATEGORICAL:
                y = _labels(data, train, tag)
                known = ~np.isnan(y)
                predicted, fit = classification_probe(x_train[known], y[known].astype(int), groups[train][known], x_eval,
                                                      grid=settings.probe_c, n_folds=settings.cv_folds, seed=settings.seed)
                add(extractor, fraction, PROBE, tag, predicted)
                fits.append({"extractor": extractor, "fraction": fraction, "tag": tag, "kind": "logistic C", **vars(fit)})
            for tag in ORDINAL:
                scores, fit = ranking_probe(x_train, _labels(data, train, tag), groups[train], x_eval,
                                            grid=settings.ridge_alpha, n_folds=settings.cv_folds)
                add(extractor, fraction, PROBE, tag, scores)
                fits.append({"extractor": extractor, "fraction": fraction, "tag": tag, "kind": "ridge alpha", **vars(fit)})
            log.info("probes of %s at %s done", extractor, label)
    for fit in fits:
        fit["cv_scores"] = {str(k): v for k, v in fit["cv_scores"].items()}
    return pl.concat(frames), fits


def resample_counts(n: int, groups: np.ndarray | None, draws: int, seed: int) -> np.ndarray:
    """(draws, n) how often each photo appears in each resample: photos drawn with replacement, or whole
    groups (``groups``: a group label per photo) drawn with replacement."""
    rng = np.random.default_rng(seed)
    if groups is None:
        picks = rng.integers(0, n, size=(draws, n))
        return np.stack([np.bincount(row, minlength=n) for row in picks]).astype(float)
    labels, member = np.unique(groups, return_inverse=True)
    picks = rng.integers(0, len(labels), size=(draws, len(labels)))
    per_group = np.stack([np.bincount(row, minlength=len(labels)) for row in picks]).astype(float)
    return per_group[:, member]


def _series_values(tag: str, label: np.ndarray, prediction: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Accuracy (categorical) or pairwise ranking accuracy (ordinal) under each row of ``weights`` (m, n)."""
    if tag in CATEGORICAL:
        known = ~np.isnan(label)
        correct = (prediction == label) & known
        with np.errstate(invalid="ignore", divide="ignore"):
            return (weights @ correct) / (weights @ known)
    pairs, right = pair_matrices(prediction, label)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.einsum("bi,ij,bj->b", weights, right, weights) / np.einsum("bi,ij,bj->b", weights, pairs, weights)


def _interval(values: np.ndarray, ci: float) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if not len(finite):
        return float("nan"), float("nan")
    tail = (1 - ci) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_metrics(table: pl.DataFrame, groups: np.ndarray, settings: PremiseSettings) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(metrics, comparisons) from the predictions table; ``groups``: split group per evaluation photo."""
    n = int(table["photo"].max()) + 1
    weights = {"": resample_counts(n, None, settings.bootstrap, settings.seed),
               "_group": resample_counts(n, groups, settings.bootstrap, settings.seed + 1)}
    ones = np.ones((1, n))
    rows, draws = [], {}
    for (extractor, fraction, method, tag), part in table.sort("photo").group_by(
            ["extractor", "fraction", "method", "tag"], maintain_order=True):
        label, prediction = part["label"].to_numpy(), part["prediction"].to_numpy()
        row = {"extractor": extractor, "fraction": fraction, "method": method, "tag": tag,
               "metric": "accuracy" if tag in CATEGORICAL else "ranking_accuracy",
               "value": float(_series_values(tag, label, prediction, ones)[0]),
               "n_photos": int((~np.isnan(label)).sum())}
        if tag in ORDINAL:
            row["n_pairs"] = int(pair_matrices(prediction, label)[0].sum())
        for suffix, w in weights.items():
            values = _series_values(tag, label, prediction, w)
            row[f"ci_low{suffix}"], row[f"ci_high{suffix}"] = _interval(values, settings.ci)
            draws[(extractor, fraction, method, tag, suffix)] = values
        rows.append(row)
    metrics = pl.DataFrame(rows).with_columns(
        pl.struct("extractor", "method").map_elements(lambda s: METHOD_NAMES.get((s["extractor"], s["method"]), ""),
                                                      return_dtype=pl.String).alias("name"))
    return metrics, _comparisons(metrics, draws, settings)


def _comparisons(metrics: pl.DataFrame, draws: dict, settings: PremiseSettings) -> pl.DataFrame:
    """Paired differences: the pretext network (heads, probe) minus each reference at the same fraction."""
    rows = []
    present = {(r["extractor"], r["fraction"], r["method"], r["tag"]): r["value"] for r in metrics.iter_rows(named=True)}
    for (extractor, fraction, method, tag), value in present.items():
        if extractor != PRETEXT:
            continue
        references = [(ref, PROBE) for ref in REFERENCES] + ([(NONE, MAJORITY)] if tag in CATEGORICAL else [])
        for ref_extractor, ref_method in references:
            key = (ref_extractor, fraction, ref_method, tag)
            if key not in present:
                continue
            row = {"tag": tag, "fraction": fraction, "a": METHOD_NAMES[(extractor, method)],
                   "b": METHOD_NAMES[key[0], key[2]], "difference": value - present[key]}
            for suffix in ("", "_group"):
                diff = draws[(extractor, fraction, method, tag, suffix)] - draws[(*key, suffix)]
                row[f"ci_low{suffix}"], row[f"ci_high{suffix}"] = _interval(diff, settings.ci)
                finite = diff[np.isfinite(diff)]
                row[f"share_not_above{suffix}"] = float((finite <= 0).mean()) if len(finite) else float("nan")
            rows.append(row)
    return pl.DataFrame(rows)


def learning_curve(metrics: pl.DataFrame, counts: dict) -> pl.DataFrame:
    """The learning curve, long: (tag, name, fraction, training_photos, value and intervals), ordered for reading."""
    training = counts.get("training_photos", {})
    order = {name: i for i, name in enumerate(METHOD_NAMES.values())}
    tags = {tag: i for i, tag in enumerate((*CATEGORICAL, *ORDINAL))}
    return (
        metrics.with_columns(
            pl.col("fraction").map_elements(lambda f: training.get(fraction_label(f)), return_dtype=pl.Int64).alias("training_photos"),
            pl.col("tag").replace_strict(tags, default=99).alias("_t"),
            pl.col("name").replace_strict(order, default=99).alias("_m"),
        )
        .sort("_t", "_m", "fraction")
        .select("tag", "name", "metric", "fraction", "training_photos", "value", "ci_low", "ci_high", "ci_low_group",
                "ci_high_group", "n_photos")
    )


def curve_table(curve: pl.DataFrame, digits: int = 2) -> pl.DataFrame:
    """The learning curve as a reading table: one row per (tag, method), a "value [low, high]" column per fraction."""
    cells = curve.with_columns(
        pl.struct("value", "ci_low", "ci_high").map_elements(
            lambda s: f"{s['value']:.{digits}f} [{s['ci_low']:.{digits}f}, {s['ci_high']:.{digits}f}]", return_dtype=pl.String
        ).alias("cell"),
        (pl.col("fraction").map_elements(fraction_label, return_dtype=pl.String) + " ("
         + pl.col("training_photos").cast(pl.String) + " photos)").alias("column"),
    )
    return cells.pivot(on="column", index=["tag", "name"], values="cell", maintain_order=True)
