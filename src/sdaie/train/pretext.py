"""Pretext training: learn camera metadata from pixels, on photographs only.

One readable loop, plain PyTorch:

    for step in range(start, steps):
        batch  = the crops of step `step` (a pure function of seed and step), 16 scrambled tiles each
        loss   = sum over categorical tags of w * cross-entropy
               + sum over ordinal tags of w * Thurstone pairwise ranking loss (all pairs in the batch)
        Adam step
        every `val_every` steps: accuracy per categorical tag, pairwise ranking accuracy per ordinal tag
        every `checkpoint_every` steps and at the end: checkpoint (model, optimizer, step, RNG, config,
        vocabulary)

A killed run restarts from its last checkpoint and continues identically, because batches depend
only on (seed, step); its metrics.csv is cut back to that step. A checkpoint is resumed only when it
was written with the same config, vocabulary and training data (a digest of the patch shards' index:
photos, their content hashes, crop positions and labels); otherwise the run starts afresh and the log
says why. One trainer at a time uses a run folder (`sdaie.train.common.RunLock`). On CUDA: bf16 autocast (covariance pooling stays float32), TF32, optional
torch.compile; DDP when launched by torchrun (each rank takes its share of every global batch).
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from sdaie.model.backbone import ExtractorConfig, SDAIEExtractor
from sdaie.model.checkpoint import load_extractor
from sdaie.model.heads import PretextHeads
from sdaie.model.losses import (
    MISSING_CLASS,
    categorical_loss,
    ranking_accuracy,
    thurstone_ranking_loss,
)
from sdaie.patches.dataset import (
    BatchSpec,
    PatchShards,
    crops_to_patches,
    evaluation_batches,
    patches_to_float,
    training_batch,
)
from sdaie.progress import ProgressLog
from sdaie.train.common import (
    RunLock,
    distributed,
    resumable_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
    table_digest,
    training_device,
    truncate_metrics,
)

log = logging.getLogger(__name__)

CATEGORICAL = ["make", "model", "flash", "metering_mode", "exposure_mode", "white_balance", "scene_capture_type"]
ORDINAL = ["exposure_time", "f_number", "iso", "focal_length", "focal_length_35mm"]


@dataclass
class PretextConfig:
    init: str | None = None  # start the extractor from these weights (sdaie.model.checkpoint.load_extractor)
    steps: int = 1000
    batch_size: int = 64
    lr: float = 1e-4
    n_patches: int = 16
    seed: int = 0
    categorical: list[str] = field(default_factory=lambda: list(CATEGORICAL))
    ordinal: list[str] = field(default_factory=lambda: list(ORDINAL))
    loss_weights: dict[str, float] = field(default_factory=dict)  # tag -> weight (default 1)
    log_every: int = 10  # training loss to metrics.csv every this many steps (each read syncs the GPU)
    val_every: int = 200
    checkpoint_every: int = 200
    device: str = "auto"  # auto | cpu | cuda
    amp: bool = True  # bf16 autocast on CUDA (ignored on CPU)
    compile: bool | None = None  # torch.compile; None = on for CUDA, off for CPU
    workers: int = 2  # loader worker processes (0 = load in the training process)
    progress: bool = True
    train_fraction: float = 1.0  # train on this share of the pretext_train photos (sdaie.train.subset; seed: `seed`)

    def weight(self, tag: str) -> float:
        return float(self.loss_weights.get(tag, 1.0))


class PretextModel(nn.Module):
    """The extractor and one head per tag."""

    def __init__(self, extractor_config: ExtractorConfig, n_classes: dict[str, int], ordinal: list[str]):
        super().__init__()
        self.extractor = SDAIEExtractor(extractor_config)
        self.heads = PretextHeads(extractor_config.feature_dim, n_classes, ordinal)

    def forward(self, patches: torch.Tensor):
        return self.heads(self.extractor(patches).feature)


# ---------------------------------------------------------------------------------------- labels
def labels_of(shards: PatchShards, config: PretextConfig) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per index row: class index (-1 if missing) per categorical tag, value (NaN if missing) per ordinal tag."""
    index = shards.index
    categorical = {}
    for tag in config.categorical:
        column = index.column(f"{tag}_idx")
        categorical[tag] = column.fill_null(MISSING_CLASS).to_numpy().astype(np.int64)
    ordinal = {}
    for tag in config.ordinal:
        ordinal[tag] = index.column(tag).cast("float64").fill_null(float("nan")).to_numpy().astype(np.float32)
    return categorical, ordinal


