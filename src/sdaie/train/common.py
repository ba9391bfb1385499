"""Pieces both trainers share: device choice, RNG state, atomic checkpoints, torchrun detection."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch


def pick_device(name: str) -> torch.device:
    """'auto' (CUDA when there is a GPU), 'cpu' or 'cuda' (an error without a GPU)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was asked for but no CUDA GPU is available")
    return torch.device(name)


def rng_state() -> dict:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: Path, **payload) -> None:
    """Write atomically: a kill during the write leaves the previous checkpoint intact."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path, map_location="cpu") -> dict:
    return torch.load(path, map_location=map_location, weights_only=False)


def distributed() -> tuple[int, int]:
    """(rank, world size); initialises the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        torch.distributed.init_process_group(backend)
    rank = torch.distributed.get_rank() if world > 1 else 0
    return rank, world


# ----------------------------------------------------------------------------------- run folders
class RunLocked(RuntimeError):
    """Another live trainer holds the run folder."""


class RunLock:
    """Exclusive use of a run folder by one trainer process, for as long as it trains.

    The lock is an OS file lock (flock) on `<run_dir>/lock`, which the kernel drops when its process
    dies however it dies (SIGKILL included); the file also records the owner (pid, host, start) for
    the messages. A second trainer on the same folder is refused with the owner named; a lock file left
    by a dead process is taken over, and the log says so."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / "lock"
        self._handle = None

    def __enter__(self) -> "RunLock":
        import fcntl
        import json
        import logging
        import socket
        import time

        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            owner = handle.read().strip() or "{}"
            handle.close()
            try:
                who = json.loads(owner)
            except ValueError:
                who = {}
            raise RunLocked(
                f"{self.path.parent} is in use by a live trainer (pid {who.get('pid', '?')} on {who.get('host', '?')}, "
                f"started {who.get('started', '?')}): wait for it, or end that process, then run again"
            ) from None
        handle.seek(0)
        previous = handle.read().strip()
        if previous:
            logging.getLogger(__name__).warning("%s: taking over the lock of a trainer that is gone (%s)", self.path, previous)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                 "started": time.strftime("%Y-%m-%d %H:%M:%S")}))
        handle.flush()
        self._handle = handle
        return self

    def __exit__(self, *exc) -> None:
        import fcntl

        if self._handle is not None:
            self._handle.seek(0)
            self._handle.truncate()  # an empty lock file: released cleanly
            self._handle.flush()
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def table_digest(table) -> str:
    """SHA-256 (first 16 hex digits) of a pyarrow table's columns in their order: what a run trained on."""
    import hashlib

    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table.combine_chunks())
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()[:16]


def truncate_metrics(path: Path, step: int) -> None:
    """Keep the rows of a metrics CSV (step, kind, name, value) up to `step`: a resumed run rewrites the rest."""
    import csv

    if not path.exists():
        return
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        return
    kept = [rows[0]] + [row for row in rows[1:] if row and int(row[0]) <= step]
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as handle:
        csv.writer(handle).writerows(kept)
    os.replace(tmp, path)


def training_device(name: str, world: int) -> torch.device:
    """The device a trainer uses ('auto', 'cpu' or 'cuda'): on CUDA the rank's GPU, made current, with TF32."""
    device = pick_device(name)
    if device.type == "cuda":
        # an explicit index: set_device refuses a bare "cuda"
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")) if world > 1 else torch.cuda.current_device())
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    return device


def resumable_checkpoint(path: Path, device: torch.device, expected: list[tuple[str, object, str]], *,
                         restart_on_mismatch: bool, rank: int) -> dict | None:
    """The checkpoint at `path` to resume from, or None to start afresh.

    `expected` lists (key, value, what a mismatch means): a checkpoint whose recorded value of a key
    differs was written for another run; it is an error (RuntimeError naming why), or with
    `restart_on_mismatch` set aside as checkpoint.pt.stale with a warning saying why."""
    import logging

    if not path.exists():
        return None
    state = load_checkpoint(path, map_location=device)
    reason = next((why for key, value, why in expected if state.get(key) != value), None)
    if reason is None:
        return state
    if not restart_on_mismatch:
        raise RuntimeError(f"{path} was written with {reason}; remove it to start afresh")
    logging.getLogger(__name__).warning("%s was written with %s: starting afresh", path, reason)
    if rank == 0:
        os.replace(path, path.with_name("checkpoint.pt.stale"))
    return None
