"""SIGTERM and SIGINT sent to Snakemake alone (as `kill PID`, a scheduler or a time limit does) end its
running training job within seconds, and leave nothing that stops the next run: no Snakemake lock, no
trainer lock held, and the rerun resumes training from its last checkpoint and finishes."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
import yaml
from test_workflow import SNAKEMAKE
from tiny_pipeline import tiny_config

from sdaie.train.common import RunLock, load_checkpoint

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
STEPS = 60  # enough that training is still running when the signal comes (it comes at step 2 or 6)


def start(workdir: Path) -> subprocess.Popen:
    command = [*SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir), "--cores", "2",
               "results/models/pretext.pt"]
    log = open(workdir / f"snakemake-{time.monotonic_ns()}.log", "w")
    # its own session: the signal reaches Snakemake only, not its children (unlike a terminal's Ctrl-C)
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def trainers(workdir: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if str(workdir) in cmdline and "pretext_train" in cmdline:
            found.append(process)
    return found


def wait_for_checkpoint(workdir: Path, past: int, process: subprocess.Popen) -> int:
    checkpoint = workdir / "results" / "pretext" / "run" / "checkpoint.pt"
    deadline = time.time() + 600
    while time.time() < deadline:
        assert process.poll() is None, "Snakemake ended before training reached its checkpoint"
        if checkpoint.exists():
            try:
                step = load_checkpoint(checkpoint)["step"]
            except Exception:  # being replaced right now
                step = 0
            if step > past:
                return step
        time.sleep(0.2)
    raise AssertionError("no checkpoint in time")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("signals")
    config = tiny_config(
        datasets={name: spec for name, spec in tiny_config()["datasets"].items() if name != "my_photos"},
        tags={"datasets": ["demo_photos"], "min_count": 1,
              "split": {"fractions": {"pretext_train": 0.5, "pretext_val": 0.1, "oneclass_fit": 0.3, "test": 0.1}}},
    )
    config["pretext"].update(steps=STEPS, checkpoint_every=2, val_every=1000)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    return workdir


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_to_snakemake_ends_training_within_seconds(workdir, signum):
    snakemake = start(workdir)
    reached = wait_for_checkpoint(workdir, 0 if signum == signal.SIGTERM else 4, snakemake)
    assert trainers(workdir), "the training job should be running"
    sent = time.monotonic()
    os.kill(snakemake.pid, signum)
    snakemake.wait(timeout=60)
    _, alive = psutil.wait_procs(trainers(workdir), timeout=15)
    assert not alive, f"training still running {time.monotonic() - sent:.0f} s after {signum.name}"
    assert time.monotonic() - sent < 30
    assert snakemake.returncode != 0
    assert not any((workdir / ".snakemake" / "locks").glob("*"))  # Snakemake released its lock
    with RunLock(workdir / "results" / "pretext" / "run"):  # and nobody holds the trainer's
        pass
    assert not (workdir / "results" / "pretext" / "model.pt").exists()
    assert load_checkpoint(workdir / "results" / "pretext" / "run" / "checkpoint.pt")["step"] >= reached


def test_the_next_run_resumes_and_finishes(workdir):
    snakemake = start(workdir)
    assert snakemake.wait(timeout=900) == 0
    log = (workdir / "results" / "logs" / "pretext_train.log").read_text()
    assert "resuming from step" in log
    assert load_checkpoint(workdir / "results" / "pretext" / "model.pt")["step"] == STEPS
