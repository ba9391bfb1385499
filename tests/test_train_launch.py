"""The training launcher: in-process for 0 or 1 GPU, torchrun (DDP) over several.

Without a GPU, torchrun's ranks run on the CPU with the gloo backend, which exercises the same path
a multi-GPU SLURM job takes (the rules call `launch(spec, gpus)` with the config's GPU count).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import torch
from PIL import Image

from sdaie.detect.binary import BinaryDetector
from sdaie.model.backbone import ExtractorConfig, SDAIEExtractor
from sdaie.patches.cut import cut_photos
from sdaie.train.common import load_checkpoint
from sdaie.train.launch import launch

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def binary_inputs(tmp_path_factory) -> tuple[Path, Path]:
    """A binary crop shard (real noisy photos against smooth 'generated' images) and a teacher model.pt."""
    root = tmp_path_factory.mktemp("binary")
    rng = np.random.default_rng(0)
    images = root / "images"
    images.mkdir()
    rows = []
    for i in range(24):
        label = i % 2
        base = rng.uniform(60, 190) + np.zeros((160, 160, 3))
        noise = rng.normal(0, 2 if label else 12, base.shape)
        Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8)).save(images / f"{i}.png")
        split = "binary_val" if i >= 20 else "binary_train"
        rows.append({"dataset": "synthetic", "path": f"{i}.png", "content_hash": f"h{i}", "label": label, "split": split})
    table = pa.Table.from_pylist(rows, pa.schema([("dataset", pa.string()), ("path", pa.string()),
                                                  ("content_hash", pa.string()), ("label", pa.int8()),
                                                  ("split", pa.string())]))
    stem = root / "crops"
    cut_photos(table, {"synthetic": images}, stem, crop=128, crops_per_photo=1)
    torch.manual_seed(0)
    config = ExtractorConfig()
    extractor = SDAIEExtractor(config)
    teacher = root / "pretext.pt"
    torch.save({"extractor_config": asdict(config), "model": {f"extractor.{k}": v for k, v in extractor.state_dict().items()}},
               teacher)
    return stem, teacher


def binary_spec(root: Path, stem: Path, teacher: Path) -> dict:
    root.mkdir()
    options = {"epochs": 1, "batch_size": 8, "n_patches": 2, "lr": 1e-3, "log_every": 1, "val_every": 2,
               "checkpoint_every": 2, "workers": 0, "device": "cpu", "progress": False, "gpus": 2,
               "generated": ["ignored"]}  # keys that are not trainer settings are dropped
    return {"trainer": "binary", "stems": [str(stem)], "run_dir": str(root / "run"), "config": options,
            "teacher": str(teacher), "model": str(root / "binary.pt"), "metrics": str(root / "metrics.csv")}


def test_binary_training_over_two_ranks_matches_one_process(binary_inputs, tmp_path):
    stem, teacher = binary_inputs
    single = binary_spec(tmp_path / "single", stem, teacher)
    metrics = launch(single, gpus=1)
    assert set(metrics) == {"val_accuracy", "val_auc"}

    ddp = binary_spec(tmp_path / "ddp", stem, teacher)
    assert launch(ddp, gpus=2) is None  # torchrun, two ranks on the CPU (gloo)
    assert (tmp_path / "ddp" / "run" / "spec.json").exists()

    # Each rank took half of every batch of 8 (LayerNorm only: no cross-sample statistics), so the
    # averaged gradients equal the single process's up to float rounding. Adam turns rounding noise
    # in near-zero gradients into steps of up to lr, so the weights are compared as a whole: the two
    # runs' difference is tiny next to how far training moved them (half batches: about as far).
    a, b = (load_checkpoint(Path(spec["model"])) for spec in (single, ddp))
    assert a["step"] == b["step"] == 3  # 20 training crops, batches of 8, one epoch
    assert a["model"].keys() == b["model"].keys()
    torch.manual_seed(0)  # the trainer's seed: the initial weights
    initial = BinaryDetector(ExtractorConfig()).state_dict()
    flat = lambda state: torch.cat([state[k].flatten().float() for k in sorted(state)])  # noqa: E731
    moved = (flat(a["model"]) - flat(initial)).norm()
    assert moved > 0.1
    assert (flat(a["model"]) - flat(b["model"])).norm() < 0.02 * moved
    lines = Path(ddp["metrics"]).read_text().splitlines()
    assert lines[0] == "step,kind,name,value" and any(",val,val_auc," in line for line in lines)


def test_compile_cache_keeps_torch_compile_kernels_in_the_given_folder(tmp_path):
    """A compiled function's kernels land in the folder (and a second process finds them there)."""
    cache = tmp_path / "compile_cache"
    script = ("import torch; from sdaie.train.launch import keep_compile_cache; "
              f"keep_compile_cache({str(cache)!r}); "
              "f = torch.compile(lambda x: torch.sin(x) * 2 + 1); print(float(f(torch.ones(8)).sum()))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TORCHINDUCTOR")}
    env["PYTHONPATH"] = str(REPO / "src")
    first = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600)
    assert first.returncode == 0, first.stderr[-2000:]
    cached = {p.relative_to(cache) for p in cache.rglob("*") if p.is_file()}
    assert any("fxgraph" in str(p) for p in cached), sorted(map(str, cached))[:20]
    second = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600)
    assert second.returncode == 0 and second.stdout == first.stdout
