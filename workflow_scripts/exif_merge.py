"""Snakemake entry point: merge a dataset's EXIF shards into one table."""

from pathlib import Path

from sdaie.exif.table import merge_tables
from sdaie.workflow_io import rule_logging

with rule_logging(snakemake.log[0]) as log:
    rows = merge_tables([Path(p) for p in snakemake.input], Path(snakemake.output[0]))
    log.info("merged %d shards into %s: %d rows", len(snakemake.input), snakemake.output[0], rows)
