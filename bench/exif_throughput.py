"""Benchmark EXIF extraction: files/s against plain ``exiftool -json -n``, and peak memory.

Not a test: prints a table. Usage (from the repository root)::

    PYTHONPATH=src .venv/bin/python bench/exif_throughput.py [--copies 6] [--repeat 5]

It builds a corpus of copies of the shared photos in a temporary directory (``--copies`` x 192
files, 1,152 by default), then, each in a fresh process so that peak RSS is per run:

* plain exiftool over the whole corpus at once: ``exiftool -json -n -r DIRS > /dev/null``;
* as a control, two plain exiftool processes at once over half the corpus each: the speed-up the
  machine gives two CPU-bound processes at the time (a shared machine may have no second core
  to give, and then no jobs=2 can scale either);
* ``extract_to_parquet`` with one worker and with two.

Runs are interleaved and repeated (``--repeat``); best and median are reported (on a shared,
noisy machine the best run is the one least disturbed). Goals: one worker at 0.9x plain exiftool
or better, two workers at 1.7x one worker or better.

Memory: the same extraction over ``--memory-copies`` x 192 files (1,152 / 4,608 / 9,216 by
default); peak RSS of the Python process and of its exiftool processes should not grow with the
number of files (beyond the first Parquet row group of 4,096 rows, which is buffered).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PHOTOS = REPO.parent / "shared" / "data" / "photos"


# --- child modes: each measurement runs in its own process ---------------------------------------

def child_plain(directories: list[str]) -> dict:
    """Time one plain exiftool process over ``directories``; peak RSS of exiftool."""
    started = time.perf_counter()
    with open(os.devnull, "wb") as devnull:
        subprocess.run(["exiftool", "-json", "-n", "-r", *directories], stdout=devnull, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"seconds": seconds, "cpu": children.ru_utime + children.ru_stime, "rss_children_kb": children.ru_maxrss}


def child_plain_parallel(directories: list[str]) -> dict:
    """Two plain exiftool processes at once, each over half of ``directories``: the speed-up the
    machine gives two CPU-bound processes right now (the ceiling for jobs=2)."""
    half = len(directories) // 2
    started = time.perf_counter()
    with open(os.devnull, "wb") as devnull:
        procs = [subprocess.Popen(["exiftool", "-json", "-n", "-r", *part], stdout=devnull, stderr=subprocess.DEVNULL)
                 for part in (directories[:half], directories[half:])]
        for proc in procs:
            proc.wait()
    seconds = time.perf_counter() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"seconds": seconds, "cpu": children.ru_utime + children.ru_stime, "rss_children_kb": children.ru_maxrss}


def child_extract(root: str, output: str, jobs: int, batch_size: int, dirs: list[str]) -> dict:
    """Time ``extract_to_parquet`` over the files of ``dirs`` under ``root``; peak RSS."""
    from sdaie.exif.extract import extract_to_parquet
    from sdaie.exif.listing import list_files

    started = time.perf_counter()
    relpaths = [f"{d}/{p}" for d in dirs for p in list_files(Path(root) / d)]
    stats = extract_to_parquet(Path(root), relpaths, Path(output), dataset="bench", jobs=jobs, batch_size=batch_size)
    seconds = time.perf_counter() - started
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "seconds": seconds,
        "cpu": own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime,
        "cpu_python": own.ru_utime + own.ru_stime,
        "files": stats.files,
        "errors": stats.errors,
        "output_bytes": os.path.getsize(output),
        "rss_self_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "rss_children_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    }


def run_child(*args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- corpus -------------------------------------------------------------------------------------

def build_corpus(photos: Path, work: Path, copies: int, total_copies: int) -> tuple[list[str], int]:
    """Put ``total_copies`` copies of the photos in ``work/c00, c01...``; returns the dirs and count.

    The first ``copies`` are real copies (the throughput corpus); the others, used only by the
    memory check, are hard links to them (other paths, same bytes), which saves disk and time.
    """
    sources = sorted(p for p in photos.rglob("*.jpg") if p.is_file())
    dirs = [f"c{k:02d}" for k in range(max(copies, total_copies))]
    for k, d in enumerate(dirs):
        for source in sources:
            dest = work / d / source.relative_to(photos)
            dest.parent.mkdir(parents=True, exist_ok=True)
            if k < copies:
                shutil.copyfile(source, dest)
            else:
                os.link(work / dirs[k % copies] / source.relative_to(photos), dest)
    return dirs, len(sources)


# --- report -------------------------------------------------------------------------------------

def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    exiftool = subprocess.run(["exiftool", "-ver"], capture_output=True, text=True).stdout.strip()
    return f"nproc {os.cpu_count()}, {model}, Python {platform.python_version()}, exiftool {exiftool}"


def mib(kb: int) -> str:
    return f"{kb / 1024:.0f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS)
    parser.add_argument("--copies", type=int, default=6, help="copies of the photos for throughput (6 -> 1,152)")
    parser.add_argument("--memory-copies", type=int, nargs="*", default=[6, 24, 48],
                        help="corpus sizes of the memory check, in copies (default 1,152 / 4,608 / 9,216 files)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workdir", type=Path, default=None, help="where to build the corpus (default: a temp dir)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="exif-bench-", dir=args.workdir))
    try:
        print(f"machine: {machine()}; load average before: {os.getloadavg()[0]:.2f}")
        dirs, per_copy = build_corpus(args.photos, work, args.copies, max([args.copies, *args.memory_copies]))
        small = dirs[: args.copies]
        n_small = per_copy * len(small)
        size_mb = sum(p.stat().st_size for d in small for p in (work / d).rglob("*.jpg")) / 1e6
        print(f"corpus: {n_small} files ({len(small)} copies of {per_copy} photos, {size_mb:.0f} MB)")
        out = str(work / "out.parquet")
        bs = str(args.batch_size)

        runs: dict[str, list[dict]] = {"plain": [], "plain2": [], "jobs1": [], "jobs2": []}
        for r in range(args.repeat):  # interleaved, so that load from elsewhere hits all alike
            runs["plain"].append(run_child("plain", *(str(work / d) for d in small)))
            runs["plain2"].append(run_child("plain2", *(str(work / d) for d in small)))
            runs["jobs1"].append(run_child("extract", str(work), out, "1", bs, *small))
            runs["jobs2"].append(run_child("extract", str(work), out, "2", bs, *small))
            print(f"  round {r + 1}: " + ", ".join(f"{k} {v[-1]['seconds']:.2f} s" for k, v in runs.items())
                  + f" (load average {os.getloadavg()[0]:.2f})", flush=True)
        best = {k: min(run["seconds"] for run in v) for k, v in runs.items()}
        median = {k: statistics.median(run["seconds"] for run in v) for k, v in runs.items()}
        cpu = {k: statistics.median(run["cpu"] for run in v) for k, v in runs.items()}

        print()
        print(f"throughput over {n_small} files, best and median of {args.repeat} runs, batch size {args.batch_size}:")
        print("| run | best s | files/s (best) | median s | files/s (median) | CPU s, all processes (median) | peak RSS python | peak RSS exiftool |")
        print("|---|---|---|---|---|---|---|---|")
        for key, label in (("plain", "plain `exiftool -json -n -r`"),
                           ("plain2", "2 plain exiftools at once, half each (control)"),
                           ("jobs1", "extract_to_parquet jobs=1"), ("jobs2", "extract_to_parquet jobs=2")):
            last = runs[key][-1]
            py = mib(last["rss_self_kb"]) if "rss_self_kb" in last else "-"
            print(f"| {label} | {best[key]:.2f} | {n_small / best[key]:.0f} | {median[key]:.2f} | "
                  f"{n_small / median[key]:.0f} | {cpu[key]:.2f} | {py} | {mib(last['rss_children_kb'])} |")
        print()
        for name, value in (("best", best), ("median", median)):
            print(f"ratios ({name}): jobs=1 / plain = {value['plain'] / value['jobs1']:.2f}x (goal >= 0.9x); "
                  f"jobs=2 / jobs=1 = {value['jobs1'] / value['jobs2']:.2f}x (goal >= 1.7x); "
                  f"control: 2 plain / 1 plain = {value['plain'] / value['plain2']:.2f}x")

        print()
        print("peak memory against corpus size:")
        print("| files | jobs | seconds | files/s | peak RSS python | peak RSS exiftool (largest) | output |")
        print("|---|---|---|---|---|---|---|")
        for copies in args.memory_copies:
            n = per_copy * copies
            for jobs in ("1", "2"):
                res = run_child("extract", str(work), out, jobs, bs, *dirs[:copies])
                assert res["files"] == n, res
                print(f"| {n} | {jobs} | {res['seconds']:.1f} | {n / res['seconds']:.0f} | {mib(res['rss_self_kb'])} | "
                      f"{mib(res['rss_children_kb'])} | {res['output_bytes'] / 1e6:.1f} MB |", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        mode, rest = sys.argv[2], sys.argv[3:]
        if mode == "plain":
            result = child_plain(rest)
        elif mode == "plain2":
            result = child_plain_parallel(rest)
        else:
            result = child_extract(rest[0], rest[1], int(rest[2]), int(rest[3]), rest[4:])
        print(json.dumps(result))
    else:
        main()
