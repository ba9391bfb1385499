"""Benchmark the data half of the pipeline (EXIF, tags, patch shards) at 10,000 to 100,000+ files.

Not a test: prints tables. Usage (from the repository root)::

    PYTHONPATH=$PWD/src .venv/bin/python bench/data_half_scale.py --files 10000 100000 \\
        --workdir /tmp/sdaie-scale --cores 2 --exif-shards 8 --patch-shards 8

What it does, for each ``--files`` count:

1. **Photo tree** (cached in ``WORKDIR/tree``, built once for the largest count): seed JPEGs are made
   from the shared camera photographs (``../shared/data/photos`` and ``camera_series``): a centre crop of
   512x384 (384x512 upright) re-encoded at quality 90 with the camera's own EXIF block copied in
   (make, model, exposure...). File ``i`` of the tree is seed ``i mod seeds`` with one JPEG comment
   segment (``COM``) spliced in after the APP segments, holding the file's number: every file has
   distinct bytes (distinct content hashes, hence its own split) and decodes to the seed's pixels.
   Folders of ``--files-per-folder`` files (``d0000/img_0000000.jpg``...). A dataset of N files is a
   folder of symbolic links to the first N / files-per-folder folders (``WORKDIR/datasets/nN``), so a
   10,000-file run reads the same bytes as the first tenth of the 100,000-file run.
2. **Config** (``WORKDIR/run-N/config.yaml``): no demo dataset; one photo dataset ``bench_photos``, the
   tag table made of it, ``exif.shards`` / ``patches.shards`` / ``patches.crops_per_photo`` from the
   options (crop 256).
3. **DAG build**: ``snakemake -n`` over the targets, timed (wall), in a fresh process; ``--profile-dag``
   also runs it under cProfile and prints the top functions.
4. **Run**: ``snakemake --cores C`` over the EXIF table, the tag table and every patch shard (nothing
   downstream). ``bench/data_half_scale_site`` is put first on the run's PYTHONPATH: its
   ``sitecustomize`` makes every Python process of the run write, at exit, its start and end time and
   ``getrusage`` of itself and of its waited-for children (exact peak RSS and CPU seconds, no
   sampling). A job is the process running its rule's script (Snakemake runs ``script:`` jobs as
   ``python .snakemake/scripts/tmpXXXX.<script>.py``); an EXIF shard's children are its exiftool
   processes. Per stage (rule): jobs, wall from the first job's start to the last job's end, CPU
   seconds of the jobs and their children, the largest job's peak RSS. The Snakemake process's own
   peak RSS (it holds the DAG and the file list) and the time from launch to the first job's start
   (DAG build, job scheduling and interpreter start-up) are also reported.
5. **Outputs**: rows of the EXIF and tag tables, crops, sizes of the EXIF table and its shards, the tag
   table and the patch shards (``.npy`` and index). Run folders are deleted afterwards unless ``--keep``.

Per-file costs (files/s per stage, CPU seconds per file) are printed for the projection in
BENCHMARKS.md. Memory: compare each stage's peak RSS between counts.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import pstats
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
SEED_SOURCES = [SHARED / "photos", SHARED / "camera_series"]
DATASET = "bench_photos"
SEED_SIZE = (512, 384)
STAGES = {"exif_shard": "exif_shard.py", "exif_merge": "exif_merge.py", "tags": "tags.py", "patch_shard": "patch_shard.py"}


# --- the photo tree ------------------------------------------------------------------------------

def build_seeds(seed_dir: Path, limit: int | None) -> list[Path]:
    """Seed JPEGs (512x384 centre crops with the camera's EXIF), made once; returns their paths."""
    done = seed_dir / ".complete"
    if done.exists():
        return sorted(seed_dir.glob("seed_*.jpg"))
    from PIL import Image

    seed_dir.mkdir(parents=True, exist_ok=True)
    sources = sorted(p for root in SEED_SOURCES for p in root.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))
    made: list[Path] = []
    for source in sources:
        if limit is not None and len(made) >= limit:
            break
        try:
            with Image.open(source) as image:
                exif = image.info.get("exif")
                if not exif or not image.getexif().get(0x010F) or len(exif) > 65000:  # no Make, or no room in APP1
                    continue
                width, height = image.size
                target = SEED_SIZE if width >= height else SEED_SIZE[::-1]
                if width < target[0] or height < target[1]:
                    continue
                left, top = (width - target[0]) // 2, (height - target[1]) // 2
                crop = image.convert("RGB").crop((left, top, left + target[0], top + target[1]))
                out = seed_dir / f"seed_{len(made):04d}.jpg"
                crop.save(out, quality=90, exif=exif)
                made.append(out)
        except Exception as exc:  # a file PIL cannot handle is simply not a seed
            print(f"  seed skipped: {source.name}: {exc}", file=sys.stderr)
    done.write_text(json.dumps({"seeds": len(made)}))
    return made


