"""Prepare a config's GPU stages for a GPU machine that has PyTorch but no Snakemake, polars or exiftool.

The pipeline runs there through its own rules: this script, run here in the repository root, writes a
bundle folder (git-ignored, inside the repository so that a device call carries it) with:

* ``data/<dataset>/...``: every file of the config's datasets, images larger than the limits centre-
  cropped (a device call carries at most 64 MiB): JPEGs losslessly with ``jpegtran -crop`` (corner on
  the 16-pixel MCU grid, EXIF kept, so the decoded pixels of the kept region are the camera's), PNGs
  with Pillow (lossless); other files copied;
* ``config.yaml``: the config pointing at those copies, results in the bundle's ``results/`` (paths
  relative to the repository root, which is where Snakemake runs on both machines);
* ``results/exif/*`` and ``results/tags/*``: the data half (EXIF needs exiftool, tags need polars),
  run here with Snakemake;
* ``wheels/``: Snakemake and what it needs that the GPU machine lacks, for its Python (3.12);
* ``bundle.json``: the Snakemake targets of each side.

    python bench/gpu_bundle.py --config configs/shared_gpu.yaml --out .gpu_bundle   # here
    BUNDLE=.gpu_bundle OUT=out bash bench/gpu_run.sh                               # on the GPU machine
    python bench/gpu_report.py --bundle .gpu_bundle --run out                      # here: metrics, report
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from PIL import Image

from sdaie.config import evaluated_generated, load_config, tag_datasets
from sdaie.exif.listing import list_files

REPO = Path(__file__).resolve().parents[1]
MCU = 16
# Distributions the GPU machine's image already has (device tool, KINDS.md): not carried.
DEVICE_HAS = {
    "attrs", "certifi", "charset-normalizer", "idna", "jinja2", "markupsafe", "numpy", "packaging", "pandas",
    "pillow", "psutil", "python-dateutil", "pyyaml", "requests", "six", "tabulate", "typing-extensions",
    "urllib3", "wrapt", "tqdm", "threadpoolctl", "scipy", "scikit-learn", "pyarrow", "torch", "matplotlib",
}
# Needed by the GPU side: Snakemake (without pulp: its ILP scheduler is not used, --scheduler greedy),
# the config's schema validation, and HEIC decoding.
DEVICE_NEEDS = ["snakemake", "jsonschema", "pillow-heif"]
NOT_CARRIED = {"pulp"}


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def dependency_closure(names: list[str]) -> dict[str, str]:
    """{distribution: installed version} of `names` and everything they require (no extras), from this venv."""
    found, todo = {}, list(names)
    while todo:
        name = todo.pop()
        if _key(name) in found:
            continue
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        found[_key(name)] = dist.version
        todo += [re.split(r"[ ;<>=!~\[(]", r)[0] for r in dist.requires or [] if "extra ==" not in r]
    return found


def device_wheels(folder: Path, python_version: str) -> list[str]:
    """Wheels of what the GPU machine lacks, at the versions installed here: binary wheels for its Python
    where PyPI has them, else built here from the sdist (pure-Python packages). Returns the file names."""
    folder.mkdir(parents=True, exist_ok=True)
    needed = {k: v for k, v in dependency_closure(DEVICE_NEEDS).items() if k not in DEVICE_HAS | NOT_CARRIED}
    platforms = [f"--platform={p}" for p in ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "any")]
    pip = [sys.executable, "-m", "pip", "-q"]
    for name, version in sorted(needed.items()):
        download = subprocess.run([*pip, "download", "--no-deps", "--only-binary=:all:", f"--python-version={python_version}",
                                   "--implementation=cp", *platforms, "-d", str(folder), f"{name}=={version}"],
                                  capture_output=True, text=True)
        if download.returncode != 0:  # an sdist only: build a (pure-Python) wheel here
            subprocess.run([*pip, "wheel", "--no-deps", "-w", str(folder), f"{name}=={version}"], check=True)
    return sorted(p.name for p in folder.glob("*.whl"))


def stage_targets(config: dict) -> dict[str, list[str]]:
    """What each side runs: the data half here, the GPU stages there, the report here afterwards."""
    results = config["results"]
    evaluated = tag_datasets(config) + evaluated_generated(config)
    data_half = [f"{results}/exif/{name}.parquet" for name in config["datasets"]]
    data_half += [f"{results}/tags/{name}" for name in ("tags.parquet", "vocabulary.json", "summary.json", "summary.md")]
    models = [f"{results}/models/pretext.pt", f"{results}/models/oneclass.npz"]
    if config["binary"]["generated"] or config["binary"]["init"]:
        models.append(f"{results}/models/binary.pt")
    gpu = models + [f"{results}/evaluation/scores/{name}.parquet" for name in evaluated]
    gpu += [f"{results}/features/{name}.parquet" for name in config["datasets"]]
    report = [f"{results}/evaluation/{name}" for name in ("metrics.json", "report.html")]
    return {"data_half": data_half, "gpu": gpu, "report": report}


def centre_box(width: int, height: int, side: int, grid: int) -> tuple[int, int, int, int]:
    """(left, top, width, height) of a centre crop at most ``side`` square, corner on ``grid``."""
    w, h = min(width, side), min(height, side)
    left = ((width - w) // 2) // grid * grid
    top = ((height - h) // 2) // grid * grid
    return left, top, w, h


def copy_cropped(source: Path, target: Path, side: int) -> str:
    """Copy ``source`` to ``target``, centre-cropped to ``side`` when larger; returns what was done."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with Image.open(source) as image:
            image_format, (width, height) = image.format, image.size
    except Exception:  # not an image: copied as is, the EXIF stage records it
        shutil.copy2(source, target)
        return "copied (not an image)"
    if width <= side and height <= side:
        shutil.copy2(source, target)
        return "copied"
    if image_format == "JPEG":
        if shutil.which("jpegtran") is None:
            raise SystemExit("ERROR jpegtran: not installed (apt-get install libjpeg-turbo-progs, or raise --photo-side)")
        left, top, w, h = centre_box(width, height, side, MCU)
        done = subprocess.run(["jpegtran", "-copy", "all", "-crop", f"{w}x{h}+{left}+{top}", "-outfile", str(target),
                               str(source)], capture_output=True)
        # exit status 2: warnings only (for example "Corrupt JPEG data: extraneous bytes"), output written
        if done.returncode in (0, 2) and target.is_file() and target.stat().st_size > 0:
            return "jpegtran crop" if done.returncode == 0 else "jpegtran crop (with warnings)"
        shutil.copy2(source, target)
        return "copied (jpegtran failed)"
    if image_format == "PNG":
        left, top, w, h = centre_box(width, height, side, 1)
        with Image.open(source) as image:
            image.crop((left, top, left + w, top + h)).save(target, format="PNG")
        return "png crop"
    shutil.copy2(source, target)
    return f"copied ({image_format})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "shared_gpu.yaml")
    parser.add_argument("--root", type=Path, default=REPO, help="where Snakemake runs, on both machines (default: the repository)")
    parser.add_argument("--out", type=Path, default=REPO / ".gpu_bundle", help="the bundle, a folder inside --root")
    parser.add_argument("--photo-side", type=int, default=448, help="largest photo side kept (pixels; the bundle and its 16 MiB of wheels must fit a 64 MiB device call)")
    parser.add_argument("--generated-side", type=int, default=384, help="largest generated-image side kept")
    parser.add_argument("--cores", default="2")
    parser.add_argument("--python-version", default="3.12", help="the GPU machine's Python, for the wheels")
    parser.add_argument("--wheels", action=argparse.BooleanOptionalAction, default=True,
                        help="carry Snakemake and its dependencies as wheels (not needed where Snakemake is installed)")
    args = parser.parse_args()

    raw = yaml.safe_load(args.config.read_text())
    out = args.out.resolve()
    root = args.root.resolve()
    bundle = out.relative_to(root)  # paths in the config are relative to the folder Snakemake runs in
    counts: dict[str, dict[str, int]] = {}
    for name, dataset in raw["datasets"].items():
        source_root = (root / dataset["path"]).resolve()
        side = args.photo_side if dataset["kind"] == "photo" else args.generated_side
        done: dict[str, int] = {}
        for relative in list_files(source_root):
            action = copy_cropped(source_root / relative, out / "data" / name / relative, side)
            done[action] = done.get(action, 0) + 1
        counts[name] = done
        dataset["path"] = str(bundle / "data" / name)
    raw["results"] = str(bundle / "results")
    (out / "config.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    config = load_config(out / "config.yaml")
    targets = stage_targets(config)
    subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(root),
                    *targets["data_half"], "--cores", args.cores, "--configfile", str(out / "config.yaml")], check=True)
    wheels = device_wheels(out / "wheels", args.python_version) if args.wheels else []
    (out / "bundle.json").write_text(json.dumps({**targets, "wheels": wheels}, indent=2))
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file() and ".snakemake" not in p.parts)
    print(json.dumps({"datasets": counts, "wheels": len(wheels), "bundle_mib": round(size / 2**20, 1)}, indent=2))


if __name__ == "__main__":
    main()
