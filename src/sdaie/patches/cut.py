"""Cut photos into uint8 crops once, so training never decodes a JPEG.

Each shard job decodes its photos and writes:

    <stem>.npy            uint8 array (N, crop, crop, 3), read later by memory mapping
    <stem>.index.parquet  one row per crop: dataset, path, content_hash, crop (row in the .npy), x, y,
                          and every column of the photo's row in the tag table (split, labels, ...)
    <stem>.skipped.parquet
                          photos that gave no crop, with the reason (smaller than the crop,
                          undecodable, missing file)

Photos are decoded by :func:`sdaie.imageio.decode_rgb` (every format and mode it documents, HEIC
included). Pixels are kept exactly as decoded: no resampling and no rotation by the EXIF orientation. Crop
corners lie on a grid of `align` pixels (16 by default), so every crop starts at the same phase of
the JPEG 8x8 blocks and the colour filter array. Positions are drawn without overlap from a seed
and the photo's content hash, so the same photo always gives the same crops.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sdaie.imageio import ImageDecodeError, decode_rgb  # noqa: F401 (decode_rgb: re-exported for callers not yet on sdaie.imageio)

log = logging.getLogger(__name__)

SKIPPED_SCHEMA = pa.schema([("dataset", pa.string()), ("path", pa.string()), ("reason", pa.string())])


@dataclass
class CutStats:
    photos: int = 0
    crops: int = 0
    skipped: int = 0


def shard_of_hash(key: str, n_shards: int) -> int:
    """Stable shard index of a content hash (or any key)."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % n_shards