def split_for_comment(data: bytes) -> int:
    """Offset after SOI and the APPn/COM segments that follow it: where a COM segment can go."""
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    pos = 2
    while data[pos] == 0xFF and (0xE0 <= data[pos + 1] <= 0xEF or data[pos + 1] == 0xFE):
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return pos


def build_tree(work: Path, files: int, per_folder: int, seed_limit: int | None) -> tuple[Path, float]:
    """``WORKDIR/tree`` with at least ``files`` files; returns the tree and the seconds spent building."""
    started = time.perf_counter()
    seeds = build_seeds(work / "seeds", seed_limit)
    tree = work / "tree"
    state = tree / ".built.json"
    have = json.loads(state.read_text())["files"] if state.exists() else 0
    if have >= files:
        return tree, 0.0
    parts = []
    for seed in seeds:
        data = seed.read_bytes()
        cut = split_for_comment(data)
        parts.append((data[:cut], data[cut:]))
    for i in range(have, files):
        folder = tree / f"d{i // per_folder:04d}"
        if i % per_folder == 0:
            folder.mkdir(parents=True, exist_ok=True)
        head, tail = parts[i % len(parts)]
        payload = f"sdaie bench file {i:09d}".encode()
        comment = b"\xff\xfe" + (len(payload) + 2).to_bytes(2, "big") + payload
        with open(folder / f"img_{i:07d}.jpg", "wb") as out:
            out.write(head + comment + tail)
        if (i + 1) % 20000 == 0:
            print(f"  tree: {i + 1} files", flush=True)
    state.write_text(json.dumps({"files": files, "seeds": len(seeds), "per_folder": per_folder}))
    return tree, time.perf_counter() - started


def dataset_folder(work: Path, tree: Path, files: int, per_folder: int) -> Path:
    """A folder of links to the first ``files / per_folder`` folders of the tree."""
    if files % per_folder:
        raise SystemExit(f"--files must be a multiple of --files-per-folder ({per_folder})")
    folder = work / "datasets" / f"n{files}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for k in range(files // per_folder):
        (folder / f"d{k:04d}").symlink_to(tree / f"d{k:04d}", target_is_directory=True)
    return folder


# --- config and targets --------------------------------------------------------------------------

def write_config(run_dir: Path, dataset: Path, args: argparse.Namespace) -> Path:
    import yaml

    config = {
        "results": "results",
        "datasets": {DATASET: {"path": str(dataset), "kind": "photo"}},
        "tags": {"datasets": [DATASET]},
        "exif": {"shards": args.exif_shards, "batch_size": args.batch_size, "threads": 1},
        "patches": {"crop": 256, "crops_per_photo": args.crops_per_photo, "shards": args.patch_shards},
        "binary": {"generated": []},
    }
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def targets(args: argparse.Namespace) -> list[str]:
    tags = [f"results/tags/{name}" for name in ("tags.parquet", "vocabulary.json", "summary.md", "summary.json")]
    patches = [
        f"results/patches/shard_{k}_of_{args.patch_shards}{suffix}"
        for k in range(args.patch_shards)
        for suffix in (".npy", ".index.parquet", ".skipped.parquet")
    ]
    return [f"results/exif/{DATASET}.parquet", *tags, *patches]


def snakemake_command(run_dir: Path, config: Path, args: argparse.Namespace, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(run_dir),
        "--configfile", str(config), "--cores", str(args.cores), *extra, *targets(args),
    ]


def env() -> dict[str, str]:
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return {**os.environ, "PYTHONPATH": str(REPO / "src"), "PATH": path, "PYTHONUNBUFFERED": "1"}


# --- DAG build -----------------------------------------------------------------------------------

