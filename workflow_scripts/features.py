"""Snakemake entry point: whole-image features of one dataset."""

from pathlib import Path

import pyarrow.parquet as pq
import torch

from sdaie.detect.features import Patching
from sdaie.detect.tables import readable_images, write_feature_table
from sdaie.workflow_io import rule_logging

with rule_logging(snakemake.log[0]) as log:
    torch.set_num_threads(snakemake.threads)
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
    )
    log.info("%s: features of %d images", snakemake.wildcards.dataset, count)
