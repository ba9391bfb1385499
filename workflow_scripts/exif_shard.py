"""Snakemake entry point: extract the EXIF of one shard of a dataset."""

from pathlib import Path

from sdaie.exif.extract import extract_to_parquet
from sdaie.exif.listing import read_file_list
from sdaie.workflow_io import rule_logging

with rule_logging(snakemake.log[0]) as log:
    previous = Path(snakemake.params.previous)
    shard, n_shards = int(snakemake.wildcards.shard), int(snakemake.wildcards.n_shards)
    stats = extract_to_parquet(
        Path(snakemake.params.root),
        read_file_list(Path(snakemake.input.file_list)),
        Path(snakemake.output[0]),
        dataset=snakemake.wildcards.dataset,
        previous=previous if previous.exists() else None,
        batch_size=snakemake.params.batch_size,
        jobs=snakemake.threads,
        shard=(shard, n_shards),
    )
    log.info("shard %d of %d: %s", shard, n_shards, stats)