def planned_jobs(text: str) -> dict[str, int]:
    counts = {}
    for line in text.splitlines():
        match = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if match and match.group(1) not in ("job", "maxrss_kib"):
            counts[match.group(1)] = int(match.group(2))
    return counts


def dry_run(run_dir: Path, config: Path, args: argparse.Namespace) -> tuple[float, dict[str, int], int]:
    """Wall seconds of ``snakemake -n`` in a fresh process, the planned jobs, and its peak RSS (KiB)."""
    command = snakemake_command(run_dir, config, args, "-n")
    wrapped = [sys.executable, "-c", _MAXRSS_WRAPPER, *command]
    started = time.perf_counter()
    result = subprocess.run(wrapped, capture_output=True, text=True, env=env())
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"dry run failed:\n{result.stdout}\n{result.stderr}")
    rss = int(result.stderr.strip().splitlines()[-1].split()[-1])
    return seconds, planned_jobs(result.stdout + result.stderr), rss


# Runs a command and prints the peak RSS of its process tree (of the waited-for children) last on stderr.
_MAXRSS_WRAPPER = (
    "import resource, subprocess, sys; rc = subprocess.call(sys.argv[1:]); "
    "print('maxrss_kib', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(rc)"
)


def profile_dag(run_dir: Path, config: Path, args: argparse.Namespace, top: int = 25) -> str:
    """cProfile of ``snakemake -n`` (in this process's child); the top functions by cumulative time."""
    out = run_dir / "dag.prof"
    command = snakemake_command(run_dir, config, args, "-n")
    code = (
        "import cProfile, sys; from snakemake.cli import main; sys.argv = ['snakemake'] + sys.argv[1:]; "
        f"cProfile.run('main()', {str(out)!r})"
    )
    subprocess.run([sys.executable, "-c", code, *command[3:]], capture_output=True, text=True, env=env())
    stream = io.StringIO()
    pstats.Stats(str(out), stream=stream).sort_stats("cumulative").print_stats(top)
    return stream.getvalue()


# --- the run, measured --------------------------------------------------------------------------

SITE = Path(__file__).resolve().parent / "data_half_scale_site"


@dataclass
class ProcessRecord:
    """One Python process of the run, as written at its exit by data_half_scale_site/sitecustomize.py."""

    stage: str | None  # the rule whose script it ran; None for other processes (Snakemake itself)
    argv: list[str]
    start: float
    end: float
    maxrss_kib: int
    children_maxrss_kib: int
    cpu_s: float
    children_cpu_s: float


def stage_of(argv: list[str]) -> str | None:
    """The rule of a job process: Snakemake runs a script job as python .snakemake/scripts/tmpXXXX.<script>."""
    if argv and ".snakemake/scripts/" in argv[0]:
        for stage, script in STAGES.items():
            if argv[0].endswith("." + script):
                return stage
    return None


def read_records(folder: Path) -> list[ProcessRecord]:
    records = []
    for path in folder.glob("*.json"):
        data = json.loads(path.read_text())
        records.append(ProcessRecord(
            stage_of(data["argv"]), data["argv"], data["start"], data["end"], data["maxrss_kib"],
            data["children_maxrss_kib"], data["cpu_s"], data["children_cpu_s"],
        ))
    return records


def measured_env(folder: Path) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    base = env()
    return {**base, "PYTHONPATH": os.pathsep.join([str(SITE), base["PYTHONPATH"]]), "SDAIE_BENCH_RUSAGE_DIR": str(folder)}


def run_pipeline(run_dir: Path, config: Path, args: argparse.Namespace) -> tuple[float, float, list[ProcessRecord]]:
    """Run Snakemake; returns the launch time (epoch), the wall seconds and the records of its processes."""
    log = run_dir / "snakemake.log"
    folder = run_dir / "rusage"
    with open(log, "w") as handle:
        launched = time.time()
        started = time.perf_counter()
        rc = subprocess.call(snakemake_command(run_dir, config, args), stdout=handle, stderr=subprocess.STDOUT,
                             env=measured_env(folder))
        seconds = time.perf_counter() - started
    if rc != 0:
        raise RuntimeError(f"snakemake failed ({rc}); see {log}:\n" + log.read_text()[-4000:])
    return launched, seconds, read_records(folder)


# --- outputs -------------------------------------------------------------------------------------

