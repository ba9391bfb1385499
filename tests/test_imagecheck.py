"""sdaie.imagecheck: the cheap check that a file is a whole image (header parsed, data all there)."""

from __future__ import annotations

import io
import os
import struct
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import needs_shared
from PIL import Image

from sdaie.imagecheck import image_problem

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
EDGE = SHARED / "edge_cases"
needs_edge_cases = needs_shared("data", "edge_cases")
NOT_AN_IMAGE = "not an image format sdaie can decode (Pillow and pillow-heif recognize none)"


def noise(width: int = 256, height: int = 192) -> Image.Image:
    return Image.fromarray(np.random.default_rng(1).integers(0, 256, (height, width, 3), dtype=np.uint8))


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def with_comment_before_scan(jpeg: bytes, text: bytes) -> bytes:
    """``jpeg`` with a COM segment holding ``text`` right after SOI (before the image data)."""
    return jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(text) + 2) + text + jpeg[2:]


# --- whole images pass ---------------------------------------------------------------------------

def test_whole_images_of_every_format_pass(tmp_path):
    image = noise()
    for fmt, suffix, options in [("JPEG", "jpg", {}), ("JPEG", "jpg", {"progressive": True}), ("PNG", "png", {}),
                                 ("TIFF", "tif", {}), ("TIFF", "tif", {"compression": "tiff_deflate"}),
                                 ("WEBP", "webp", {}), ("GIF", "gif", {}), ("BMP", "bmp", {})]:
        path = write(tmp_path / f"ok_{fmt}_{len(options)}.{suffix}", encoded(image, fmt, **options))
        assert image_problem(path) is None, path.name
    grey16 = Image.fromarray(np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000)
    assert image_problem(write(tmp_path / "grey16.png", encoded(grey16, "PNG"))) is None
    assert image_problem(write(tmp_path / "cmyk.jpg", encoded(Image.new("CMYK", (32, 32)), "JPEG"))) is None
    two = tmp_path / "two.mpo"
    noise().save(two, save_all=True, append_images=[noise(256, 192)])
    assert image_problem(two) is None


def test_jpeg_with_data_after_its_end_passes(tmp_path):
    """A motion photo: a JPEG, then a video appended; the JPEG itself is whole."""
    jpeg = encoded(noise(), "JPEG")
    assert image_problem(write(tmp_path / "motion.jpg", jpeg + b"\x00\x00\x00\x18ftypmp42" + bytes(5000))) is None


def test_jpeg_with_stray_bytes_between_header_segments_passes(tmp_path):
    """Like exif-samples' issue_121.jpg: junk after a segment, which libjpeg skips."""
    jpeg = encoded(noise(), "JPEG")
    assert image_problem(write(tmp_path / "stray.jpg", jpeg[:20] + b"\x00\x01junk" + jpeg[20:])) is None


@needs_edge_cases
def test_shared_images_with_damaged_metadata_pass():
    files = sorted((EDGE / "damaged_metadata").glob("*.jpg")) + sorted((EDGE / "no_camera_exif").rglob("*.jpg"))
    files += sorted((EDGE / "other_formats").glob("*"))
    assert len(files) >= 70
    assert {path.name: image_problem(path) for path in files} == {path.name: None for path in files}


# --- incomplete files fail, with the reason --------------------------------------------------------

