"""Glue for Snakemake `script:` entry points: logging to the rule's log file."""

from __future__ import annotations

import contextlib
import logging
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def rule_logging(log_path: str | Path, level: int = logging.INFO) -> Iterator[logging.Logger]:
    """Send the library's log records and any traceback to the rule's log file.

    The exception is re-raised after it is written, so Snakemake still sees the job fail."""
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    previous_level = root.level
    root.setLevel(level)
    try:
        yield logging.getLogger("sdaie")
    except BaseException:
        handler.stream.write(traceback.format_exc())
        handler.flush()
        raise
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)
        handler.close()
        sys.stderr.flush()

