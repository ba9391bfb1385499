"""Real Snakemake runs of the data half of the pipeline on a tiny config in a temporary folder."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import polars as pl
import pytest
from conftest import shared_path
import yaml
from tiny_pipeline import planned_jobs, tiny_config

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
EVAL_PERTURBATIONS = ["none", "jpeg:90", "blur:1.0", "scale:0.5"]

pytestmark = pytest.mark.slow


def snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    command = [*SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir), *args]
    result = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}, timeout=900
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A tiny pipeline: demo data (4 cameras x 3 photos, 2 stand-ins x 2) and 12 real photos."""
    workdir = tmp_path_factory.mktemp("pipeline")
    cams = workdir / "my_photos"
    cams.mkdir()
    photos = sorted(shared_path("data", "photos", "exif-samples").glob("*.jpg"))[:12]
    assert len(photos) == 12
    for photo in photos:
        shutil.copy2(photo, cams / photo.name)
    # config.yaml's 2 compute threads (fixed whatever --cores); 3 EXIF shards, so that a refresh can leave some alone
    config = tiny_config(threads=2, exif={"shards": 3, "batch_size": 4, "threads": 1}, evaluate={"perturbations": EVAL_PERTURBATIONS})
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    snakemake(workdir, "--cores", "2")
    return workdir


