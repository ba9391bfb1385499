"""Markdown tables of a camera-series run, as RESULTS.md shows them.

    python -m sdaie.premise.tables results-camera-series

prints the premise table (all training photos), the learning curve, the paired differences, and the
detection table (ROC AUC and TPR at 5% FPR per generator, unperturbed and with JPEG 95 on both classes,
with the one-class threshold's held-out false-positive rate), from the run's files.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import polars as pl

from sdaie.premise.measure import curve_table

DETECTORS = {"oneclass": "one-class (pretext + GMM)", "binary": "binary (distilled)",
             "random_oneclass": "random weights + GMM", "srm_stats": "SRM statistics + GMM"}


def markdown(frame: pl.DataFrame) -> str:
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join("–" if v is None else str(v) for v in row) + " |" for row in frame.iter_rows()]
    return "\n".join([head, rule, *rows])


def _cell(value: float, low: float, high: float) -> str:
    return f"{value:.2f} [{low:.2f}, {high:.2f}]"


def premise_tables(results: Path) -> str:
    premise = results / "premise"
    summary = json.loads((premise / "summary.json").read_text())
    curve = pl.read_csv(premise / "learning_curve.csv")
    top = curve["fraction"].max()
    last = curve.filter(pl.col("fraction") == top)
    main = last.select(
        "tag", pl.col("name").alias("method"),
        pl.struct("value", "ci_low", "ci_high").map_elements(lambda s: _cell(s["value"], s["ci_low"], s["ci_high"]),
                                                            return_dtype=pl.String).alias("value [95% CI, photos]"),
        pl.struct("ci_low_group", "ci_high_group").map_elements(lambda s: f"[{s['ci_low_group']:.2f}, {s['ci_high_group']:.2f}]",
                                                                return_dtype=pl.String).alias("[95% CI, capture groups]"),
        pl.col("n_photos").alias("photos"))
    comparisons = pl.read_parquet(premise / "comparisons.parquet").filter(pl.col("fraction") == top).select(
        "tag", "a", "b", pl.struct("difference", "ci_low", "ci_high").map_elements(
            lambda s: _cell(s["difference"], s["ci_low"], s["ci_high"]), return_dtype=pl.String).alias("a - b [95% CI]"),
        pl.col("share_not_above").round(3).alias("share of resamples a <= b"))
    counts = summary["counts"]
    lines = [f"Evaluation photos: {counts['evaluation_photos']} ({summary['evaluation_groups']} capture groups, "
             f"{len(summary['evaluation_cameras'])} camera models); training photos per fraction: {counts['training_photos']}; "
             f"left out without features: {counts['left_out_without_features']}.", "",
             f"### All training photos (fraction {top:g})", "", markdown(main), "",
             "### Learning curve (value [95% CI over photos])", "", markdown(curve_table(curve)), "",
             f"### Paired differences at fraction {top:g}", "", markdown(comparisons)]
    return "\n".join(lines)


def detection_table(results: Path) -> str:
    metrics = pl.read_parquet(results / "evaluation" / "metrics.parquet")
    fit = json.loads((results / "oneclass" / "fit_report.json").read_text())
    parts = []
    for perturbation in [p for p in ("none", "jpeg:95") if p in metrics["perturbation"].to_list()]:
        rows = metrics.filter(pl.col("perturbation") == perturbation)
        generators = sorted(g for g in rows["generator"].unique().to_list() if g != "mean") + ["mean"]
        table = []
        for detector, name in DETECTORS.items():
            chosen = rows.filter(pl.col("detector") == detector)
            if chosen.is_empty():
                continue
            cells = {g: chosen.filter(pl.col("generator") == g) for g in generators}
            table.append({"detector": name, **{g: (f"{c['auc'][0]:.2f} / {c['tpr_at_5fpr'][0]:.2f}" if c.height else None)
                                               for g, c in cells.items()},
                          "FPR at own threshold": f"{chosen['fpr'][0]:.2f}"})
        n_real = int(rows["n_real"].max())
        parts += [f"#### {perturbation} (ROC AUC / TPR at 5% FPR; {n_real} test photos)", "", markdown(pl.DataFrame(table)), ""]
    parts.append(f"One-class threshold: target {fit['target_fpr']:.0%} false positives, reached {fit['held_out_fpr']:.1%} "
                 f"on {fit['held_out_images']} held-out photos (fitted on {fit['fit_images']}).")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, help="the run's results folder (config `results`)")
    args = parser.parse_args(argv)
    print(premise_tables(args.results))
    print()
    print(detection_table(args.results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
