"""Snakemake entry point: whole-image features of the pretext_train and pretext_val photos of one photo
dataset, by one extractor of the premise measurements (a pretext model, the random-weights network, or
the SRM statistics)."""

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sdaie.detect.features import Patching
from sdaie.detect.tables import readable_images, write_feature_table, write_features
from sdaie.evaluate.baselines import SRM_STATS_ID
from sdaie.evaluate.srm_stats import srm_statistics
from sdaie.premise.plan import SRM_STATS
from sdaie.threads import use_threads
from sdaie.workflow_io import rule_logging

with rule_logging(snakemake.log[0]) as log:
    use_threads(snakemake)
    images = readable_images(pq.read_table(snakemake.input.images), snakemake.wildcards.dataset)
    images = images.filter(pc.is_in(images.column("split"), value_set=pa.array(list(snakemake.params.splits))))
    patching = Patching.from_config(snakemake.params.options)
    output, root = Path(snakemake.output[0]), Path(snakemake.params.root)
    if snakemake.wildcards.extractor == SRM_STATS:
        count = write_features(images, root, output, SRM_STATS_ID, SRM_STATS, statistic=srm_statistics, kind="photo",
                               generator=None, patching=patching)
    else:
        count = write_feature_table(images, root, Path(snakemake.input.extractor[0]), output, kind="photo", generator=None,
                                    device=snakemake.params.options["device"], patching=patching)
    log.info("%s / %s: features of %d photos", snakemake.wildcards.extractor, snakemake.wildcards.dataset, count)
