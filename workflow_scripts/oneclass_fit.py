"""Snakemake entry point: fit the one-class GMM on the oneclass_fit photos; report the held-out rate."""

import json
from pathlib import Path

from sdaie.detect.features import Patching
from sdaie.detect.oneclass import GMMSettings, OneClassDetector
from sdaie.detect.tables import fit_report, read_features
from sdaie.threads import use_threads
from sdaie.workflow_io import rule_logging

with rule_logging(snakemake.log[0]) as log:
    use_threads(snakemake)
    paths = [Path(p) for p in snakemake.input]
    features, rows, extractor_id = read_features(paths, splits=["oneclass_fit"])
    held_out, _, _ = read_features(paths, splits=["test"])
    detector = OneClassDetector.fit(features, GMMSettings(**snakemake.params.options), extractor_id=extractor_id,
                                    patching=Patching.from_config(snakemake.params.features))
    detector.save(Path(snakemake.output.model))
    report = fit_report(detector, rows, held_out)
    Path(snakemake.output.report).write_text(json.dumps(report, indent=2))
    log.info("one-class detector: %s", report)