class BatchLoader(torch.utils.data.Dataset):
    """Turns a BatchSpec into (uint8 patches, labels); used through a DataLoader for worker processes."""

    def __init__(self, stems: list[Path], specs: list[BatchSpec] | None, config: PretextConfig):
        self.stems, self.specs, self.config = stems, specs, config
        self._shards = None

    @property
    def shards(self) -> PatchShards:
        if self._shards is None:  # opened lazily, once per worker process
            self._shards = PatchShards(self.stems)
            self._labels = labels_of(self._shards, self.config)
        return self._shards

    def load(self, spec: BatchSpec):
        patches = crops_to_patches(self.shards.crops(spec.rows), spec.tiles)
        categorical = {tag: torch.from_numpy(v[spec.rows]) for tag, v in self._labels[0].items()}
        ordinal = {tag: torch.from_numpy(v[spec.rows]) for tag, v in self._labels[1].items()}
        return patches, categorical, ordinal

    def __len__(self):
        return len(self.specs)

    def __getitem__(self, i):
        return self.load(self.specs[i])


class _StepSpecs(torch.utils.data.Dataset):
    """The training BatchSpecs of steps start..steps-1 (this rank's share), computed on demand."""

    def __init__(self, loader: BatchLoader, population: np.ndarray, start: int, crop_size: int, rank: int, world: int):
        self.loader, self.population, self.start, self.crop_size = loader, population, start, crop_size
        self.rank, self.world = rank, world

    def __len__(self):
        return self.loader.config.steps - self.start

    def __getitem__(self, i):
        c = self.loader.config
        spec = training_batch(c.seed, self.start + i, c.batch_size, self.population, c.n_patches, self.crop_size)
        share = BatchSpec(rows=spec.rows[self.rank :: self.world], tiles=spec.tiles[self.rank :: self.world])
        return self.loader.load(share)


# ----------------------------------------------------------------------------------- the trainer
def _compute_loss(model, patches, categorical, ordinal, config: PretextConfig, device, autocast: bool):
    x = patches_to_float(patches.to(device, non_blocking=True))
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=autocast):
        logits, scores = model(x)
    total = torch.zeros((), device=device)
    parts = {}
    for tag in config.categorical:
        loss, _ = categorical_loss(logits[tag], categorical[tag].to(device, non_blocking=True))
        total = total + config.weight(tag) * loss
        parts[tag] = loss.detach()
    for tag in config.ordinal:
        loss, _ = thurstone_ranking_loss(scores[tag], ordinal[tag].to(device, non_blocking=True))
        total = total + config.weight(tag) * loss
        parts[tag] = loss.detach()
    return total, parts


@torch.no_grad()
def evaluate(model, loader: BatchLoader, specs: list[BatchSpec], config: PretextConfig, device, autocast: bool) -> dict[str, float]:
    """Accuracy per categorical tag; pairwise ranking accuracy (all pairs of the split) per ordinal tag."""
    was_training = model.training
    model.eval()
    correct = {tag: 0 for tag in config.categorical}
    labelled = {tag: 0 for tag in config.categorical}
    scores_all = {tag: [] for tag in config.ordinal}
    values_all = {tag: [] for tag in config.ordinal}
    for spec in specs:
        patches, categorical, ordinal = loader.load(spec)
        x = patches_to_float(patches.to(device))
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=autocast):
            logits, scores = model(x)
        for tag in config.categorical:
            labels = categorical[tag].to(device)
            known = labels != MISSING_CLASS
            correct[tag] += int((logits[tag].argmax(dim=1)[known] == labels[known]).sum())
            labelled[tag] += int(known.sum())
        for tag in config.ordinal:
            scores_all[tag].append(scores[tag].float().cpu())
            values_all[tag].append(ordinal[tag])
    metrics = {}
    for tag in config.categorical:
        metrics[f"acc/{tag}"] = correct[tag] / labelled[tag] if labelled[tag] else float("nan")
    for tag in config.ordinal:
        if scores_all[tag]:
            right, pairs = ranking_accuracy(torch.cat(scores_all[tag]), torch.cat(values_all[tag]))
            metrics[f"rank_acc/{tag}"] = right / pairs if pairs else float("nan")
    model.train(was_training)
    return metrics


