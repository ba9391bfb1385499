"""Feature tables: the whole-image feature of every image of a dataset, stored in Parquet.

One row per image: dataset, path, content_hash, kind, generator, split (photos only), width, height,
patches, upscaled, error, and `feature` (list of float32, null for unreadable files). The extractor's
fingerprint is stored in the file's metadata so a GMM is never fitted on features of another model.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import torch

from sdaie.detect.features import Patching
from sdaie.detect.pipeline import Network, Statistic, default_workers, score_files
from sdaie.model.checkpoint import load_extractor, state_fingerprint
from sdaie.progress import Progress
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
                        workers: int | None = None, batch_rows: int = 64) -> int:
    """Features of the readable images listed in `images` (columns dataset, path, content_hash, optional split)."""
    extractor, _, _ = load_extractor(extractor_path)
    return write_features(images, root, output, state_fingerprint(extractor.state_dict()), str(extractor_path),
                          networks=[Network("feature", extractor)], device=pick_device(device), kind=kind,
                          generator=generator, patching=patching, workers=workers, batch_rows=batch_rows)


def write_features(images: pa.Table, root: Path, output: Path, extractor_id: str, extractor: str, *, kind: str,
                   generator: str | None, networks: Sequence[Network] = (), statistic: Statistic | None = None,
                   device: torch.device = torch.device("cpu"), patching: Patching = Patching(),
                   workers: int | None = None, batch_rows: int = 64) -> int:
    """A feature table recorded as `extractor_id`: the output of one network named "feature", or of a
    per-image `statistic` (patches (n, 3, 64, 64) uint8 -> 1-d feature, e.g. the SRM statistics)."""
    if (len(networks) == 1) == (statistic is not None) or any(network.name != "feature" for network in networks):
        raise ValueError("write_features needs one network named 'feature' or one statistic")
    metadata = {b"sdaie.extractor_id": extractor_id.encode(), b"sdaie.extractor": extractor.encode()}
    splits = images.column("split").to_pylist() if "split" in images.column_names else [None] * images.num_rows
    rows = list(zip(images.column("dataset").to_pylist(), images.column("path").to_pylist(),
                    images.column("content_hash").to_pylist(), splits))
    workers = workers if workers is not None else default_workers(torch.get_num_threads(), device)
    progress = Progress(f"features of {output.stem}", len(rows), "images", logger=log)
    scored = score_files([root / path for _, path, _, _ in rows], networks, patching, device, workers=workers,
                         statistics={"feature": statistic} if statistic is not None else None, progress=progress)
    tmp = output.with_name(output.name + ".tmp")
    with pq.ParquetWriter(tmp, FEATURE_SCHEMA.with_metadata(metadata), compression="zstd") as writer:
        buffer: list[dict] = []
        for (dataset, path, content_hash, split), result in zip(rows, scored):
            row = {"dataset": dataset, "path": path, "content_hash": content_hash, "kind": kind, "generator": generator,
                   "split": split, "upscaled": False, "error": result.error, "width": result.width, "height": result.height}
            if result.error is None:
                variant = result.variants[0]
                row.update(patches=variant.patches, upscaled=variant.upscaled,
                           feature=np.asarray(variant.outputs["feature"], dtype=np.float32).tolist())
            buffer.append(row)
            if len(buffer) >= batch_rows:
                writer.write_table(pa.Table.from_pylist(buffer, schema=FEATURE_SCHEMA))
                buffer.clear()
        if buffer:
            writer.write_table(pa.Table.from_pylist(buffer, schema=FEATURE_SCHEMA))
    tmp.replace(output)
    log.info("%s: %d images, extractor %s", output, len(rows), extractor_id)
    return len(rows)


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
