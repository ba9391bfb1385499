"""Snakemake entry point: cut the photos of one shard of the tag table into crops."""

from pathlib import Path

from sdaie.patches.cut import cut_shard
from sdaie.workflow_io import rule_logging

with rule_logging(snakemake.log[0]) as log:
    options = snakemake.params.options
    stem = Path(snakemake.output[0][: -len(".npy")])
    stats = cut_shard(
        Path(snakemake.input.tags),
        {name: Path(root) for name, root in snakemake.params.roots.items()},
        int(snakemake.wildcards.shard),
        int(snakemake.wildcards.n_shards),
        stem,
        splits=options["splits"],
        crop=options["crop"],
        crops_per_photo=options["crops_per_photo"],
        align=options["align"],
        seed=options["seed"],
    )
    log.info("%s: %s", stem, stats)
