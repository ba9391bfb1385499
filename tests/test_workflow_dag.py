"""The DAG build of the EXIF stage lists each dataset folder once, however many shard jobs it has."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from sdaie.exif.listing import shard_of

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


def project(tmp_path: Path) -> Path:
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
    return photos


def counting_snakemake(workdir: Path, *args: str) -> tuple[str, dict[str, int]]:
    """Run Snakemake with list_files counted; its output and the number of listings per root."""
    command = [
        sys.executable, "-c", _COUNTING_DRY_RUN, "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
        "--configfile", str(workdir / "config.yaml"), *args,
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    line = next(line for line in out.stdout.splitlines() if line.startswith("LISTINGS "))
    return out.stdout + out.stderr, json.loads(line[len("LISTINGS "):])


def test_dataset_is_listed_once_per_dag_build(tmp_path):
    photos = project(tmp_path)
    output, listings = counting_snakemake(tmp_path, "--cores", "1", "-n", "results/exif/mine.parquet")
    assert re.search(r"^exif_shard\s+12$", output, re.MULTILINE), output
    assert listings == {str(photos): 1}


def test_a_cluster_job_reads_the_listing_the_main_process_saved(tmp_path):
    """A job run as on a cluster node (--mode remote) finds its shard's files without walking the dataset."""
    photos = project(tmp_path)
    counting_snakemake(tmp_path, "--cores", "1", "-n", "results/exif/mine.parquet")
    # the saved listing is what the job uses: a file added since is not in its inputs
    (photos / "d0" / "late.jpg").write_bytes(b"\xff\xd8 added after the DAG was built")
    shard = shard_of("d0/late.jpg", 12)
    job = [f"--target-jobs", f"exif_shard:dataset=mine,shard={shard},n_shards=12", "--mode", "remote", "--cores", "1"]
    output, listings = counting_snakemake(tmp_path, *job, "-n")
    assert listings == {}, output
    assert "input: " in output and "late.jpg" not in output
    # without a saved listing (or one of another folder), the job lists the dataset itself
    saved = tmp_path / ".snakemake" / "sdaie" / "listings" / "mine.bin"
    assert saved.exists()
    saved.unlink()
    output, listings = counting_snakemake(tmp_path, *job, "-n")
    assert listings == {str(photos): 1}, output
    assert "late.jpg" in output
