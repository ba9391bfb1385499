"""Snakemake entry point: train the binary detector with distillation toward the pretext extractor
(torchrun over the GPUs when given more than one)."""

from sdaie.train.launch import launch
from sdaie.threads import use_threads
from sdaie.workflow_io import rule_logging

with rule_logging(snakemake.log[0]) as log:
    use_threads(snakemake)
    options = dict(snakemake.params.options)
    options["progress"] = False  # the log file gets the metrics; no progress bar in it
    spec = {
        "trainer": "binary",
        "stems": [snakemake.input.crops[0][: -len(".npy")]],
        "run_dir": snakemake.params.run_dir,
        "config": options,
        "teacher": snakemake.input.teacher,
        "model": snakemake.output.model,
        "metrics": snakemake.output.metrics,
        "compile_cache": snakemake.params.compile_cache,
    }
    log.info("binary training: %s", spec)
    log.info("binary detector: %s", launch(spec, options.get("gpus", 0)) or "see the metrics CSV")
