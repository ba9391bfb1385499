"""Snakemake entry point: crops of the binary detector's training and validation images."""

from pathlib import Path

import pyarrow.parquet as pq

from sdaie.detect.binary_data import binary_table, training_rows
from sdaie.patches.cut import cut_photos
from sdaie.workflow_io import rule_logging

with rule_logging(snakemake.log[0]) as log:
    options = snakemake.params.options
    table = binary_table(snakemake.input.tags, list(snakemake.input.generated), options["generated_split"], options["seed"])
    stem = Path(snakemake.output[0][: -len(".npy")])
    pq.write_table(table, snakemake.output[3])
    stats = cut_photos(
        training_rows(table),
        {name: Path(root) for name, root in snakemake.params.roots.items()},
        stem,
        crop=options["crop"],
        crops_per_photo=options["crops_per_image"],
        seed=options["seed"],
    )
    log.info("binary crops: %s", stats)