def test_lint_is_clean():
    result = subprocess.run([*SNAKEMAKE, "--lint"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Lints for rule" not in result.stdout + result.stderr


def test_run_produces_every_table(project):
    results = project / "results"
    demo = pl.read_parquet(results / "exif" / "demo_photos.parquet")
    assert demo.height == 12 and demo["error"].null_count() == 12
    manifest = pl.read_csv(results / "demo" / "manifest.csv").filter(pl.col("kind") == "photo")
    stripped = manifest.filter(pl.col("exif_stripped").cast(pl.String).str.to_lowercase().is_in(["true", "1"]))
    assert demo["make"].null_count() == stripped.height  # photos written without any EXIF
    for name in ("demo_standin_upconv", "demo_standin_denoiser"):
        table = pl.read_parquet(results / "exif" / f"{name}.parquet")
        assert table.height == 4 and set(table["format"]) == {"PNG"}
    mine = pl.read_parquet(results / "exif" / "my_photos.parquet")
    assert sorted(mine["path"]) == sorted(p.name for p in (project / "my_photos").iterdir())
    tags = pl.read_parquet(results / "tags" / "tags.parquet")
    assert tags.height == 24
    for name in ("pretext.pt", "oneclass.npz", "binary.pt"):
        assert (results / "models" / name).stat().st_size > 0
    fit_report = json.loads((results / "oneclass" / "fit_report.json").read_text())
    assert fit_report["reg_covar"] > 0 and fit_report["reg_covar"] != 1e-4  # chosen by Ledoit-Wolf from the features
    features = pl.read_parquet(results / "features" / "demo_standin_denoiser.parquet")
    assert features.height == 4 and features["feature"].list.len().to_list() == [528] * 4
    assert set(tags["dataset"]) == {"demo_photos", "my_photos"}
    for name in ("vocabulary.json", "summary.md", "summary.json"):
        assert (results / "tags" / name).stat().st_size > 0
    for log in ("demo_data.log", "tags.log"):
        assert (results / "logs" / log).exists()


def test_evaluation_report(project):
    """Scores, metrics and the HTML report cover every generator, detector and perturbation."""
    evaluation = project / "results" / "evaluation"
    scores = pl.read_parquet(evaluation / "scores.parquet")
    tags = pl.read_parquet(project / "results" / "tags" / "tags.parquet")
    real = scores.filter(pl.col("label") == 0)
    assert set(real["path"]) == set(tags.filter(pl.col("split") == "test")["path"])  # held-out photos only
    assert set(scores["perturbation"]) == set(EVAL_PERTURBATIONS)
    assert set(scores["detector"]) == {"oneclass", "binary", "random_oneclass", "srm_stats"}
    upconv = scores.filter(pl.col("generator") == "standin-upconv")["path"].unique()
    assert 0 < upconv.len() < 4  # the binary detector trained on this set: only its held-out images
    assert scores.filter(pl.col("generator") == "standin-denoiser")["path"].n_unique() == 4
    metrics = pl.read_parquet(evaluation / "metrics.parquet")
    assert set(metrics["generator"]) == {"standin-upconv", "standin-denoiser", "mean"}
    assert metrics.height == 4 * 3 * len(EVAL_PERTURBATIONS)
    summary = json.loads((evaluation / "metrics.json").read_text())
    assert set(summary) == {"headline", "oneclass", "binary", "random_oneclass", "srm_stats"}
    assert set(summary["headline"]["detectors"]) == {"oneclass", "binary"} and len(summary["headline"]["sentences"]) == 2
    html = (evaluation / "report.html").read_text()
    for name in ["Headline", summary["headline"]["sentences"][0].split(":")[0], "standin-upconv *", "standin-denoiser",
                 *EVAL_PERTURBATIONS, "Pretext training", "Robustness"]:
        assert name in html
    report = project / "snakemake_report.zip"
    snakemake(project, "--cores", "1", "--report", str(report))
    with zipfile.ZipFile(report) as archive:
        names = archive.namelist()
    assert any(name.endswith("report.html") and "/raw/" in name for name in names)
    assert any(name.endswith("robustness.png") for name in names)


def test_second_run_has_nothing_to_do(project):
    dry = snakemake(project, "-n", "--cores", "2")
    assert "Nothing to be done" in dry.stdout + dry.stderr


def test_same_config_other_cores_same_bytes_and_numbers(project, tmp_path_factory):
    """Reproducible: the same config on the same machine with --cores 1 instead of 2 (config `threads`
    fixes the compute threads) gives the same model files, byte for byte, and the same metrics.json."""
    import numpy as np

    again = tmp_path_factory.mktemp("again")
    shutil.copytree(project / "my_photos", again / "my_photos")
    shutil.copy2(project / "config.yaml", again / "config.yaml")
    snakemake(again, "--cores", "1")
    for name in ("pretext.pt", "binary.pt"):
        assert (again / "results" / "models" / name).read_bytes() == (project / "results" / "models" / name).read_bytes(), name
    with np.load(project / "results" / "models" / "oneclass.npz") as a, np.load(again / "results" / "models" / "oneclass.npz") as b:
        assert a.files == b.files and all(np.array_equal(a[k], b[k]) for k in a.files)  # npz members carry a time stamp
    for name in ("metrics.json", "robustness.csv"):
        assert (again / "results" / "evaluation" / name).read_text() == (project / "results" / "evaluation" / name).read_text()


def test_refresh_reextracts_only_new_files(project):
    """Add two photos and remove one: only their shards rerun, only the new files are read."""
    cams = project / "my_photos"
    shards = sorted((project / "results" / "exif" / "my_photos").glob("shard_*.parquet"))
    before = {shard.name: shard.stat().st_mtime_ns for shard in shards}
    removed = sorted(cams.iterdir())[0]
    removed.unlink()
    added = sorted(shared_path("data", "photos", "exif-samples").glob("*.jpg"))[12:14]
    for photo in added:
        shutil.copy2(photo, cams / photo.name)

    plan = planned_jobs(snakemake(project, "-n", "--cores", "2"))
    assert plan.get("exif_merge") == 1 and plan.get("tags") == 1
    assert plan.get("exif_shard", 0) >= 1 and plan.get("pretext_train") == 1
    assert 1 <= plan.get("exif_shard", 0) <= 3
    assert "demo_data" not in plan

    snakemake(project, "--cores", "2")
    table = pl.read_parquet(project / "results" / "exif" / "my_photos.parquet")
    assert sorted(table["path"]) == sorted(p.name for p in cams.iterdir())
    assert removed.name not in set(table["path"])

    rewritten = [s for s in shards if s.stat().st_mtime_ns != before[s.name]]
    assert len(rewritten) == plan["exif_shard"]
    log_dir = project / "results" / "logs" / "exif" / "my_photos"
    logs = [log_dir / shard.name.replace(".parquet", ".log") for shard in rewritten]
    texts = [log.read_text() for log in logs]
    said = [re.search(r"shard \d+ of \d+: \d+ files: \d+ reused from the previous table, (\d+) read \(new or changed\), "
                      r"(\d+) removed since the previous table", text) for text in texts]
    assert all(said), texts
    # Only the two new files were read by exiftool in the shards that reran; one file was removed.
    assert sum(int(m.group(1)) for m in said) == 2, texts
    assert sum(int(m.group(2)) for m in said) == 1, texts
    tags = pl.read_parquet(project / "results" / "tags" / "tags.parquet")
    assert set(tags.filter(pl.col("dataset") == "my_photos")["path"]) == set(table["path"])


def test_detect_scores_a_mixed_folder(project, tmp_path):
    """`sdaie detect` with the run's models on photos, generated images and broken files."""
    import json

    results = project / "results"
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    photos = sorted((results / "demo" / "photos").rglob("*.jpg"))[:2]
    generated = sorted((results / "demo" / "generated").rglob("*.png"))[:2]
    for path in photos + generated:
        shutil.copy2(path, mixed / path.name)
    (mixed / "broken.jpg").write_bytes(photos[0].read_bytes()[:3000])
    (mixed / "notes.jpg").write_text("not an image")
    command = [sys.executable, "-m", "sdaie", "detect", str(mixed), "--models", str(results / "models"), "--format", "json", "--device", "cpu"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr  # some files failed
    rows = {Path(r["path"]).name: r for r in map(json.loads, result.stdout.splitlines())}
    assert set(rows) == {p.name for p in photos + generated} | {"broken.jpg", "notes.jpg"}
    for name in ("broken.jpg", "notes.jpg"):
        assert rows[name]["error"] and rows[name]["oneclass_loglik"] is None
    for path in photos + generated:
        row = rows[path.name]
        # scored as the GMM's fitting photos were: at most features.max_patches (8) patches of 64x64
        assert row["error"] is None and row["patches"] == 8
        assert isinstance(row["oneclass_generated"], bool) and 0 <= row["binary_probability"] <= 1
    ok = subprocess.run(command[:4] + [str(mixed / photos[0].name)] + command[5:], capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr

    from sdaie import Detector

    detector = Detector(results / "models", device="cpu")
    [api_row] = list(detector.score([mixed / photos[0].name]))
    assert api_row.oneclass_loglik == pytest.approx(rows[photos[0].name]["oneclass_loglik"])
