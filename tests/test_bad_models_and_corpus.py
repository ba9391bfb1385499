"""Bad input after the data half: damaged model files given to `sdaie detect` / `sdaie fit-oneclass`
end in one `ERROR <file>:` line and exit 2; and the whole bad-input corpus (../shared/data/edge_cases
plus special files made here) goes through exif, tags, patches, features and detect with per-file
errors, no traceback and no hang."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from conftest import REPO, shared_path
from PIL import Image

from sdaie.cli import main
from sdaie.detect.binary import BinaryDetector
from sdaie.detect.features import Patching
from sdaie.detect.oneclass import GMMSettings, OneClassDetector
from sdaie.model.backbone import SDAIEExtractor
from sdaie.model.checkpoint import save_binary, save_extractor, state_fingerprint


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    """A small models folder: a random extractor, a GMM on random features, a random binary detector."""
    folder = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    extractor = SDAIEExtractor().eval()
    save_extractor(folder / "pretext.pt", extractor, vocabulary_hash=None)
    features = np.random.default_rng(0).normal(size=(40, 528))
    OneClassDetector.fit(features, GMMSettings(n_components=1, reg_covar="ledoit_wolf"),
                         extractor_id=state_fingerprint(extractor.state_dict()), patching=Patching(4)).save(folder / "oneclass.npz")
    save_binary(folder / "binary.pt", BinaryDetector().eval(), vocabulary_hash=None)
    return folder


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("img") / "photo.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (128, 128, 3), dtype=np.uint8)).save(path)
    return path


def damaged_copy(models: Path, tmp_path: Path, name: str, damage) -> Path:
    copy = tmp_path / "models"
    shutil.copytree(models, copy)
    target = copy / name
    damage(target)
    return target


DAMAGES = {
    "empty": lambda p: p.write_bytes(b""),
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
    "garbage": lambda p: p.write_bytes(b"1234 not a model at all\n"),
    "a folder": lambda p: (p.unlink(), p.mkdir()),
}


@pytest.mark.parametrize("name", ["pretext.pt", "oneclass.npz", "binary.pt"])
@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_model_file_is_one_error_line(models, image, tmp_path, capsys, name, damage):
    target = damaged_copy(models, tmp_path, name, DAMAGES[damage])
    status = main(["--quiet", "detect", str(image), "--models", str(target.parent), "--device", "cpu"])
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert status == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"ERROR {target}: ") and lines[0].endswith(")"), lines[0]


def test_a_gmm_of_another_extractor_is_refused_by_name(models, image, tmp_path, capsys):
    copy = tmp_path / "models"
    shutil.copytree(models, copy)
    torch.manual_seed(5)
    save_extractor(copy / "pretext.pt", SDAIEExtractor(), vocabulary_hash=None)
    assert main(["--quiet", "detect", str(image), "--models", str(copy), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ERROR {copy / 'oneclass.npz'}: ") and "refit" in err and len(err.splitlines()) == 1


def test_no_traceback_from_a_real_process(models, image, tmp_path):
    target = damaged_copy(models, tmp_path, "binary.pt", DAMAGES["garbage"])
    done = subprocess.run([sys.executable, "-m", "sdaie", "detect", str(image), "--models", str(target.parent)],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO / "src")}, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(f"ERROR {target}: ")


def special_files(folder: Path) -> dict[str, str]:
    """Files no reader should open blindly: a FIFO (opening it would hang), a dangling link, an unreadable
    file, a folder named like an image, and images of modes that need converting."""
    folder.mkdir(parents=True, exist_ok=True)
    os.mkfifo(folder / "pipe.jpg")
    os.symlink(folder / "gone.jpg", folder / "dangling.jpg")
    (folder / "locked.jpg").write_bytes(b"\xff\xd8\xff")
    os.chmod(folder / "locked.jpg", 0)
    (folder / "folder.jpg").mkdir()
    rng = np.random.default_rng(2)
    Image.fromarray(rng.integers(0, 65536, (96, 96), dtype=np.uint16)).save(folder / "grey16.png")
    Image.fromarray(rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)).convert("CMYK").save(folder / "cmyk.jpg")
    Image.fromarray(rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)).convert("P").save(folder / "palette.png")
    return {"pipe.jpg": "fifo", "dangling.jpg": "link", "locked.jpg": "unreadable"}


def test_the_bad_input_corpus_through_every_stage(models, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(shared_path("data", "edge_cases"), corpus)
    special_files(corpus / "made_here")
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}

    def sdaie(*argv: str) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "sdaie", "--quiet", *argv], capture_output=True, text=True,
                              env=env, timeout=600)  # a hang fails here
        assert "Traceback" not in done.stderr, done.stderr[-3000:]
        return done

    assert sdaie("exif", str(corpus), "-o", str(tmp_path / "raw.parquet"), "-j", "2").returncode == 0
    raw = pq.read_table(tmp_path / "raw.parquet").to_pylist()
    errors = {row["path"]: row["error"] for row in raw}
    for bad in ("broken_files/empty.jpg", "broken_files/truncated_half.jpg", "broken_files/not_an_image.jpg",
                "broken_files/README.txt"):
        assert errors[bad], bad
    assert not errors["damaged_metadata/corrupted.jpg"] or "image" in errors["damaged_metadata/corrupted.jpg"]
    assert errors["made_here/grey16.png"] is None and errors["made_here/cmyk.jpg"] is None

    assert sdaie("tags", str(tmp_path / "raw.parquet"), "-o", str(tmp_path / "tags.parquet")).returncode == 0
    tags = pq.read_table(tmp_path / "tags.parquet")
    split = {p: s for p, s, e in zip(tags["path"].to_pylist(), tags["split"].to_pylist(), tags["error"].to_pylist()) if e}
    assert split and all(s is None for s in split.values())  # no file with an error lands in any split

    from sdaie.detect.tables import write_feature_table
    from sdaie.patches.cut import cut_photos, readable_rows

    usable = readable_rows(tags, ["pretext_train", "pretext_val", "oneclass_fit", "test"])
    stats = cut_photos(usable, {"corpus": corpus}, tmp_path / "patches" / "shard", crop=64, crops_per_photo=1)
    assert stats.photos == usable.num_rows and stats.crops + stats.skipped == stats.photos
    count = write_feature_table(tags, corpus, models / "pretext.pt", tmp_path / "features.parquet", kind="photo",
                                generator=None, device="cpu", patching=Patching(4))
    features = pq.read_table(tmp_path / "features.parquet").to_pylist()
    assert count == tags.num_rows and all((row["feature"] is None) == (row["error"] is not None) for row in features)

    detect = sdaie("detect", str(corpus), "--models", str(models), "--format", "json", "--device", "cpu")
    assert detect.returncode == 1  # some files could not be scored: said per file, the rest scored
    results = [json.loads(line) for line in detect.stdout.splitlines()]
    by_name = {Path(r["path"]).name: r for r in results}
    assert by_name["truncated_half.jpg"]["error"] and by_name["grey16.png"]["error"] is None
    assert sum(r["error"] is None for r in results) > 60
