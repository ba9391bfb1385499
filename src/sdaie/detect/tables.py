"""Feature tables: the whole-image feature of every image of a dataset, stored in Parquet.

One row per image: dataset, path, content_hash, kind, generator, split (photos only), width, height,
patches, upscaled, error, and `feature` (list of float32, null for unreadable files). The extractor's
fingerprint is stored in the file's metadata so a GMM is never fitted on features of another model.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sdaie.detect.features import Patching, image_feature
from sdaie.detect.oneclass import state_fingerprint
from sdaie.patches.cut import decode_rgb
from sdaie.model.checkpoint import load_extractor
from sdaie.train.common import pick_device

log = logging.getLogger(__name__)

FEATURE_SCHEMA = pa.schema(
    [
        ("dataset", pa.string()),
        ("path", pa.string()),
        ("content_hash", pa.string()),
        ("kind", pa.string()),
        ("generator", pa.string()),
        ("split", pa.string()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("patches", pa.int32()),
        ("upscaled", pa.bool_()),
        ("error", pa.string()),
        ("feature", pa.list_(pa.float32())),
    ]
)


def readable_images(table: pa.Table, dataset: str) -> pa.Table:
    """Rows of ``table`` (a tag or EXIF table) of ``dataset`` whose file was read without error."""
    return table.filter(pc.and_(pc.equal(table.column("dataset"), dataset), pc.is_null(table.column("error"))))


def write_feature_table(images: pa.Table, root: Path, extractor_path: Path, output: Path, *, kind: str,
                        generator: str | None, device: str = "auto", patching: Patching = Patching(),
                        batch_rows: int = 64) -> int:
    """Features of the readable images listed in `images` (columns dataset, path, content_hash, optional split)."""
    torch_device = pick_device(device)
    extractor, _, _ = load_extractor(extractor_path)
    extractor.to(torch_device)
    fingerprint = state_fingerprint(extractor.state_dict())
    return write_features(images, root, output, lambda patches: image_feature(extractor, patches, torch_device),
                          fingerprint, str(extractor_path), kind=kind, generator=generator, patching=patching,
                          batch_rows=batch_rows)


def write_features(images: pa.Table, root: Path, output: Path, featurize, extractor_id: str, extractor: str, *,
                   kind: str, generator: str | None, patching: Patching = Patching(), batch_rows: int = 64) -> int:
    """A feature table from any `featurize` (patches (n, 3, 64, 64) uint8 -> 1-d feature), recorded as `extractor_id`."""
    fingerprint = extractor_id
    metadata = {b"sdaie.extractor_id": fingerprint.encode(), b"sdaie.extractor": extractor.encode()}
    splits = images.column("split").to_pylist() if "split" in images.column_names else [None] * images.num_rows
    rows = zip(images.column("dataset").to_pylist(), images.column("path").to_pylist(),
               images.column("content_hash").to_pylist(), splits)
    tmp = output.with_name(output.name + ".tmp")
    count = 0
    with pq.ParquetWriter(tmp, FEATURE_SCHEMA.with_metadata(metadata), compression="zstd") as writer:
        buffer: list[dict] = []
        for dataset, path, content_hash, split in rows:
            row = {"dataset": dataset, "path": path, "content_hash": content_hash, "kind": kind, "generator": generator,
                   "split": split, "upscaled": False}
            try:
                pixels = decode_rgb(root / path)
            except Exception as exc:
                row["error"] = f"cannot decode: {exc}"
            else:
                cut = patching(pixels)
                row.update(height=pixels.shape[0], width=pixels.shape[1], patches=len(cut.patches), upscaled=cut.upscaled,
                           feature=np.asarray(featurize(cut.patches)).astype(np.float32).tolist())
            buffer.append(row)
            count += 1
            if len(buffer) >= batch_rows:
                writer.write_table(pa.Table.from_pylist(buffer, schema=FEATURE_SCHEMA))
                buffer.clear()
        if buffer:
            writer.write_table(pa.Table.from_pylist(buffer, schema=FEATURE_SCHEMA))
    tmp.replace(output)
    log.info("%s: %d images, extractor %s", output, count, fingerprint)
    return count


def read_features(paths: list[Path], *, splits: list[str] | None = None) -> tuple[np.ndarray, pa.Table, str]:
    """(features (n, d), the rows they belong to, extractor id) of readable images, optionally of some splits."""
    tables, ids = [], set()
    for path in paths:
        table = pq.read_table(path)
        ids.add(table.schema.metadata[b"sdaie.extractor_id"].decode())
        tables.append(table)
    if len(ids) != 1:
        raise ValueError(f"feature tables come from different extractors: {sorted(ids)}")
    table = pa.concat_tables(tables)
    keep = [error is None and (splits is None or split in splits)
            for error, split in zip(table.column("error").to_pylist(), table.column("split").to_pylist())]
    table = table.filter(pa.array(keep, pa.bool_()))
    features = np.asarray(table.column("feature").to_pylist(), dtype=np.float64)
    if table.num_rows == 0:
        features = np.zeros((0, 0))
    return features, table.drop_columns(["feature"]), ids.pop()


def fit_report(detector, fit_rows: pa.Table, held_out: np.ndarray) -> dict:
    """What the one-class threshold gives: target and reached false-positive rates."""
    reached = float(detector.is_generated(held_out).mean()) if len(held_out) else float("nan")
    return {
        "target_fpr": detector.settings.target_fpr,
        "threshold": detector.threshold,
        "fit_images": fit_rows.num_rows,
        "held_out_images": int(len(held_out)),
        "held_out_fpr": reached,
        "reg_covar": float(detector.gmm.reg_covar),
        "extractor_id": detector.extractor_id,
    }