def crop_positions(width: int, height: int, crop: int, count: int, align: int, seed: int, key: str) -> list[tuple[int, int]]:
    """Up to `count` non-overlapping crop corners (x, y) on an `align` grid, reproducible from (seed, key)."""
    if width < crop or height < crop:
        return []
    digest = hashlib.blake2b(f"{seed}:{key}".encode("utf-8"), digest_size=8).digest()
    rng = np.random.default_rng(int.from_bytes(digest, "big"))
    columns, rows = width // crop, height // crop
    # Shift the whole grid of cells by a random aligned offset inside the leftover margin.
    off_x = int(rng.integers(0, (width - columns * crop) // align + 1)) * align
    off_y = int(rng.integers(0, (height - rows * crop) // align + 1)) * align
    cells = rng.permutation(columns * rows)[:count]
    return [(off_x + int(c % columns) * crop, off_y + int(c // columns) * crop) for c in sorted(cells)]


def _beside(stem: Path, suffix: str) -> Path:
    return stem.parent / (stem.name + suffix)


# The .npy header of a shard is written before its crops, when their number is not known yet, and
# rewritten in place at the end: it is padded to the length it has for this many crops (or fewer).
_NPY_MAGIC = b"\x93NUMPY\x02\x00"  # format 2.0: 4-byte header length
_NPY_MAX_COUNT = 10**15


def _npy_header(count: int, crop: int) -> bytes:
    """A .npy 2.0 header for uint8 (count, crop, crop, 3), of a length that does not depend on count."""

    def text(n: int) -> str:
        return f"{{'descr': '|u1', 'fortran_order': False, 'shape': ({n}, {crop}, {crop}, 3), }}"

    if not 0 <= count <= _NPY_MAX_COUNT:
        raise ValueError(f"{count} crops do not fit a shard")
    body = text(count).ljust(len(text(_NPY_MAX_COUNT)))
    # numpy pads with spaces and ends with a newline so that the data starts on a 64-byte boundary
    total = -(-(len(_NPY_MAGIC) + 4 + len(body) + 1) // 64) * 64
    body = body + " " * (total - len(_NPY_MAGIC) - 4 - len(body) - 1) + "\n"
    return _NPY_MAGIC + len(body).to_bytes(4, "little") + body.encode("latin1")


class _NpyCropWriter:
    """Crops appended straight to the shard's .npy (no second copy of the data), published atomically.

    The file is written under a hidden temporary name next to ``output``; :meth:`commit` fixes the
    header's count and renames it to ``output``; :meth:`abort` removes it.
    """

    def __init__(self, output: Path, crop: int) -> None:
        self.output, self.crop, self.count = output, crop, 0
        self._tmp = output.parent / f".{output.name}.{os.getpid()}.tmp"
        self._file = open(self._tmp, "wb")
        self._file.write(_npy_header(0, crop))

    def write(self, pixels: np.ndarray) -> None:
        self._file.write(np.ascontiguousarray(pixels, dtype=np.uint8).data)
        self.count += 1

    def commit(self) -> None:
        self._file.seek(0)
        self._file.write(_npy_header(self.count, self.crop))
        self._file.close()
        os.replace(self._tmp, self.output)

    def abort(self) -> None:
        self._file.close()
        self._tmp.unlink(missing_ok=True)


def cut_photos(
    photos: pa.Table,
    roots: dict[str, Path],
    output_stem: Path,
    *,
    crop: int = 256,
    crops_per_photo: int = 4,
    align: int = 16,
    seed: int = 0,
) -> CutStats:
    """Cut the photos of `photos` (rows of the tag table: dataset, path, content_hash, ...) into one shard.

    `roots` maps dataset names to their folders. Writes <stem>.npy, <stem>.index.parquet and
    <stem>.skipped.parquet; returns counts."""
    output_stem.parent.mkdir(parents=True, exist_ok=True)
    stats = CutStats(photos=photos.num_rows)
    taken: list[int] = []
    corners: list[tuple[int, int]] = []
    skipped: list[dict] = []
    identities = zip(
        photos.column("dataset").to_pylist(), photos.column("path").to_pylist(), photos.column("content_hash").to_pylist()
    )
    writer = _NpyCropWriter(_beside(output_stem, ".npy"), crop)
    try:
        for i, (dataset, relpath, content_hash) in enumerate(identities):
            try:
                pixels = decode_rgb(roots[dataset] / relpath)
            except ImageDecodeError as exc:  # corrupt, truncated or missing: record and go on
                skipped.append({"dataset": dataset, "path": relpath, "reason": f"cannot decode: {exc.what}"})
                continue
            height, width = pixels.shape[:2]
            key = content_hash or f"{dataset}/{relpath}"
            positions = crop_positions(width, height, crop, crops_per_photo, align, seed, key)
            if not positions:
                reason = f"smaller than the crop ({width}x{height}, crop {crop})"
                skipped.append({"dataset": dataset, "path": relpath, "reason": reason})
                continue
            for x, y in positions:
                writer.write(pixels[y : y + crop, x : x + crop])
                taken.append(i)
                corners.append((x, y))
        stats.crops = writer.count
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    stats.skipped = len(skipped)
    index = photos.take(pa.array(taken, pa.int64()))
    index = index.append_column("crop", pa.array(range(len(taken)), pa.int64()))
    index = index.append_column("x", pa.array([c[0] for c in corners], pa.int32()))
    index = index.append_column("y", pa.array([c[1] for c in corners], pa.int32()))
    pq.write_table(index, _beside(output_stem, ".index.parquet"), compression="zstd")
    pq.write_table(pa.Table.from_pylist(skipped, schema=SKIPPED_SCHEMA), _beside(output_stem, ".skipped.parquet"))
    log.info("%s: %d photos, %d crops, %d skipped", output_stem.name, stats.photos, stats.crops, stats.skipped)
    return stats


def readable_rows(tags: pa.Table, splits: list[str]) -> pa.Table:
    """Rows of the tag table of readable files (no error) in the given splits."""
    import pyarrow.compute as pc

    return tags.filter(pc.and_(pc.is_null(tags.column("error")), pc.is_in(tags.column("split"), pa.array(splits))))


def select_shard(tags: pa.Table, shard: int, n_shards: int, splits: list[str]) -> pa.Table:
    """Rows of the tag table that belong to one patch shard: readable files of the given splits."""
    tags = readable_rows(tags, splits)
    keys = [h or f"{d}/{p}" for h, d, p in zip(tags.column("content_hash").to_pylist(), tags.column("dataset").to_pylist(), tags.column("path").to_pylist())]
    mask = pa.array([shard_of_hash(k, n_shards) == shard for k in keys], pa.bool_())
    return tags.filter(mask)


def read_shard(tags_path: Path, shard: int, n_shards: int, splits: list[str], batch_rows: int = 65536) -> pa.Table:
    """`select_shard` of the tag table at `tags_path`, read in batches of `batch_rows` rows.

    Same rows in the same order as ``select_shard(pq.read_table(tags_path), ...)``, but only one
    batch of the table and the shard's own rows are in memory at a time, however large the table."""
    parquet = pq.ParquetFile(tags_path)
    try:
        pieces = [
            select_shard(pa.Table.from_batches([batch]), shard, n_shards, splits)
            for batch in parquet.iter_batches(batch_size=batch_rows)
        ]
        if not pieces:
            return parquet.schema_arrow.empty_table()
        return pa.concat_tables(pieces).combine_chunks()
    finally:
        parquet.close()


def cut_shard(tags_path: Path, roots: dict[str, Path], shard: int, n_shards: int, output_stem: Path, *, splits: list[str], **options) -> CutStats:
    """Cut the photos of one shard of the tag table (see `select_shard`); options go to `cut_photos`."""
    photos = read_shard(tags_path, shard, n_shards, splits)
    return cut_photos(photos, roots, output_stem, **options)
