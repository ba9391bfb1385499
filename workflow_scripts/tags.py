"""Snakemake entry point: normalize the EXIF tables into the tag table, vocabulary and summary."""

from pathlib import Path

from sdaie.tags.normalize import normalize_tables
from sdaie.tags.split_groups import SplitGrouping
from sdaie.workflow_io import rule_logging

with rule_logging(snakemake.log[0]) as log:
    vocabulary = snakemake.input.vocabulary
    stats = normalize_tables(
        [Path(p) for p in snakemake.input.raw],
        Path(snakemake.output.table),
        vocab_out=Path(snakemake.output.vocabulary),
        summary_out=Path(snakemake.output.summary),
        vocab_in=Path(vocabulary[0]) if vocabulary else None,
        min_count=snakemake.params.min_count,
        split_fractions=snakemake.params.split["fractions"],
        split_seed=snakemake.params.split["seed"],
        split_grouping=SplitGrouping.from_config(snakemake.params.split),
    )
    log.info("tag table %s: %s", snakemake.output.table, stats)
