"""The pretext trainer on small synthetic shards: it learns, it resumes identically after a kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import torch

from sdaie.model.backbone import ExtractorConfig
from sdaie.patches.cut import cut_photos
from sdaie.train.common import RunLocked, load_checkpoint
from sdaie.train.pretext import PretextConfig, train_pretext

REPO = Path(__file__).resolve().parents[1]
SMALL = ExtractorConfig()  # the published architecture; it is small enough for CPU tests


def synthetic_shards(root: Path, n: int = 48, first_photo_seed: int | None = None) -> tuple[list[Path], dict]:
    """Two 'cameras', one of them with a 2x2 colour-filter-like gain pattern; ISO sets the noise level.

    `first_photo_seed` replaces photo 0 by another (new pixels, new content hash), all else equal."""
    from PIL import Image

    rng = np.random.default_rng(0)
    images = root / "images"
    images.mkdir(parents=True)
    names, makes, isos, splits = [], [], [], []
    for i in range(n):
        camera = i % 2
        iso = float(100 * 2 ** rng.integers(0, 4))
        base = rng.uniform(60, 190) + np.zeros((256, 256, 3))
        sigma = iso / 40
        noise = rng.normal(0, sigma, (256, 256, 3))
        if camera == 1:
            noise[0::2, 1::2, 1] += 6.0  # a fixed periodic pattern, as a CFA gain mismatch leaves
            noise[1::2, 0::2, 1] -= 6.0
        if i == 0 and first_photo_seed is not None:
            noise = np.random.default_rng(first_photo_seed).normal(0, sigma, (256, 256, 3))
        Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8)).save(images / f"{i}.png")
        names.append(f"{i}.png")
        makes.append(camera)
        isos.append(iso)
        splits.append("pretext_val" if i % 8 >= 6 else "pretext_train")
    table = pa.table(
        {
            "dataset": ["synthetic"] * n,
            "path": names,
            "content_hash": [f"h{i}" if i or first_photo_seed is None else f"h0-{first_photo_seed}" for i in range(n)],
            "split": splits,
            "make_idx": pa.array(makes, pa.int32()),
            "iso": pa.array(isos, pa.float64()),
        }
    )
    stem = root / "shards" / "shard_0"
    cut_photos(table, {"synthetic": images}, stem, crops_per_photo=1)
    vocabulary = {"tags": {"make": {"values": ["A", "B"]}}, "hash": "test-vocab"}
    return [stem], vocabulary


def config(**overrides) -> PretextConfig:
    base = dict(
        steps=40, batch_size=8, lr=1e-4, n_patches=2, categorical=["make"], ordinal=["iso"],
        log_every=1, val_every=20, checkpoint_every=20, workers=0, progress=False, device="cpu",
    )
    return PretextConfig(**{**base, **overrides})


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    return synthetic_shards(tmp_path_factory.mktemp("synthetic"))


def read_metrics(path: Path) -> list[dict]:
    import csv

    with open(path) as f:
        return list(csv.DictReader(f))


def test_training_lowers_the_loss_and_learns_the_camera(shards, tmp_path):
    stems, vocabulary = shards
    metrics = train_pretext(stems, tmp_path / "run", config(), vocabulary, SMALL)
    rows = read_metrics(tmp_path / "run" / "metrics.csv")
    losses = [float(r["value"]) for r in rows if r["kind"] == "train" and r["name"] == "loss"]
    assert np.mean(losses[-8:]) < 0.6 * np.mean(losses[:8]), losses
    assert metrics["acc/make"] >= 0.9, metrics  # chance is 0.5
    assert metrics["rank_acc/iso"] > 0.7, metrics
    final = load_checkpoint(tmp_path / "run" / "model.pt")
    assert final["step"] == 40 and final["vocabulary_hash"] == "test-vocab"


def test_resume_after_a_kill_gives_the_same_weights(shards, tmp_path):
    stems, vocabulary = shards
    cfg = config(steps=12, checkpoint_every=2, val_every=100)
    train_pretext(stems, tmp_path / "straight", cfg, vocabulary, SMALL)

    run = tmp_path / "killed"
    script = (
        "import sys; from pathlib import Path; from sdaie.train.pretext import PretextConfig, train_pretext;"
        "from sdaie.model.backbone import ExtractorConfig;"
        f"train_pretext([Path(p) for p in {[str(s) for s in stems]!r}], Path({str(run)!r}), "
        f"PretextConfig(**{asdict(cfg)!r}), {vocabulary!r}, ExtractorConfig())"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    process = subprocess.Popen([sys.executable, "-c", script], env=env)
    deadline = time.time() + 120
    while time.time() < deadline:
        checkpoint = run / "checkpoint.pt"
        if checkpoint.exists() and load_checkpoint(checkpoint)["step"] >= 6:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = load_checkpoint(run / "checkpoint.pt")["step"]
    assert 6 <= killed_at < 12 and not (run / "model.pt").exists()

    assert '"pid"' in (run / "lock").read_text()  # the dead trainer's lock file is still there

    train_pretext(stems, run, cfg, vocabulary, SMALL)
    a = load_checkpoint(tmp_path / "straight" / "model.pt")["model"]
    b = load_checkpoint(run / "model.pt")["model"]
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    # the curve has each step once, as the uninterrupted run's does (rows after the checkpoint were cut)
    straight = [(r["step"], r["kind"], r["name"]) for r in read_metrics(tmp_path / "straight" / "metrics.csv")]
    resumed = [(r["step"], r["kind"], r["name"]) for r in read_metrics(run / "metrics.csv")]
    assert resumed == straight
    assert (tmp_path / "straight" / "model.pt").read_bytes() == (run / "model.pt").read_bytes()  # same bytes
    assert (run / "lock").read_text() == ""  # released


def test_a_finished_model_is_not_reused_after_the_training_data_changed(shards, tmp_path, caplog):
    """Same config and vocabulary, other patch shards (a photo replaced, other crops): trained afresh."""
    stems, vocabulary = shards
    cfg = config(steps=3, val_every=100, checkpoint_every=100)
    train_pretext(stems, tmp_path / "run", cfg, vocabulary, SMALL, restart_on_mismatch=True)
    first = load_checkpoint(tmp_path / "run" / "model.pt")["model"]

    changed = tmp_path / "changed"
    changed.mkdir()
    other = synthetic_shards(changed, n=48, first_photo_seed=99)[0]  # photo 0 replaced by another one
    train_pretext(other, tmp_path / "fresh", cfg, vocabulary, SMALL)
    with caplog.at_level("WARNING"):
        train_pretext(other, tmp_path / "run", cfg, vocabulary, SMALL, restart_on_mismatch=True)
    assert "other training data" in caplog.text and "starting afresh" in caplog.text
    rerun = load_checkpoint(tmp_path / "run" / "model.pt")["model"]
    fresh = load_checkpoint(tmp_path / "fresh" / "model.pt")["model"]
    assert all(torch.equal(rerun[k], fresh[k]) for k in rerun)
    assert not all(torch.equal(rerun[k], first[k]) for k in rerun)
    with pytest.raises(RuntimeError, match="other training data"):  # without restart_on_mismatch: an error
        train_pretext(stems, tmp_path / "run", cfg, vocabulary, SMALL)


def test_a_second_trainer_on_a_live_run_folder_is_refused(shards, tmp_path):
    stems, vocabulary = shards
    run = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from sdaie.train.common import RunLock\n"
         f"with RunLock(Path({str(run)!r})):\n    print('locked', flush=True); time.sleep(120)"],
        env={**os.environ, "PYTHONPATH": str(REPO / "src")}, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunLocked, match=f"pid {holder.pid} on"):
            train_pretext(stems, run, config(steps=1), vocabulary, SMALL)
    finally:
        holder.kill()
        holder.wait()
    train_pretext(stems, run, config(steps=1, val_every=100), vocabulary, SMALL)  # the dead holder's lock is taken over
    assert (run / "model.pt").exists()


def test_resume_refuses_a_different_config(shards, tmp_path):
    stems, vocabulary = shards
    train_pretext(stems, tmp_path / "r", config(steps=2, checkpoint_every=1), vocabulary, SMALL, stop_after=1)
    with pytest.raises(RuntimeError, match="another config"):
        train_pretext(stems, tmp_path / "r", config(steps=2, checkpoint_every=1, lr=0.5), vocabulary, SMALL)


def test_loader_workers_do_not_change_the_batches(shards, tmp_path):
    stems, vocabulary = shards
    cfg = config(steps=3, val_every=100, checkpoint_every=100)
    train_pretext(stems, tmp_path / "w0", cfg, vocabulary, SMALL)
    train_pretext(stems, tmp_path / "w2", config(steps=3, val_every=100, checkpoint_every=100, workers=2), vocabulary, SMALL)
    a = load_checkpoint(tmp_path / "w0" / "model.pt")["model"]
    b = load_checkpoint(tmp_path / "w2" / "model.pt")["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
