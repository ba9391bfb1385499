"""Benchmark the cheap image check of EXIF extraction against a full decode, per file and format.

Not a test: prints a table. Usage (from the repository root)::

    PYTHONPATH=src .venv/bin/python bench/decode_check.py [FOLDER...] [--repeat 3]

Default folders: the shared photos, camera series, HEIC/TIFF edge cases and generated PNGs
(``../shared/data``). Every file is read once first, so all methods find it in the page cache
(extraction hashes every file anyway). Then, per file, best of ``--repeat`` runs of:

* ``check``: :func:`sdaie.imagecheck.image_problem` (header, end of data; what extraction runs);
* ``open``: only the header part of it (:func:`sdaie.imageio.open_image`), for reference;
* ``draft``: JPEG only, a decode at 1/8 scale (libjpeg's DCT scaling): all entropy data, no full IDCT;
* ``full``: :func:`sdaie.imageio.decode_rgb`, what patch cutting and scoring do.

It also lists files whose verdicts disagree (check passes but the full decode fails, or the reverse).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
DEFAULT_FOLDERS = [SHARED / "photos", SHARED / "camera_series", SHARED / "edge_cases", SHARED / "generated"]
SKIP_SUFFIXES = {".csv", ".md", ".txt"}


def _best_ms(function, path: Path, repeat: int):
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function(path)
        best = min(best, time.perf_counter() - started)
    return best * 1e3, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="*", type=Path, default=DEFAULT_FOLDERS)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    from PIL import Image

    from sdaie.imagecheck import image_problem
    from sdaie.imageio import ImageDecodeError, decode_rgb, open_image

    def open_only(path: Path) -> None:
        try:
            open_image(path).close()
        except ImageDecodeError:
            pass

    def draft(path: Path) -> None:
        with Image.open(path) as image:
            image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
            image.load()

    def full(path: Path) -> str | None:
        try:
            decode_rgb(path)
        except ImageDecodeError as exc:
            return exc.what
        return None

    files = sorted(p for folder in args.folders for p in folder.rglob("*")
                   if p.is_file() and p.suffix.lower() not in SKIP_SUFFIXES)
    if not files:
        print("no files found in", ", ".join(map(str, args.folders)), file=sys.stderr)
        return 1
    for path in files:  # page cache
        path.read_bytes()

    by_format: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    sizes: dict[str, list[int]] = defaultdict(list)
    disagreements = []
    for path in files:
        try:
            with Image.open(path) as image:
                fmt, pixels = image.format, image.width * image.height
        except Exception:
            fmt, pixels = "not an image", 0
        sizes[fmt].append(pixels)
        check_ms, problem = _best_ms(image_problem, path, args.repeat)
        open_ms, _ = _best_ms(open_only, path, args.repeat)
        full_ms, failure = _best_ms(full, path, args.repeat)
        by_format[fmt]["check"].append(check_ms)
        by_format[fmt]["open"].append(open_ms)
        by_format[fmt]["full"].append(full_ms)
        if fmt in ("JPEG", "MPO") and failure is None:
            by_format[fmt]["draft"].append(_best_ms(draft, path, args.repeat)[0])
        if (problem is None) != (failure is None):
            disagreements.append((path, problem, failure))

    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{len(files)} files from {', '.join(str(f) for f in args.folders)}; best of {args.repeat} runs per file\n")
    print("| format | files | median megapixels | check ms/file (mean, median) | open only | draft 1/8 (JPEG) | full decode ms/file (mean, median) | full / check (mean) |")
    print("|---|---|---|---|---|---|---|---|")
    totals = defaultdict(float)
    for fmt in sorted(by_format, key=lambda f: -len(by_format[f]["check"])):
        times = by_format[fmt]
        for method in ("check", "full"):
            totals[method] += sum(times[method])
        draft_text = f"{statistics.mean(times['draft']):.2f}" if times["draft"] else "-"
        print(f"| {fmt} | {len(times['check'])} | {statistics.median(sizes[fmt]) / 1e6:.2f} "
              f"| {statistics.mean(times['check']):.2f}, {statistics.median(times['check']):.2f} "
              f"| {statistics.mean(times['open']):.2f} | {draft_text} "
              f"| {statistics.mean(times['full']):.2f}, {statistics.median(times['full']):.2f} "
              f"| {statistics.mean(times['full']) / statistics.mean(times['check']):.0f}x |")
    print(f"| all | {len(files)} | | {totals['check'] / len(files):.2f} mean | | | {totals['full'] / len(files):.2f} mean "
          f"| {totals['full'] / totals['check']:.0f}x |")
    print(f"\nper million such files, one core: check {totals['check'] / len(files) * 1e3 / 3600:.2f} h, "
          f"full decode {totals['full'] / len(files) * 1e3 / 3600:.2f} h")
    print("\nfiles where the check and a full decode disagree:" if disagreements else "\nno disagreement with a full decode")
    for path, problem, failure in disagreements:
        print(f"  {path}: check: {problem or 'passes'}; full decode: {failure or 'decodes'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
