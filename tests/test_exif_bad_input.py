"""The EXIF stage on bad input: incomplete images, special files, old and damaged previous tables,
and what a refresh says it did. Real exiftool, real files, real Parquet."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import socket
import tempfile
import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import needs_shared
from damage import damage_column
from PIL import Image

from sdaie.errors import InputError
from sdaie.exif.extract import extract_to_parquet
from sdaie.exif.listing import list_files, shard_of
from sdaie.exif.schema import FORMAT_KEY, FORMAT_VERSION, RAW_SCHEMA
from sdaie.exif.table import merge_tables

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
BROKEN = SHARED / "edge_cases" / "broken_files"
HEIC = SHARED / "edge_cases" / "other_formats" / "heic__samplefilehub.heif"
needs_broken_files = needs_shared("data", "edge_cases", "broken_files")


def rows_by_path(path: Path) -> dict[str, dict]:
    return {row["path"]: row for row in pq.read_table(path).to_pylist()}


def jpeg_bytes(seed: int = 0, size: tuple[int, int] = (192, 128)) -> bytes:
    """A JPEG of noise with camera EXIF (Make, Model) that exiftool reads."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", f"Test {seed}"
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def photo_folder(root: Path, count: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (root / f"p{i}.jpg").write_bytes(jpeg_bytes(i))
    return root


# --- files that are not whole images ------------------------------------------------------------

def test_incomplete_and_non_image_files_get_error_rows_with_their_metadata(tmp_path):
    root = photo_folder(tmp_path / "data", 2)
    whole = jpeg_bytes(7)
    (root / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    (root / "notes.jpg").write_text("this is a text file with a .jpg name\n")
    (root / "README.md").write_text("# photos of the trip\n")
    png = io.BytesIO()
    Image.new("RGB", (300, 200), (5, 6, 7)).save(png, "PNG")
    (root / "cut.png").write_bytes(png.getvalue()[:-30])
    out = tmp_path / "raw.parquet"
    stats = extract_to_parquet(root, list_files(root), out, dataset="d")
    rows = rows_by_path(out)
    assert stats.errors == 4 and rows["p0.jpg"]["error"] is None and rows["p1.jpg"]["error"] is None
    truncated = rows["truncated.jpg"]
    assert truncated["error"].startswith("truncated JPEG: the image data has no end-of-image marker")
    assert (truncated["make"], truncated["model"], truncated["format"]) == ("Canon", "Test 7", "JPEG")  # kept
    for name in ("notes.jpg", "README.md"):
        assert rows[name]["format"] == "TXT"
        assert rows[name]["error"] == "not an image format sdaie can decode (Pillow and pillow-heif recognize none)"
    assert rows["cut.png"]["error"].startswith("corrupt or truncated PNG")


@needs_broken_files
def test_shared_broken_files_and_heic(tmp_path):
    root = tmp_path / "data"
    shutil.copytree(BROKEN, root)
    shutil.copyfile(HEIC, root / "phone.heif")
    out = tmp_path / "raw.parquet"
    extract_to_parquet(root, list_files(root), out, dataset="d")
    errors = {path: row["error"] for path, row in rows_by_path(out).items()}
    assert errors["phone.heif"] is None
    assert errors["empty.jpg"] == "File is empty"
    assert errors["truncated_half.jpg"].startswith("truncated JPEG")
    assert errors["header_only.jpg"].startswith("truncated or damaged image header")
    assert errors["not_an_image.jpg"].startswith("not an image format")
    assert errors["README.txt"].startswith("not an image format")


# --- special files ------------------------------------------------------------------------------

@contextlib.contextmanager
def unprivileged():
    """Run the block as user nobody when the tests run as root (root reads any file)."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(65534)
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def test_special_files_give_error_rows_and_never_hang(tmp_path):
    """FIFO, socket, device, directory, dangling link, unreadable file: one error row each."""
    world = Path(tempfile.mkdtemp(prefix="sdaie-special-"))  # reachable by user nobody
    try:
        world.chmod(0o777)
        root = world / "data"
        root.mkdir()
        root.chmod(0o777)
        (root / "ok.jpg").write_bytes(jpeg_bytes())
        os.mkfifo(root / "pipe.jpg")
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(str(root / "socket.jpg"))
        listener.close()
        (root / "device.jpg").symlink_to("/dev/null")
        (root / "folder.jpg").mkdir()
        (root / "dangling.jpg").symlink_to(root / "deleted.jpg")
        (root / "secret.jpg").write_bytes(jpeg_bytes(1))
        (root / "secret.jpg").chmod(0)
        out = world / "out" / "raw.parquet"
        out.parent.mkdir()
        out.parent.chmod(0o777)
        names = ["ok.jpg", "pipe.jpg", "socket.jpg", "device.jpg", "folder.jpg", "dangling.jpg", "secret.jpg"]
        done = {}

        def run() -> None:
            with unprivileged():
                done["stats"] = extract_to_parquet(root, names, out, dataset="d")

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(timeout=120)
        assert not worker.is_alive(), "extraction hung on a special file"
        rows = rows_by_path(out)
        assert done["stats"].errors == 6 and rows["ok.jpg"]["error"] is None
        assert {name: rows[name]["error"] for name in names[1:]} == {
            "pipe.jpg": "not a regular file (FIFO)",
            "socket.jpg": "not a regular file (socket)",
            "device.jpg": "not a regular file (character device)",
            "folder.jpg": "not a regular file (directory)",
            "dangling.jpg": "dangling symbolic link: its target does not exist",
            "secret.jpg": "PermissionError: Permission denied",
        }
    finally:
        shutil.rmtree(world)


def test_a_folder_with_fifos_and_devices_gives_each_an_error_row_and_no_hang(tmp_path):
    """The listing keeps FIFOs, devices and dangling links, and extraction answers each with an error row
    (never opening them: a FIFO opened for reading would block for ever)."""
    root = tmp_path / "data"
    root.mkdir()
    (root / "ok.jpg").write_bytes(jpeg_bytes())
    os.mkfifo(root / "pipe.jpg")
    (root / "device.jpg").symlink_to("/dev/null")
    (root / "dangling.jpg").symlink_to(root / "deleted.jpg")
    assert list(list_files(root)) == ["dangling.jpg", "device.jpg", "ok.jpg", "pipe.jpg"]
    extract_to_parquet(root, list(list_files(root)), tmp_path / "raw.parquet", dataset="d")
    errors = {row["path"]: row["error"] for row in pq.read_table(tmp_path / "raw.parquet").to_pylist()}
    assert errors["ok.jpg"] is None and "FIFO" in errors["pipe.jpg"] and "device" in errors["device.jpg"]
    assert "dangling" in errors["dangling.jpg"]


def test_output_that_cannot_be_written_is_an_error_before_any_file_is_read(tmp_path):
    root = photo_folder(tmp_path / "data", 1)
    with pytest.raises(InputError, match="is a folder; the output must be a file") as caught:
        extract_to_parquet(root, ["p0.jpg"], tmp_path, dataset="d")
    assert caught.value.path == str(tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is a file, not a folder"):
        extract_to_parquet(root, ["p0.jpg"], tmp_path / "file" / "raw.parquet", dataset="d")


# --- previous tables: older format, damaged -----------------------------------------------------

def test_previous_table_without_the_image_check_is_not_reused(tmp_path):
    """A table written before the image check (format 1, no metadata key) holds a truncated JPEG
    as a good row: nothing of it is reused, every file is read again and the JPEG gets its error."""
    root = photo_folder(tmp_path / "data", 3)
    whole = jpeg_bytes(9)
    (root / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    out = tmp_path / "raw.parquet"
    extract_to_parquet(root, list_files(root), out, dataset="d")
    table = pq.read_table(out)
    assert table.schema.metadata[FORMAT_KEY] == FORMAT_VERSION
    old = table.replace_schema_metadata(None)  # as the old code wrote it: no format key...
    old = old.set_column(old.schema.get_field_index("error"), old.schema.field("error"),
                         pa.nulls(old.num_rows, pa.string()))  # ...and no error for the truncated JPEG
    pq.write_table(old, out)
    stats = extract_to_parquet(root, list_files(root), out, dataset="d", previous=out)
    assert (stats.files, stats.reused, stats.extracted, stats.previous) == (4, 0, 4, "older format")
    assert "every file read" in str(stats)
    assert rows_by_path(out)["truncated.jpg"]["error"].startswith("truncated JPEG")
    assert pq.read_table(out).schema.metadata[FORMAT_KEY] == FORMAT_VERSION
    again = extract_to_parquet(root, list_files(root), out, dataset="d", previous=out)
    assert (again.reused, again.extracted, again.previous) == (4, 0, "current")


def test_merge_keeps_the_oldest_format(tmp_path):
    root = photo_folder(tmp_path / "data", 2)
    new, old = tmp_path / "new.parquet", tmp_path / "old.parquet"
    extract_to_parquet(root, ["p0.jpg"], new, dataset="d")
    extract_to_parquet(root, ["p1.jpg"], old, dataset="d")
    pq.write_table(pq.read_table(old).replace_schema_metadata(None), old)
    merge_tables([new, old], tmp_path / "merged.parquet")
    assert pq.read_table(tmp_path / "merged.parquet").schema.metadata[FORMAT_KEY] == b"1"
    merge_tables([new], tmp_path / "merged2.parquet")
    assert pq.read_table(tmp_path / "merged2.parquet").schema.metadata[FORMAT_KEY] == FORMAT_VERSION




def test_damaged_previous_table_is_an_input_error_and_the_output_is_untouched(tmp_path):
    root = photo_folder(tmp_path / "data", 12)
    good = tmp_path / "good.parquet"
    extract_to_parquet(root, list_files(root), good, dataset="d")
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(InputError) as caught:
        extract_to_parquet(root, list_files(root), tmp_path / "out.parquet", dataset="d", previous=cut)
    assert caught.value.path == str(cut) and "not a readable Parquet file" in caught.value.what
    assert "--no-reuse" in caught.value.hint and not (tmp_path / "out.parquet").exists()
    # damage in a column read only when rows are reused (the keys read fine)
    damaged = tmp_path / "damaged.parquet"
    shutil.copyfile(good, damaged)
    damage_column(damaged, "exif_json")
    before = damaged.read_bytes()
    with pytest.raises(InputError) as caught:
        extract_to_parquet(root, list_files(root), damaged, dataset="d", previous=damaged)
    assert caught.value.path == str(damaged) and "\n" not in str(caught.value)
    assert damaged.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.parquet", "damaged.parquet", "data", "good.parquet"]


def test_previous_table_of_another_kind_is_an_input_error(tmp_path):
    root = photo_folder(tmp_path / "data", 1)
    other = tmp_path / "other.parquet"
    pq.write_table(RAW_SCHEMA.empty_table().drop_columns(["make"]), other)
    with pytest.raises(InputError, match="not a raw EXIF table, its schema differs from RAW_SCHEMA: missing make"):
        extract_to_parquet(root, ["p0.jpg"], tmp_path / "out.parquet", dataset="d", previous=other)


# --- what a refresh says ------------------------------------------------------------------------

def test_refresh_of_shards_counts_one_removed_file_once_and_says_it_in_words(tmp_path):
    """As the Snakemake rules run it: shard jobs, each with the dataset's merged table as previous.
    Removing one file is one removal in all, not the other shards' rows."""
    root = photo_folder(tmp_path / "data", 8)
    n = 3
    shards = [tmp_path / f"shard_{k}.parquet" for k in range(n)]
    merged = tmp_path / "d.parquet"

    def run_shards() -> list:
        files = list(list_files(root))
        stats = [extract_to_parquet(root, [p for p in files if shard_of(p, n) == k], shards[k], dataset="d",
                                    previous=merged if merged.exists() else None, shard=(k, n)) for k in range(n)]
        merge_tables(shards, merged)
        return stats

    run_shards()
    (root / "p3.jpg").unlink()
    (root / "new.jpg").write_bytes(jpeg_bytes(42))
    stats = run_shards()
    assert sum(s.removed for s in stats) == 1 and sum(s.extracted for s in stats) == 1
    assert sum(s.reused for s in stats) == 7 and sum(s.files for s in stats) == 8
    removed_in = stats[shard_of("p3.jpg", n)]
    assert f"{removed_in.reused} reused from the previous table" in str(removed_in)
    assert "1 removed since the previous table (no longer in the folder)" in str(removed_in)
    assert str(stats[0]).startswith(f"{stats[0].files} files: ")
    first = extract_to_parquet(root, list_files(root), tmp_path / "fresh.parquet", dataset="d")
    assert str(first).startswith("8 files: 8 read (no previous table); 0 with errors")
