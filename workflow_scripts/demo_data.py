"""Snakemake entry point: build the simulated-camera demo data."""

from pathlib import Path

from sdaie.demo import build_demo
from sdaie.workflow_io import rule_logging

# The build's worker pool starts processes with "spawn", which re-imports this file as
# "__mp_main__": the guard keeps them from running the job again.
if __name__ == "__main__":
    with rule_logging(snakemake.log[0]) as log:
        demo = snakemake.params.demo
        summary = build_demo(
            Path(snakemake.output[0]),
            seed=demo["seed"],
            cameras=demo["cameras"],
            photos_per_camera=demo["photos_per_camera"],
            generated_per_set=demo["generated_per_set"],
            width=demo["width"],
            height=demo["height"],
            standin_finish=demo["standin_finish"],
            workers=snakemake.threads,
        )
        log.info("demo data written to %s: %s", snakemake.output[0], summary)
