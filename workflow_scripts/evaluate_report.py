"""Snakemake entry point: the evaluation's HTML report and its figures."""

import json
from pathlib import Path

from sdaie.evaluate.report_build import build_report
from sdaie.workflow_io import rule_logging

with rule_logging(snakemake.log[0]) as log:
    inputs = snakemake.input
    build_report(
        scores=Path(inputs.scores),
        metrics=Path(inputs.metrics),
        robustness=Path(inputs.robustness),
        pretext_curves=Path(inputs.pretext_curves),
        binary_curves=Path(inputs.binary_curves[0]) if inputs.binary_curves else None,
        oneclass_fit=json.loads(Path(inputs.oneclass_fit).read_text()),
        exif_tables=dict(zip(snakemake.params.datasets, map(Path, inputs.exif))),
        models=[Path(p) for p in inputs.models],
        config=snakemake.params.config,
        trained_generators=snakemake.params.trained,
        report=Path(snakemake.output.report),
        figures=[Path(p) for p in snakemake.output.figures],
        premise=[Path(p) for p in inputs.premise],
    )
    log.info("report: %s", snakemake.output.report)
