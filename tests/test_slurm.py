"""The pipeline under `snakemake --profile slurm` on a real one-node SLURM cluster started here.

The fixture starts munged, slurmctld and slurmd as the current user (root or not) with a generated
slurm.conf and munge key in a temporary folder: no accounting database, no cgroups, the machine's
real CPUs and a little less than its memory. The data half of a tiny pipeline and its pretext
training then run once locally and once through SLURM, and the outputs are compared.

CI installs SLURM (scripts/setup_slurm.sh); without it this test fails, it does not skip.
"""

from __future__ import annotations

import getpass
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
import torch
import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "scontrol", "sinfo", "scancel", "srun")

pytestmark = pytest.mark.slow


def find_program(name: str) -> str | None:
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/sbin"])
    return shutil.which(name, path=path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_hardware(slurmd: str) -> dict[str, int]:
    """CPU topology and memory (MB) of this machine as `slurmd -C` reports them."""
    out = subprocess.run([slurmd, "-C"], capture_output=True, text=True, check=True, timeout=60).stdout
    fields = dict(re.findall(r"(\w+)=(\d+)", out.splitlines()[0]))
    keys = ("CPUs", "Boards", "SocketsPerBoard", "CoresPerSocket", "ThreadsPerCore", "RealMemory")
    return {k: int(fields[k]) for k in keys if k in fields}


class Cluster:
    """munged + slurmctld + slurmd on this machine, everything under `root`."""

    def __init__(self, root: Path, programs: dict[str, str]):
        self.root, self.programs, self.processes = root, programs, {}
        self.user = getpass.getuser()
        self.host = socket.gethostname().split(".")[0]  # slurmctld must run on the host it is configured for
        self.node = "sdaie-node"
        self.conf = root / "slurm.conf"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        for name in ("SLURM_JOB_ID", "SLURM_JOBID", "SBATCH_ACCOUNT", "SBATCH_PARTITION"):
            self.env.pop(name, None)

    def write_files(self) -> None:
        munge = self.root / "munge"
        munge.mkdir(mode=0o700)
        key = munge / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        self.munge_socket = munge / "munge.socket"
        for sub in ("state", "spool", "log"):
            (self.root / sub).mkdir(mode=0o700)
        (self.root / "plugstack.conf").write_text("")
        # The jobstep plugin runs each job under `srun` with every SLURM_* variable removed, SLURM_CONF
        # too (snakemake-executor-plugin-slurm issue #164); a cluster keeps its slurm.conf where srun
        # finds it without one, this one does not: an `srun` first on PATH puts it back.
        bin_dir = self.root / "bin"
        bin_dir.mkdir()
        (bin_dir / "srun").write_text(f'#!/bin/sh\nSLURM_CONF="{self.conf}" exec "{self.programs["srun"]}" "$@"\n')
        (bin_dir / "srun").chmod(0o755)
        self.env["PATH"] = f"{bin_dir}{os.pathsep}{self.env.get('PATH', '')}"
        hardware = node_hardware(self.programs["slurmd"])
        memory = int(hardware.pop("RealMemory") * 0.9)  # slightly below what slurmd -C reports
        self.memory_mb = memory
        topology = " ".join(f"{k}={v}" for k, v in hardware.items())
        log = self.root / "log"
        self.conf.write_text(
            f"""ClusterName=sdaietest
SlurmctldHost={self.host}(127.0.0.1)
SlurmUser={self.user}
SlurmdUser={self.user}
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.munge_socket}
StateSaveLocation={self.root / 'state'}
SlurmdSpoolDir={self.root / 'spool'}
SlurmctldPidFile={self.root / 'slurmctld.pid'}
SlurmdPidFile={self.root / 'slurmd.pid'}
SlurmctldLogFile={log / 'slurmctld.log'}
SlurmdLogFile={log / 'slurmd.log'}
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig={self.root / 'plugstack.conf'}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
MailProg=/bin/true
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=300
KillWait=5
InactiveLimit=0
NodeName={self.node} NodeAddr=127.0.0.1 {topology} RealMemory={memory} State=UNKNOWN
PartitionName=main Nodes={self.node} Default=YES MaxTime=INFINITE State=UP
"""
        )

    def start(self) -> None:
        self.write_files()
        munge = self.root / "munge"
        self.spawn(
            "munged",
            ["--foreground", "--force", f"--key-file={munge / 'munge.key'}", f"--socket={self.munge_socket}",
             f"--pid-file={munge / 'munged.pid'}", f"--log-file={munge / 'munged.log'}",
             f"--seed-file={munge / 'munged.seed'}"],
        )
        self.wait_for(lambda: self.munge_socket.exists(), "munged to open its socket")
        self.spawn("slurmctld", ["-D", "-c", "-f", str(self.conf)])
        self.wait_for(lambda: self.client("scontrol", "ping").returncode == 0 and "UP" in self.client("scontrol", "ping").stdout,
                      "slurmctld to answer")
        self.spawn("slurmd", ["-D", "-N", self.node, "-f", str(self.conf)])
        self.wait_for(lambda: self.client("sinfo", "-h", "-N", "-o", "%T").stdout.strip() == "idle", "the node to be idle")

    def spawn(self, name: str, args: list[str]) -> None:
        out = open(self.root / "log" / f"{name}.out", "w")
        self.processes[name] = subprocess.Popen([self.programs[name], *args], stdout=out, stderr=subprocess.STDOUT,
                                                env=self.env, start_new_session=True)

    def client(self, name: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([self.programs[name], *args], capture_output=True, text=True, env=self.env, timeout=30)

    def wait_for(self, ready, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited ({process.returncode}) while waiting for {what}\n{self.logs()}")
            try:
                if ready():
                    return
            except (subprocess.SubprocessError, OSError):
                pass
            time.sleep(0.3)
        raise RuntimeError(f"timed out waiting for {what}\n{self.logs()}")

    def logs(self) -> str:
        parts = []
        for path in sorted((self.root / "log").glob("*")) + [self.root / "munge" / "munged.log"]:
            if path.exists():
                parts.append(f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-30:]))
        return "\n".join(parts)

    def stop(self) -> None:
        """Cancel leftover jobs, then stop the daemons this fixture started, by pid, newest first."""
        if "slurmctld" in self.processes and self.processes["slurmctld"].poll() is None:
            try:
                self.client("scancel", "--user", self.user)
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline and self.client("squeue", "-h").stdout.strip():
                    time.sleep(0.5)
            except (subprocess.SubprocessError, OSError):
                pass
        for name in reversed(list(self.processes)):
            process = self.processes[name]
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=15)
        # Whatever outlived them (a job step whose slurmstepd lost its slurmd, a job's children): every
        # process of this cluster has its slurm.conf in its environment; none of the test's own has.
        for pid in self.leftover_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def leftover_pids(self) -> list[int]:
        marker = f"SLURM_CONF={self.conf}".encode()
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and int(entry.name) != os.getpid():
                try:
                    if marker in (entry / "environ").read_bytes().split(b"\0"):
                        pids.append(int(entry.name))
                except OSError:  # gone, or another user's
                    pass
        return pids


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Cluster:
    programs = {name: find_program(name) for name in DAEMONS + CLIENTS}
    missing = sorted(name for name, path in programs.items() if path is None)
    if missing:
        pytest.fail(
            f"SLURM is not installed (missing: {', '.join(missing)}); run `bash scripts/setup_slurm.sh` "
            "(Debian's slurm-wlm and munge) to run this test",
            pytrace=False,
        )
    cluster = Cluster(tmp_path_factory.mktemp("slurm"), programs)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
    assert all(process.poll() is not None for process in cluster.processes.values())
    assert not cluster.leftover_pids(), "processes of the test cluster outlived it"


