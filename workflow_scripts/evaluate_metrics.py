"""Snakemake entry point: all scores in one table, metrics per (detector, generator, perturbation)."""

import json

import polars as pl

from sdaie.evaluate.headline import headline
from sdaie.evaluate.metrics import compute_metrics, metrics_summary, robustness_points
from sdaie.workflow_io import rule_logging

with rule_logging(snakemake.log[0]) as log:
    scores = pl.concat([pl.read_parquet(path) for path in snakemake.input], how="vertical")
    scores.write_parquet(snakemake.output.scores, compression="zstd")
    metrics = compute_metrics(scores)
    metrics.write_parquet(snakemake.output.metrics)
    with open(snakemake.output.summary, "w") as handle:
        json.dump({"headline": headline(metrics), **metrics_summary(metrics)}, handle, indent=2)
    robustness_points(metrics).write_csv(snakemake.output.robustness)
    log.info("%d scores, %d metric rows", scores.height, metrics.height)
