"""Command line for the demo dataset: ``python -m sdaie.demo OUT_DIR`` (and ``sdaie demo-data``).

``add_arguments`` and ``run`` let the main ``sdaie`` command reuse the same options.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .build import STANDIN_FINISHES
from .cameras import CAMERAS, MIN_CAMERAS


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("out_dir", type=Path, help="directory to build the demo dataset in (replaced)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--cameras", type=int, default=4,
                        help=f"number of simulated camera models, {MIN_CAMERAS}-{len(CAMERAS)} (default 4)")
    parser.add_argument("--photos-per-camera", type=int, default=40, help="default 40")
    parser.add_argument("--generated-per-set", type=int, default=40,
                        help="images per generated stand-in set (default 40)")
    parser.add_argument("--width", type=int, default=512, help="image width, multiple of 8 (default 512)")
    parser.add_argument("--height", type=int, default=384, help="image height, multiple of 8 (default 384)")
    parser.add_argument("--standin-finish", choices=STANDIN_FINISHES, default="none",
                        help="photo_like: the stand-ins get photo-like noise and JPEG compression; none (default): "
                        "written as synthesised, PNG")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: cores, max 8)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def run(args: argparse.Namespace) -> int:
    from .build import build_demo

    summary = build_demo(
        args.out_dir,
        seed=args.seed,
        cameras=args.cameras,
        photos_per_camera=args.photos_per_camera,
        generated_per_set=args.generated_per_set,
        width=args.width,
        height=args.height,
        progress=not args.quiet,
        workers=args.workers,
        standin_finish=args.standin_finish,
    )
    print(
        f"demo dataset: {summary.photos} photos from {len(summary.cameras)} simulated cameras, "
        f"{summary.generated} generated stand-ins ({', '.join(summary.generators)}) in {summary.out_dir} "
        f"[{summary.seconds:.1f} s]",
        file=sys.stderr,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = add_arguments(argparse.ArgumentParser(prog="python -m sdaie.demo", description=__doc__))
    return run(parser.parse_args(argv))
