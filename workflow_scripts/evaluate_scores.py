"""Snakemake entry point: scores of one dataset's evaluation images, every perturbation and detector."""

from pathlib import Path

import pyarrow.parquet as pq

from sdaie.detect.features import Patching
from sdaie.detect.pipeline import scoring_workers
from sdaie.evaluate.evaluation import ModelPaths, evaluation_images, load_scorers, subset
from sdaie.evaluate.perturb import parse_perturbation
from sdaie.evaluate.scoring import score_images
from sdaie.train.common import pick_device
from sdaie.threads import use_threads
from sdaie.workflow_io import rule_logging

with rule_logging(snakemake.log[0]) as log:
    threads = use_threads(snakemake)
    params, inputs = snakemake.params, snakemake.input
    options = params.options
    images = evaluation_images(
        pq.read_table(inputs.images), snakemake.wildcards.dataset, params.kind, params.generator,
        binary_trained=params.binary_trained, generated_fractions=params.binary["generated_split"],
        seed=params.binary["seed"],
    )
    images = subset(images, options["max_images"])
    baselines = inputs.baselines
    scorers = load_scorers(
        ModelPaths(Path(inputs.pretext), Path(inputs.oneclass), Path(inputs.binary[0]) if inputs.binary else None,
                   Path(baselines[0]), Path(baselines[1]), Path(baselines[2])),
    )
    perturbations = [parse_perturbation(spec) for spec in options["perturbations"]]
    log.info("%s: %d images x %d perturbations x %d detectors", snakemake.wildcards.dataset, len(images),
             len(perturbations), len(scorers))
    device = pick_device(options["device"])
    table = score_images(images, Path(params.root), perturbations, scorers, device=device,
                         patching=Patching.from_config(params.features), workers=scoring_workers(params.features, threads, device))
    pq.write_table(table, snakemake.output[0], compression="zstd")
