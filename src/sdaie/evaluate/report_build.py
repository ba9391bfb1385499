"""Assemble the evaluation report from the pipeline's files: figures, versions, HTML."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from sdaie.evaluate.figures import empty_figure, robustness_figure, roc_figure, training_figure
from sdaie.evaluate.report import ReportInputs, render_report
from sdaie.evaluate.versions import collect_versions

CURVE_SCHEMA = {"step": pl.Int64, "kind": pl.String, "name": pl.String, "value": pl.Float64}


def read_curves(path: Path) -> pl.DataFrame:
    """A trainer's metrics.csv (step, kind, name, value)."""
    return pl.read_csv(path, schema=CURVE_SCHEMA)


def build_report(*, scores: Path, metrics: Path, robustness: Path, pretext_curves: Path, binary_curves: Path | None,
                 oneclass_fit: dict, exif_tables: dict[str, Path], models: list[Path], config: dict,
                 trained_generators: list[str], report: Path, figures: list[Path], premise: list[Path] | None = None) -> None:
    """Write the four figures (roc, robustness, pretext, binary: in that order) and the HTML report.

    ``premise``: the premise measurements' summary.json, metrics.parquet, comparisons.parquet,
    learning_curve.csv and learning_curve.png (rules/premise.smk), shown in their own section."""
    score_table = pl.read_parquet(scores)
    metric_table = pl.read_parquet(metrics)
    roc, robust, pretext, binary = figures
    roc.parent.mkdir(parents=True, exist_ok=True)
    roc_figure(score_table, roc)
    robustness_figure(pl.read_csv(robustness), robust)
    training_figure(read_curves(pretext_curves), pretext, "Pretext training (camera tags)")
    if binary_curves is not None:
        training_figure(read_curves(binary_curves), binary, "Binary detector training")
    else:
        empty_figure(binary, "no binary detector configured")
    shown = {"ROC curves (unperturbed)": roc, "Robustness": robust, "Pretext training": pretext}
    if binary_curves is not None:
        shown["Binary detector training"] = binary
    versions = collect_versions(exif_tables, {path.name: path for path in models},
                                {"extractor_id": oneclass_fit.get("extractor_id")})
    sections = []
    if premise:
        from sdaie.evaluate.report import _image
        from sdaie.evaluate.report_premise import premise_section

        sections.append(premise_section(*premise, image=_image))
    html = render_report(ReportInputs(score_table, metric_table, shown, config, versions, oneclass_fit, trained_generators,
                                      sections=sections))
    tmp = report.with_name(report.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(report)
