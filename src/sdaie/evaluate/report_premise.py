"""The report's premise section: does the extractor learn camera traces? (sdaie.premise's outputs as HTML)."""

from __future__ import annotations

import html
import json
from pathlib import Path

import polars as pl

from sdaie.premise.measure import curve_table


def _cell(value, low, high) -> str:
    if value is None or value != value:
        return "–"
    return f"{value:.2f} [{low:.2f}, {high:.2f}]"


def premise_section(summary: Path, metrics: Path, comparisons: Path, curve: Path, figure: Path, image) -> str:
    """HTML of the section; ``image`` embeds a PNG (sdaie.evaluate.report._image)."""
    from sdaie.evaluate.report import html_table

    facts = json.loads(Path(summary).read_text())
    curve_rows = pl.read_csv(curve)
    compared = pl.read_parquet(comparisons)
    counts, settings = facts["counts"], facts["settings"]
    top = max(settings["fractions"])
    parts = ["<h2>Premise: does the extractor learn camera traces?</h2>",
             "<p class='note'>On the validation photos of camera models seen in training "
             f"({counts['evaluation_photos']} photos, {facts['evaluation_groups']} capture groups, "
             f"{len(facts['evaluation_cameras'])} camera models): make and model accuracy, ISO and exposure-time pairwise "
             "ranking accuracy (chance 0.5). <b>pretext heads</b>: the pretext network's own heads on the whole-image "
             "feature; <b>+ probe</b>: a linear probe (logistic regression; ridge for the ranking tags) trained on the "
             "training photos' features, its strength chosen by cross-validation grouped by capture burst on the training "
             "photos only. Intervals: "
             f"{settings['ci']:.0%} bootstrap over photos ({settings['bootstrap']} resamples); the CSV and Parquet files also "
             "hold intervals over capture groups. Training photos per fraction: "
             + ", ".join(f"{html.escape(k)}: {v}" for k, v in counts["training_photos"].items()) + ".</p>"]
    last = curve_rows.filter(pl.col("fraction") == top)
    table = last.select("tag", "name", pl.struct("value", "ci_low", "ci_high").map_elements(
        lambda s: _cell(s["value"], s["ci_low"], s["ci_high"]), return_dtype=pl.String).alias("value [interval]"),
        "n_photos")
    parts.append(f"<h3>All training photos (fraction {top:g})</h3>" + html_table(table, left=2))
    parts.append("<h3>Learning curve</h3>" + html_table(curve_table(curve_rows), left=2) + image(figure))
    if not compared.is_empty():
        shown = compared.filter(pl.col("fraction") == top).select(
            "tag", "a", "b", pl.struct("difference", "ci_low", "ci_high").map_elements(
                lambda s: _cell(s["difference"], s["ci_low"], s["ci_high"]), return_dtype=pl.String).alias("difference [interval]"),
            pl.col("share_not_above").alias("resamples with a ≤ b"))
        parts.append("<h3>Paired differences, all training photos</h3><p class='note'>a minus b on the same bootstrap "
                     "resamples; an interval above 0 says a beats b on these photos.</p>" + html_table(shown, left=3))
    probes = pl.DataFrame([{k: (json.dumps(v) if isinstance(v, dict) else v) for k, v in fit.items()} for fit in facts["probes"]])
    parts.append("<details><summary>What the probes chose (cross-validation on the training photos)</summary>"
                 + html_table(probes.select("extractor", "fraction", "tag", "kind", "chosen", "n_train", "cv_scores", "note"), left=4)
                 + "</details>")
    cameras = pl.DataFrame({"camera model": list(facts["evaluation_cameras"]), "validation photos": list(facts["evaluation_cameras"].values())})
    parts.append("<details><summary>Evaluation photos per camera model</summary>" + html_table(cameras) + "</details>")
    return "\n".join(parts)
