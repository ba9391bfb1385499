"""Binary detector training: real photos against generated images, with feature distillation.

    for step in range(start, steps):
        batch = crops of step `step` (pure function of seed and step); per crop: augmentation (blur,
                JPEG, downscaled patches, as published) and 16 random 64x64 patches
        loss  = cross-entropy + alpha * distillation toward the frozen pretext extractor
        Adam step; validation (accuracy, ROC AUC) and checkpoints every N steps

The crops come from patch shards whose index has a `label` column (0 real, 1 generated) and a
`split` column (`binary_train`, `binary_val`). Checkpoints, resumption (tied to the config, the
crops and the teacher), the run-folder lock and the progress log work as in the pretext trainer, and
so does DDP under torchrun: each rank takes its share of every global batch.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from sdaie.detect.binary import Augmentation, BinaryDetector, augment_crop, balanced_class_weights, binary_loss, random_patches
from sdaie.patches.dataset import PatchShards, epoch_order, patches_to_float
from sdaie.model.checkpoint import load_binary, load_extractor, state_fingerprint
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


@dataclass
class BinaryConfig:
    epochs: int = 15
    batch_size: int = 100
    lr: float = 1e-3
    alpha: float = 0.05  # distillation strength
    n_patches: int = 16
    seed: int = 0
    init: str | None = None  # start student and head from this binary detector (sdaie.model.checkpoint.load_binary)
    init_from_pretext: bool = False
    augment: bool = True
    class_balance: bool = True  # weight the cross-entropy so both classes count alike
    log_every: int = 10
    val_every: int = 100
    checkpoint_every: int = 100
    device: str = "auto"
    amp: bool = True
    compile: bool | None = None
    workers: int = 2
    progress: bool = True


class BinaryBatches(torch.utils.data.Dataset):
    """Batch `i` of the run: rows from seeded per-epoch shuffles, augmentation seeded per (step, sample).

    Under DDP (world > 1) a training batch is this rank's share of the global batch (samples rank,
    rank + world, ...), each augmented exactly as in a single-process run."""

    def __init__(self, stems: list[Path], rows: np.ndarray, config: BinaryConfig, start: int, steps: int, train: bool,
                 rank: int = 0, world: int = 1):
        self.stems, self.rows, self.config, self.start, self.steps, self.train = stems, rows, config, start, steps, train
        self.rank, self.world = rank, world
        self._shards = None

    def __len__(self):
        return self.steps - self.start if self.train else math.ceil(len(self.rows) / self.config.batch_size)

    @property
    def shards(self) -> PatchShards:
        if self._shards is None:
            self._shards = PatchShards(self.stems)
            self._labels = self._shards.index.column("label").to_numpy().astype(np.int64)
        return self._shards

    def batch_rows(self, i: int) -> np.ndarray:
        b = self.config.batch_size
        if not self.train:
            return self.rows[i * b : (i + 1) * b]
        size, start, picked = len(self.rows), (self.start + i) * b, []
        while len(picked) < b:
            epoch, offset = divmod(start + len(picked), size)
            picked.extend(epoch_order(self.config.seed, epoch, size)[offset : offset + b - len(picked)].tolist())
        return self.rows[np.array(picked)]

    def __getitem__(self, i: int):
        rows = self.batch_rows(i)
        samples = np.arange(len(rows))  # index in the global batch: it seeds the sample's augmentation
        if self.train and self.world > 1:
            samples = samples[self.rank :: self.world]
            rows = rows[samples]
        crops = self.shards.crops(rows)
        step = self.start + i if self.train else -1 - i
        aug = Augmentation() if self.train and self.config.augment else None
        patches = np.empty((len(rows), self.config.n_patches, 3, 64, 64), np.uint8)
        for j, (k, crop) in enumerate(zip(samples.tolist(), crops)):
            rng = np.random.default_rng(np.random.SeedSequence([self.config.seed, 7, step + 10**9, k]))
            if aug is not None:
                crop = augment_crop(crop, rng, aug)
            patches[j] = random_patches(crop, self.config.n_patches, rng, aug)
        return torch.from_numpy(patches), torch.from_numpy(self._labels[rows])


@torch.no_grad()
def evaluate_binary(model: BinaryDetector, batches: BinaryBatches, device, autocast: bool) -> dict[str, float]:
    from sklearn.metrics import roc_auc_score

    was_training = model.training
    model.eval()
    probabilities, labels = [], []
    for i in range(len(batches)):
        patches, y = batches[i]
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=autocast):
            probabilities.append(model.probability_generated(patches_to_float(patches.to(device))).float().cpu())
        labels.append(y)
    model.train(was_training)
    p, y = torch.cat(probabilities).numpy(), torch.cat(labels).numpy()
    metrics = {"val_accuracy": float(((p > 0.5) == (y == 1)).mean())}
    if len(set(y.tolist())) == 2:
        metrics["val_auc"] = float(roc_auc_score(y, p))
    return metrics


def train_binary(
    stems: list[Path],
    run_dir: Path,
    config: BinaryConfig,
    teacher_path: Path,
    *,
    stop_after: int | None = None,
    restart_on_mismatch: bool = False,
    on_step: Callable[[int], None] | None = None,
) -> dict:
    """Train (or resume) the binary detector in `run_dir` (checkpoint.pt, model.pt, metrics.csv).

    A checkpoint of another config, other crops or another teacher is an error, or with
    `restart_on_mismatch` is set aside (checkpoint.pt.stale) and training starts afresh. Raises
    `RunLocked` while another live trainer uses `run_dir`."""
    rank, _ = distributed()
    with RunLock(run_dir) if rank == 0 else contextlib.nullcontext():
        return _train_binary(stems, run_dir, config, teacher_path, stop_after=stop_after,
                             restart_on_mismatch=restart_on_mismatch, on_step=on_step)


def _train_binary(stems, run_dir, config, teacher_path, *, stop_after, restart_on_mismatch, on_step) -> dict:
    run_dir.mkdir(parents=True, exist_ok=True)
    rank, world = distributed()
    device = training_device(config.device, world)
    autocast = config.amp and device.type == "cuda"

    teacher, extractor_config, teacher_state = load_extractor(teacher_path)
    teacher = teacher.to(device)
    torch.manual_seed(config.seed)
    model = BinaryDetector(extractor_config)
    if config.init:
        initial, _ = load_binary(config.init)
        model.load_state_dict(initial.state_dict())
        log.info("binary detector initialised from %s", config.init)
    elif config.init_from_pretext:
        model.extractor.load_state_dict(teacher.state_dict())
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)

    shards = PatchShards(stems)
    split = np.asarray(shards.index.column("split").to_pylist())
    train_rows, val_rows = np.flatnonzero(split == "binary_train"), np.flatnonzero(split == "binary_val")
    if len(train_rows) == 0:
        raise ValueError("the binary shards hold no crop of the binary_train split")
    steps = config.epochs * math.ceil(len(train_rows) / config.batch_size)
    class_weights = None
    if config.class_balance:
        labels = shards.index.column("label").to_numpy().astype(np.int64)[train_rows]
        class_weights = balanced_class_weights(labels).to(device)

    columns = [c for c in ("dataset", "path", "content_hash", "split", "label", "crop") if c in shards.index.column_names]
    digest = f"{table_digest(shards.index.select(columns))}/{shards.crop_size}/teacher {state_fingerprint(teacher.state_dict())}"
    checkpoint_path, start = run_dir / "checkpoint.pt", 0
    state = resumable_checkpoint(checkpoint_path, device, [
        ("config", asdict(config), "another config"),
        ("data_digest", digest, f"other training data or another teacher (now {digest})"),
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
    if config.compile if config.compile is not None else device.type == "cuda":
        train_model = torch.compile(train_model)

    data = torch.utils.data.DataLoader(
        BinaryBatches(stems, train_rows, config, start, steps, train=True, rank=rank, world=world),
        batch_size=None, num_workers=config.workers, pin_memory=device.type == "cuda",
        prefetch_factor=4 if config.workers else None,
    )
    val_batches = BinaryBatches(stems, val_rows, config, 0, 0, train=False)
    if rank == 0 and start:
        truncate_metrics(run_dir / "metrics.csv", start)  # rows written after the checkpoint are written again
    metrics_file = open(run_dir / "metrics.csv", "a" if start else "w", newline="") if rank == 0 else None
    writer = csv.writer(metrics_file) if metrics_file else None
    if writer and not start:
        writer.writerow(["step", "kind", "name", "value"])
    progress = None
    if config.progress and rank == 0:
        from tqdm import tqdm

        progress = tqdm(total=steps, initial=start, desc="binary", unit="step", dynamic_ncols=True)

    def checkpoint(step: int) -> None:
        if rank == 0:
            save_checkpoint(checkpoint_path, model=model.state_dict(), optimizer=optimizer.state_dict(), step=step,
                            rng=rng_state(), config=asdict(config), data_digest=digest)
        if world > 1:
            torch.distributed.barrier()

    metrics: dict[str, float] = {}
    heartbeat = ProgressLog("binary training", steps, "steps", start=start, logger=log) if rank == 0 else None
    started, step = time.perf_counter(), start
    model.train()
    for step, (patches, labels) in enumerate(data, start=start + 1):
        x = patches_to_float(patches.to(device, non_blocking=True))
        labels = labels.to(device, non_blocking=True)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=autocast):
            logits, student = train_model(x)
            with torch.no_grad():
                teacher_out = teacher(x) if config.alpha > 0 else None
        loss, ce, distill = binary_loss(logits, labels, student, teacher_out, config.alpha, class_weights)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if on_step is not None:
            on_step(step)
        if writer and (step % config.log_every == 0 or step == steps):
            if not math.isfinite(loss.item()):
                raise FloatingPointError(f"loss became {loss.item()} at step {step}")
            for name, value in (("loss", loss), ("ce", ce), ("distill", distill)):
                writer.writerow([step, "train", name, f"{value.item():.6g}"])
        if progress:
            progress.update(1)
        if heartbeat:
            heartbeat.tick(step, f"{config.batch_size} images per step")
        if rank == 0 and len(val_rows) and (step % config.val_every == 0 or step == steps):
            metrics = evaluate_binary(model, val_batches, device, autocast)
            for name, value in metrics.items():
                writer.writerow([step, "val", name, f"{value:.6g}"])
            metrics_file.flush()
        if step % config.checkpoint_every == 0 or step == steps:
            checkpoint(step)
        if stop_after is not None and step >= stop_after:
            break
    if progress:
        progress.close()
    if metrics_file:
        metrics_file.close()
    if step >= steps and rank == 0:
        save_checkpoint(run_dir / "model.pt", model=model.state_dict(), config=asdict(config),
                        extractor_config=asdict(extractor_config), teacher=str(teacher_path),
                        vocabulary_hash=teacher_state.get("vocabulary_hash"), data_digest=digest, step=step)
        log.info("binary training: %d steps done, %.0f s in this run", step, time.perf_counter() - started)
    return metrics
