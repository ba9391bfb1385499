"""Metrics and the HTML report of a GPU run (bench/gpu_run.sh), made here by the pipeline's own rules.

The GPU machine has no polars, which the metrics and the report need: this puts what came back
(results.tar.gz) into the bundle's results folder, marks those outputs up to date, and runs the
remaining rules (evaluate_metrics, evaluate_report) with Snakemake.

    python bench/gpu_report.py --bundle .gpu_bundle --run DEVICE_OUTPUT_FOLDER [--cores 2]

The report lands in the bundle's results/evaluation/ (report.html, metrics.json, figures/).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--run", type=Path, required=True, help="the files the device call brought back")
    parser.add_argument("--cores", default="2")
    parser.add_argument("--root", type=Path, default=REPO, help="where Snakemake runs (as given to gpu_bundle.py)")
    args = parser.parse_args()
    config_path = args.bundle.resolve() / "config.yaml"
    results = args.root / yaml.safe_load(config_path.read_text())["results"]
    targets = json.loads((args.bundle / "bundle.json").read_text())
    with tarfile.open(args.run / "results.tar.gz") as tar:
        tar.extractall(results.parent, filter="data")
    snakemake = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(args.root),
                 "--configfile", str(config_path), "--cores", args.cores]
    subprocess.run([*snakemake, "--touch", *targets["data_half"], *targets["gpu"]], check=True)
    subprocess.run([*snakemake, *targets["report"]], check=True)
    print(f"report: {results / 'evaluation' / 'report.html'}")


if __name__ == "__main__":
    main()
