"""End-to-end tests of EXIF extraction: real exiftool, real files, real Parquet (no mocks)."""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import SHARED, needs_shared

from sdaie.exif.batch import BatchItem, extract_batch
from sdaie.exif.extract import ExtractStats, exiftool_version, extract_to_parquet
from sdaie.exif.listing import list_files
from sdaie.exif.runner import ExifToolRunner
from sdaie.exif.schema import RAW_SCHEMA, TAG_COLUMNS
from sdaie.exif.table import merge_tables

DATA = SHARED / "data"
pytestmark = needs_shared("data")
PHOTOS = DATA / "photos"
EDGE = DATA / "edge_cases"


S40 = "exif-samples/Canon_PowerShot_S40.jpg"
PENTAX = "metadata-extractor-images/Pentax_ist_D.jpg"
CASIO = "metadata-extractor-images/Casio_EX-S1.jpg"


def rows_by_path(path: Path) -> dict[str, dict]:
    return {row["path"]: row for row in pq.read_table(path).to_pylist()}


def copy_photo(name: str, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PHOTOS / name, dest)
    return dest


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> tuple[Path, ExtractStats]:
    """All shared photos extracted once (two workers) for the tests that read the result."""
    out = tmp_path_factory.mktemp("photos") / "photos.parquet"
    stats = extract_to_parquet(PHOTOS, list_files(PHOTOS), out, dataset="photos", jobs=2)
    return out, stats


@pytest.fixture(scope="module")
def edge(tmp_path_factory) -> tuple[Path, ExtractStats]:
    out = tmp_path_factory.mktemp("edge") / "edge.parquet"
    stats = extract_to_parquet(EDGE, list_files(EDGE), out, dataset="edge", batch_size=16)
    return out, stats


# --- the shared photos --------------------------------------------------------------------------

def test_photos_one_row_per_file_no_errors(photos):
    out, stats = photos
    table = pq.read_table(out)
    assert table.schema.equals(RAW_SCHEMA, check_metadata=False)
    paths = table["path"].to_pylist()
    assert paths == list(list_files(PHOTOS)) == sorted(paths)
    assert stats.files == stats.extracted == table.num_rows == 193
    assert stats.reused == stats.removed == 0
    # exiftool 12.57 rejects the CSV manifest next to the photos; one photo is cut short (its
    # manifest note says so: Pillow's full decode fails too), which the image check finds.
    errors = {row["path"]: row["error"] for row in table.to_pylist() if row["error"] is not None}
    assert errors == {
        "manifest.csv": "File format error",
        "metadata-extractor-images/User_Comment_Encoding.jpg":
            "truncated JPEG: the image data has no end-of-image marker (FF D9); the file ends at byte 2006177",
    } and stats.errors == 2
    assert set(table["dataset"].to_pylist()) == {"photos"}
    assert set(table["exiftool_version"].to_pylist()) == {exiftool_version()}
    assert table["content_hash"].null_count == 0
    assert pq.ParquetFile(out).metadata.row_group(0).column(0).compression == "ZSTD"