def train_pretext(
    stems: list[Path],
    run_dir: Path,
    config: PretextConfig,
    vocabulary: dict,
    extractor_config: ExtractorConfig | None = None,
    *,
    stop_after: int | None = None,
    restart_on_mismatch: bool = False,
    on_step: Callable[[int], None] | None = None,
) -> dict:
    """Train (or resume) in `run_dir`; returns the last validation metrics.

    `vocabulary` is the saved vocabulary (dict form) of the tag table: it gives the number of classes
    per categorical tag and travels inside every checkpoint. Files in `run_dir`: checkpoint.pt
    (latest), model.pt (final), metrics.csv. `stop_after` ends the run early after that step's
    checkpoint (for tests of resumption). A checkpoint written with another config or vocabulary is
    an error, or with `restart_on_mismatch` is set aside (checkpoint.pt.stale) and training starts
    afresh. `on_step(step)` is called after every optimizer step (benchmarks time it). Raises
    `RunLocked` while another live trainer uses `run_dir`."""
    rank, _ = distributed()
    with RunLock(run_dir) if rank == 0 else contextlib.nullcontext():
        return _train_pretext(stems, run_dir, config, vocabulary, extractor_config, stop_after=stop_after,
                              restart_on_mismatch=restart_on_mismatch, on_step=on_step)


def training_data_digest(shards: PatchShards, config: PretextConfig) -> str:
    """What a run trains on: photos, content hashes, crop positions, splits and the labels it uses."""
    columns = ["dataset", "path", "content_hash", "split", "crop", "x", "y", "shard"]
    columns += [f"{tag}_idx" for tag in config.categorical] + list(config.ordinal)
    present = [c for c in columns if c in shards.index.column_names]
    return table_digest(shards.index.select(present)) + f"/{shards.crop_size}"


