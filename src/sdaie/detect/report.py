"""Writing detection results as a table, CSV or JSON lines, streaming (one image at a time).

The table starts with a legend (lines beginning with `#`): what each score is, which way means
AI-generated, and the thresholds. CSV and JSON carry the same numbers in named fields
(`oneclass_threshold` beside each log-likelihood).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import asdict, fields
from typing import TextIO

from sdaie.detect.detector import DetectionResult

COLUMNS = [f.name for f in fields(DetectionResult)]
HEADER = f"{'log-lik':>12} {'one-class':<13} {'P(AI)':>6} {'binary':<13} path"


def _verdict(flag: bool | None) -> str:
    return "-" if flag is None else ("AI-generated" if flag else "real")


def _number(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def write_results(results: Iterable[DetectionResult], fmt: str, out: TextIO, legend: list[str] | None = None) -> int:
    """Write each result as it comes; returns the number of files that could not be scored."""
    failed = 0
    writer = None
    if fmt == "table":
        for line in legend or []:
            out.write(f"# {line}\n")
        out.write(HEADER + "\n")
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
            out.write(
                f"{_number(result.oneclass_loglik, '>12.1f'):>12} {_verdict(result.oneclass_generated):<13} "
                f"{_number(result.binary_probability, '.3f'):>6} {_verdict(result.binary_generated):<13} "
                f"{result.path}{' (upscaled)' if result.upscaled else ''}\n"
            )
        out.flush()
    return failed
