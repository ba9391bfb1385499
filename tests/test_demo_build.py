"""Demo dataset build: layout, counts, sizes, manifest, determinism, atomic replacement."""

import csv
import hashlib
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from sdaie.demo import CAMERAS, GENERATORS, MANIFEST_COLUMNS, build_demo

SMALL = dict(cameras=4, photos_per_camera=5, generated_per_set=3, width=128, height=96, workers=2)


def digest_tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def read_manifest(root: Path) -> list[dict]:
    with open(root / "manifest.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def assert_stand_ins(folder: Path, name: str, extension: str, image_format: str) -> None:
    """SMALL's three stand-ins of ``name`` in ``folder``: named in order, of the format and size, no EXIF."""
    files = sorted(folder.iterdir())
    assert [f.name for f in files] == [f"{name}_{i:04d}.{extension}" for i in range(3)]
    for f in files:
        with Image.open(f) as im:
            assert im.format == image_format and im.size == (128, 96) and im.mode == "RGB"
            assert not im.getexif()  # no camera metadata: nothing in EXIF gives them away either


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "data"
    summary = build_demo(out, seed=1, **SMALL)
    return out, summary


def test_layout_counts_and_sizes(built):
    out, summary = built
    assert summary.out_dir == out and summary.manifest == out / "manifest.csv"
    assert summary.photos == 4 * 5 and summary.generated == 2 * 3 and summary.files == 26
    assert summary.cameras == tuple(c.slug for c in CAMERAS[:4])
    assert summary.generators == ("standin_upconv", "standin_denoiser") == tuple(GENERATORS)
    for slug in summary.cameras:
        files = sorted((out / "photos" / slug).iterdir())
        assert [f.name for f in files] == [f"{slug}_{i:04d}.jpg" for i in range(5)]
        for f in files:
            with Image.open(f) as im:
                assert im.format == "JPEG" and im.size == (128, 96) and im.mode == "RGB"
    for name in GENERATORS:
        assert_stand_ins(out / "generated" / name, name, "png", "PNG")
    assert not out.with_name(out.name + ".tmp").exists()
    assert {p.name for p in out.iterdir()} == {"photos", "generated", "manifest.csv", "dataset.json"}


def test_manifest_rows(built):
    out, _ = built
    rows = read_manifest(out)
    with open(out / "manifest.csv", encoding="utf-8") as f:
        assert f.readline().strip().split(",") == list(MANIFEST_COLUMNS)
    files = {str(p.relative_to(out)) for p in out.rglob("*") if p.suffix in (".jpg", ".png")}
    assert {r["path"] for r in rows} == files and len(rows) == len(files)
    assert [r["path"] for r in rows] == sorted(r["path"] for r in rows)
    for r in rows:
        assert (r["width"], r["height"]) == ("128", "96")
        if r["kind"] == "photo":
            camera = next(c for c in CAMERAS if c.slug == r["source"])
            assert r["path"].startswith(f"photos/{camera.slug}/")
            assert (r["make"], r["model"], r["cfa"], r["demosaic"]) == (
                camera.make, camera.model, camera.cfa, camera.demosaic)
            assert int(r["iso"]) in camera.iso_values
            assert float(r["f_number"]) > 0 and float(r["exposure_time"]) > 0
            assert r["scene_style"] in ("standard", "landscape", "portrait", "night")
        else:
            assert r["kind"] == "generated" and r["source"] in GENERATORS
            assert "stand-in" in GENERATORS[r["source"]] and r["source"].startswith("standin_")
            assert r["make"] == r["model"] == r["iso"] == ""
    info = json.loads((out / "dataset.json").read_text())
    assert info["seed"] == 1 and [c["slug"] for c in info["cameras"]] == [c.slug for c in CAMERAS[:4]]
    assert "stand-in" in info["note"]


def test_full_size_images_do_not_depend_on_the_worker_count(tmp_path):
    """At the demo's size numpy's BLAS splits products over threads, and a split rounds differently:
    rendered in-process (workers=1) the images must still equal the pool's (single-threaded BLAS)."""
    size = dict(seed=0, cameras=4, photos_per_camera=1, generated_per_set=1, width=512, height=384)
    one = build_demo(tmp_path / "one", workers=1, **size)
    two = build_demo(tmp_path / "two", workers=2, **size)
    assert digest_tree(one.out_dir) == digest_tree(two.out_dir)


_KERNELS_PROBE = (
    "import json, numpy\n"
    "from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__\n"
    "from threadpoolctl import threadpool_info\n"
    "print(json.dumps({'numpy': [f for f in __cpu_dispatch__ if __cpu_features__.get(f)],\n"
    "                  'blas': sorted(str(i.get('architecture')) for i in threadpool_info())}))\n"
)


def _kernels(env: dict) -> dict:
    """The SIMD targets numpy dispatches to and the BLAS kernels loaded, in a process with ``env``."""
    done = subprocess.run([sys.executable, "-c", _KERNELS_PROBE], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_images_do_not_depend_on_the_cpus_simd_kernels(tmp_path):
    """Another CPU runs other numpy SIMD kernels and other OpenBLAS kernels, whose results differ in the last
    bits; the demo must still write the same bytes there (else content hashes, splits and every number
    move between machines). Simulated here by forcing numpy to its baseline and OpenBLAS to an old core."""
    native = {k: v for k, v in os.environ.items() if k not in ("NPY_DISABLE_CPU_FEATURES", "OPENBLAS_CORETYPE")}
    forced = dict(native, OPENBLAS_CORETYPE="Prescott" if platform.machine() in ("x86_64", "AMD64") else "ARMV8")
    native_kernels = _kernels(native)
    if native_kernels["numpy"]:
        forced["NPY_DISABLE_CPU_FEATURES"] = " ".join(native_kernels["numpy"])
    assert native_kernels != _kernels(forced), "could not make this machine run other kernels"
    trees = []
    for name, env in (("native", native), ("forced", forced)):
        subprocess.run([sys.executable, "-m", "sdaie.demo", str(tmp_path / name), "--seed", "0", "--cameras", "4",
                        "--photos-per-camera", "2", "--generated-per-set", "2", "--workers", "1", "--quiet"],
                       env=env, check=True, capture_output=True)
        trees.append(digest_tree(tmp_path / name))
    assert len(trees[0]) == 4 * 2 + 2 * 2 + 2 and trees[0] == trees[1]


def test_same_seed_is_byte_identical_and_other_seed_differs(built, tmp_path):
    out, _ = built
    again = build_demo(tmp_path / "again", seed=1, **{**SMALL, "workers": 1})
    assert digest_tree(again.out_dir) == digest_tree(out)  # also independent of the worker count
    other = build_demo(tmp_path / "other", seed=2, **SMALL)
    a, b = digest_tree(out), digest_tree(other.out_dir)
    assert a.keys() == b.keys()
    images = [k for k in a if k.endswith((".jpg", ".png"))]
    assert all(a[k] != b[k] for k in images)


def test_files_do_not_depend_on_dataset_size(built, tmp_path):
    out, _ = built
    bigger = build_demo(tmp_path / "five", seed=1, cameras=5, photos_per_camera=2, generated_per_set=1,
                        width=128, height=96, workers=2)
    a, b = digest_tree(out), digest_tree(bigger.out_dir)
    shared = [k for k in b if k.endswith((".jpg", ".png")) and k in a]
    assert len(shared) == 4 * 2 + 2 and all(a[k] == b[k] for k in shared)
    assert len(list((bigger.out_dir / "photos" / CAMERAS[4].slug).iterdir())) == 2


def test_rebuild_replaces_a_demo_but_not_other_directories(tmp_path):
    out = tmp_path / "demo"
    build_demo(out, seed=3, cameras=4, photos_per_camera=1, generated_per_set=0, width=64, height=64, workers=1)
    (out / "stale.txt").write_text("old")
    summary = build_demo(out, seed=3, cameras=4, photos_per_camera=2, generated_per_set=1, width=64,
                         height=64, workers=1)
    assert not (out / "stale.txt").exists() and summary.files == 10
    assert len(read_manifest(out)) == 10
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "mine.txt").write_text("keep")
    with pytest.raises(FileExistsError):
        build_demo(precious, cameras=4, photos_per_camera=1, generated_per_set=0, width=64, height=64, workers=1)
    assert (precious / "mine.txt").read_text() == "keep"


@pytest.mark.parametrize(
    "kwargs",
    [dict(cameras=3), dict(cameras=len(CAMERAS) + 1), dict(width=100), dict(height=32), dict(photos_per_camera=-1),
     dict(standin_finish="jpeg")],
)
def test_invalid_arguments(tmp_path, kwargs):
    with pytest.raises(ValueError):
        build_demo(tmp_path / "x", **kwargs)
    assert not (tmp_path / "x").exists()


def test_all_cameras_are_supported_and_distinct():
    assert len(CAMERAS) == 6
    assert len({c.slug for c in CAMERAS}) == len({(c.make, c.model) for c in CAMERAS}) == 6
    assert len({c.make for c in CAMERAS[:4]}) >= 2
    assert len({c.demosaic for c in CAMERAS[:4]}) == 4 and len({c.cfa for c in CAMERAS[:4]}) == 4


def test_photo_like_stand_ins_are_jpeg_without_exif_and_leave_photos_unchanged(built, tmp_path):
    out, _ = built
    finished = tmp_path / "finished"
    build_demo(finished, seed=1, standin_finish="photo_like", **SMALL)
    assert json.loads((finished / "dataset.json").read_text())["standin_finish"] == "photo_like"
    assert json.loads((out / "dataset.json").read_text())["standin_finish"] == "none"
    for name in GENERATORS:
        assert_stand_ins(finished / "generated" / name, name, "jpg", "JPEG")
    rows = [r for r in read_manifest(finished) if r["kind"] == "generated"]
    assert {r["path"].rsplit(".", 1)[1] for r in rows} == {"jpg"} and len(rows) == 6
    photos_before = {k: v for k, v in digest_tree(out).items() if k.startswith("photos/")}
    photos_after = {k: v for k, v in digest_tree(finished).items() if k.startswith("photos/")}
    assert photos_before == photos_after
