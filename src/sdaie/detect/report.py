"""Writing detection results as a table, CSV or JSON lines, streaming (one image at a time)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import asdict, fields
from typing import TextIO

from sdaie.detect.detector import DetectionResult

COLUMNS = [f.name for f in fields(DetectionResult)]


def _verdict(flag: bool | None) -> str:
    return "-" if flag is None else ("AI-generated" if flag else "real")


def write_results(results: Iterable[DetectionResult], fmt: str, out: TextIO) -> int:
    """Write each result as it comes; returns the number of files that could not be scored."""
    failed = 0
    writer = None
    if fmt == "table":
        out.write(f"{'one-class':>12} {'verdict':<13} {'P(AI)':>6} {'verdict':<13} path\n")
    for result in results:
        failed += result.error is not None
        if fmt == "json":
            out.write(json.dumps(asdict(result)) + "\n")
        elif fmt == "csv":
            if writer is None:
                writer = csv.DictWriter(out, fieldnames=COLUMNS)
                writer.writeheader()
            writer.writerow(asdict(result))
        elif result.error:
            out.write(f"{'':>12} {'error':<13} {'':>6} {'':<13} {result.path}: {result.error}\n")
        else:
            probability = "-" if result.binary_probability is None else f"{result.binary_probability:.3f}"
            out.write(
                f"{result.oneclass_loglik:>12.1f} {_verdict(result.oneclass_generated):<13} {probability:>6} "
                f"{_verdict(result.binary_generated):<13} {result.path}{' (upscaled)' if result.upscaled else ''}\n"
            )
        out.flush()
    return failed
