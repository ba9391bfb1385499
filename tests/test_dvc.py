"""DVC over the Snakemake pipeline, for real: `dvc repro` on a tiny config in a temporary Git repository
holding the project's files, `dvc push` to a local remote, a fresh `git clone`, `scripts/dvc_pull.sh`,
and then neither DVC nor Snakemake has anything to do."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from conftest import shared_path
import yaml
from tiny_pipeline import planned_jobs, tiny_config

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the virtual environment's bin: dvc and snakemake
UP_TO_DATE = "Data and pipelines are up to date."
NOTHING_TO_DO = "Nothing to be done"

# One shared tiny run: with pytest-xdist, `--dist loadgroup` (or loadfile) keeps these tests on one worker.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dvc")]

# The tiny pipeline of tests/test_workflow.py with fewer shards, patches and perturbations.
TINY_CONFIG = tiny_config(
    exif={"shards": 2, "batch_size": 4, "threads": 1},
    features={"max_patches": 4},
    evaluate={"perturbations": ["none"], "max_images": 3, "device": "cpu"},
)


def environment(site_cache: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DVC_NO_ANALYTICS": "1",
        "DVC_SITE_CACHE_DIR": str(site_cache),  # DVC's state and index, outside /var/tmp
        "PYTHONUNBUFFERED": "1",
        "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.org",
        "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.org",
    }


def run(cwd: Path, env: dict, *command: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=1200)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed ({result.returncode}) in {cwd}:\n{result.stdout}\n{result.stderr}")
    return result


def project_files() -> list[str]:
    """What a clone of the project holds: tracked files plus new files Git does not ignore."""
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    return [name for name in listing.split("\0") if name and (REPO / name).is_file()]


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    return environment(tmp_path_factory.mktemp("dvc_site_cache"))


@pytest.fixture(scope="module")
def origin(tmp_path_factory, env) -> Path:
    """The project in a new Git repository with the tiny config and 6 photos added with `dvc add`,
    reproduced with `dvc repro`, committed, and pushed to a local remote (`<tmp>/remote`)."""
    base = tmp_path_factory.mktemp("dvc")
    origin = base / "origin"
    for name in project_files():
        target = origin / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    assert (origin / ".dvc" / "config").is_file(), "the project must ship .dvc/ (dvc init) for clones to pull"
    (origin / "config.yaml").write_text(yaml.safe_dump(TINY_CONFIG))
    photos = origin / "my_photos"
    photos.mkdir()
    for photo in sorted(shared_path("data", "photos", "exif-samples").glob("*.jpg"))[:6]:
        shutil.copy2(photo, photos / photo.name)

    run(origin, env, "git", "-c", "init.defaultBranch=main", "init", "-q")
    run(origin, env, "dvc", "remote", "add", "-d", "storage", str(base / "remote"))
    run(origin, env, "dvc", "add", "my_photos")
    run(origin, env, "git", "add", "-A")
    run(origin, env, "git", "commit", "-q", "-m", "project, config, raw photos")
    run(origin, env, "dvc", "repro")
    run(origin, env, "git", "add", "-A")
    run(origin, env, "git", "commit", "-q", "-m", "dvc repro")
    run(origin, env, "dvc", "push")
    return origin


def test_dvc_yaml_is_valid_on_the_project_config(env):
    """`dvc stage list` and `dvc dag` accept dvc.yaml with the project's own config.yaml."""
    stages = run(REPO, env, "dvc", "stage", "list").stdout
    names = {line.split()[0] for line in stages.splitlines() if line.strip()}
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    expected = {"demo_data", "tags", "patches", "pretext", "features", "oneclass", "binary", "evaluate"}
    expected |= {f"exif@{name}" for name in config["datasets"]}
    assert names == expected
    dag = run(REPO, env, "dvc", "dag", "--dot").stdout
    for upstream, downstream in [("demo_data", "exif@demo_photos"), ("exif@demo_photos", "tags"), ("tags", "patches"),
                                 ("patches", "pretext"), ("pretext", "features"), ("features", "oneclass"),
                                 ("pretext", "binary"), ("oneclass", "evaluate"), ("binary", "evaluate")]:
        assert re.search(rf'"{re.escape(upstream)}"\s*->\s*"{re.escape(downstream)}"', dag), (upstream, downstream, dag)


