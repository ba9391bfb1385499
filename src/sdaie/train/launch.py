"""Start a training run from a JSON spec, in this process or under torchrun for several GPUs.

    python -m sdaie.train.launch spec.json

The spec holds: trainer ("pretext", the default, or "binary"), stems (patch shard stems), run_dir,
config (PretextConfig or BinaryConfig fields), model and metrics (where to copy the final model and
the metrics CSV), and vocabulary (path of vocabulary.json; pretext) or teacher (path of the pretext
model.pt; binary). With compile_cache (a folder), torch.compile keeps its compiled kernels there
(TORCHINDUCTOR_CACHE_DIR, inherited by torchrun's ranks): a resumed or repeated job, on any node that
sees the folder, loads them instead of compiling again. A TORCHINDUCTOR_CACHE_DIR already set wins.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

from sdaie.train.pretext import PretextConfig, train_pretext

log = logging.getLogger(__name__)


def pretext_config(values: dict) -> PretextConfig:
    """PretextConfig from a config section, ignoring keys that are not trainer settings (gpus)."""
    names = {f.name for f in fields(PretextConfig)}
    return PretextConfig(**{k: v for k, v in values.items() if k in names})


def binary_config(values: dict):
    """BinaryConfig from a config section, ignoring keys that are not trainer settings (gpus, generated...)."""
    from sdaie.train.binary import BinaryConfig

    names = {f.name for f in fields(BinaryConfig)}
    return BinaryConfig(**{k: v for k, v in values.items() if k in names})


def keep_compile_cache(folder: str | Path | None) -> None:
    """Point torch.compile's caches (Inductor's FX graph and AOTAutograd caches) at `folder`."""
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(Path(folder).resolve()))
        os.environ.setdefault("TORCHINDUCTOR_FX_GRAPH_CACHE", "1")
        os.environ.setdefault("TORCHINDUCTOR_AUTOGRAD_CACHE", "1")


def run_spec(spec: dict) -> dict:
    keep_compile_cache(spec.get("compile_cache"))
    stems, run_dir = [Path(s) for s in spec["stems"]], Path(spec["run_dir"])
    if spec.get("trainer", "pretext") == "binary":
        from sdaie.train.binary import train_binary

        metrics = train_binary(stems, run_dir, binary_config(spec["config"]), Path(spec["teacher"]), restart_on_mismatch=True)
    else:
        vocabulary = json.loads(Path(spec["vocabulary"]).read_text())
        metrics = train_pretext(stems, run_dir, pretext_config(spec["config"]), vocabulary, restart_on_mismatch=True)
    if int(os.environ.get("RANK", "0")) == 0:
        run_dir = Path(spec["run_dir"])
        shutil.copyfile(run_dir / "model.pt", spec["model"])
        shutil.copyfile(run_dir / "metrics.csv", spec["metrics"])
    return metrics


def launch(spec: dict, gpus: int) -> dict | None:
    """Train in-process (returns the last validation metrics), or with torchrun over `gpus` GPUs when
    there is more than one (returns None: the metrics are in the metrics CSV)."""
    if gpus <= 1:
        return run_spec(spec)
    keep_compile_cache(spec.get("compile_cache"))
    spec_path = Path(spec["run_dir"]) / "spec.json"
    spec_path.parent.mkdir(parents=True, exist_ok=True)
    spec_path.write_text(json.dumps(spec))
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={gpus}",
               "-m", "sdaie.train.launch", str(spec_path)]
    log.info("launching %s", " ".join(command))
    subprocess.run(command, check=True)
    return None


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_spec(json.loads(Path(sys.argv[1]).read_text()))
