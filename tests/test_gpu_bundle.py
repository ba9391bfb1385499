"""The GPU run through the pipeline's own rules (bench/gpu_bundle.py, bench/gpu_run.sh, bench/gpu_report.py),
here on the CPU: the data half made and frozen in a bundle, the GPU stages run from it by Snakemake
without rerunning EXIF or tags, then the report made by the report rules."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml
from conftest import REPO, shared_path
from tiny_pipeline import tiny_config

pytestmark = pytest.mark.slow


def test_dependency_closure_leaves_what_the_gpu_machine_has():
    sys.path.insert(0, str(REPO / "bench"))
    from gpu_bundle import DEVICE_HAS, DEVICE_NEEDS, NOT_CARRIED, dependency_closure

    closure = dependency_closure(DEVICE_NEEDS)
    assert {"snakemake", "jsonschema", "pillow-heif", "snakemake-interface-executor-plugins"} <= set(closure)
    carried = set(closure) - DEVICE_HAS - NOT_CARRIED
    assert "pulp" not in carried and "numpy" not in carried and "snakemake" in carried


def test_bundle_run_and_report(tmp_path):
    photos = sorted(shared_path("data", "photos", "exif-samples").glob("*.jpg"))[:10]
    ldm = sorted(shared_path("data", "generated", "ldm").glob("*.png"))[:4]
    for folder, files in (("photos", photos), ("ldm", ldm)):
        (tmp_path / "data" / folder).mkdir(parents=True)
        for f in files:
            shutil.copy2(f, tmp_path / "data" / folder / f.name)
    config = tiny_config(
        datasets={"photos": {"path": "data/photos", "kind": "photo"},
                  "ldm": {"path": "data/ldm", "kind": "generated", "generator": "ldm"}},
        tags={"datasets": ["photos"], "min_count": 1,
              "split": {"fractions": {"pretext_train": 0.5, "pretext_val": 0.1, "oneclass_fit": 0.2, "test": 0.2}}},
        binary={"generated": [], "epochs": 1},
        evaluate={"perturbations": ["none"]},
    )
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    bundle = tmp_path / ".gpu_bundle"
    subprocess.run([sys.executable, str(REPO / "bench" / "gpu_bundle.py"), "--config", str(tmp_path / "config.yaml"),
                    "--root", str(tmp_path), "--out", str(bundle), "--no-wheels", "--cores", "2",
                    "--photo-side", "100000", "--generated-side", "100000"], check=True, env=env)
    targets = json.loads((bundle / "bundle.json").read_text())
    assert all((tmp_path / t).exists() for t in targets["data_half"])
    out = tmp_path / "out"
    run = subprocess.run(["bash", str(REPO / "bench" / "gpu_run.sh")], capture_output=True, text=True,
                         env={**env, "ROOT": str(tmp_path), "BUNDLE": ".gpu_bundle", "OUT": str(out), "CORES": "2",
                              "PYTHON": sys.executable})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    log = (out / "snakemake.log").read_text()
    assert "rule exif_shard" not in log and "rule tags" not in log and "rule pretext_train" in log
    with tarfile.open(out / "results.tar.gz") as tar:
        names = tar.getnames()
    assert any(n.endswith("evaluation/scores/ldm.parquet") for n in names) and not any("/patches/" in n for n in names)
    shutil.rmtree(bundle / "results" / "models")  # what came back replaces it
    subprocess.run([sys.executable, str(REPO / "bench" / "gpu_report.py"), "--bundle", str(bundle), "--run", str(out),
                    "--root", str(tmp_path)], check=True, env=env)
    report = bundle / "results" / "evaluation" / "report.html"
    assert report.exists() and "Headline" in report.read_text()
