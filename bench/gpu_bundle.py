"""Prepare the GPU size of the real-data experiment for a GPU machine that has no Snakemake or polars.

A device call carries at most 64 MiB, and the shared photos and generated images weigh about 100 MB.
This script, run here, writes a bundle folder (git-ignored) with:

* ``data/<dataset>/...``: every file of the config's datasets, images larger than the limits centre-
  cropped: JPEGs losslessly with ``jpegtran -crop`` (corner on the 16-pixel MCU grid, EXIF kept, so the
  decoded pixels of the kept region are the camera's), PNGs with Pillow (lossless); other files copied;
* ``config.yaml`` (the experiment's config pointing at those copies, results under ``results/``) and
  ``config.json`` (the same, validated, every default filled in: the GPU side cannot validate);
* ``results/exif/*.parquet`` and ``results/tags/*``: the EXIF and tag stages, run here with Snakemake.

    python bench/gpu_bundle.py --config configs/shared_gpu.yaml --out .gpu_bundle

Then ``bench/gpu_experiment.py`` runs the rest of the pipeline on the GPU machine from that folder.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from PIL import Image

from sdaie.config import load_config
from sdaie.exif.listing import list_files

REPO = Path(__file__).resolve().parents[1]
MCU = 16


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
    parser.add_argument("--out", type=Path, default=REPO / ".gpu_bundle")
    parser.add_argument("--photo-side", type=int, default=512, help="largest photo side kept (pixels)")
    parser.add_argument("--generated-side", type=int, default=384, help="largest generated-image side kept")
    parser.add_argument("--cores", default="2")
    args = parser.parse_args()

    raw = yaml.safe_load(args.config.read_text())
    out = args.out.resolve()
    counts: dict[str, dict[str, int]] = {}
    for name, dataset in raw["datasets"].items():
        source_root = (REPO / dataset["path"]).resolve()
        side = args.photo_side if dataset["kind"] == "photo" else args.generated_side
        target_root = out / "data" / name
        done: dict[str, int] = {}
        for relative in list_files(source_root):
            action = copy_cropped(source_root / relative, target_root / relative, side)
            done[action] = done.get(action, 0) + 1
        counts[name] = done
        dataset["path"] = str(target_root)
    raw["results"] = str(out / "results")
    (out / "config.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    config = load_config(out / "config.yaml")
    targets = [f"{config['results']}/exif/{name}.parquet" for name in config["datasets"]]
    targets += [f"{config['results']}/tags/{name}" for name in ("tags.parquet", "vocabulary.json", "summary.json", "summary.md")]
    subprocess.run([sys.executable, "-m", "snakemake", *targets, "--cores", args.cores, "--configfile", str(out / "config.yaml")],
                   cwd=REPO, check=True)
    # The GPU side reads paths relative to the bundle, wherever it lands.
    portable = json.loads(json.dumps(config))
    for dataset in portable["datasets"].values():
        dataset["path"] = str(Path(dataset["path"]).relative_to(out))
    portable["results"] = "results"
    (out / "config.json").write_text(json.dumps(portable, indent=2))
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file() and ".snakemake" not in p.parts)
    print(json.dumps({"datasets": counts, "bundle_mib": round(size / 2**20, 1)}, indent=2))


if __name__ == "__main__":
    main()
