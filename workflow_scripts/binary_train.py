"""Snakemake entry point: train the binary detector with distillation toward the pretext extractor."""

import shutil
from dataclasses import fields
from pathlib import Path

import torch

from sdaie.train.binary import BinaryConfig, train_binary
from sdaie.workflow_io import rule_logging

with rule_logging(snakemake.log[0]) as log:
    torch.set_num_threads(snakemake.threads)
    names = {f.name for f in fields(BinaryConfig)}
    config = BinaryConfig(**{k: v for k, v in snakemake.params.options.items() if k in names}, progress=False)
    stem = Path(snakemake.input.crops[0][: -len(".npy")])
    run_dir = Path(snakemake.params.run_dir)
    metrics = train_binary([stem], run_dir, config, Path(snakemake.input.teacher))
    shutil.copyfile(run_dir / "model.pt", snakemake.output.model)
    shutil.copyfile(run_dir / "metrics.csv", snakemake.output.metrics)
    log.info("binary detector: %s", metrics)