def _manifest() -> list[dict[str, str]]:
    with open(PHOTOS / "manifest.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_photos_match_manifest(photos):
    """Every photo's camera tags equal the manifest's exiftool -n values, where it has them."""
    rows = rows_by_path(photos[0])
    manifest = _manifest()
    assert len(manifest) == 192
    checked = 0
    for entry in manifest:
        row = rows[entry["path"].removeprefix("photos/")]
        assert row["format"] == "JPEG"
        assert (row["bytes"], row["width"], row["height"]) == (
            int(entry["bytes"]), int(entry["width"]), int(entry["height"])), entry["path"]
        for column in ("make", "model"):
            if entry[column] and "from maker note" not in entry["notes"] and "maker-note format" not in entry["notes"]:
                assert row[column] == entry[column], (entry["path"], column)
                checked += 1
        for column in ("f_number", "exposure_time", "iso", "focal_length"):
            if entry[column]:
                assert row[column] is not None and math.isclose(row[column], float(entry[column]), rel_tol=1e-9), (
                    entry["path"], column, row[column], entry[column])
                checked += 1
    assert checked > 700


def test_photos_with_maker_note_make_are_the_documented_ones(photos):
    """The manifest's hand-curated makes (noted as taken from maker notes) are the only gaps."""
    rows = rows_by_path(photos[0])
    differing = {e["path"] for e in _manifest() if e["make"] and rows[e["path"][7:]]["make"] != e["make"]}
    assert differing == {
        "photos/exif-samples/Reconyx_HC500_Hyperfire.jpg",
        "photos/metadata-extractor-images/Reconyx_HC500_firmware_3.3.0.jpg",
    }


# Values read by hand with: exiftool -n -j -G1 -a -ISO -FNumber ... FILE ; b2sum -l 128 FILE
KNOWN = {
    S40: dict(
        make="Canon", model="Canon PowerShot S40", datetime_original="2003:12:14 12:01:44",
        orientation=1, exposure_time=0.002, f_number=4.9,  # Canon:FNumber is 5.02152302809876
        iso=None,  # only Composite:ISO (100, derived from maker notes) exists; not used
        focal_length=21.3125, exposure_compensation=0.0, metering_mode=2,  # Canon:MeteringMode is 5
        flash=24, exposure_mode=0, white_balance=0, scene_capture_type=0, exposure_program=None,
        lens_model=None, software=None, light_source=None, brightness_value=None, focal_length_35mm=None,
        format="JPEG", width=480, height=360, bytes=32764, content_hash="ba176f97c489340e73af4521313b3d61",
    ),
    PENTAX: dict(
        make="PENTAX Corporation", model="PENTAX *ist D", software="*ist D      Ver 1.10",
        datetime_original="2004:10:02 23:29:52", exposure_time=0.01111111111, f_number=2.4,
        iso=200.0,  # Pentax:ISO is the raw code 9
        focal_length=77.0, focal_length_35mm=115.0, exposure_program=2, metering_mode=3, flash=16,
        white_balance=0, width=1024, height=1024,
    ),
    CASIO: dict(
        make="CASIO COMPUTER CO.,LTD.", model="EX-S1",
        software="1.00",  # exiftool prints it as the JSON number 1.00; the text is kept
        iso=None,  # only Casio:ISO (0)
        f_number=2.5, exposure_time=0.03333333333, focal_length=5.6, focal_length_35mm=37.0,
        flash=25, white_balance=0, light_source=0, metering_mode=5, width=640, height=480,
    ),
}


@pytest.mark.parametrize("path", sorted(KNOWN))
def test_known_files_by_hand(photos, path):
    row = rows_by_path(photos[0])[path]
    for column, expected in KNOWN[path].items():
        if isinstance(expected, float):
            assert row[column] == pytest.approx(expected, rel=1e-12), column
        else:
            assert row[column] == expected, column


def test_exif_json_keeps_every_copy_exactly(photos):
    rows = rows_by_path(photos[0])
    s40 = rows[S40]["exif_json"]
    assert '"Canon:FNumber":5.02152302809876' in s40 and '"ExifIFD:FNumber":4.9' in s40
    assert '"File:ImageWidth":480' in s40 and "Composite:" not in s40  # exiftool runs with -e
    assert '"Canon:ExposureTime":"0.00191127355876504"' in s40  # a string in exiftool's output
    assert "SourceFile" not in s40
    assert '"IFD0:Software":1.00' in rows[CASIO]["exif_json"]


def _composite_sizes(files: list[Path]) -> dict[Path, tuple[int | None, int | None]]:
    """Composite:ImageSize per file, from a separate plain exiftool run."""
    out = subprocess.run(["exiftool", "-j", "-n", "-Composite:ImageSize", *map(str, files)],
                         capture_output=True, text=True, check=False)
    sizes = {}
    for record in json.loads(out.stdout):
        parts = str(record.get("ImageSize", "")).split()
        sizes[Path(record["SourceFile"])] = (int(parts[0]), int(parts[1])) if len(parts) == 2 else (None, None)
    return sizes


def test_sizes_equal_exiftool_composite_image_size(tmp_path, photos, edge):
    """width/height (chosen without composite tags) equal exiftool's Composite:ImageSize on every
    shared photo, edge case and generated PNG, and on small images of other formats."""
    from PIL import Image

    image = Image.new("RGB", (33, 21))
    for ext in ("webp", "gif", "bmp", "png", "jp2", "tif", "jpg"):
        image.save(tmp_path / f"small.{ext}")
    generated = DATA / "generated"
    cases = [(PHOTOS, photos[0]), (EDGE, edge[0])]
    for root, dataset in ((tmp_path, "small"), (generated, "generated")):
        if root.is_dir():
            out = tmp_path / f"{dataset}.parquet"
            extract_to_parquet(root, [p for p in list_files(root) if not p.endswith(".csv")], out, dataset=dataset)
            cases.append((root, out))
    checked = 0
    for root, table in cases:
        rows = rows_by_path(table)
        expected = _composite_sizes([root / p for p in rows])
        for path, row in rows.items():
            if row["error"] is None and row["format"] not in ("TXT", "CSV"):
                assert (row["width"], row["height"]) == expected[root / path], path
                checked += 1
    assert checked >= 280


# --- the edge-case corpus -----------------------------------------------------------------------

def test_edge_cases_every_file_one_row(edge):
    out, stats = edge
    table = pq.read_table(out)
    files = sorted(str(p.relative_to(EDGE)) for p in EDGE.rglob("*") if p.is_file())
    assert table["path"].to_pylist() == files and len(files) == 76
    # the four broken files, and the two text files beside the images (README.txt, manifest.csv)
    assert stats.files == 76 and stats.errors == 6


NOT_AN_IMAGE = "not an image format sdaie can decode (Pillow and pillow-heif recognize none)"


def test_edge_cases_broken_files(edge):
    """Empty, cut short or not an image: every broken file gets ``error`` set, with the reason."""
    rows = rows_by_path(edge[0])
    empty = rows["broken_files/empty.jpg"]
    assert empty["error"] == "File is empty" and empty["bytes"] == 0  # exiftool's own error comes first
    assert empty["content_hash"] == "cae66941d9efbd404e4d88758ea67670"  # BLAKE2b-128 of b""
    assert all(empty[c] is None for c in (*TAG_COLUMNS, "width", "height", "format"))
    assert '"ExifTool:Error":"File is empty"' in empty["exif_json"]
    header = rows["broken_files/header_only.jpg"]
    assert header["warning"] == "JPEG format error" and header["format"] == "JPEG" and header["width"] is None
    assert header["error"] == "truncated or damaged image header: Truncated File Read"
    # exiftool reads a text file named .jpg as a text file (format TXT); the image check rejects it.
    text = rows["broken_files/not_an_image.jpg"]
    assert (text["format"], text["width"], text["error"]) == ("TXT", None, NOT_AN_IMAGE)
    assert rows["broken_files/README.txt"]["error"] == NOT_AN_IMAGE
    # The first half of a JPEG still holds its EXIF, which the row keeps; the image data has no end.
    half = rows["broken_files/truncated_half.jpg"]
    assert (half["make"], half["model"], half["iso"], half["width"]) == ("Apple", "iPhone 4", 500.0, 1024)
    assert half["error"] == "truncated JPEG: the image data has no end-of-image marker (FF D9); the file ends at byte 134788"
    assert sorted(r["path"] for r in rows.values() if r["error"]) == [
        "broken_files/README.txt", "broken_files/empty.jpg", "broken_files/header_only.jpg",
        "broken_files/not_an_image.jpg", "broken_files/truncated_half.jpg", "no_camera_exif/manifest.csv",
    ]


def test_edge_cases_damaged_metadata(edge):
    rows = rows_by_path(edge[0])
    assert rows["damaged_metadata/tests__30-type_error.jpg"]["warning"] == (
        "Wrong format (string) for IFD0 0x8769 ExifOffset")
    assert rows["damaged_metadata/tests__45-gps_ifd.jpg"]["warning"] == "[minor] Empty GPSInfo data"
    orientations = {p: r["orientation"] for p, r in rows.items() if "orientation__landscape" in p}
    assert sorted(orientations.values()) == list(range(1, 9))
    for row in rows.values():  # broken metadata, whole images: good rows
        if row["path"].startswith(("damaged_metadata/", "no_camera_exif/")) and row["path"].endswith(".jpg"):
            assert row["format"] == "JPEG" and row["error"] is None and row["width"] > 0, row["path"]


def test_edge_cases_heic_and_tiff(edge):
    rows = rows_by_path(edge[0])
    heic = [r for p, r in rows.items() if p.startswith("other_formats/heic__")]
    tiff = [r for p, r in rows.items() if p.startswith("other_formats/tiff__")]
    assert len(heic) == 5 and len(tiff) == 8
    assert {r["format"] for r in heic} == {"HEIC"} and {r["format"] for r in tiff} == {"TIFF"}
    assert all(r["width"] > 0 and r["height"] > 0 and r["error"] is None for r in heic + tiff)
    iphone = rows["other_formats/heic__mobile__iphone_13_pro_max.HEIC"]
    assert (iphone["make"], iphone["model"], iphone["width"], iphone["height"]) == ("Apple", "iPhone 13 Pro Max", 4032, 3024)
    assert (iphone["iso"], iphone["f_number"], iphone["orientation"]) == (250.0, 1.5, 6)
    assert iphone["lens_model"] == "iPhone 13 Pro Max back triple camera 5.7mm f/1.5"
    bsg = rows["other_formats/tiff__BSG1.tiff"]
    assert (bsg["width"], bsg["height"], bsg["content_hash"]) == (635, 348, "64fe6caed87f38de9a29ab732508df78")


def test_batch_mixing_good_and_corrupt_files_keeps_good_rows(tmp_path):
    """One exiftool command with corrupt files in it (non-zero exit): every good row survives."""
    root = tmp_path / "mixed"
    good = [S40, PENTAX, CASIO, "exif-samples/Konica_Minolta_DiMAGE_Z3.jpg"]
    for i, name in enumerate(good):
        copy_photo(name, root / f"{i}_good.jpg")
    for name in ("empty.jpg", "header_only.jpg", "not_an_image.jpg", "truncated_half.jpg"):
        shutil.copyfile(EDGE / "broken_files" / name, root / f"1_{name}")
    (root / "2_garbage.jpg").write_bytes(bytes(range(256)) * 8)
    out = tmp_path / "mixed.parquet"
    stats = extract_to_parquet(root, list_files(root), out, dataset="mixed", batch_size=64)
    rows = rows_by_path(out)
    assert len(rows) == 9 and stats.extracted == 9
    for i in range(len(good)):
        assert rows[f"{i}_good.jpg"]["error"] is None and rows[f"{i}_good.jpg"]["make"]
    assert rows["1_empty.jpg"]["error"] == "File is empty"
    assert rows["2_garbage.jpg"]["error"] == "File format error"  # binary junk named .jpg
    assert rows["1_header_only.jpg"]["warning"] == "JPEG format error"
    assert rows["1_not_an_image.jpg"]["error"] == NOT_AN_IMAGE
    assert rows["1_truncated_half.jpg"]["error"].startswith("truncated JPEG")
    assert stats.errors == 5


# --- files that cannot be read ------------------------------------------------------------------

def test_unreadable_entries_give_error_rows(tmp_path):
    root = tmp_path / "data"
    copy_photo(S40, root / "ok.jpg")
    (root / "dangling.jpg").symlink_to(root / "deleted-before-listing.jpg")
    os.mkfifo(root / "pipe.jpg")
    (root / "adir.jpg").mkdir()
    relpaths = ["ok.jpg", "dangling.jpg", "pipe.jpg", "adir.jpg", "vanished.jpg"]
    out = tmp_path / "out.parquet"
    stats = extract_to_parquet(root, relpaths, out, dataset="d")
    rows = rows_by_path(out)
    assert stats.files == 5 and stats.errors == 4 and rows["ok.jpg"]["error"] is None
    assert rows["dangling.jpg"]["error"] == "dangling symbolic link: its target does not exist"
    assert rows["vanished.jpg"]["error"] == "FileNotFoundError: No such file or directory"
    assert rows["pipe.jpg"]["error"] == "not a regular file (FIFO)"
    assert rows["adir.jpg"]["error"] == "not a regular file (directory)"
    for name in ("dangling.jpg", "pipe.jpg", "adir.jpg", "vanished.jpg"):
        assert rows[name]["content_hash"] is None and rows[name]["exif_json"] is None


def test_file_omitted_by_exiftool_gets_its_stderr_message(tmp_path):
    """exiftool's argument file drops a trailing CR from a name: it reports the file not found.

    The file is retried alone and then gets an error row with exiftool's message; its batch
    neighbours are unaffected.
    """
    root = tmp_path / "data"
    copy_photo(S40, root / "a.jpg")
    copy_photo(S40, root / "b.jpg\r")
    copy_photo(S40, root / "c.jpg")
    out = tmp_path / "out.parquet"
    extract_to_parquet(root, list_files(root), out, dataset="d")
    rows = rows_by_path(out)
    assert rows["a.jpg"]["make"] == rows["c.jpg"]["make"] == "Canon"
    bad = rows["b.jpg\r"]
    assert bad["error"].startswith("Error: File not found") and bad["content_hash"] is not None


@pytest.mark.filterwarnings("ignore:ExifTool process was previously running but died")
def test_dead_exiftool_process_is_restarted():
    """If the exiftool process dies, the batch is retried file by file on a fresh process."""
    runner = ExifToolRunner()
    runner.start()
    try:
        dead = runner.pid
        os.kill(dead, signal.SIGKILL)
        while Path(f"/proc/{dead}/stat").read_text().split(") ")[1][0] != "Z":  # wait until it is gone
            time.sleep(0.01)
        items = [BatchItem(S40, S40), BatchItem(PENTAX, PENTAX)]
        table = extract_batch(runner, str(PHOTOS), "d", items)
        assert table["make"].to_pylist() == ["Canon", "PENTAX Corporation"]
        assert table["error"].null_count == 2 and runner.pid != dead
    finally:
        runner.close()


# --- names ---------------------------------------------------------------------------------------

def test_file_name_with_newline_gets_an_error_row(tmp_path):
    root = tmp_path / "data"
    copy_photo(S40, root / "two\nlines.jpg")
    copy_photo(S40, root / "ok.jpg")
    out = tmp_path / "out.parquet"
    extract_to_parquet(root, list_files(root), out, dataset="d")
    rows = rows_by_path(out)
    assert rows["ok.jpg"]["make"] == "Canon"
    assert "line break" in rows["two\nlines.jpg"]["error"] and rows["two\nlines.jpg"]["bytes"] == 32764


def test_non_ascii_and_non_utf8_file_names(tmp_path):
    root = tmp_path / "data"
    copy_photo(S40, root / "日本語 é" / "照片 ü.jpg")
    copy_photo(PENTAX, root / "space .jpg")
    raw = os.fsencode(root) + b"/latin1-caf\xe9.jpg"  # a name that is not valid UTF-8
    shutil.copyfile(PHOTOS / CASIO, raw)
    out = tmp_path / "out.parquet"
    extract_to_parquet(root, list_files(root), out, dataset="d")
    rows = rows_by_path(out)
    assert list(rows) == ["latin1-caf\\xe9.jpg", "space .jpg", "日本語 é/照片 ü.jpg"]
    assert rows["日本語 é/照片 ü.jpg"]["make"] == "Canon"
    assert rows["space .jpg"]["make"] == "PENTAX Corporation"
    assert rows["latin1-caf\\xe9.jpg"]["make"] == "CASIO COMPUTER CO.,LTD."  # retried alone, mapped
    assert all(r["error"] is None for r in rows.values())


def test_invalid_utf8_tag_value(tmp_path):
    """Bytes that are not UTF-8 inside a tag: exiftool's JSON replaces them with '?'."""
    data = bytearray((PHOTOS / S40).read_bytes())
    at = data.index(b"Canon\x00")
    data[at:at + 5] = b"C\xe9\xff\x01n"
    root = tmp_path / "data"
    root.mkdir()
    (root / "odd.jpg").write_bytes(bytes(data))
    out = tmp_path / "out.parquet"
    extract_to_parquet(root, ["odd.jpg"], out, dataset="d")
    row = rows_by_path(out)["odd.jpg"]
    assert row["error"] is None and row["make"] == "C??\x01n"
    assert '"IFD0:Make":"C??\\u0001n"' in row["exif_json"]


# --- refresh, parallelism, output ---------------------------------------------------------------

REFRESH_PHOTOS = [S40, PENTAX, CASIO, "exif-samples/Konica_Minolta_DiMAGE_Z3.jpg",
                  "metadata-extractor-images/Canon_EOS_7D.jpg", "metadata-extractor-images/Kodak_DC240.jpg"]


def _tamper_keep_size_and_mtime(path: Path) -> None:
    """Change a file's bytes but not its size or mtime: only a re-read could notice."""
    info = path.stat()
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


def test_refresh_extracts_only_new_files(tmp_path):
    root = tmp_path / "data"
    for i, name in enumerate(REFRESH_PHOTOS):
        copy_photo(name, root / f"p{i}.jpg")
    out = tmp_path / "out" / "table.parquet"
    first = extract_to_parquet(root, list_files(root), out, dataset="d", previous=out)  # no table yet
    assert (first.files, first.extracted, first.reused, first.removed) == (6, 6, 0, 0)
    before = rows_by_path(out)

    # Two files added, one removed; two kept files get new bytes with the same size and mtime.
    copy_photo(REFRESH_PHOTOS[0], root / "new" / "n1.jpg")
    copy_photo(REFRESH_PHOTOS[1], root / "p2b.jpg")  # sorts between kept files
    (root / "p5.jpg").unlink()
    _tamper_keep_size_and_mtime(root / "p1.jpg")
    _tamper_keep_size_and_mtime(root / "p2.jpg")

    second = extract_to_parquet(root, list_files(root), out, dataset="d", previous=out, batch_size=2)
    assert (second.files, second.extracted, second.reused, second.removed) == (7, 2, 5, 1)
    after = rows_by_path(out)
    assert list(after) == ["new/n1.jpg", "p0.jpg", "p1.jpg", "p2.jpg", "p2b.jpg", "p3.jpg", "p4.jpg"]
    for name in ("p0.jpg", "p1.jpg", "p2.jpg", "p3.jpg", "p4.jpg"):
        assert after[name] == before[name]  # identical, stale hash included: the file was not read
    assert after["p2b.jpg"]["make"] == "PENTAX Corporation"
    assert after["new/n1.jpg"]["content_hash"] == before["p0.jpg"]["content_hash"]

    # A touched file (new mtime) is extracted again; its hash now shows the tampered bytes.
    os.utime(root / "p1.jpg", ns=(0, 1_000_000_000))
    third = extract_to_parquet(root, list_files(root), out, dataset="d", previous=out)
    assert (third.files, third.extracted, third.reused, third.removed) == (7, 1, 6, 0)
    refreshed = rows_by_path(out)["p1.jpg"]
    assert refreshed["mtime_ns"] == 1_000_000_000 and refreshed["content_hash"] != before["p1.jpg"]["content_hash"]
    assert [p.name for p in out.parent.iterdir()] == ["table.parquet"]  # no temporary files left


def test_refresh_with_scattered_changes_equals_fresh_extraction(tmp_path, monkeypatch):
    """Small segments (patched row-group size) mixing reused and new rows keep path order."""
    monkeypatch.setattr("sdaie.exif.extract.ROW_GROUP_ROWS", 3)
    root = tmp_path / "data"
    for i in range(20):
        copy_photo(S40, root / f"f{i:02d}.jpg")
    out = tmp_path / "t.parquet"
    extract_to_parquet(root, list_files(root), out, dataset="d", batch_size=1)
    for name in ("f03.jpg", "f15.jpg"):
        (root / name).unlink()
    for name in ("a.jpg", "f07b.jpg", "f19z/x.jpg"):
        copy_photo(PENTAX, root / name)
    stats = extract_to_parquet(root, list_files(root), out, dataset="d", previous=out, batch_size=1, jobs=2)
    assert (stats.files, stats.extracted, stats.reused, stats.removed) == (21, 3, 18, 2)
    fresh = tmp_path / "fresh.parquet"
    extract_to_parquet(root, list_files(root), fresh, dataset="d")
    assert pq.read_table(out).equals(pq.read_table(fresh))


def test_refresh_from_a_merged_unsorted_table_of_several_datasets(tmp_path):
    """Only the rows of the same dataset are reused; an unsorted previous table works too."""
    root = tmp_path / "data"
    for i, name in enumerate(REFRESH_PHOTOS[:4]):
        copy_photo(name, root / f"p{i}.jpg")
    mine, other = tmp_path / "mine.parquet", tmp_path / "other.parquet"
    extract_to_parquet(root, list_files(root), mine, dataset="mine")
    extract_to_parquet(root, ["p0.jpg", "p1.jpg"], other, dataset="other")
    merged = tmp_path / "merged.parquet"
    merge_tables([mine, other], merged)
    shuffled = pq.read_table(merged)
    pq.write_table(shuffled.take(list(reversed(range(shuffled.num_rows)))), merged)
    (root / "p3.jpg").unlink()
    out = tmp_path / "out.parquet"
    stats = extract_to_parquet(root, list_files(root), out, dataset="mine", previous=merged)
    assert (stats.files, stats.extracted, stats.reused, stats.removed) == (3, 0, 3, 1)
    assert pq.read_table(out).equals(pq.read_table(mine).slice(0, 3))
    stats = extract_to_parquet(root, list_files(root), out, dataset="new-name", previous=merged)
    assert (stats.extracted, stats.reused, stats.removed) == (3, 0, 0)


def test_refresh_reextracts_rows_of_unread_files(tmp_path):
    """A row whose file could not be read (no hash) is never reused."""
    root = tmp_path / "data"
    root.mkdir()
    os.mkfifo(root / "x.jpg")
    out = tmp_path / "t.parquet"
    extract_to_parquet(root, ["x.jpg"], out, dataset="d")
    (root / "x.jpg").unlink()
    copy_photo(S40, root / "x.jpg")
    stats = extract_to_parquet(root, ["x.jpg"], out, dataset="d", previous=out)
    assert stats.extracted == 1 and rows_by_path(out)["x.jpg"]["make"] == "Canon"


def test_previous_with_wrong_schema_is_rejected_and_output_untouched(tmp_path):
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"path": ["a.jpg"]}), bad)
    with pytest.raises(ValueError, match="schema"):
        extract_to_parquet(PHOTOS, [S40], bad, dataset="d", previous=bad)
    assert pq.read_table(bad).column_names == ["path"]
    assert [p.name for p in tmp_path.iterdir()] == ["bad.parquet"]


