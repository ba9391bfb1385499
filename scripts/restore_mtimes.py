"""Give the datasets' files back the modification times their EXIF tables recorded.

    python scripts/restore_mtimes.py [CONFIG]        (default: config.yaml; run from the project root)

The EXIF refresh reuses a file's row when its size and modification time match the dataset's
previous table. `dvc pull` / `dvc checkout` write files with new times, so without this every file
of a pulled dataset would look changed and be read again. Only files whose bytes are exactly those
the table describes (same size and BLAKE2b-128 content hash) get their recorded time back; any other
file is left alone and will be re-read, as it should. Called by scripts/dvc_pull.sh."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from sdaie.exif.fileinfo import content_hash_of


def restore(config_path: Path) -> tuple[int, int]:
    config = yaml.safe_load(config_path.read_text())
    results = Path(config.get("results", "results"))
    restored = differing = 0
    for name, dataset in config["datasets"].items():
        table = results / "exif" / f"{name}.parquet"
        if not table.is_file():
            continue
        root = Path(dataset["path"])
        rows = pq.read_table(table, columns=["path", "bytes", "mtime_ns", "content_hash"]).to_pylist()
        for row in rows:
            if row["content_hash"] is None or row["mtime_ns"] is None:
                continue  # a file that could not be read is read again anyway
            path = root / row["path"]
            try:
                info = path.stat()
            except OSError:
                continue
            if info.st_mtime_ns == row["mtime_ns"]:
                continue
            if info.st_size != row["bytes"]:
                differing += 1
                continue
            fd = os.open(path, os.O_RDONLY)
            try:
                same = content_hash_of(fd) == row["content_hash"]
            finally:
                os.close(fd)
            if same:
                os.utime(path, ns=(info.st_atime_ns, row["mtime_ns"]))
                restored += 1
            else:
                differing += 1
    return restored, differing


def main(argv: list[str]) -> int:
    config = Path(argv[0]) if argv else Path("config.yaml")
    restored, differing = restore(config)
    print(f"restore_mtimes: {restored} dataset files given back their recorded time, {differing} differ from their EXIF table")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
