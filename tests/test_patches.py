"""Patch shards: crops are the decoded pixels untouched, positions reproducible, bad photos recorded."""

from __future__ import annotations

import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import shared_path
import torch
from PIL import Image

from sdaie.patches.cut import _npy_header, crop_positions, cut_photos, cut_shard, read_shard, select_shard, shard_of_hash
from sdaie.patches.dataset import PatchShards, crops_to_patches, evaluation_batches, training_batch


def photo_table(names, **columns):
    n = len(names)
    return pa.table(
        {
            "dataset": ["cams"] * n,
            "path": names,
            "content_hash": [f"h{i}" for i in range(n)],
            "error": pa.nulls(n, pa.string()),
            "split": columns.pop("split", ["pretext_train"] * n),
            "make_idx": pa.array(range(n), pa.int32()),
            **columns,
        }
    )


@pytest.fixture
def photos(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "cams"
    root.mkdir()
    arrays = {}
    for name, (w, h) in {"a.png": (600, 300), "b.png": (256, 256), "small.png": (200, 500)}.items():
        arrays[name] = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        Image.fromarray(arrays[name]).save(root / name)
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return root, arrays


def test_crop_positions_are_aligned_non_overlapping_and_reproducible():
    positions = crop_positions(1000, 700, 256, 4, 16, 0, "k")
    assert positions == crop_positions(1000, 700, 256, 4, 16, 0, "k")
    assert positions != crop_positions(1000, 700, 256, 4, 16, 1, "k")
    assert len(positions) == 4
    for x, y in positions:
        assert x % 16 == 0 and y % 16 == 0 and x + 256 <= 1000 and y + 256 <= 700
    for i, (x1, y1) in enumerate(positions):
        for x2, y2 in positions[i + 1 :]:
            assert abs(x1 - x2) >= 256 or abs(y1 - y2) >= 256
    assert crop_positions(255, 900, 256, 4, 16, 0, "k") == []
    assert len(crop_positions(256, 256, 256, 4, 16, 0, "k")) == 1


def test_cut_keeps_pixels_exact_and_records_skips(photos, tmp_path):
    root, arrays = photos
    table = photo_table(["a.png", "b.png", "small.png", "broken.jpg", "missing.png"])
    stats = cut_photos(table, {"cams": root}, tmp_path / "out" / "shard_0", crops_per_photo=3)
    assert (stats.photos, stats.crops, stats.skipped) == (5, 3, 3)  # a: 2 cells, b: 1 cell
    shards = PatchShards([tmp_path / "out" / "shard_0"])
    index = shards.index.to_pylist()
    for i, row in enumerate(index):
        crop = shards.crops(np.array([i]))[0]
        expected = arrays[row["path"]][row["y"] : row["y"] + 256, row["x"] : row["x"] + 256]
        np.testing.assert_array_equal(crop, expected)
    assert shards.index.schema.field("make_idx").type == pa.int32()  # tag columns keep their types
    skipped = pq.read_table(tmp_path / "out" / "shard_0.skipped.parquet").to_pylist()
    reasons = {row["path"]: row["reason"] for row in skipped}
    assert "smaller than the crop" in reasons["small.png"]
    assert "cannot decode" in reasons["broken.jpg"] and "cannot decode" in reasons["missing.png"]
    assert isinstance(np.load(tmp_path / "out" / "shard_0.npy", mmap_mode="r"), np.memmap)


def test_empty_shard_still_concatenates(photos, tmp_path):
    root, _ = photos
    table = photo_table(["small.png"])
    cut_photos(table, {"cams": root}, tmp_path / "s0")
    cut_photos(photo_table(["b.png"]), {"cams": root}, tmp_path / "s1")
    shards = PatchShards([tmp_path / "s0", tmp_path / "s1"])
    assert len(shards) == 1 and shards.index.column("shard").to_pylist() == [1]


def test_select_shard_partitions_usable_rows():
    names = [f"p{i}.jpg" for i in range(200)]
    splits = ["pretext_train", "pretext_val", "oneclass_fit", "test"] * 50
    table = photo_table(names, split=splits)
    table = table.set_column(3, "error", pa.array(["bad" if i == 0 else None for i in range(200)]))
    parts = [select_shard(table, k, 3, ["pretext_train", "pretext_val"]) for k in range(3)]
    paths = sorted(p for part in parts for p in part.column("path").to_pylist())
    expected = sorted(n for i, n in enumerate(names) if i % 4 in (0, 1) and i != 0)
    assert paths == expected
    assert shard_of_hash("h5", 3) == shard_of_hash("h5", 3)


def test_read_shard_streams_the_same_rows_as_select_shard(tmp_path):
    names = [f"p{i}.jpg" for i in range(500)]
    splits = ["pretext_train", "pretext_val", "oneclass_fit", "test"] * 125
    table = photo_table(names, split=splits)
    table = table.set_column(3, "error", pa.array(["bad" if i % 50 == 7 else None for i in range(500)]))
    path = tmp_path / "tags.parquet"
    pq.write_table(table, path, row_group_size=120)
    wanted = ["pretext_train", "pretext_val"]
    for k in range(3):
        expected = select_shard(table, k, 3, wanted)
        for batch_rows in (1, 37, 65536):
            assert read_shard(path, k, 3, wanted, batch_rows=batch_rows).equals(expected)
    pq.write_table(table.slice(0, 0), tmp_path / "empty.parquet")
    assert read_shard(tmp_path / "empty.parquet", 0, 2, wanted).num_rows == 0


def test_npy_header_has_a_fixed_length_and_loads(tmp_path):
    lengths = {len(_npy_header(n, 256)) for n in (0, 1, 9, 10, 123456, 10**12)}
    assert len(lengths) == 1 and lengths.pop() % 64 == 0
    crops = np.random.default_rng(1).integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
    path = tmp_path / "x.npy"
    path.write_bytes(_npy_header(3, 64) + crops.tobytes())
    np.testing.assert_array_equal(np.load(path), crops)
    assert np.load(path, mmap_mode="r").shape == (3, 64, 64, 3)


def test_cut_shard_writes_only_the_outputs(photos, tmp_path):
    """The crops go straight into the .npy (no second copy), which equals numpy's own file of them."""
    root, arrays = photos
    tags = tmp_path / "tags.parquet"
    pq.write_table(photo_table(["a.png", "b.png", "small.png", "broken.jpg"]), tags)
    out = tmp_path / "out"
    stats = cut_shard(tags, {"cams": root}, 0, 1, out / "shard_0_of_1", splits=["pretext_train"], crops_per_photo=2)
    assert (stats.photos, stats.crops, stats.skipped) == (4, 3, 2)
    assert sorted(p.name for p in out.iterdir()) == [
        "shard_0_of_1.index.parquet", "shard_0_of_1.npy", "shard_0_of_1.skipped.parquet"
    ]
    crops = np.load(out / "shard_0_of_1.npy")
    index = pq.read_table(out / "shard_0_of_1.index.parquet").to_pylist()
    assert crops.shape == (3, 256, 256, 3)
    for row in index:
        expected = arrays[row["path"]][row["y"] : row["y"] + 256, row["x"] : row["x"] + 256]
        np.testing.assert_array_equal(crops[row["crop"]], expected)


def test_failed_cut_leaves_no_partial_npy(photos, tmp_path, monkeypatch):
    import sdaie.patches.cut as cut

    root, _ = photos
    calls = []

    def failing_positions(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return crop_positions(*args, **kwargs)

    monkeypatch.setattr(cut, "crop_positions", failing_positions)
    with pytest.raises(KeyboardInterrupt):
        cut_photos(photo_table(["a.png", "b.png"]), {"cams": root}, tmp_path / "out" / "shard_0")
    assert list((tmp_path / "out").iterdir()) == []


def test_patches_are_the_crop_tiles_in_the_requested_order():
    crops = np.arange(2 * 256 * 256 * 3, dtype=np.int64).reshape(2, 256, 256, 3).astype(np.uint8)
    tiles = np.array([[5, 0, 15], [1, 2, 3]])
    patches = crops_to_patches(crops, tiles)
    assert patches.shape == (2, 3, 3, 64, 64) and patches.dtype == torch.uint8
    # tile 5 = row 1, column 1 of the 4x4 grid
    expected = torch.from_numpy(crops[0, 64:128, 64:128]).permute(2, 0, 1)
    assert torch.equal(patches[0, 0], expected)
    expected = torch.from_numpy(crops[0, 192:256, 192:256]).permute(2, 0, 1)
    assert torch.equal(patches[0, 2], expected)
    with pytest.raises(ValueError, match="tiles"):
        crops_to_patches(crops[:, :128, :128], tiles)


def test_training_batches_depend_only_on_seed_and_step():
    population = np.arange(10, 30)
    a = training_batch(0, 7, 8, population, 16, 256)
    b = training_batch(0, 7, 8, population, 16, 256)
    np.testing.assert_array_equal(a.rows, b.rows)
    np.testing.assert_array_equal(a.tiles, b.tiles)
    assert set(a.rows) <= set(population) and a.tiles.shape == (8, 16)
    assert sorted(a.tiles[0]) == list(range(16))  # 16 distinct tiles = the whole crop, scrambled
    # consecutive steps walk through each epoch's shuffle without repeats
    epoch = np.concatenate([training_batch(0, s, 5, population, 4, 256).rows for s in range(4)])
    assert sorted(epoch) == list(population)
    batches = evaluation_batches(population, 8, 16, 256)
    assert [len(b.rows) for b in batches] == [8, 8, 4]


@pytest.mark.parametrize("with_heic", [False, True], ids=["16-bit", "16-bit+HEIC"])
def test_cut_decodes_heic_and_scales_16_bit(tmp_path, with_heic):
    """HEIC photos give crops (they were skipped as undecodable), 16-bit PNGs are scaled, not clipped."""
    from sdaie.imageio import decode_rgb

    root = tmp_path / "cams"
    root.mkdir()
    grey16 = np.random.default_rng(3).integers(0, 65536, (300, 280), dtype=np.uint16)
    Image.fromarray(grey16).save(root / "grey16.png")
    (root / "notes.jpg").write_text("not an image")
    names = ["grey16.png", "notes.jpg"]
    if with_heic:
        shutil.copyfile(shared_path("data", "edge_cases", "other_formats", "heic__samplefilehub.heif"), root / "phone.heif")
        names.append("phone.heif")
    stats = cut_photos(photo_table(names), {"cams": root}, tmp_path / "s0", crop=256, crops_per_photo=1)
    assert (stats.crops, stats.skipped) == (len(names) - 1, 1)
    shards = PatchShards([tmp_path / "s0"])
    for i, row in enumerate(shards.index.to_pylist()):
        expected = decode_rgb(root / row["path"])[row["y"] : row["y"] + 256, row["x"] : row["x"] + 256]
        np.testing.assert_array_equal(shards.crops(np.array([i]))[0], expected)
    crop = shards.crops(np.array([0]))[0]
    assert shards.index["path"][0].as_py() == "grey16.png" and (crop == 255).mean() < 0.01  # was 99.6% white
    window = grey16[shards.index["y"][0].as_py():][:256, shards.index["x"][0].as_py():][:, :256]
    np.testing.assert_array_equal(crop[..., 0], ((2 * window.astype(np.uint32) + 257) // 514).astype(np.uint8))
    skipped = pq.read_table(tmp_path / "s0.skipped.parquet").to_pylist()
    assert skipped == [{"dataset": "cams", "path": "notes.jpg",
                        "reason": "cannot decode: not an image format sdaie can decode (Pillow and pillow-heif recognize none)"}]
