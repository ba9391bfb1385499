"""The evaluation report: one self-contained HTML file (figures embedded) people can open anywhere.

Sections: the headline (each learned detector against the no-learning baselines, in a sentence),
what was evaluated, the per-generator table of each detector, ROC curves, robustness
curves, the pretext and binary training curves, the one-class threshold check, the full metrics
table, the configuration, and the versions of data, models and software.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import yaml

from sdaie.evaluate.headline import headline
from sdaie.evaluate.metrics import MEAN, METRICS

DETECTOR_NOTES = {
    "oneclass": "pretext extractor + GMM of real photos (no generated image seen)",
    "binary": "binary detector, distillation-regularised (trained on the generators marked *)",
    "random_oneclass": "baseline: same architecture with random weights + same GMM",
    "srm_stats": "baseline: GMM on SRM residual statistics (nothing learned)",
}
STYLE = """
body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.85em}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#f3f3f3}
td.l,th.l{text-align:left}img{max-width:100%}code,pre{background:#f6f6f6}pre{padding:0.6em;overflow:auto}
.note{color:#555;font-size:0.9em}
"""


@dataclass
class ReportInputs:
    scores: pl.DataFrame
    metrics: pl.DataFrame
    figures: dict[str, Path]  # title -> PNG
    config: dict
    versions: dict
    oneclass_fit: dict | None = None
    trained_generators: list[str] = field(default_factory=list)
    title: str = "sdaie evaluation"
    sections: list[str] = field(default_factory=list)  # further HTML sections (the premise measurements), before "All metrics"


def _fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return "–" if value != value else f"{value:.3f}"
    return html.escape(str(value))


def html_table(frame: pl.DataFrame, left: int = 1) -> str:
    head = "".join(f'<th class="{"l" if i < left else ""}">{html.escape(c)}</th>' for i, c in enumerate(frame.columns))
    body = "".join(
        "<tr>" + "".join(f'<td class="{"l" if i < left else ""}">{_fmt(v)}</td>' for i, v in enumerate(row)) + "</tr>"
        for row in frame.iter_rows()
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def per_generator_table(metrics: pl.DataFrame, detector: str, perturbation: str, trained: list[str]) -> pl.DataFrame:
    rows = metrics.filter((pl.col("detector") == detector) & (pl.col("perturbation") == perturbation))
    rows = rows.with_columns(
        pl.when(pl.col("generator").is_in(trained)).then(pl.col("generator") + " *").otherwise(pl.col("generator")).alias("generator"),
        (pl.col("generator") == MEAN).alias("_last"),
    ).sort("_last", "generator")
    return rows.select("generator", "n_real", "n_generated", *METRICS)


def _image(path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img alt="{html.escape(Path(path).stem)}" src="data:image/png;base64,{data}">'


def render_report(inputs: ReportInputs) -> str:
    m = inputs.metrics
    detectors = [d for d in ("oneclass", "binary", "random_oneclass", "srm_stats") if d in m["detector"].unique().to_list()]
    perturbations = list(dict.fromkeys(inputs.scores["perturbation"].to_list()))
    generators = sorted(g for g in m["generator"].unique().to_list() if g != MEAN)
    scored = inputs.scores.filter(pl.col("error").is_null())
    errors = inputs.scores.filter(pl.col("error").is_not_null()).select("dataset", "path", "error").unique()
    counts = (scored.filter(pl.col("perturbation") == perturbations[0]).select("dataset", "path", "label", "generator").unique()
              .group_by("label", "generator").len().sort("label", "generator"))
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(inputs.title)}</title>",
             f"<style>{STYLE}</style></head><body><h1>{html.escape(inputs.title)}</h1>",
             f"<p class='note'>Generated {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC. "
             "Scores: higher = more likely AI-generated; AI-generated is the positive class except in "
             "<code>ap_real_positive</code>, the convention of the published one-class code (real positive, "
             "log-likelihood as score), reported so numbers can be compared with the paper. "
             "Balanced accuracy and <code>fpr</code> use each detector's own threshold; TPR at 1%/5% FPR use the "
             "best threshold on these real test photos.</p>"]
    main = "none" if "none" in perturbations else perturbations[0]
    top = headline(m, main)
    parts.append(f"<h2>Headline</h2><p class='note'>Mean ROC AUC over the generators, perturbation {html.escape(main)}.</p>")
    parts.append(html_table(pl.DataFrame([{"detector": d, **v} for d, v in top["detectors"].items()]))
                 if top["detectors"] else "")
    parts.append("<ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in top["sentences"]) + "</ul>")
    parts.append("<h2>What was evaluated</h2><ul>")
    descriptions = {(spec.get("generator") if spec.get("kind") == "generated" else None): spec.get("description")
                    for spec in inputs.config.get("datasets", {}).values()}
    for row in counts.iter_rows(named=True):
        what = "real test photos" if row["label"] == 0 else f"images of {html.escape(str(row['generator']))}"
        about = descriptions.get(row["generator"] if row["label"] == 1 else None)
        parts.append(f"<li>{row['len']} {what}{': ' + html.escape(about) if about else ''}</li>")
    parts.append(f"<li>perturbations: {', '.join(map(html.escape, perturbations))}</li>")
    parts.append("<li>detectors: " + "; ".join(f"<b>{d}</b>: {DETECTOR_NOTES.get(d, '')}" for d in detectors) + "</li></ul>")
    if not errors.is_empty():
        parts.append(f"<p>{errors.height} file(s) could not be scored:</p>" + html_table(errors, left=3))
    if inputs.oneclass_fit:
        parts.append("<h2>One-class threshold</h2>" + html_table(pl.DataFrame([inputs.oneclass_fit]).select(
            [c for c in ("target_fpr", "held_out_fpr", "threshold", "fit_images", "held_out_images") if c in inputs.oneclass_fit]), left=0))
    parts.append(f"<h2>Per generator (perturbation: {html.escape(main)})</h2>")
    if inputs.trained_generators:
        parts.append("<p class='note'>* the binary detector trained on this generator (its held-out images are scored here).</p>")
    for detector in detectors:
        parts.append(f"<h3>{detector}</h3><p class='note'>{DETECTOR_NOTES.get(detector, '')}</p>")
        parts.append(html_table(per_generator_table(m, detector, main, inputs.trained_generators)))
    parts.append("<h2>Mean over generators, every perturbation</h2>")
    summary = (m.filter(pl.col("generator") == MEAN).select("detector", "perturbation", "auc")
               .pivot(on="detector", index="perturbation", values="auc"))
    order = {p: i for i, p in enumerate(perturbations)}
    summary = summary.with_columns(pl.col("perturbation").replace_strict(order, default=len(order)).alias("_o")).sort("_o").drop("_o")
    parts.append("<p class='note'>ROC AUC</p>" + html_table(summary))
    for title, path in inputs.figures.items():
        parts.append(f"<h2>{html.escape(title)}</h2>{_image(path)}")
    parts.extend(inputs.sections)
    parts.append("<h2>All metrics</h2><details><summary>every (detector, generator, perturbation)</summary>"
                 + html_table(m.select("detector", "generator", "perturbation", "n_real", "n_generated", *METRICS), left=3)
                 + "</details>")
    parts.append("<h2>Configuration</h2><pre>" + html.escape(yaml.safe_dump(inputs.config, sort_keys=False)) + "</pre>")
    parts.append("<h2>Versions of data, models and software</h2><pre>" + html.escape(json.dumps(inputs.versions, indent=2)) + "</pre>")
    parts.append(f"<p class='note'>generators: {', '.join(map(html.escape, generators))}</p></body></html>")
    return "\n".join(parts)