def test_truncated_jpeg(tmp_path):
    jpeg = encoded(noise(), "JPEG")
    problem = image_problem(write(tmp_path / "half.jpg", jpeg[: len(jpeg) // 2]))
    assert problem == f"truncated JPEG: the image data has no end-of-image marker (FF D9); the file ends at byte {len(jpeg) // 2}"
    assert image_problem(write(tmp_path / "no_eoi.jpg", jpeg[:-2])).startswith("truncated JPEG")


def test_truncated_jpeg_with_an_end_marker_in_its_header(tmp_path):
    """An FF D9 before the image data (here in a comment; usually an EXIF thumbnail's end) does not count."""
    jpeg = with_comment_before_scan(encoded(noise(), "JPEG"), b"thumbnail \xff\xd9 end")
    assert image_problem(write(tmp_path / "whole.jpg", jpeg)) is None
    assert image_problem(write(tmp_path / "cut.jpg", jpeg[: len(jpeg) * 2 // 3])).startswith("truncated JPEG")


def test_png_truncated_or_with_a_bad_checksum(tmp_path):
    png = encoded(noise(), "PNG")
    assert image_problem(write(tmp_path / "half.png", png[: len(png) // 2])).startswith("corrupt or truncated PNG")
    damaged = bytearray(png)
    damaged[len(png) // 2] ^= 0xFF  # inside IDAT: its CRC no longer matches
    assert image_problem(write(tmp_path / "crc.png", bytes(damaged))).startswith("corrupt or truncated PNG")


def test_truncated_tiff_and_webp(tmp_path):
    tiff = encoded(noise(), "TIFF")
    assert image_problem(write(tmp_path / "half.tif", tiff[: len(tiff) // 2])) == (
        f"truncated TIFF: its image data should end at byte {len(tiff)}, the file has {len(tiff) // 2} bytes"
    )
    webp = encoded(noise(), "WEBP")
    assert image_problem(write(tmp_path / "half.webp", webp[:-10])).startswith("truncated or damaged image header")


@needs_edge_cases
def test_truncated_heic(tmp_path):
    """A HEIC cut in half decodes without error in libheif; the box sizes show it is cut."""
    heic = (EDGE / "other_formats" / "heic__IMG_5195.HEIC").read_bytes()
    problem = image_problem(write(tmp_path / "half.heic", heic[: len(heic) // 2]))
    assert problem == f"truncated HEIF: box 'mdat' should end at byte {len(heic)}, the file has {len(heic) // 2} bytes"
    from sdaie.imageio import decode_rgb

    assert decode_rgb(tmp_path / "half.heic").shape == (3313, 2566, 3)  # what a full decode would not notice


def test_not_images(tmp_path):
    assert image_problem(write(tmp_path / "notes.jpg", b"this is a text file with a .jpg name\n")) == NOT_AN_IMAGE
    assert image_problem(write(tmp_path / "README", b"# read me\n")) == NOT_AN_IMAGE
    assert image_problem(write(tmp_path / "empty.jpg", b"")) == NOT_AN_IMAGE
    jpeg = encoded(noise(), "JPEG")
    assert image_problem(write(tmp_path / "head.jpg", jpeg[:300])).startswith(("truncated", "corrupt"))


def test_special_files_are_never_opened(tmp_path):
    os.mkfifo(tmp_path / "pipe.jpg")
    (tmp_path / "folder.jpg").mkdir()
    (tmp_path / "dangling.jpg").symlink_to(tmp_path / "gone.jpg")
    results = {}
    worker = threading.Thread(
        target=lambda: results.update({name: image_problem(tmp_path / name) for name in ("pipe.jpg", "folder.jpg", "dangling.jpg")}),
        daemon=True,
    )
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "the check hung on a FIFO"
    assert results == {
        "pipe.jpg": "not a regular file (FIFO)",
        "folder.jpg": "not a regular file (directory)",
        "dangling.jpg": "dangling symbolic link: its target does not exist",
    }


def test_damage_inside_data_of_full_length_is_left_to_the_decoder(tmp_path):
    """The check's limit: a JPEG whose entropy data is damaged but whose end is there passes it;
    the decoder (patch cutting, scoring) then fails on it, here, or gives wrong pixels."""
    from sdaie.imageio import ImageDecodeError, decode_rgb

    data = bytearray(encoded(noise(), "JPEG"))
    middle = len(data) // 2
    for i in range(middle, middle + 200):
        data[i] = 0xFF if data[i] == 0xFF else (data[i] * 7 + 13) % 256
    path = write(tmp_path / "damaged.jpg", bytes(data))
    assert image_problem(path) is None
    with pytest.raises(ImageDecodeError, match="broken data stream"):
        decode_rgb(path)