def test_two_jobs_give_the_same_table_as_one(tmp_path):
    relpaths = [p for p in list_files(PHOTOS) if p.endswith(".jpg")][::4]
    one, two = tmp_path / "one.parquet", tmp_path / "two.parquet"
    extract_to_parquet(PHOTOS, reversed(relpaths), one, dataset="p", jobs=1, batch_size=5)
    stats = extract_to_parquet(PHOTOS, relpaths, two, dataset="p", jobs=2, batch_size=5, progress=True)
    assert stats.files == len(relpaths) == 48
    assert pq.read_table(one).equals(pq.read_table(two))
    assert pq.read_table(one)["path"].to_pylist() == sorted(relpaths)


def test_no_files_gives_an_empty_table(tmp_path):
    out = tmp_path / "empty.parquet"
    stats = extract_to_parquet(tmp_path, [], out, dataset="d", jobs=4)
    assert (stats.files, stats.extracted, stats.errors) == (0, 0, 0)
    table = pq.read_table(out)
    assert table.num_rows == 0 and table.schema.equals(RAW_SCHEMA, check_metadata=False)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError):
        extract_to_parquet(PHOTOS, [S40], tmp_path / "x.parquet", dataset="d", jobs=0)
    with pytest.raises(ValueError):
        extract_to_parquet(PHOTOS, [S40], tmp_path / "x.parquet", dataset="d", batch_size=0)


def test_exiftool_version():
    assert re.fullmatch(r"\d+\.\d+", exiftool_version())
