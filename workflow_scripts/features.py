"""Snakemake entry point: whole-image features of one dataset."""

from pathlib import Path

import pyarrow.parquet as pq

from sdaie.detect.features import Patching
from sdaie.detect.pipeline import scoring_workers
from sdaie.detect.tables import readable_images, write_feature_table
from sdaie.train.common import pick_device
from sdaie.threads import use_threads
from sdaie.workflow_io import rule_logging

with rule_logging(snakemake.log[0]) as log:
    threads = use_threads(snakemake)
    images = readable_images(pq.read_table(snakemake.input.images), snakemake.wildcards.dataset)
    count = write_feature_table(
        images,
        Path(snakemake.params.root),
        Path(snakemake.input.extractor),
        Path(snakemake.output[0]),
        kind=snakemake.params.kind,
        generator=snakemake.params.generator,
        device=snakemake.params.options["device"],
        patching=Patching.from_config(snakemake.params.options),
        workers=scoring_workers(snakemake.params.options, threads, pick_device(snakemake.params.options["device"])),
    )
    log.info("%s: features of %d images", snakemake.wildcards.dataset, count)