TINY = {
    "results": "results",
    "datasets": {
        "demo_photos": {"path": "results/demo/photos", "kind": "photo"},
        "demo_standin_upconv": {"path": "results/demo/generated/standin_upconv", "kind": "generated", "generator": "standin-upconv"},
    },
    "demo": {"output": "results/demo", "seed": 3, "cameras": 4, "photos_per_camera": 3, "generated_per_set": 4, "width": 256, "height": 256},
    "exif": {"shards": 2, "batch_size": 4, "threads": 1},
    "tags": {
        "datasets": ["demo_photos"],
        "min_count": 1,
        "split": {"fractions": {"pretext_train": 0.6, "pretext_val": 0.1, "oneclass_fit": 0.2, "test": 0.1}},
    },
    "patches": {"crop": 128, "crops_per_photo": 2, "shards": 2},
    "pretext": {"steps": 3, "batch_size": 4, "n_patches": 2, "val_every": 3, "checkpoint_every": 3, "workers": 0, "gpus": 0},
    # The test node has no GPU and little memory: ask for what it has.
    "resources": {"pretext_train": {"cpus": min(2, os.cpu_count() or 1), "mem_mb": 1500, "runtime": 30}},
}
TARGETS = ["results/exif/demo_photos.parquet", "results/exif/demo_standin_upconv.parquet", "results/tags/tags.parquet",
           "results/pretext/model.pt"]
