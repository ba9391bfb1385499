"""Training throughput of the pretext model: synthetic tensors vs end to end from patch shards.

    python bench/train_throughput.py [--device auto|cpu|cuda] [--batch-size 64] [--n-patches 16]
                                     [--steps 30] [--warmup 5] [--compile/--no-compile] [--workers 4]

Prints images/s for (a) training steps on one batch already on the device and (b) the same steps fed
by the real data path (memory-mapped shards, DataLoader workers, host-to-device copies), and their
ratio: the data path keeps up when the ratio is near 1 (goal: 0.95 or more); and the time to the
first training step end to end (loader start, and torch.compile's compilation when compiling).

    python bench/train_throughput.py --compile-study [--device cuda] ...

runs three separate processes end to end from shards: eager, compiled with an empty compile cache,
and compiled again with that cache (what a resumed or repeated job gets, sdaie.train.launch), and
prints time to first step and steady images/s of each.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from sdaie.model.backbone import ExtractorConfig
from sdaie.patches.dataset import crops_to_patches, training_batch
from sdaie.train.pretext import PretextConfig, PretextModel, _compute_loss, train_pretext

CLASSES = {"make": 20, "model": 120, "flash": 12, "metering_mode": 7, "exposure_mode": 4, "white_balance": 3, "scene_capture_type": 5}


def make_shards(root: Path, crops: int, crop: int = 256) -> tuple[list[Path], dict]:
    """One shard of random crops with random labels (speed does not depend on content)."""
    rng = np.random.default_rng(0)
    stem = root / "shard_0"
    array = np.lib.format.open_memmap(root / "shard_0.npy", mode="w+", dtype=np.uint8, shape=(crops, crop, crop, 3))
    for start in range(0, crops, 256):
        array[start : start + 256] = rng.integers(0, 256, array[start : start + 256].shape, dtype=np.uint8)
    array.flush()
    columns = {"dataset": ["bench"] * crops, "path": [f"{i}.jpg" for i in range(crops)], "content_hash": [str(i) for i in range(crops)],
               "split": ["pretext_train"] * crops, "crop": pa.array(range(crops), pa.int64())}
    for tag, n in CLASSES.items():
        columns[f"{tag}_idx"] = pa.array(rng.integers(0, n, crops), pa.int32())
    for tag in ("exposure_time", "f_number", "iso", "focal_length", "focal_length_35mm"):
        columns[tag] = pa.array(rng.lognormal(0, 1, crops))
    pq.write_table(pa.table(columns), root / "shard_0.index.parquet")
    vocabulary = {"tags": {tag: {"values": [str(i) for i in range(n - 1)]} for tag, n in CLASSES.items()}, "hash": "bench"}
    return [stem], vocabulary


def synthetic_rate(config: PretextConfig, device: torch.device, warmup: int, steps: int) -> float:
    torch.manual_seed(0)
    model = PretextModel(ExtractorConfig(), CLASSES, config.ordinal).to(device)
    train_model = torch.compile(model) if config.compile else model
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    b = config.batch_size
    crops = np.random.default_rng(0).integers(0, 256, (b, 256, 256, 3), dtype=np.uint8)
    spec = training_batch(0, 0, b, np.arange(b), config.n_patches, 256)
    patches = crops_to_patches(crops, spec.tiles).to(device)
    categorical = {tag: torch.randint(0, n, (b,), device=device) for tag, n in CLASSES.items()}
    ordinal = {tag: torch.rand(b, device=device) for tag in config.ordinal}
    autocast = config.amp and device.type == "cuda"
    for i in range(warmup + steps):
        if i == warmup:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        loss, _ = _compute_loss(train_model, patches, categorical, ordinal, config, device, autocast)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * b / (time.perf_counter() - start)


def end_to_end_rate(config: PretextConfig, device: torch.device, warmup: int, steps: int, root: Path) -> tuple[float, float]:
    """(steady images/s, seconds from the trainer's call to the end of its first step)."""
    stems, vocabulary = make_shards(root, crops=max(4 * config.batch_size, 512))
    times: dict[int, float] = {}

    def on_step(step: int) -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()
        times[step] = time.perf_counter()

    config = PretextConfig(**{**config.__dict__, "steps": warmup + steps})
    called = time.perf_counter()
    train_pretext(stems, root / "run", config, vocabulary, ExtractorConfig(), on_step=on_step)
    return steps * config.batch_size / (times[warmup + steps] - times[warmup]), times[1] - called


def compile_study(args) -> None:
    """Eager, compiled (cold cache), compiled (warm cache): each end to end in a process of its own."""
    import subprocess
    import sys

    common = [sys.executable, __file__, "--end-to-end-only", "--device", args.device, "--n-patches", str(args.n_patches)]
    for name in ("batch_size", "steps", "warmup", "workers"):
        if getattr(args, name) is not None:
            common += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    common.append("--amp" if args.amp else "--no-amp")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "compile_cache"
        for label, extra in (("eager", ["--no-compile"]), ("compiled, empty cache", ["--compile", "--compile-cache", str(cache)]),
                             ("compiled, cache from the run before", ["--compile", "--compile-cache", str(cache)])):
            out = Path(tmp) / f"{len(rows)}.json"
            subprocess.run([*common, *extra, "--json", str(out)], check=True)
            rows.append((label, json.loads(out.read_text())))
    print("\n| setting | time to first step (s) | end-to-end img/s |")
    print("|---|---|---|")
    for label, r in rows:
        print(f"| {label} | {r['first_step_s']:.1f} | {r['end_to_end_images_per_s']:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--n-patches", type=int, default=16)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--warmup", type=int, default=None)
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--amp", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--compile-cache", type=Path, help="torch.compile's cache folder (as the trainers' compile_cache)")
    parser.add_argument("--end-to-end-only", action="store_true", help="skip the synthetic measurement")
    parser.add_argument("--compile-study", action="store_true", help="eager vs compiled (cold and warm cache), end to end")
    args = parser.parse_args()
    if args.compile_study:
        compile_study(args)
        return
    if args.compile_cache:
        from sdaie.train.launch import keep_compile_cache

        keep_compile_cache(args.compile_cache)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else ("cpu" if args.device == "auto" else args.device))
    gpu = device.type == "cuda"
    batch = args.batch_size or (64 if gpu else 8)
    steps = args.steps or (100 if gpu else 6)
    warmup = args.warmup if args.warmup is not None else (20 if gpu else 2)
    compile_ = args.compile if args.compile is not None else gpu
    workers = args.workers if args.workers is not None else (6 if gpu else 1)
    config = PretextConfig(batch_size=batch, n_patches=args.n_patches, compile=compile_, amp=args.amp, workers=workers,
                           device=device.type, val_every=10**9, checkpoint_every=10**9, log_every=10**9, progress=False)
    synthetic = float("nan") if args.end_to_end_only else synthetic_rate(config, device, warmup, steps)
    with tempfile.TemporaryDirectory() as tmp:
        end_to_end, first_step = end_to_end_rate(config, device, warmup, steps, Path(tmp))
    card = torch.cuda.get_device_name(device) if gpu else platform.processor() or platform.machine()
    result = {"device": card, "batch_size": batch, "n_patches": args.n_patches, "compile": compile_, "amp": args.amp and gpu,
              "workers": workers, "steps": steps, "synthetic_images_per_s": round(synthetic, 2),
              "end_to_end_images_per_s": round(end_to_end, 2), "ratio": round(end_to_end / synthetic, 3),
              "first_step_s": round(first_step, 2),
              "torch_threads": torch.get_num_threads()}
    print("| device | batch | patches | compile | amp | synthetic img/s | end-to-end img/s | ratio | first step (s) |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| {card} | {batch} | {args.n_patches} | {compile_} | {result['amp']} | {synthetic:.1f} | {end_to_end:.1f} | "
          f"{end_to_end / synthetic:.3f} | {first_step:.1f} |")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
