"""The tiny pipeline that the Snakemake and DVC tests run: demo data (4 cameras x 3 photos, 2 stand-ins
x 4 images) plus a folder of the user's own photos, a few training steps, every stage."""

from __future__ import annotations

import copy
import re
import subprocess

BASE = {
    "results": "results",
    # One compute thread per job: the suite runs two test files at once on 2 cores, and more threads than
    # cores slow every job down. tests/test_workflow.py runs with config.yaml's 2 (threads fixed, --cores varied).
    "threads": 1,
    "datasets": {
        "demo_photos": {"path": "results/demo/photos", "kind": "photo"},
        "demo_standin_upconv": {"path": "results/demo/generated/standin_upconv", "kind": "generated", "generator": "standin-upconv"},
        "demo_standin_denoiser": {"path": "results/demo/generated/standin_denoiser", "kind": "generated", "generator": "standin-denoiser"},
        "my_photos": {"path": "my_photos", "kind": "photo"},
    },
    "demo": {"output": "results/demo", "seed": 1, "cameras": 4, "photos_per_camera": 3, "generated_per_set": 4, "width": 256, "height": 256},
    "exif": {"shards": 2, "batch_size": 4, "threads": 1},
    "tags": {
        "datasets": ["demo_photos", "my_photos"],
        "min_count": 1,
        "split": {"fractions": {"pretext_train": 0.5, "pretext_val": 0.1, "oneclass_fit": 0.3, "test": 0.1}},
    },
    "patches": {"crop": 128, "crops_per_photo": 2, "shards": 2},
    "pretext": {"steps": 3, "batch_size": 4, "n_patches": 2, "val_every": 3, "checkpoint_every": 3, "workers": 0},
    "features": {"max_patches": 8},
    "oneclass": {"n_components": 1, "covariance_type": "full", "reg_covar": "ledoit_wolf"},  # as config.yaml
    "binary": {"generated": ["demo_standin_upconv"], "epochs": 1, "batch_size": 4, "n_patches": 2, "crop": 128, "workers": 0},
}


def tiny_config(**sections: dict) -> dict:
    """A copy of the tiny config with whole top-level sections replaced by ``sections``."""
    config = copy.deepcopy(BASE)
    config.update(copy.deepcopy(sections))
    return config


def planned_jobs(dry_run: subprocess.CompletedProcess) -> dict[str, int]:
    """Job counts per rule from the table that `snakemake -n` prints."""
    counts = {}
    for line in (dry_run.stdout + dry_run.stderr).splitlines():
        match = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if match and match.group(1) not in ("total", "job"):
            counts[match.group(1)] = int(match.group(2))
    return counts