def output_figures(run_dir: Path, args: argparse.Namespace) -> dict:
    import pyarrow.parquet as pq

    results = run_dir / "results"
    exif = results / "exif" / f"{DATASET}.parquet"
    shards = list((results / "exif" / DATASET).glob("shard_*.parquet"))
    tags = results / "tags" / "tags.parquet"
    patches = results / "patches"
    npy = sorted(patches.glob("shard_*.npy"))
    index = sorted(patches.glob("shard_*.index.parquet"))
    skipped = sorted(patches.glob("shard_*.skipped.parquet"))
    exif_meta = pq.ParquetFile(exif).metadata
    errors = pq.read_table(exif, columns=["error"]).column("error").null_count
    crops = sum(pq.ParquetFile(p).metadata.num_rows for p in index)
    return {
        "exif_rows": exif_meta.num_rows,
        "exif_error_rows": exif_meta.num_rows - errors,
        "exif_bytes": exif.stat().st_size,
        "exif_shard_bytes": sum(p.stat().st_size for p in shards),
        "tag_rows": pq.ParquetFile(tags).metadata.num_rows,
        "tag_bytes": tags.stat().st_size,
        "crops": crops,
        "skipped_photos": sum(pq.ParquetFile(p).metadata.num_rows for p in skipped),
        "npy_bytes": sum(p.stat().st_size for p in npy),
        "npy_largest": max((p.stat().st_size for p in npy), default=0),
        "index_bytes": sum(p.stat().st_size for p in index),
        "patch_shards": len(npy),
    }


# --- report --------------------------------------------------------------------------------------

def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    exiftool = subprocess.run(["exiftool", "-ver"], capture_output=True, text=True).stdout.strip()
    import polars
    import pyarrow
    import snakemake

    return (
        f"nproc {os.cpu_count()}, {model}, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB RAM, "
        f"Python {platform.python_version()}, Snakemake {snakemake.__version__}, exiftool {exiftool}, "
        f"polars {polars.__version__}, pyarrow {pyarrow.__version__}"
    )


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def size(n: float) -> str:
    return f"{n / 1e9:,.2f} GB" if n >= 1e9 else f"{n / 1e6:,.1f} MB"


def stage_table(files: int, launched: float, records: list[ProcessRecord]) -> list[dict]:
    rows = []
    for stage in STAGES:
        jobs = [r for r in records if r.stage == stage]
        if not jobs:
            continue
        wall = max(j.end for j in jobs) - min(j.start for j in jobs)
        cpu = sum(j.cpu_s + j.children_cpu_s for j in jobs)
        rows.append({
            "stage": stage, "jobs": len(jobs), "wall_s": wall, "cpu_s": cpu,
            "start_s": min(j.start for j in jobs) - launched, "end_s": max(j.end for j in jobs) - launched,
            "job_wall_max_s": max(j.end - j.start for j in jobs),
            "peak_rss_kib": max(j.maxrss_kib for j in jobs),
            "children_peak_rss_kib": max(j.children_maxrss_kib for j in jobs),
            "files_per_s": files / wall if wall > 0 else float("inf"),
            "cpu_ms_per_file": 1000 * cpu / files,
        })
    return rows


def snakemake_record(records: list[ProcessRecord]) -> ProcessRecord | None:
    """The record of the Snakemake process itself (python -m snakemake)."""
    main = [r for r in records if r.stage is None and r.argv and r.argv[0].endswith("snakemake/__main__.py")]
    return max(main, key=lambda r: r.end - r.start, default=None)


