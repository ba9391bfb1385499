"""Snakemake entry point: the premise measurements (probes, heads, bootstrap, learning curve)."""

from pathlib import Path

from sdaie.premise.measure import PremiseSettings
from sdaie.premise.run import OUTPUTS, run_premise
from sdaie.threads import use_threads
from sdaie.workflow_io import rule_logging

with rule_logging(snakemake.log[0]) as log:
    use_threads(snakemake)
    params = snakemake.params
    summary = run_premise(
        tags=Path(snakemake.input.tags),
        index=[Path(p) for p in snakemake.input.index],
        vocabulary=Path(snakemake.input.vocabulary),
        features={name: [Path(p) for p in paths] for name, paths in params.features.items()},
        heads={float(f): Path(p) for f, p in params.heads.items()},
        settings=PremiseSettings.from_config(params.settings),
        subset_seed=params.subset_seed,
        outputs={name: Path(snakemake.output[name]) for name in OUTPUTS},
    )
    log.info("premise measured: %s", summary["counts"])