# Jobs of these targets that go to SLURM; demo_data, exif_merge and tags are local rules.
REMOTE_JOBS = {"exif_shard": 4, "patch_shard": 2, "pretext_train": 1}
LOCAL_RULES = ("demo_data", "exif_merge", "tags")
# Options for a cluster without an accounting database (sacct would leave Snakemake waiting), and
# quick status checks; docs/operations.md documents them.
NO_ACCOUNTING = ["--slurm-status-command", "squeue", "--slurm-no-account", "--slurm-init-seconds-before-status-checks", "2"]


def run(workdir: Path, args: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    command = [*SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir), *args]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600,
                            env={**(env or os.environ), "PYTHONUNBUFFERED": "1"})
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def make_project(root: Path) -> Path:
    root.mkdir()
    (root / "config.yaml").write_text(yaml.safe_dump(TINY))
    return root


def relative_files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_pipeline_runs_through_slurm_like_locally(cluster, tmp_path):
    local = make_project(tmp_path / "local")
    run(local, ["--cores", "2", *TARGETS])

    on_slurm = make_project(tmp_path / "slurm")
    started = time.monotonic()
    result = run(on_slurm, [*TARGETS, "--cores", "all", "--profile", "slurm", *NO_ACCOUNTING, "--slurm-keep-successful-logs",
                            "--default-resources", "mem_mb=500", "runtime=30"], env=cluster.env)
    output = result.stdout + result.stderr
    slurm_seconds = time.monotonic() - started

    # Every non-local job went through sbatch and left a SLURM log named by its job id; local rules did not.
    job_ids = re.findall(r"submitted with SLURM jobid (\d+)", output)
    assert len(job_ids) == sum(REMOTE_JOBS.values()), output
    logs = on_slurm / ".snakemake" / "slurm_logs"
    for rule, count in REMOTE_JOBS.items():
        ids = [p.stem for p in (logs / f"rule_{rule}").rglob("*.log")]
        assert len(ids) == count and set(ids) <= set(job_ids), (rule, ids, job_ids)
    for rule in LOCAL_RULES:
        assert not (logs / f"rule_{rule}").exists()
    slurmctld_log = (cluster.root / "log" / "slurmctld.log").read_text()
    assert all(f"JobId={job_id}" in slurmctld_log for job_id in job_ids)

    # The same files, and the same content where the pipeline is deterministic.
    assert relative_files(local / "results") == relative_files(on_slurm / "results")
    volatile = ["mtime_ns"]  # the demo data were written at different times
    for table in ("exif/demo_photos.parquet", "exif/demo_standin_upconv.parquet", "tags/tags.parquet",
                  "patches/shard_0_of_2.index.parquet", "patches/shard_1_of_2.index.parquet"):
        a, b = (pl.read_parquet(root / "results" / table) for root in (local, on_slurm))
        a, b = (t.drop([c for c in volatile if c in t.columns]) for t in (a, b))
        assert a.height > 0 and a.equals(b), table
    for name in ("tags/vocabulary.json", "tags/summary.json", "patches/shard_0_of_2.npy", "patches/shard_1_of_2.npy",
                 "pretext/metrics.csv"):
        assert (local / "results" / name).read_bytes() == (on_slurm / "results" / name).read_bytes(), name
    # CPU training with the same seed and thread count is deterministic: equal weights.
    a, b = (torch.load(root / "results" / "pretext" / "model.pt", map_location="cpu", weights_only=False)["model"]
            for root in (local, on_slurm))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    print(f"SLURM run: {slurm_seconds:.0f} s, jobs {', '.join(job_ids)}")


def test_gpu_rules_ask_slurm_for_the_config_resources(tmp_path):
    """With GPUs in the config, the training job's request comes from config.yaml's numbers (dry run)."""
    config = {**TINY, "pretext": {**TINY["pretext"], "gpus": 2},
              "resources": {"pretext_train": {"cpus_per_gpu": 3, "mem_mb": 9000, "runtime": 60, "gpu_model": "a100"}}}
    project = tmp_path / "gpu"
    project.mkdir()
    (project / "config.yaml").write_text(yaml.safe_dump(config))
    result = run(project, ["--dry-run", "--profile", "slurm", "results/pretext/model.pt"])
    jobs = {block.split(":", 1)[0]: block for block in result.stdout.split("\nrule ")[1:]}
    assert "gpu=2, cpus_per_gpu=3, gpu_model=a100" in jobs["pretext_train"]
    assert "mem_mb=9000" in jobs["pretext_train"] and "runtime=60" in jobs["pretext_train"]
    assert "gpu=" not in jobs["exif_shard"] and "mem_mb=8000" in jobs["exif_shard"]  # the profile's default