def report(results: list[dict]) -> None:
    print()
    print("| files | stage | jobs | wall s | files/s | CPU s | CPU ms/file | longest job s | peak RSS, largest job (its children) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for res in results:
        n = res["files"]
        print(f"| {n:,} | DAG build (`snakemake -n`) | | {res['dag_s']:.1f} | | | | | {mib(res['dag_rss_kib'] * 1024)} |")
        for row in res["stages"]:
            children = f" ({mib(row['children_peak_rss_kib'] * 1024)})" if row["stage"] == "exif_shard" else ""
            print(f"| {n:,} | {row['stage']} | {row['jobs']} | {row['wall_s']:.1f} | {row['files_per_s']:,.0f} | "
                  f"{row['cpu_s']:.0f} | {row['cpu_ms_per_file']:.2f} | {row['job_wall_max_s']:.1f} | "
                  f"{mib(row['peak_rss_kib'] * 1024)}{children} |")
        print(f"| {n:,} | whole run (launch to exit; first job after {res['first_job_s']:.1f} s) | "
              f"{res['planned'].get('total', '')} | {res['run_s']:.1f} | {n / res['run_s']:,.0f} | | | | "
              f"Snakemake itself {mib(res['snakemake_rss_kib'] * 1024)}, {res['snakemake_cpu_s']:.0f} CPU s |")
    print()
    print("| files | EXIF rows (errors) | EXIF table | EXIF shards | tag rows | tag table | crops | skipped | patch .npy (largest) | patch index |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for res in results:
        o = res["outputs"]
        print(f"| {res['files']:,} | {o['exif_rows']:,} ({o['exif_error_rows']}) | {size(o['exif_bytes'])} | "
              f"{size(o['exif_shard_bytes'])} | {o['tag_rows']:,} | {size(o['tag_bytes'])} | {o['crops']:,} | "
              f"{o['skipped_photos']:,} | {size(o['npy_bytes'])} in {o['patch_shards']} ({size(o['npy_largest'])}) | "
              f"{size(o['index_bytes'])} |")


# --- calibration at camera size ----------------------------------------------------------------

CALIBRATION_CODE = r"""
import json, os, sys, time
from pathlib import Path
import pyarrow as pa
from sdaie.exif.extract import extract_to_parquet
from sdaie.patches.cut import cut_photos
root, count = Path(sys.argv[1]), int(sys.argv[2])
relpaths = sorted(p.name for p in root.glob("*.jpg"))[:count]
started = time.perf_counter(); cpu = time.process_time()
extract_to_parquet(root, relpaths, root.parent / "calib.parquet", dataset="calib", jobs=1, batch_size=64)
exif_s, exif_cpu = time.perf_counter() - started, time.process_time() - cpu
children = os.times()
photos = pa.table({"dataset": ["calib"] * len(relpaths), "path": relpaths, "content_hash": [None] * len(relpaths)})
started = time.perf_counter(); cpu = time.process_time()
stats = cut_photos(photos, {"calib": root}, root.parent / "calib_shard", crop=256, crops_per_photo=4)
cut_s, cut_cpu = time.perf_counter() - started, time.process_time() - cpu
print(json.dumps({"files": len(relpaths), "exif_s": exif_s, "exif_cpu": exif_cpu,
                  "exif_cpu_children": children.children_user + children.children_system,
                  "cut_s": cut_s, "cut_cpu": cut_cpu, "crops": stats.crops,
                  "npy_bytes": (root.parent / "calib_shard.npy").stat().st_size}))
"""


def calibrate(work: Path, count: int) -> dict:
    """Per-file EXIF and patch-cutting costs at camera size: ``count`` distinct 12-megapixel JPEGs.

    One seed photo is resized to 4000x3000, given sensor-like noise (so that it compresses like a
    camera photo, about 5 MB at quality 92) and its camera EXIF; ``count`` copies with distinct COM
    segments go through ``extract_to_parquet`` (one worker) and ``cut_photos`` (crop 256, 4 per photo)
    in one process, one after the other."""
    import numpy as np
    from PIL import Image

    folder = work / "calibration" / "photos"
    if not (folder / ".complete").exists():
        folder.mkdir(parents=True, exist_ok=True)
        seed = sorted((work / "seeds").glob("seed_*.jpg"))[0]
        with Image.open(seed) as image:
            exif = image.info["exif"]
            big = np.asarray(image.convert("RGB").resize((4000, 3000), Image.BICUBIC), dtype=np.int16)
        noise = np.random.default_rng(0).normal(0, 6, big.shape)
        big = Image.fromarray(np.clip(big + noise, 0, 255).astype(np.uint8))
        template = work / "calibration" / "template.jpg"
        big.save(template, quality=92, exif=exif)
        data = template.read_bytes()
        cut = split_for_comment(data)
        for i in range(count):
            payload = f"sdaie calibration {i:06d}".encode()
            comment = b"\xff\xfe" + (len(payload) + 2).to_bytes(2, "big") + payload
            (folder / f"big_{i:05d}.jpg").write_bytes(data[:cut] + comment + data[cut:])
        (folder / ".complete").write_text("")
    out = subprocess.run([sys.executable, "-c", CALIBRATION_CODE, str(folder), str(count)], capture_output=True,
                         text=True, env=env())
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["file_bytes"] = sum(p.stat().st_size for p in folder.glob("*.jpg")) / count
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, nargs="+", default=[10000], help="file counts, run in this order")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/sdaie-scale"))
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--exif-shards", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=64, help="exif.batch_size")
    parser.add_argument("--patch-shards", type=int, default=8)
    parser.add_argument("--crops-per-photo", type=int, default=1, help="patches.crops_per_photo (crop is 256)")
    parser.add_argument("--files-per-folder", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=None, help="at most this many seed photos (default: all)")
    parser.add_argument("--profile-dag", action="store_true", help="also profile `snakemake -n` and print the top")
    parser.add_argument("--dag-only", action="store_true", help="stop after the DAG build (no run)")
    parser.add_argument("--keep", action="store_true", help="keep the run folders (results) afterwards")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    parser.add_argument("--calibrate", type=int, default=0, metavar="N",
                        help="also time EXIF and patch cutting on N distinct 12-megapixel camera-size JPEGs")
    args = parser.parse_args()

    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine()}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M %Z')}; load average {os.getloadavg()[0]:.2f}; "
          f"exif.shards {args.exif_shards}, exif.batch_size {args.batch_size}, patches.shards {args.patch_shards}, "
          f"crop 256 x {args.crops_per_photo} per photo, --cores {args.cores}", flush=True)
    tree, built = build_tree(work, max(args.files), args.files_per_folder, args.seeds)
    seeds = json.loads((tree / ".built.json").read_text())["seeds"]
    print(f"tree: {tree} ({seeds} seeds; built in {built:.0f} s)" if built else f"tree: {tree} (cached, {seeds} seeds)")

    calibration = None
    if args.calibrate:
        calibration = calibrate(work, args.calibrate)
        c = calibration
        print(f"calibration, {c['files']} JPEGs of 4000x3000 ({c['file_bytes'] / 1e6:.1f} MB each), one process: "
              f"EXIF {c['files'] / c['exif_s']:.1f} files/s ({1000 * c['exif_s'] / c['files']:.1f} ms/file; CPU ms/file: "
              f"Python {1000 * c['exif_cpu'] / c['files']:.1f}, exiftool {1000 * c['exif_cpu_children'] / c['files']:.1f}); cutting {c['files'] / c['cut_s']:.2f} photos/s "
              f"({1000 * c['cut_cpu'] / c['files']:.0f} CPU ms/photo, {c['crops']} crops, "
              f"{c['npy_bytes'] / c['crops'] / 1e3:.1f} kB/crop)", flush=True)
    results = []
    for files in args.files:
        dataset = dataset_folder(work, tree, files, args.files_per_folder)
        run_dir = work / f"run-{files}"
        if run_dir.exists():
            shutil.rmtree(run_dir)
        config = write_config(run_dir, dataset, args)
        dag_s, planned, dag_rss = dry_run(run_dir, config, args)
        print(f"{files:,} files: DAG build (snakemake -n) {dag_s:.1f} s, peak RSS {mib(dag_rss * 1024)}, jobs {planned}",
              flush=True)
        if args.profile_dag:
            print(profile_dag(run_dir, config, args))
        if args.dag_only:
            continue
        launched, run_s, records = run_pipeline(run_dir, config, args)
        stages = stage_table(files, launched, records)
        own = snakemake_record(records)
        res = {
            "files": files, "dag_s": dag_s, "dag_rss_kib": dag_rss, "planned": planned, "run_s": run_s,
            "first_job_s": min((row["start_s"] for row in stages), default=0.0),
            "snakemake_rss_kib": own.maxrss_kib if own else 0,
            "snakemake_cpu_s": own.cpu_s if own else 0.0,
            "stages": stages, "outputs": output_figures(run_dir, args),
            "load_average_after": os.getloadavg()[0],
        }
        results.append(res)
        print(f"{files:,} files: run {run_s:.1f} s; " + json.dumps(res["outputs"]), flush=True)
        if not args.keep:
            shutil.rmtree(run_dir)
    if results:
        report(results)
        if args.json:
            args.json.write_text(json.dumps({"machine": machine(), "args": {k: str(v) for k, v in vars(args).items()},
                                             "calibration": calibration, "results": results}, indent=1))


if __name__ == "__main__":
    main()
