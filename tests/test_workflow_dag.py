"""The DAG build of the EXIF stage lists each dataset folder once, however many shard jobs it has."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml
from tiny_pipeline import tiny_config

from sdaie.exif.listing import read_file_list, shard_of

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


def test_shard_file_lists_change_only_where_files_changed(tmp_path):
    """Each exif_shard job's input is its shard's file list, rewritten only when its files change."""
    photos = project(tmp_path)
    lists = tmp_path / "results" / "exif_lists" / "mine"
    counting_snakemake(tmp_path, "--cores", "1", "-n", "results/exif/mine.parquet")
    written = {p.name: p.stat().st_mtime_ns for p in lists.glob("shard_*_of_12.files")}
    assert len(written) == 12
    listed = sorted(p for path in lists.glob("*.files") for p in read_file_list(path))
    assert listed == sorted(f"d{i % 4}/img_{i:03d}.jpg" for i in range(40))
    for path in lists.glob("*.files"):
        k = int(path.name.split("_")[1])
        assert all(shard_of(p, 12) == k for p in read_file_list(path))

    counting_snakemake(tmp_path, "--cores", "1", "-n", "results/exif/mine.parquet")  # nothing changed
    assert {p.name: p.stat().st_mtime_ns for p in lists.glob("*.files")} == written

    (photos / "d0" / "late.jpg").write_bytes(b"\xff\xd8 added later")
    (photos / "d1" / "img_001.jpg").write_bytes(b"\xff\xd8 rewritten, longer than before")
    changed = {f"shard_{shard_of(p, 12)}_of_12.files" for p in ("d0/late.jpg", "d1/img_001.jpg")}
    counting_snakemake(tmp_path, "--cores", "1", "-n", "results/exif/mine.parquet")
    now = {p.name: p.stat().st_mtime_ns for p in lists.glob("*.files")}
    assert {name for name in now if now[name] != written[name]} == changed
    assert "d0/late.jpg" in read_file_list(lists / f"shard_{shard_of('d0/late.jpg', 12)}_of_12.files")


def test_a_cluster_job_reads_its_file_list_without_listing_the_dataset(tmp_path):
    """A job run as on a cluster node (--mode remote) takes its shard's list, written by the main process."""
    photos = project(tmp_path)
    counting_snakemake(tmp_path, "--cores", "1", "-n", "results/exif/mine.parquet")
    (photos / "d0" / "late.jpg").write_bytes(b"\xff\xd8 added after the DAG was built")
    shard = shard_of("d0/late.jpg", 12)
    job = ["--target-jobs", f"exif_shard:dataset=mine,shard={shard},n_shards=12", "--mode", "remote", "--cores", "1"]
    output, listings = counting_snakemake(tmp_path, *job, "-n")
    assert listings == {}, output
    assert f"input: results/exif_lists/mine/shard_{shard}_of_12.files" in output
    assert "late.jpg" not in read_file_list(tmp_path / "results" / "exif_lists" / "mine" / f"shard_{shard}_of_12.files")


def test_demo_dataset_built_by_an_earlier_run_gets_its_file_lists(tmp_path):
    """The demo data made by one Snakemake call, its EXIF by the next (as `dvc repro` runs them): the file
    lists are written after the demo checkpoint is resolved, and Snakemake must still see them."""
    config = tiny_config()
    del config["datasets"]["my_photos"]
    config["tags"]["datasets"] = ["demo_photos"]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    counting_snakemake(tmp_path, "--cores", "2", "results/demo")
    output, _ = counting_snakemake(tmp_path, "--cores", "1", "-n", "results/exif/demo_photos.parquet")
    assert re.search(rf"^exif_shard\s+{config['exif']['shards']}$", output, re.MULTILINE), output
    lists = sorted((tmp_path / "results" / "exif_lists" / "demo_photos").glob("*.files"))
    assert len(lists) == config["exif"]["shards"]
    assert sum(len(read_file_list(p)) for p in lists) == len(list((tmp_path / "results" / "demo" / "photos").rglob("*.jpg")))
