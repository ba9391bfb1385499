"""Throughput of tag normalization on a synthetic raw table (goal: >= 1,000,000 rows/s end to end).

Builds a synthetic raw table (``sdaie.tags.synthetic``: makes in many spellings, nulls, duplicates,
unreadable-file rows) as Parquet files, by default 1,000,000 rows split into parts of which one
quarter carries its numeric tags and EXIF codes as text (``"1/250"``, ``" 1/250 "``, ``"undef"``...)
and the rest as RAW_SCHEMA floats/ints, then times ``normalize_tables`` end to end: reading, make/model
cleaning, parsing, range checks, split, vocabulary build (lazy group_by), index columns, writing the
Parquet output and the summary. A second run applies the saved vocabulary (inference mode).

Reports rows/s per run, the best of ``--repeat`` runs, and the process's peak RSS (ru_maxrss; it
includes building the synthetic table, so the normalization itself uses at most that).

    PYTHONPATH=src python bench/normalize_throughput.py [--rows 1000000] [--text-fraction 0.25]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

import polars as pl

from sdaie.tags.normalize import NormalizeStats, normalize_tables
from sdaie.tags.synthetic import synthetic_raw_table


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def write_inputs(directory: Path, rows: int, text_fraction: float, parts: int, seed: int) -> list[Path]:
    text_rows = round(rows * text_fraction)
    float_rows = rows - text_rows
    paths: list[Path] = []
    sizes = [float_rows // parts + (1 if i < float_rows % parts else 0) for i in range(parts)]
    for i, n in enumerate(sizes):
        if n:
            path = directory / f"raw_float_{i}.parquet"
            synthetic_raw_table(n, seed=seed + i, dataset=f"float{i}").write_parquet(path)
            paths.append(path)
    if text_rows:
        path = directory / "raw_text.parquet"
        synthetic_raw_table(text_rows, seed=seed + 100, numeric_as_text=True, dataset="text").write_parquet(path)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--text-fraction", type=float, default=0.25, help="share of rows with text numerics")
    parser.add_argument("--parts", type=int, default=3, help="Parquet files for the non-text rows")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, help="keep files here (default: a temporary folder)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument(
        "--reuse-inputs", action="store_true",
        help="use raw_*.parquet already in --workdir (so peak RSS measures normalization alone)",
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        existing = sorted(work.glob("raw_*.parquet")) if args.reuse_inputs else []
        if existing:
            inputs = existing
            args.rows = sum(pl.scan_parquet(p).select(pl.len()).collect().item() for p in inputs)
            text_rows = sum(pl.scan_parquet(p).select(pl.len()).collect().item() for p in inputs if "text" in p.name)
            args.text_fraction = text_rows / args.rows
        else:
            inputs = write_inputs(work, args.rows, args.text_fraction, args.parts, args.seed)
        build_s = time.perf_counter() - t0
        input_mib = sum(p.stat().st_size for p in inputs) / 2**20
        rss_after_build = _peak_rss_mib()
        print(
            f"machine: {os.cpu_count()} CPUs ({_cpu_model()}), polars {pl.__version__}, "
            f"{pl.thread_pool_size()} polars threads"
        )
        print(f"input: {args.rows:,} rows in {len(inputs)} Parquet files ({input_mib:.1f} MiB), "
              f"{args.text_fraction:.0%} with text numerics; "
              + ("reused" if existing else f"built in {build_s:.1f} s"))

        runs: list[dict] = []

        def run(mode: str, **kwargs) -> NormalizeStats:
            cpu = _cpu_seconds()
            stats = normalize_tables(inputs, **kwargs)
            cpu = _cpu_seconds() - cpu
            runs.append({"mode": mode, "seconds": stats.seconds, "rows_per_s": stats.rows_per_second, "cpu_s": cpu,
                         "phases": stats.phases})
            print(f"{mode}: {stats.seconds:.3f} s wall, {stats.rows_per_second:,.0f} rows/s "
                  f"(process CPU {cpu:.2f} s = {cpu / stats.seconds:.1f} cores busy); "
                  + ", ".join(f"{k} {v:.2f} s" for k, v in stats.phases.items()))
            return stats

        for _ in range(args.repeat):
            run("build vocabulary", output=work / "normalized.parquet", vocab_out=work / "vocab.json",
                summary_out=work / "summary.md")
        stats = run("reuse vocabulary", output=work / "normalized_inference.parquet",
                    vocab_out=work / "vocab_copy.json", summary_out=work / "summary_inference.md",
                    vocab_in=work / "vocab.json")
        output_mib = (work / "normalized.parquet").stat().st_size / 2**20
        best = max(r["rows_per_s"] for r in runs if r["mode"] == "build vocabulary")
        peak = _peak_rss_mib()
        print(f"output: {stats.rows:,} rows ({stats.usable_rows:,} usable), {output_mib:.1f} MiB; "
              f"out of range: {stats.out_of_range}")
        print(f"best: {best:,.0f} rows/s (goal 1,000,000: {'met' if best >= 1e6 else 'NOT met'})")
        print(f"peak RSS: {peak:.0f} MiB (after building the input: {rss_after_build:.0f} MiB)")
        if args.json:
            args.json.write_text(json.dumps({
                "rows": args.rows, "text_fraction": args.text_fraction, "cpus": os.cpu_count(),
                "cpu_model": _cpu_model(), "polars": pl.__version__, "runs": runs, "best_rows_per_s": best,
                "peak_rss_mib": peak, "rss_after_input_mib": rss_after_build,
            }, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
