"""What a report was computed from: data (file counts and a digest of their content hashes), models
(file digests, extractor fingerprints, vocabulary hash) and software versions."""

from __future__ import annotations

import hashlib
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import pyarrow.parquet as pq

SOFTWARE = ("sdaie", "torch", "numpy", "scikit-learn", "polars", "pyarrow", "snakemake", "pyexiftool")


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def dataset_version(table_path: Path) -> dict:
    """Files, readable files, and a digest of the sorted content hashes of a dataset's EXIF table."""
    table = pq.read_table(table_path, columns=["content_hash", "error"])
    hashes = sorted(h for h in table.column("content_hash").to_pylist() if h)
    readable = sum(e is None for e in table.column("error").to_pylist())
    return {"files": table.num_rows, "readable": readable,
            "content_digest": hashlib.sha256("\n".join(hashes).encode()).hexdigest()[:16]}


def software_versions() -> dict:
    versions = {"python": platform.python_version()}
    for name in SOFTWARE:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10,
                                cwd=Path(__file__).parent)
        if commit.returncode == 0:
            versions["sdaie_git_commit"] = commit.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return versions


def collect_versions(datasets: dict[str, Path], models: dict[str, Path], extra: dict | None = None) -> dict:
    return {
        "data": {name: dataset_version(path) for name, path in datasets.items()},
        "models": {name: {"file": str(path), "sha256": file_digest(path)} for name, path in models.items()},
        **(extra or {}),
        "software": software_versions(),
    }
