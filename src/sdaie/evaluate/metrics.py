"""Metrics per (detector, generator, perturbation), and their averages across generators.

Each generated set is compared with the same real test photos under the same perturbation.
AI-generated is the positive class throughout, except `ap_real_positive`: the published one-class
code computed average precision with real photos as the positive class (score = log-likelihood);
it is reported too so that numbers can be compared with the paper.

    auc               ROC AUC (the same whichever class is positive)
    ap                average precision, AI-generated positive
    ap_real_positive  average precision, real positive (the published one-class convention)
    balanced_accuracy mean of TPR and TNR of the detector's own verdicts (its threshold)
    tpr_at_1fpr       share of generated images caught when at most 1% of real photos are flagged
    tpr_at_5fpr       ... at most 5%
    fpr               share of real photos flagged at the detector's own threshold
    n_real, n_generated
"""

from __future__ import annotations

import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from sdaie.evaluate.perturb import parse_perturbation

# where the unperturbed images sit on each robustness axis (not re-encoded: just right of quality 100)
UNPERTURBED_AT = {"jpeg": 104.0, "blur": 0.0, "scale": 1.0}
MEAN = "mean"  # the `generator` of the rows that average over generators
METRICS = ("auc", "ap", "ap_real_positive", "balanced_accuracy", "tpr_at_1fpr", "tpr_at_5fpr", "fpr")


def tpr_at_fpr(labels: np.ndarray, scores: np.ndarray, max_fpr: float) -> float:
    """Highest true-positive rate among thresholds whose false-positive rate is at most `max_fpr`."""
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    allowed = fpr <= max_fpr + 1e-12
    return float(tpr[allowed].max()) if allowed.any() else 0.0


def binary_metrics(labels: np.ndarray, scores: np.ndarray, verdicts: np.ndarray) -> dict[str, float]:
    """Metrics of one comparison: labels 1 = generated, scores higher = more generated, verdicts bool."""
    labels = np.asarray(labels, dtype=int)
    scores = np.asarray(scores, dtype=float)
    verdicts = np.asarray(verdicts, dtype=bool)
    real, generated = labels == 0, labels == 1
    out = {"n_real": int(real.sum()), "n_generated": int(generated.sum())}
    if real.any() and generated.any():
        out.update(
            auc=float(roc_auc_score(labels, scores)),
            ap=float(average_precision_score(labels, scores)),
            ap_real_positive=float(average_precision_score(1 - labels, -scores)),
            tpr_at_1fpr=tpr_at_fpr(labels, scores, 0.01),
            tpr_at_5fpr=tpr_at_fpr(labels, scores, 0.05),
        )
        tpr = verdicts[generated].mean()
        tnr = 1 - verdicts[real].mean()
        out["balanced_accuracy"] = float((tpr + tnr) / 2)
    else:
        out.update({name: float("nan") for name in ("auc", "ap", "ap_real_positive", "tpr_at_1fpr", "tpr_at_5fpr",
                                                    "balanced_accuracy")})
    out["fpr"] = float(verdicts[real].mean()) if real.any() else float("nan")
    return out


def compute_metrics(scores: pl.DataFrame) -> pl.DataFrame:
    """One row per (detector, generator, perturbation), plus generator = "mean" rows."""
    scored = scores.filter(pl.col("error").is_null())
    real = scored.filter(pl.col("label") == 0)
    generated = scored.filter(pl.col("label") == 1)
    rows = []
    keys = generated.select("detector", "generator", "perturbation").unique().sort("detector", "generator", "perturbation")
    for detector, generator, perturbation in keys.iter_rows():
        fake = generated.filter((pl.col("detector") == detector) & (pl.col("generator") == generator)
                                & (pl.col("perturbation") == perturbation))
        true = real.filter((pl.col("detector") == detector) & (pl.col("perturbation") == perturbation))
        both = pl.concat([true, fake])
        rows.append({"detector": detector, "generator": generator, "perturbation": perturbation,
                     **binary_metrics(both["label"].to_numpy(), both["score"].to_numpy(), both["generated"].to_numpy())})
    table = pl.DataFrame(rows)
    if table.is_empty():
        return table
    means = (
        table.group_by("detector", "perturbation")
        .agg([pl.col(m).mean() for m in METRICS] + [pl.col("n_real").max(), pl.col("n_generated").sum()])
        .with_columns(generator=pl.lit(MEAN))
    )
    return pl.concat([table, means.select(table.columns)]).sort("detector", "perturbation", "generator")


def metrics_summary(metrics: pl.DataFrame) -> dict:
    """A small nested dict for DVC metrics: {detector: {perturbation: {auc, ap, ...}}} averaged over generators."""
    summary: dict = {}
    for row in metrics.filter(pl.col("generator") == MEAN).iter_rows(named=True):
        summary.setdefault(row["detector"], {})[row["perturbation"]] = {
            m: (None if row[m] is None or np.isnan(row[m]) else round(float(row[m]), 4)) for m in METRICS
        }
    return summary


def robustness_points(metrics: pl.DataFrame, metric: str = "auc") -> pl.DataFrame:
    """(detector, axis, x, value) of the generator-averaged metric; `none` sits at each axis' identity."""
    rows = []
    means = metrics.filter(pl.col("generator") == MEAN)
    kinds = {parse_perturbation(p).kind for p in means["perturbation"].unique().to_list()} - {"none"}
    for row in means.iter_rows(named=True):
        p = parse_perturbation(row["perturbation"])
        for axis in ([p.kind] if p.kind != "none" else sorted(kinds)):
            x = p.value if p.kind != "none" else UNPERTURBED_AT[axis]
            rows.append({"detector": row["detector"], "axis": axis, "x": float(x), "value": row[metric],
                         "perturbation": row["perturbation"]})
    return pl.DataFrame(rows, schema={"detector": pl.String, "axis": pl.String, "x": pl.Float64, "value": pl.Float64,
                                      "perturbation": pl.String}).sort("detector", "axis", "x")