def test_repro_leaves_nothing_to_do(origin, env):
    assert UP_TO_DATE in run(origin, env, "dvc", "status").stdout
    dry = run(origin, env, "snakemake", "-n")
    assert NOTHING_TO_DO in dry.stdout + dry.stderr
    assert run(origin, env, "git", "status", "--porcelain").stdout == ""
    tracked = run(origin, env, "git", "ls-files").stdout.splitlines()
    # Metrics kept in Git (cache: false), everything else in the DVC cache.
    assert {"dvc.lock", "my_photos.dvc", "results/tags/summary.json", "results/evaluation/metrics.json"} <= set(tracked)
    assert not [name for name in tracked if name.startswith("results/") and not name.endswith(("summary.json", "metrics.json"))]
    # Metrics and plots as DVC sees them (`dvc metrics diff` / `dvc plots diff` compare commits).
    assert "results/evaluation/metrics.json" in run(origin, env, "dvc", "metrics", "show").stdout
    plots = run(origin, env, "dvc", "plots", "show", "--json").stdout
    for name in ("results/evaluation/robustness.csv", "results/evaluation/figures/roc.png", "results/evaluation/figures/robustness.png"):
        assert name in plots, (name, plots[:2000])


def test_fresh_clone_pulls_and_has_nothing_to_do(origin, env, tmp_path):
    clone = tmp_path / "clone"
    run(tmp_path, env, "git", "clone", "-q", str(origin), str(clone))
    assert not (clone / "results" / "models").exists() and not (clone / ".snakemake").exists()
    run(clone, env, "dvc", "pull")
    # DVC restores contents, not times: make the worst case certain (inputs newer than everything
    # built from them) instead of relying on the order the pull happened to write files in.
    now = time.time()
    for path in (clone / "results").rglob("*"):
        os.utime(path, (now - 3600, now - 3600))
    for path in (clone / "my_photos").rglob("*"):
        os.utime(path, (now, now))
    stale = planned_jobs(run(clone, env, "snakemake", "-n"))
    assert stale.get("exif_shard", 0) >= 1 and stale.get("pretext_train") == 1, stale

    result = run(clone, env, "bash", "scripts/dvc_pull.sh")
    assert "nothing to do" in result.stdout
    # The dataset's files have the times their EXIF table recorded again (the refresh reuses rows by them).
    table = pl.read_parquet(clone / "results" / "exif" / "my_photos.parquet")
    assert {row["path"]: row["mtime_ns"] for row in table.iter_rows(named=True)} == mtimes(clone / "my_photos")

    assert UP_TO_DATE in run(clone, env, "dvc", "status").stdout
    dry = run(clone, env, "snakemake", "-n")
    assert NOTHING_TO_DO in dry.stdout + dry.stderr
    assert "missing provenance" not in dry.stdout + dry.stderr  # the touch recorded Snakemake's metadata
    for name in ("models/pretext.pt", "models/oneclass.npz", "models/binary.pt", "evaluation/report.html"):
        assert (clone / "results" / name).read_bytes() == (origin / "results" / name).read_bytes()

    # Both tools now see a config change, and the rebuild starts where it should.
    config = yaml.safe_load((clone / "config.yaml").read_text())
    config["oneclass"]["target_fpr"] = 0.05
    (clone / "config.yaml").write_text(yaml.safe_dump(config))
    status = run(clone, env, "dvc", "status").stdout
    changed = {line[:-1] for line in status.splitlines() if line.endswith(":") and not line[0].isspace()}
    assert "oneclass" in changed and not {"tags", "patches", "pretext", "binary"} & changed, status
    plan = planned_jobs(run(clone, env, "snakemake", "-n"))
    assert plan.get("oneclass_fit") == 1 and not {"exif_shard", "tags", "patch_shard", "pretext_train", "features"} & set(plan), plan

    # The pull script refuses to mark files up to date that no longer match the config.
    refused = run(clone, env, "bash", "scripts/dvc_pull.sh", check=False)
    assert refused.returncode == 1 and "dvc repro" in refused.stderr
    run(clone, env, "git", "checkout", "config.yaml")

    # ... and to run beside a Snakemake run that holds the workspace.
    locks = clone / ".snakemake" / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    (locks / "0.output.lock").write_text("")
    refused = run(clone, env, "bash", "scripts/dvc_pull.sh", check=False)
    assert refused.returncode == 1 and "snakemake --unlock" in refused.stderr


def mtimes(root: Path, pattern: str = "**/*") -> dict[str, int]:
    return {str(path.relative_to(root)): path.stat().st_mtime_ns for path in sorted(root.glob(pattern)) if path.is_file()}


def paths_of(table: Path, dataset: str = "my_photos") -> set[str]:
    frame = pl.read_parquet(table)
    if "dataset" in frame.columns:
        frame = frame.filter(pl.col("dataset") == dataset)
    return set(frame["path"])


