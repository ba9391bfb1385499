"""The `sdaie` command: each pipeline step on its own, outside Snakemake.

    sdaie demo-data OUT_DIR            build the simulated-camera demo data
    sdaie exif PATH... -o raw.parquet  read camera metadata into a Parquet table
    sdaie tags raw.parquet -o tags.parquet
                                       normalize tags; writes vocabulary and summary beside it
    sdaie import-weights --backbone B.pth --binary BC.pth -o models/
                                       published checkpoints -> a models folder
    sdaie fit-oneclass PHOTOS... --models models/
                                       fit the one-class GMM on your own real photos
    sdaie detect PATH... --models models/
                                       is it AI-generated?

Bad input ends in one line `ERROR <file>: <what> (<what to do>)` and exit status 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

from sdaie import __version__
from sdaie.config import SPLITS, ConfigError
from sdaie.errors import InputError

PATCHING_RULES = ("centre", "official")  # sdaie.detect.features (not imported here: it loads PyTorch)
from sdaie.demo import cli as demo_cli

log = logging.getLogger("sdaie")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _split_fractions(text: str) -> dict[str, float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected {len(SPLITS)} comma-separated numbers, got {text!r}") from exc
    if len(values) != len(SPLITS) or any(v < 0 for v in values) or abs(sum(values) - 1) > 1e-6:
        raise argparse.ArgumentTypeError(
            f"expected {len(SPLITS)} non-negative fractions summing to 1 ({', '.join(SPLITS)}), got {text!r}"
        )
    return dict(zip(SPLITS, values))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sdaie",
        description="Self-supervised AI-generated image detection from camera metadata (SDAIE).",
    )
    parser.add_argument("--version", action="version", version=f"sdaie {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only warnings and errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo-data",
        help="build the simulated-camera demo dataset",
        description="Build the built-in demo data offline and deterministically: JPEG photographs from "
        "simulated camera models (with EXIF written by exiftool) and PNG images from two generator "
        "stand-ins. Writes OUT_DIR/photos/<camera>/, OUT_DIR/generated/<stand-in>/ and OUT_DIR/manifest.csv "
        "(the simulated truth). An existing OUT_DIR is replaced only if it holds an earlier demo build.",
    )
    demo_cli.add_arguments(demo)

    exif = commands.add_parser(
        "exif",
        help="read camera metadata into a Parquet table",
        description="Read camera metadata with exiftool (one long-lived process per job, files in batches) "
        "into one Parquet row per file. Folders are searched recursively (hidden files skipped); each "
        "folder is a dataset root and rows hold paths relative to it. Files that cannot be read or are not "
        "whole images (truncated, empty, not an image) get a row with the error. If the output exists, rows of unchanged files are reused and only new or "
        "changed files are read (use --no-reuse to read everything again).",
    )
    exif.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="image files and/or folders")
    exif.add_argument("-o", "--output", type=Path, required=True, help="Parquet file to write (zstd)")
    exif.add_argument("--dataset", help="dataset name stored in every row (default: each PATH's folder name)")
    exif.add_argument("-j", "--jobs", type=_positive_int, default=1, help="exiftool processes working at once (default 1)")
    exif.add_argument("--batch-size", type=_positive_int, default=64, help="files per exiftool request (default 64)")
    exif.add_argument("--no-reuse", action="store_true", help="do not reuse rows from an existing output")
    exif.add_argument("--no-progress", action="store_true", help="no progress bar")

    tags = commands.add_parser(
        "tags",
        help="normalize tags: canonical make/model, class indices, parsed numbers, splits",
        description="Normalize raw EXIF tables into the tag table: canonical make and model, categorical "
        "tags as class indices (a vocabulary with a minimum count, rare values in 'other', missing stays "
        "missing), numeric tags parsed, range-checked and log-scaled, and a deterministic split column. "
        "Writes OUTPUT, and beside it OUTPUT-stem.vocabulary.json, OUTPUT-stem.summary.md and .summary.json.",
    )
    tags.add_argument("raw", nargs="+", type=Path, help="raw EXIF Parquet tables (from `sdaie exif`)")
    tags.add_argument("-o", "--output", type=Path, required=True, help="tag table to write (Parquet)")
    tags.add_argument("--vocabulary", type=Path, help="reuse this saved vocabulary instead of building one (inference)")
    tags.add_argument("--min-count", type=_positive_int, default=3, help="values seen fewer times in the training split go to 'other' (default 3)")
    tags.add_argument(
        "--split",
        type=_split_fractions,
        default=None,
        metavar="F,F,F,F",
        help=f"fractions for {', '.join(SPLITS)} (default 0.6,0.1,0.15,0.15)",
    )
    tags.add_argument("--split-seed", type=int, default=0, help="seed of the split assignment (default 0)")

    detect = commands.add_parser(
        "detect",
        help="is this image AI-generated? score files and folders with trained models",
        description="Score images with the models of a pipeline run: the one-class detector's log-likelihood "
        "under real photos' features (low = AI-generated) and, when a binary detector was trained, its "
        "probability that the image is AI-generated. Folders are searched recursively. Files that cannot "
        "be read get a row with the error; the exit status is 1 when any file failed, 2 on a usage error.",
    )
    detect.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="image files and/or folders")
    detect.add_argument("--models", type=Path, default=Path("results/models"),
                        help="folder with pretext.pt and oneclass.npz and/or binary.pt (default results/models)")
    detect.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="default: a GPU when there is one")
    detect.add_argument("--format", choices=["table", "csv", "json"], default="table", help="output format (default table)")
    detect.add_argument("--max-patches", type=_positive_int, default=None,
                        help="64x64 patches per image at most (default: as the one-class GMM was fitted, else 20000)")
    detect.add_argument("--patching", choices=list(PATCHING_RULES), default=None,
                        help="how an image becomes patches (default: as the one-class GMM was fitted, else centre)")

    weights = commands.add_parser(
        "import-weights",
        help="turn the published SDAIE checkpoints into a models folder",
        description="Read the checkpoints that the official SDAIE code saves (the authors publish a backbone and a "
        "binary-classifier checkpoint beside it) and write a models folder that `sdaie detect`, `Detector` and the "
        "pipeline (pretext.init, binary.init) use: pretext.pt (the pretext extractor; from the binary checkpoint's "
        "teacher when no backbone is given) and binary.pt. Every tensor is mapped by name and shape; a file with "
        "anything left over, missing or of another shape is refused with a list of what did not map. The backbone's "
        "14 pretext heads are kept in pretext.pt for reference, unused. Then fit the one-class detector on your own "
        "real photos with `sdaie fit-oneclass`.",
    )
    weights.add_argument("--backbone", type=Path, help="official backbone checkpoint (backbone_train.py's format)")
    weights.add_argument("--binary", type=Path, help="official binary-classifier checkpoint (bc_train.py's format)")
    weights.add_argument("-o", "--output", type=Path, required=True, help="models folder to write (created if needed)")

    fit = commands.add_parser(
        "fit-oneclass",
        help="fit the one-class detector (GMM) on real photos",
        description="Fit the one-class detector on the features of real camera photos: a Gaussian mixture whose "
        "low-likelihood images are called AI-generated. The defaults are the published recipe (5 full-covariance "
        "components, k-means++, reg_covar 1e-6, max_iter 100, seed 42; threshold at the 2%% lowest fitting score, "
        "generated at or below it), which the authors fit on 10,000 photos: with a few hundred, the mixture "
        "overfits and flags most new photos (use --components 1 --reg-covar ledoit_wolf --threshold-from crossval). "
        "Folders are searched recursively; unreadable files are listed and skipped. Writes MODELS/oneclass.npz.",
    )
    fit.add_argument("paths", nargs="+", type=Path, metavar="PHOTOS", help="real photos: files and/or folders")
    fit.add_argument("--models", type=Path, required=True, help="models folder with pretext.pt (from import-weights or the pipeline)")
    fit.add_argument("--components", type=_positive_int, default=5, help="mixture components (default 5, published)")
    fit.add_argument("--covariance", choices=["full", "tied", "diag", "spherical"], default="full", help="default full (published)")
    fit.add_argument("--reg-covar", type=_reg_covar, default=1e-6, help="number or ledoit_wolf (default 1e-6, published)")
    fit.add_argument("--target-fpr", type=float, default=0.02, help="share of fitting photos below the threshold (default 0.02)")
    fit.add_argument("--threshold-from", choices=["fit", "crossval"], default="fit", help="default fit (published)")
    fit.add_argument("--max-patches", type=_positive_int, default=20_000, help="patches per image at most (default 20000)")
    fit.add_argument("--patching", choices=list(PATCHING_RULES), default="centre", help="default centre (see sdaie.detect.features)")
    fit.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    return parser


def _reg_covar(text: str) -> float | str:
    if text == "ledoit_wolf":
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number or ledoit_wolf, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return value


def _cmd_demo_data(args: argparse.Namespace) -> int:
    return demo_cli.run(args)


def _exif_sources(paths: list[Path]) -> list[tuple[Path, list[str] | None]]:
    """(root, relpaths) per PATH: a folder is listed recursively, a file is its parent plus its name."""
    sources = []
    for path in paths:
        if path.is_dir():
            sources.append((path, None))
        elif path.exists() or path.is_symlink():
            sources.append((path.parent, [path.name]))
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
    return sources


def _cmd_exif(args: argparse.Namespace) -> int:
    import pyarrow.parquet as pq

    from sdaie.exif.extract import extract_to_parquet
    from sdaie.exif.listing import list_files
    from sdaie.errors import InputError, check_output_file
    from sdaie.exif.table import merge_tables

    for path in args.paths:  # a FIFO or a dangling link is fine: it gets its row, with the error
        if not (path.exists() or path.is_symlink()):
            raise InputError(path, "no such file or folder", "check the path")
    sources = _exif_sources(args.paths)
    check_output_file(args.output)  # before any file is read
    previous = args.output if args.output.exists() and not args.no_reuse else None
    with tempfile.TemporaryDirectory(dir=args.output.parent, prefix=".sdaie-exif-") as tmp:
        parts = []
        for i, (root, relpaths) in enumerate(sources):
            dataset = args.dataset or root.resolve().name
            part = Path(tmp) / f"part-{i}.parquet"
            extract_to_parquet(  # logs what it did, in words
                root,
                relpaths if relpaths is not None else list_files(root),
                part,
                dataset=dataset,
                previous=previous,
                batch_size=args.batch_size,
                jobs=args.jobs,
                progress=not (args.no_progress or args.quiet),
            )
            parts.append(part)
        rows = merge_tables(parts, args.output)
    usable = pq.read_table(args.output, columns=["error"]).column("error").null_count
    print(f"{args.output}: {rows} rows, {rows - usable} with errors (see the error column)")
    return 0


def _cmd_tags(args: argparse.Namespace) -> int:
    from sdaie.tags.normalize import normalize_tables

    stem = args.output.with_suffix("")
    vocab_out = stem.with_name(stem.name + ".vocabulary.json")
    summary_out = stem.with_name(stem.name + ".summary.md")
    stats = normalize_tables(
        list(args.raw),
        args.output,
        vocab_out=vocab_out,
        summary_out=summary_out,
        vocab_in=args.vocabulary,
        min_count=args.min_count,
        split_fractions=args.split,
        split_seed=args.split_seed,
    )
    print(
        f"{args.output}: {stats.rows} rows, {stats.usable_rows} usable, {stats.error_rows} with errors "
        f"(in no split); per split: {', '.join(f'{name} {n}' for name, n in stats.rows_per_split.items())}"
    )
    print(f"vocabulary: {vocab_out}\nsummary: {summary_out}")
    return 0


def _cmd_detect(args: argparse.Namespace) -> int:
    from sdaie.detect.detector import Detector
    from sdaie.detect.report import write_results

    missing = [p for p in args.paths if not p.exists()]
    if missing:
        log.error("no such file or folder: %s", ", ".join(map(str, missing)))
        return 2
    detector = Detector(args.models, device=args.device, max_patches=args.max_patches, patching=args.patching)
    results = detector.score(args.paths, progress=not args.quiet and sys.stderr.isatty())
    failed = write_results(results, args.format, sys.stdout, legend=detector.legend())
    return 1 if failed else 0


def _cmd_import_weights(args: argparse.Namespace) -> int:
    from sdaie.model.importer import import_weights

    if not (args.backbone or args.binary):
        log.error("give --backbone, --binary or both")
        return 2
    for line in import_weights(args.backbone, args.binary, args.output):
        print(line)
    return 0


def _cmd_fit_oneclass(args: argparse.Namespace) -> int:
    from sdaie.detect.features import Patching
    from sdaie.detect.fit import fit_oneclass_on_files
    from sdaie.detect.oneclass import GMMSettings

    settings = GMMSettings(n_components=args.components, covariance_type=args.covariance, reg_covar=args.reg_covar,
                           target_fpr=args.target_fpr, threshold_from=args.threshold_from)
    report = fit_oneclass_on_files(args.paths, args.models, settings, Patching(args.max_patches, args.patching),
                                   device=args.device, progress=not args.quiet and sys.stderr.isatty())
    for path, reason in report.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    print(report.summary())
    return 0


COMMANDS = {"demo-data": _cmd_demo_data, "exif": _cmd_exif, "tags": _cmd_tags, "detect": _cmd_detect,
            "import-weights": _cmd_import_weights, "fit-oneclass": _cmd_fit_oneclass}


def main(argv: list[str] | None = None) -> int:
    """Run one command. An input that cannot be used (a missing or damaged file, a table of the wrong
    kind, an output that cannot be written, an invalid configuration) ends it with one line on
    stderr, ``ERROR <path>: <what> (<hint>)``, and exit status 2."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(levelname)s %(message)s",
        stream=sys.stderr,
    )
    try:
        return COMMANDS[args.command](args)
    except (InputError, ConfigError) as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        print("ERROR " + " ".join(lines[:1] + ["; ".join(lines[1:])]).strip(), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
