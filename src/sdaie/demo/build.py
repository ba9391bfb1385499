"""Build the demo dataset: simulated camera photos and generated-image stand-ins, offline and seeded.

Layout of ``out_dir``::

    photos/<camera_slug>/<camera_slug>_0000.jpg ...     JPEG with EXIF written by exiftool
    generated/standin_upconv/standin_upconv_0000.png    PNG, no EXIF (JPEG with standin_finish "photo_like")
    generated/standin_denoiser/standin_denoiser_0000.png
    manifest.csv                                        one row per file: the true simulated values
    dataset.json                                        build parameters, cameras and generators

Every image gets its own seed from ``SeedSequence(seed, spawn_key=(kind, source, index))``, so a file
does not depend on the worker that made it or on how many other files are built (the first photos of
a camera are the same whatever ``photos_per_camera`` is). The same seed gives byte-identical files.
The build goes to ``<out_dir>.tmp`` and is renamed into place only when complete.
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from threadpoolctl import threadpool_limits

from .cameras import CAMERAS, EXIF_TAGS, CameraSpec, select_cameras
from .exif_writer import ExifWriter, choose_omitted, exif_arguments, true_tag_values
from .exposure import sample_capture
from .pipeline import encode_jpeg, render_photo
from .scenes import SCENE_STYLES, render_scene
from .standins import GENERATORS, make_photo_like_standin, make_standin

FORMAT_VERSION = 1
STANDIN_FINISHES = ("photo_like", "none")
MANIFEST_COLUMNS: tuple[str, ...] = (
    "path", "kind", "source", "make", "model", "lens_model", "software", "datetime_original",
    "iso", "f_number", "exposure_time", "focal_length", "focal_length_35mm", "exposure_program",
    "exposure_mode", "exposure_compensation", "brightness_value", "flash", "flash_fired",
    "metering_mode", "white_balance", "light_source", "scene_capture_type", "scene_style",
    "ev_scene", "exposure_bias", "illuminant", "cfa", "demosaic", "jpeg_quality", "subsampling",
    "exif_stripped", "omitted_tags", "width", "height",
)  # fmt: skip
_KIND_CODE = {"photo": 0, "generated": 1}


@dataclass(frozen=True)
class DemoSummary:
    """What ``build_demo`` made."""

    out_dir: Path
    manifest: Path
    seed: int
    cameras: tuple[str, ...]
    generators: tuple[str, ...]
    photos: int
    generated: int
    width: int
    height: int
    seconds: float

    @property
    def files(self) -> int:
        return self.photos + self.generated


@dataclass(frozen=True)
class _Task:
    kind: str  # photo | generated
    source: str  # camera slug or generator name
    source_index: int  # index in CAMERAS or in GENERATORS (stable across builds)
    index: int
    seed: int
    width: int
    height: int
    root: str
    finish: str = "none"

    @property
    def relpath(self) -> str:
        top = "photos" if self.kind == "photo" else "generated"
        ext = "jpg" if self.kind == "photo" or self.finish == "photo_like" else "png"
        return f"{top}/{self.source}/{self.source}_{self.index:04d}.{ext}"

    def rngs(self) -> tuple[np.random.Generator, np.random.Generator, np.random.Generator]:
        ss = np.random.SeedSequence(self.seed, spawn_key=(_KIND_CODE[self.kind], self.source_index, self.index))
        meta, scene, noise = (np.random.default_rng(s) for s in ss.spawn(3))
        return meta, scene, noise


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _photo(task: _Task, camera: CameraSpec) -> tuple[dict, list[str]]:
    meta_rng, scene_rng, noise_rng = task.rngs()
    capture = sample_capture(camera, meta_rng, task.width)
    stripped, omitted = choose_omitted(camera, capture, meta_rng)
    scene = render_scene(scene_rng, task.height, task.width, capture.scene_capture_type)
    rgb = render_photo(camera, capture, scene, noise_rng, unit_seed=task.seed)
    path = Path(task.root) / task.relpath
    path.write_bytes(encode_jpeg(camera, rgb, capture.jpeg_quality))
    values = true_tag_values(camera, capture)
    row = {"path": task.relpath, "kind": "photo", "source": camera.slug}
    row.update({column: values[tag] for tag, column in EXIF_TAGS.items()})
    row.update(
        flash_fired=capture.flash_fired,
        scene_style=capture.style,
        ev_scene=capture.ev_scene,
        exposure_bias=capture.exposure_bias,
        illuminant=capture.illuminant,
        cfa=camera.cfa,
        demosaic=camera.demosaic,
        jpeg_quality=capture.jpeg_quality,
        subsampling={0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}[camera.subsampling],
        exif_stripped=stripped,
        omitted_tags=";".join(omitted),
        width=task.width,
        height=task.height,
    )
    return row, exif_arguments(values, omitted)


def _generated(task: _Task) -> tuple[dict, list[str]]:
    meta_rng, _, _ = task.rngs()
    if task.finish == "photo_like":
        style, data = make_photo_like_standin(task.source, meta_rng, task.width, task.height)
    else:
        style, img = make_standin(task.source, meta_rng, task.width, task.height)
        buf = io.BytesIO()
        Image.fromarray(img, "RGB").save(buf, "PNG", optimize=False, compress_level=6)
        data = buf.getvalue()
    (Path(task.root) / task.relpath).write_bytes(data)
    row = {"path": task.relpath, "kind": "generated", "source": task.source,
           "scene_style": SCENE_STYLES[style], "width": task.width, "height": task.height}
    return row, []


def _run(task: _Task) -> tuple[dict, list[str]]:
    if task.kind == "photo":
        return _photo(task, CAMERAS[task.source_index])
    return _generated(task)


def _default_workers() -> int:
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, min(n, 8))


def _pool(workers: int):
    """A spawn pool whose workers run single-threaded BLAS (the images are the parallel unit)."""
    keys = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    saved = {k: os.environ.get(k) for k in keys}
    try:
        for k in keys:
            os.environ[k] = "1"
        return multiprocessing.get_context("spawn").Pool(workers)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _replace_dir(tmp: Path, out_dir: Path) -> None:
    if out_dir.exists():
        looks_like_demo = (out_dir / "manifest.csv").exists() or (out_dir / "dataset.json").exists()
        if out_dir.is_dir() and (looks_like_demo or not any(out_dir.iterdir())):
            old = out_dir.with_name(out_dir.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            out_dir.rename(old)
            tmp.rename(out_dir)
            shutil.rmtree(old, ignore_errors=True)
            return
        raise FileExistsError(f"{out_dir} exists and is not a demo dataset; not replacing it")
    tmp.rename(out_dir)


def build_demo(
    out_dir: Path,
    *,
    seed: int = 0,
    cameras: int = 4,
    photos_per_camera: int = 40,
    generated_per_set: int = 40,
    width: int = 512,
    height: int = 384,
    progress: bool = False,
    workers: int | None = None,
    standin_finish: str = "none",
) -> DemoSummary:
    """Build the demo dataset into ``out_dir`` (replacing a previous demo build there).

    ``cameras`` picks the first N of the simulated camera models (4 to ``len(CAMERAS)``).
    ``standin_finish`` is ``"none"`` (the stand-ins are written as they come out of the synthesis, as
    PNG: a detector may then tell them from the JPEG photos by format alone) or ``"photo_like"`` (they
    get photo-like noise and JPEG compression first, ``standins.finish_like_photo``).
    ``workers`` processes render images in parallel (default: the available cores, at most 8); the
    result does not depend on it (numpy's BLAS runs single-threaded in every case).
    """
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    specs = select_cameras(cameras)
    if width < 64 or height < 64 or width % 8 or height % 8:
        raise ValueError(f"width and height must be multiples of 8 and at least 64, got {width} x {height}")
    if photos_per_camera < 0 or generated_per_set < 0:
        raise ValueError("counts must not be negative")
    if standin_finish not in STANDIN_FINISHES:
        raise ValueError(f"standin_finish must be one of {', '.join(STANDIN_FINISHES)}, got {standin_finish!r}")
    if not 0 <= seed < 2**63:
        raise ValueError("seed must be a non-negative integer")

    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    tasks: list[_Task] = []
    generators = tuple(GENERATORS)
    # Longest tasks first, so the pool's tail is short.
    for gi, name in enumerate(generators):
        (tmp / "generated" / name).mkdir(parents=True)
        tasks += [_Task("generated", name, gi, i, seed, width, height, str(tmp), standin_finish)
                  for i in range(generated_per_set)]
    for camera in specs:
        (tmp / "photos" / camera.slug).mkdir(parents=True)
        ci = CAMERAS.index(camera)
        tasks += [_Task("photo", camera.slug, ci, i, seed, width, height, str(tmp)) for i in range(photos_per_camera)]

    n_workers = min(workers or _default_workers(), max(1, len(tasks)))
    rows: list[dict] = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(tasks), desc="demo data", unit="img", file=sys.stderr)
    # Single-threaded BLAS here as in the pool's workers: a product split over threads rounds
    # differently, and the images would then depend on the worker count and the machine's cores.
    with ExifWriter() as writer, threadpool_limits(1):
        if n_workers > 1:
            pool = _pool(n_workers)
            results = pool.imap(_run, tasks, chunksize=1)
        else:
            pool = None
            results = map(_run, tasks)
        try:
            for task, (row, exif_args) in zip(tasks, results, strict=True):
                writer.write(tmp / task.relpath, exif_args)
                rows.append(row)
                if bar is not None:
                    bar.update()
        finally:
            if pool is not None:
                pool.terminate()
                pool.join()
            if bar is not None:
                bar.close()
        exiftool_version = writer.version

    rows.sort(key=lambda r: r["path"])
    with open(tmp / "manifest.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(MANIFEST_COLUMNS)
        for row in rows:
            w.writerow([_fmt(row.get(column)) for column in MANIFEST_COLUMNS])
    info = {
        "format_version": FORMAT_VERSION,
        "seed": seed,
        "width": width,
        "height": height,
        "photos_per_camera": photos_per_camera,
        "generated_per_set": generated_per_set,
        "standin_finish": standin_finish,
        "cameras": [{"slug": c.slug, "make": c.make, "model": c.model, "cfa": c.cfa, "demosaic": c.demosaic,
                     "description": c.summary} for c in specs],
        "generators": [{"name": g, "description": d} for g, d in GENERATORS.items()],
        "exiftool_version": exiftool_version,
        "manifest": "manifest.csv",
        "note": "Simulated data: the cameras are fictional and the generated images are stand-ins "
        "made by simple synthesis processes, not by real generative models.",
    }
    (tmp / "dataset.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    _replace_dir(tmp, out_dir)
    n_photos = sum(r["kind"] == "photo" for r in rows)
    return DemoSummary(
        out_dir=out_dir,
        manifest=out_dir / "manifest.csv",
        seed=seed,
        cameras=tuple(c.slug for c in specs),
        generators=generators,
        photos=n_photos,
        generated=len(rows) - n_photos,
        width=width,
        height=height,
        seconds=time.perf_counter() - t0,
    )