def _train_pretext(stems, run_dir, config, vocabulary, extractor_config, *, stop_after, restart_on_mismatch, on_step) -> dict:
    initial = load_extractor(config.init)[0] if config.init else None
    extractor_config = initial.config if initial is not None else (extractor_config or ExtractorConfig())
    run_dir.mkdir(parents=True, exist_ok=True)
    rank, world = distributed()
    device = training_device(config.device, world)
    autocast = config.amp and device.type == "cuda"
    use_compile = config.compile if config.compile is not None else device.type == "cuda"

    n_classes = {tag: len(vocabulary["tags"][tag]["values"]) + 1 for tag in config.categorical}
    torch.manual_seed(config.seed)
    model = PretextModel(extractor_config, n_classes, config.ordinal)
    if initial is not None:
        model.extractor.load_state_dict(initial.state_dict())
        log.info("extractor initialised from %s", config.init)
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)

    loader = BatchLoader(stems, None, config)
    shards = loader.shards
    digest = training_data_digest(shards, config)
    checkpoint_path = run_dir / "checkpoint.pt"
    start = 0
    state = resumable_checkpoint(checkpoint_path, device, [
        ("config", asdict(config), "another config"),
        ("vocabulary_hash", vocabulary.get("hash"), "another vocabulary"),
        ("data_digest", digest, f"other training data (the patch shards changed: photos added, removed or replaced, or other crops; now {digest})"),
    ], restart_on_mismatch=restart_on_mismatch, rank=rank)
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        set_rng_state(state["rng"])
        start = state["step"]
        log.info("resuming from step %d", start)

    train_model = model
    if world > 1:
        train_model = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if use_compile:
        train_model = torch.compile(train_model)

    split = np.asarray(shards.index.column("split").to_pylist())
    train_rows = np.flatnonzero(split == "pretext_train")
    val_rows = np.flatnonzero(split == "pretext_val")
    if config.train_fraction < 1:
        from sdaie.train.subset import subset_mask

        rows = shards.index.take(train_rows)
        keep = subset_mask(rows.column("content_hash").to_pylist(), rows.column("model_key").to_pylist(),
                           config.train_fraction, config.seed)
        log.info("training on %.3g of the pretext_train photos: %d of %d crops", config.train_fraction,
                 int(keep.sum()), len(train_rows))
        train_rows = train_rows[keep]
    if len(train_rows) == 0:
        raise ValueError("the patch shards hold no crop of the pretext_train split")
    val_specs = evaluation_batches(val_rows, config.batch_size, config.n_patches, shards.crop_size, config.seed)
    steps = _StepSpecs(loader, train_rows, start, shards.crop_size, rank, world)
    data = torch.utils.data.DataLoader(
        steps,
        batch_size=None,
        shuffle=False,
        num_workers=config.workers,
        pin_memory=device.type == "cuda",
        persistent_workers=False,
        prefetch_factor=4 if config.workers else None,
    )

    metrics_path = run_dir / "metrics.csv"
    if rank == 0 and start:
        truncate_metrics(metrics_path, start)  # rows written after the checkpoint are written again
    new_file = not metrics_path.exists() or start == 0
    metrics_file = open(metrics_path, "w" if new_file else "a", newline="") if rank == 0 else None
    writer = csv.writer(metrics_file) if metrics_file else None
    if writer and new_file:
        writer.writerow(["step", "kind", "name", "value"])

    def checkpoint(step: int) -> None:
        if rank == 0:
            save_checkpoint(
                checkpoint_path,
                model=model.state_dict(),
                optimizer=optimizer.state_dict(),
                step=step,
                rng=rng_state(),
                config=asdict(config),
                extractor_config=asdict(extractor_config),
                vocabulary=vocabulary,
                vocabulary_hash=vocabulary.get("hash"),
                data_digest=digest,
            )
        if world > 1:
            torch.distributed.barrier()

    last_metrics: dict[str, float] = {}
    progress = None
    if config.progress and rank == 0:
        from tqdm import tqdm

        progress = tqdm(total=config.steps, initial=start, desc="pretext", unit="step", dynamic_ncols=True)
    heartbeat = ProgressLog("pretext training", config.steps, "steps", start=start, logger=log) if rank == 0 else None
    last_loss = float("nan")
    model.train()
    started = time.perf_counter()
    step = start
    for step, (patches, categorical, ordinal) in enumerate(data, start=start + 1):
        loss, parts = _compute_loss(train_model, patches, categorical, ordinal, config, device, autocast)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if on_step is not None:
            on_step(step)
        if step % config.log_every == 0 or step == config.steps:
            value = loss.item()
            if not math.isfinite(value):
                raise FloatingPointError(f"loss became {value} at step {step}")
            if writer:
                writer.writerow([step, "train", "loss", f"{value:.6g}"])
                for tag, part in parts.items():
                    writer.writerow([step, "train", f"loss/{tag}", f"{part.item():.6g}"])
            if progress:
                progress.set_postfix(loss=f"{value:.3f}")
            last_loss = value
        if progress:
            progress.update(1)
        if heartbeat:
            heartbeat.tick(step, f"{config.batch_size} images per step, loss {last_loss:.3f}")
        if (step % config.val_every == 0 or step == config.steps) and rank == 0 and val_specs:
            last_metrics = evaluate(model, loader, val_specs, config, device, autocast)
            for name, value in last_metrics.items():
                writer.writerow([step, "val", name, f"{value:.6g}"])
            log.info("step %d: %s", step, json.dumps({k: round(v, 4) for k, v in last_metrics.items()}))
        if writer:
            metrics_file.flush()
        if step % config.checkpoint_every == 0 or step == config.steps:
            checkpoint(step)
        if stop_after is not None and step >= stop_after:
            break
    if progress:
        progress.close()
    if metrics_file:
        metrics_file.close()
    done = step >= config.steps
    if done and rank == 0:
        save_checkpoint(
            run_dir / "model.pt",
            model=model.state_dict(),
            config=asdict(config),
            extractor_config=asdict(extractor_config),
            vocabulary=vocabulary,
            vocabulary_hash=vocabulary.get("hash"),
            data_digest=digest,
            step=step,
        )
        log.info("pretext training: %d steps done, %.0f s in this run", step, time.perf_counter() - started)
    return last_metrics
