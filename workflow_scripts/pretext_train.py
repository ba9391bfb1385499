"""Snakemake entry point: pretext training (torchrun over the GPUs when given more than one)."""

from sdaie.train.launch import launch
from sdaie.threads import use_threads
from sdaie.workflow_io import rule_logging

with rule_logging(snakemake.log[0]) as log:
    use_threads(snakemake)
    pretext = dict(snakemake.params.pretext)
    pretext["progress"] = False  # the log file gets the metrics; no progress bar in it
    stems = sorted({path[: -len(".npy")] for path in snakemake.input.shards if path.endswith(".npy")})
    spec = {
        "stems": stems,
        "run_dir": snakemake.params.run_dir,
        "config": pretext,
        "vocabulary": snakemake.input.vocabulary,
        "model": snakemake.output.model,
        "metrics": snakemake.output.metrics,
        "compile_cache": snakemake.params.compile_cache,
    }
    log.info("pretext training: %s", spec)
    launch(spec, pretext.get("gpus", 0))
