"""Peak memory of the data half's table steps against the row count (10,000 to 1,000,000 rows).

Not a test: prints a table. Usage (from the repository root)::

    PYTHONPATH=$PWD/src .venv/bin/python bench/data_half_memory.py --exif RUN/results/exif/bench_photos.parquet \\
        --tags RUN/results/tags/tags.parquet --rows 10000 100000 1000000 --workdir /tmp/sdaie-scale/memory

It takes a real EXIF table and tag table (for instance from ``bench/data_half_scale.py --keep``) and
repeats their rows (paths prefixed ``rK/``, content hashes re-drawn) up to each ``--rows`` count, then
measures, each in a fresh process, wall time and peak RSS (``VmHWM``) of:

* ``exif_merge``: :func:`sdaie.exif.table.merge_tables` of the table split into ``--exif-shards``
  sorted shard files by :func:`sdaie.exif.listing.shard_of` (as the exif_shard jobs write them);
* ``patch_select``: the rows of one patch shard (of ``--patch-shards``) out of the tag table, as the
  patch_shard job reads them (:func:`sdaie.patches.cut.read_shard` when this checkout has it, else
  ``select_shard(pq.read_table(...))``).

Run it with another checkout's sources first on PYTHONPATH to compare versions.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


def vmhwm_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def repeated(table: pa.Table, rows: int) -> pa.Table:
    """``table``'s rows repeated up to ``rows`` rows: copy K gets paths ``rK/...`` and new content hashes."""
    pieces, copy = [], 0
    while sum(p.num_rows for p in pieces) < rows:
        piece = table.slice(0, min(table.num_rows, rows - sum(p.num_rows for p in pieces)))
        kind = piece["path"].type
        paths = pc.binary_join_element_wise(pa.scalar(f"r{copy:04d}", kind), piece["path"], pa.scalar("/", kind))
        piece = piece.set_column(piece.schema.get_field_index("path"), piece.schema.field("path"), paths)
        if "content_hash" in piece.column_names:
            hashes = [None if h is None else hashlib.blake2b(f"{copy}:{h}".encode(), digest_size=16).hexdigest()
                      for h in piece["content_hash"].to_pylist()]
            piece = piece.set_column(piece.schema.get_field_index("content_hash"), piece.schema.field("content_hash"),
                                     pa.array(hashes, piece["content_hash"].type))
        pieces.append(piece)
        copy += 1
    return pa.concat_tables(pieces)


def prepare(args: argparse.Namespace, rows: int) -> tuple[list[Path], Path]:
    from sdaie.exif.listing import shard_of
    from sdaie.exif.table import sort_rows

    folder = args.workdir / f"rows-{rows}"
    shards = [folder / f"shard_{k}_of_{args.exif_shards}.parquet" for k in range(args.exif_shards)]
    tags = folder / "tags.parquet"
    if tags.exists() and all(p.exists() for p in shards):
        return shards, tags
    folder.mkdir(parents=True, exist_ok=True)
    exif = repeated(pq.read_table(args.exif), rows)
    which = pa.array([shard_of(p, args.exif_shards) for p in exif["path"].to_pylist()], pa.int32())
    for k, path in enumerate(shards):
        part = sort_rows(exif.filter(pc.equal(which, k)))
        pq.write_table(part, path, compression="zstd", row_group_size=4096)
    del exif
    pq.write_table(repeated(pq.read_table(args.tags), rows), tags, compression="lz4")
    return shards, tags


def child(mode: str, paths: list[str], extra: list[str]) -> dict:
    started = time.perf_counter()
    if mode == "exif_merge":
        from sdaie.exif.table import merge_tables

        out = Path(extra[0])
        count = merge_tables([Path(p) for p in paths], out)
        out.unlink()
    else:
        shard, n_shards = int(extra[0]), int(extra[1])
        splits = ["pretext_train", "pretext_val"]
        import sdaie.patches.cut as cut

        if hasattr(cut, "read_shard"):
            count = cut.read_shard(Path(paths[0]), shard, n_shards, splits).num_rows
        else:
            count = cut.select_shard(pq.read_table(paths[0]), shard, n_shards, splits).num_rows
    return {"seconds": time.perf_counter() - started, "rows": count, "peak_kib": vmhwm_kib()}


def run_child(mode: str, paths: list[Path], *extra: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, json.dumps([str(p) for p in paths]), *extra],
                         capture_output=True, text=True, env=os.environ)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exif", type=Path, required=True)
    parser.add_argument("--tags", type=Path, required=True)
    parser.add_argument("--rows", type=int, nargs="+", default=[10000, 100000, 1000000])
    parser.add_argument("--exif-shards", type=int, default=64)
    parser.add_argument("--patch-shards", type=int, default=8)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/sdaie-scale/memory"))
    args = parser.parse_args()
    import sdaie

    print(f"sources: {Path(sdaie.__file__).parent}; exif shards {args.exif_shards}, patch shards {args.patch_shards}")
    print("| rows | step | seconds | rows out | peak RSS |")
    print("|---|---|---|---|---|")
    for rows in args.rows:
        shards, tags = prepare(args, rows)
        merged = run_child("exif_merge", shards, str(args.workdir / "merged.parquet"))
        select = run_child("patch_select", [tags], "0", str(args.patch_shards))
        for name, res in (("exif_merge", merged), ("patch_select", select)):
            print(f"| {rows:,} | {name} | {res['seconds']:.1f} | {res['rows']:,} | {res['peak_kib'] / 1024:,.0f} MiB |",
                  flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], json.loads(sys.argv[3]), sys.argv[4:])))
    else:
        main()
