"""Snakemake entry point: take `init` weights as they are (pretext.steps or binary.epochs 0)."""

from pathlib import Path

from sdaie.model.checkpoint import copy_as_sdaie_model
from sdaie.workflow_io import rule_logging

with rule_logging(snakemake.log[0]) as log:
    kind = "binary" if snakemake.rule == "binary_use_init" else "extractor"
    copy_as_sdaie_model(Path(snakemake.input[0]), Path(snakemake.output.model), kind, Path(snakemake.output.metrics))
    log.info("%s: %s used as it is (no training)", snakemake.output.model, snakemake.input[0])
