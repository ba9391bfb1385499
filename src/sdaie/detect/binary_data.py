"""Which images train the binary detector: real photos of the pretext splits against generated sets.

Real photos keep their place: `pretext_train` photos become `binary_train`, `pretext_val` photos
`binary_val` (the `oneclass_fit` and `test` photos stay out, for the GMM and for evaluation).
Generated images get a split from a hash of their content (as photos do), by `fractions` over
`binary_train`, `binary_val` and `test`, so that held-out images of the training generator remain
for evaluation.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sdaie.detect.binary import GENERATED, REAL
from sdaie.tags.split_keys import bucket_python, row_key_python

REAL_SPLITS = {"pretext_train": "binary_train", "pretext_val": "binary_val"}
DEFAULT_GENERATED_FRACTIONS = {"binary_train": 0.6, "binary_val": 0.1, "test": 0.3}


def generated_split(content_hash: str | None, dataset: str, path: str, fractions: dict[str, float], seed: int) -> str:
    u = bucket_python(row_key_python(content_hash, dataset, path), seed + 1000)
    total = 0.0
    for name, fraction in fractions.items():
        total += fraction
        if u < total:
            return name
    return list(fractions)[-1]


def training_rows(table: pa.Table) -> pa.Table:
    """Rows of a `binary_table` that the detector trains and validates on (not its held-out test)."""
    return table.filter(pc.is_in(table.column("split"), pa.array(sorted(set(REAL_SPLITS.values())))))


def binary_table(tags_path, generated_exif: list, fractions: dict[str, float] | None = None, seed: int = 0) -> pa.Table:
    """Rows (dataset, path, content_hash, label, split) of the binary training and validation images."""
    fractions = fractions or DEFAULT_GENERATED_FRACTIONS
    tags = pq.read_table(tags_path, columns=["dataset", "path", "content_hash", "error", "split"])
    tags = tags.filter(pc.and_(pc.is_null(tags.column("error")), pc.is_in(tags.column("split"), pa.array(list(REAL_SPLITS)))))
    rows = [
        {"dataset": d, "path": p, "content_hash": h, "label": REAL, "split": REAL_SPLITS[s]}
        for d, p, h, s in zip(*(tags.column(c).to_pylist() for c in ("dataset", "path", "content_hash", "split")))
    ]
    for path in generated_exif:
        exif = pq.read_table(path, columns=["dataset", "path", "content_hash", "error"])
        for d, p, h, error in zip(*(exif.column(c).to_pylist() for c in ("dataset", "path", "content_hash", "error"))):
            if error is None:
                rows.append({"dataset": d, "path": p, "content_hash": h, "label": GENERATED,
                             "split": generated_split(h, d, p, fractions, seed)})
    schema = pa.schema([("dataset", pa.string()), ("path", pa.string()), ("content_hash", pa.string()),
                        ("label", pa.int8()), ("split", pa.string())])
    return pa.Table.from_pylist(rows, schema=schema)