def test_refresh_a_dataset_with_dvc(origin, env, tmp_path):
    """The README's refresh runbook on a fresh clone: add two photos and remove one, `dvc add`,
    `dvc repro`. Only the new photos' EXIF is read, untouched EXIF shards and other datasets' tables
    are not rewritten, everything from the tag table down is rebuilt, and the removed photo is gone
    from every table; afterwards neither tool has anything to do."""
    clone = tmp_path / "clone"
    run(tmp_path, env, "git", "clone", "-q", str(origin), str(clone))
    run(clone, env, "dvc", "pull")
    run(clone, env, "bash", "scripts/dvc_pull.sh")
    results = clone / "results"
    photos = clone / "my_photos"

    patch_indexes = sorted((results / "patches").glob("*.index.parquet"))
    cropped = set().union(*(paths_of(index) for index in patch_indexes))
    removed = sorted(cropped)[0]  # a photo with crops: it must leave the patch shards too
    (photos / removed).unlink()
    shared_photos = shared_path("data", "photos", "exif-samples")
    added = [photo.name for photo in sorted(shared_photos.glob("*.jpg"))[6:8]]
    for name in added:
        shutil.copy2(shared_photos / name, photos / name)
    exif_shards = mtimes(results / "exif", "*/shard_*.parquet")
    other_tables = mtimes(results / "exif", "demo_*.parquet")
    downstream = ["tags/tags.parquet", *(str(p.relative_to(results)) for p in sorted((results / "patches").glob("*"))),
                  "pretext/model.pt", "models/pretext.pt", "features/my_photos.parquet", "features/demo_standin_upconv.parquet",
                  "models/oneclass.npz", "binary/crops.table.parquet", "models/binary.pt", "evaluation/metrics.json",
                  "evaluation/scores.parquet", "evaluation/report.html"]
    before = {name: (results / name).stat().st_mtime_ns for name in downstream}

    assert "my_photos.dvc" in run(clone, env, "dvc", "status").stdout  # DVC sees the folder changed
    run(clone, env, "dvc", "add", "my_photos")
    changed = run(clone, env, "dvc", "status").stdout
    assert "exif@my_photos" in changed and "exif@demo_photos" not in changed, changed
    plan = planned_jobs(run(clone, env, "snakemake", "-n"))
    assert 1 <= plan.get("exif_shard", 0) <= 2 and plan.get("exif_merge") == 1 and plan.get("tags") == 1, plan
    assert plan.get("patch_shard") == 2 and plan.get("pretext_train") == 1 and "demo_data" not in plan, plan

    run(clone, env, "dvc", "repro")

    # EXIF: only the shards holding a change ran, and inside them exiftool read only the new photos.
    after = mtimes(results / "exif", "*/shard_*.parquet")
    rewritten = sorted(name for name in exif_shards if after[name] != exif_shards[name])
    assert len(rewritten) == plan["exif_shard"] and all(name.startswith("my_photos/") for name in rewritten), rewritten
    logs = [(results / "logs" / "exif" / name).with_suffix(".log") for name in rewritten]
    extracted = sum(int(count) for log in logs for count in re.findall(r"sdaie.exif.extract: .* (\d+) read \(", log.read_text()))
    assert extracted == len(added), [(str(log), log.read_text()) for log in logs]
    assert mtimes(results / "exif", "demo_*.parquet") == other_tables

    # Everything from the tag table down was rebuilt.
    stale = [name for name in downstream if (results / name).exists() and (results / name).stat().st_mtime_ns == before[name]]
    assert not stale, stale

    # The removed photo is gone from every table; the added ones are in.
    now = {photo.name for photo in photos.iterdir()}
    assert paths_of(results / "exif" / "my_photos.parquet") == now
    assert paths_of(results / "tags" / "tags.parquet") == now
    assert paths_of(results / "features" / "my_photos.parquet") == now
    tables = [results / "exif" / "my_photos.parquet", results / "tags" / "tags.parquet", results / "features" / "my_photos.parquet",
              *sorted((results / "patches").glob("*.parquet")), *sorted((results / "binary").glob("*.parquet")),
              *sorted((results / "evaluation" / "scores").glob("*.parquet")), results / "evaluation" / "scores.parquet"]
    holding = [str(table.relative_to(results)) for table in tables if removed in paths_of(table)]
    assert not holding, (removed, holding)

    assert UP_TO_DATE in run(clone, env, "dvc", "status").stdout
    dry = run(clone, env, "snakemake", "-n")
    assert NOTHING_TO_DO in dry.stdout + dry.stderr
    status = run(clone, env, "git", "status", "--porcelain").stdout
    assert {line[3:] for line in status.splitlines()} <= {"dvc.lock", "my_photos.dvc", "results/tags/summary.json", "results/evaluation/metrics.json"}, status
