"""Metrics and the HTML report of a GPU run of the real-data experiment, built here from what came back.

``bench/gpu_experiment.py`` ran on the GPU machine (no polars there); this does what the workflow's
``evaluate_metrics`` and ``evaluate_report`` rules do, with the same library calls, from its outputs and
the bundle it ran on (``bench/gpu_bundle.py``: EXIF tables and config):

    python bench/gpu_report.py --bundle .gpu_bundle --run DEVICE_OUTPUT_FOLDER --out results-shared-gpu/evaluation

Writes scores.parquet, metrics.parquet, metrics.json, robustness.csv, report.html and figures/.
"""

from __future__ import annotations

import argparse
import json
import tarfile
import tempfile
from pathlib import Path

import polars as pl

from sdaie.evaluate.metrics import compute_metrics, metrics_summary, robustness_points
from sdaie.evaluate.report_build import build_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--run", type=Path, required=True, help="the files the device call brought back")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    out, run = args.out, args.run
    out.mkdir(parents=True, exist_ok=True)
    config = json.loads((args.bundle / "config.json").read_text())

    scores = pl.read_parquet(run / "scores.parquet")
    scores.write_parquet(out / "scores.parquet", compression="zstd")
    metrics = compute_metrics(scores)
    metrics.write_parquet(out / "metrics.parquet")
    (out / "metrics.json").write_text(json.dumps(metrics_summary(metrics), indent=2))
    robustness_points(metrics).write_csv(out / "robustness.csv")

    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(run / "models.tar") as tar:
            tar.extractall(tmp, filter="data")
        models = [Path(tmp) / "pretext.pt", Path(tmp) / "oneclass.npz"]
        if (run / "binary.pt").exists():
            models.append(run / "binary.pt")
        binary = config["binary"]["generated"]
        build_report(
            scores=out / "scores.parquet",
            metrics=out / "metrics.parquet",
            robustness=out / "robustness.csv",
            pretext_curves=run / "pretext_metrics.csv",
            binary_curves=run / "binary_metrics.csv" if binary else None,
            oneclass_fit=json.loads((run / "fit_report.json").read_text()),
            exif_tables={name: args.bundle / "results" / "exif" / f"{name}.parquet" for name in config["datasets"]},
            models=models,
            config=config,
            trained_generators=[config["datasets"][name].get("generator") or name for name in binary],
            report=out / "report.html",
            figures=[out / "figures" / f"{name}.png" for name in ("roc", "robustness", "pretext", "binary")],
        )
    print(f"{scores.height} scores, {metrics.height} metric rows -> {out}")


if __name__ == "__main__":
    main()
