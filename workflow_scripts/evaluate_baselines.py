"""Snakemake entry point: the random-weights extractor and both baseline GMMs, fitted on the oneclass_fit photos."""

from pathlib import Path

from sdaie.detect.oneclass import GMMSettings
from sdaie.evaluate.baselines import fit_baselines, oneclass_fit_images, random_extractor, save_random_extractor
from sdaie.detect.features import Patching
from sdaie.detect.pipeline import scoring_workers
from sdaie.model.checkpoint import load_extractor
from sdaie.train.common import pick_device
from sdaie.threads import use_threads
from sdaie.workflow_io import rule_logging

with rule_logging(snakemake.log[0]) as log:
    threads = use_threads(snakemake)
    device = pick_device(snakemake.params.device)
    features = snakemake.params.features
    _, config, _ = load_extractor(Path(snakemake.input.extractor))
    extractor = random_extractor(config, snakemake.params.seed)
    save_random_extractor(extractor, config, Path(snakemake.output.random_extractor), snakemake.params.seed)
    images = oneclass_fit_images(Path(snakemake.input.tags), snakemake.params.roots)
    fitted = fit_baselines(images, extractor, GMMSettings(**snakemake.params.oneclass),
                           patching=Patching.from_config(features), device=device,
                           workers=scoring_workers(features, threads, device))
    for name, detector in fitted.items():
        detector.save(Path(snakemake.output[name]))
        log.info("%s: fitted on %d photos, threshold %.3f", name, detector.fit_size, detector.threshold)
