"""The DAG build of the EXIF stage lists each dataset folder once, however many shard jobs it has."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]

# Counts list_files calls per root while Snakemake builds the DAG of a dry run (rules/common.smk
# imports list_files from sdaie.exif.listing when the Snakefile is parsed, after this patch).
_COUNTING_DRY_RUN = """
import atexit, collections, json, sys
import sdaie.exif.listing as listing
calls = collections.Counter()
original = listing.list_files
def counting(root):
    calls[str(root)] += 1
    return original(root)
listing.list_files = counting
atexit.register(lambda: print("LISTINGS " + json.dumps(calls)))
from snakemake.cli import main
sys.argv = ["snakemake"] + sys.argv[1:]
main()
"""


def test_dataset_is_listed_once_per_dag_build(tmp_path):
    photos = tmp_path / "photos"
    for i in range(40):
        (photos / f"d{i % 4}").mkdir(parents=True, exist_ok=True)
        (photos / f"d{i % 4}" / f"img_{i:03d}.jpg").write_bytes(b"\xff\xd8 not really a photo")
    config = {
        "results": "results",
        "datasets": {"mine": {"path": str(photos), "kind": "photo"}},
        "tags": {"datasets": ["mine"]},
        "exif": {"shards": 12},
        "binary": {"generated": []},
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    command = [
        sys.executable, "-c", _COUNTING_DRY_RUN, "--snakefile", str(REPO / "Snakefile"), "--directory", str(tmp_path),
        "--configfile", str(tmp_path / "config.yaml"), "--cores", "1", "-n", "results/exif/mine.parquet",
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(r"^exif_shard\s+12$", out.stdout + out.stderr, re.MULTILINE), out.stdout + out.stderr
    line = next(line for line in out.stdout.splitlines() if line.startswith("LISTINGS "))
    assert json.loads(line[len("LISTINGS "):]) == {str(photos): 1}
