"""sdaie.imageio: every Pillow mode to exact 8-bit RGB, HEIC through pillow-heif, one error type."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import needs_shared
from PIL import Image

from sdaie.errors import InputError
from sdaie.imageio import ImageDecodeError, decode_rgb, to_rgb8

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
HEIC_FILES = [
    SHARED / "edge_cases" / "other_formats" / "heic__samplefilehub.heif",
    SHARED / "camera_series" / "digicam_corpus" / "IMG_8565.heic",
]
needs_shared_heic = needs_shared("data", "camera_series")


def grey_rgb(values) -> list:
    """Expected RGB pixels of a grey row: each value copied to R, G and B."""
    return [[[v, v, v] for v in row] for row in values]


# --- every mode, from files as written by Pillow ---------------------------------------------------

def test_16_bit_grey_png_is_scaled_not_clipped(tmp_path):
    """The issue's case: a 16-bit PNG was clipped (99.6% of pixels white); now v/257, rounded half up."""
    values = np.array([[0, 128, 129, 257], [1000, 30000, 65407, 65535]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "grey16.png")
    assert Image.open(tmp_path / "grey16.png").mode == "I;16"
    pixels = decode_rgb(tmp_path / "grey16.png")
    assert pixels.dtype == np.uint8 and pixels.shape == (2, 4, 3)
    assert pixels.tolist() == grey_rgb([[0, 0, 1, 1], [4, 117, 255, 255]])


def test_16_bit_big_endian_tiff(tmp_path):
    values = np.array([[0, 257, 514, 65535]], dtype=">u2")
    Image.frombytes("I;16B", (4, 1), values.tobytes()).save(tmp_path / "grey16b.tif")
    assert decode_rgb(tmp_path / "grey16b.tif").tolist() == grey_rgb([[0, 1, 2, 255]])


def test_32_bit_integer_is_read_as_16_bit_samples(tmp_path):
    image = Image.fromarray(np.array([[-5, 0, 257, 65535, 70000]], dtype=np.int32))
    assert image.mode == "I"
    assert to_rgb8(image).tolist() == grey_rgb([[0, 0, 1, 255, 255]])


def test_float_in_unit_range_and_above(tmp_path):
    unit = np.array([[0.0, 0.5, 1.0, np.nan, -0.2]], dtype=np.float32)
    Image.fromarray(unit).save(tmp_path / "unit.tif")
    assert decode_rgb(tmp_path / "unit.tif").tolist() == grey_rgb([[0, 128, 255, 0, 0]])  # 127.5 rounds up
    wide = np.array([[0.0, 2.4, 2.5, 300.0, -5.0]], dtype=np.float32)  # max > 1: already 0..255
    Image.fromarray(wide).save(tmp_path / "wide.tif")
    assert decode_rgb(tmp_path / "wide.tif").tolist() == grey_rgb([[0, 2, 3, 255, 0]])


def test_palette_png_with_transparency_gives_the_palette_colours(tmp_path):
    image = Image.new("P", (3, 1))
    image.putpalette([10, 20, 30, 200, 100, 50, 0, 255, 0])
    image.putdata([0, 1, 2])
    image.save(tmp_path / "palette.png", transparency=1)
    reopened = Image.open(tmp_path / "palette.png")
    assert reopened.mode == "P" and "transparency" in reopened.info
    assert decode_rgb(tmp_path / "palette.png").tolist() == [[[10, 20, 30], [200, 100, 50], [0, 255, 0]]]


def test_palette_with_alpha_mode(tmp_path):
    image = Image.new("PA", (2, 1))
    image.putpalette([9, 8, 7, 1, 2, 3])
    image.putdata([(0, 0), (1, 255)])
    assert to_rgb8(image).tolist() == [[[9, 8, 7], [1, 2, 3]]]


def test_alpha_is_dropped_not_composited(tmp_path):
    Image.new("RGBA", (2, 1), (1, 2, 3, 0)).save(tmp_path / "rgba.png")
    assert decode_rgb(tmp_path / "rgba.png").tolist() == [[[1, 2, 3], [1, 2, 3]]]
    la = Image.new("LA", (1, 1), (77, 10))
    la.save(tmp_path / "la.png")
    assert decode_rgb(tmp_path / "la.png").tolist() == [[[77, 77, 77]]]


def test_cmyk_uses_pillows_conversion(tmp_path):
    image = Image.new("CMYK", (3, 1))
    image.putdata([(0, 255, 255, 0), (0, 0, 0, 255), (0, 0, 0, 0)])
    image.save(tmp_path / "cmyk.tif")  # lossless, so the values are exact
    assert decode_rgb(tmp_path / "cmyk.tif").tolist() == [[[255, 0, 0], [0, 0, 0], [255, 255, 255]]]


def test_cmyk_jpeg_decodes(tmp_path):
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg", quality=100)
    pixels = decode_rgb(tmp_path / "cmyk.jpg")
    assert pixels.shape == (16, 16, 3)
    assert np.abs(pixels.astype(int) - [255, 0, 0]).max() <= 3  # JPEG: close, not exact


def test_bilevel_grey_and_ycbcr(tmp_path):
    Image.frombytes("1", (4, 1), bytes([0b10100000])).save(tmp_path / "bilevel.png")
    assert decode_rgb(tmp_path / "bilevel.png").tolist() == grey_rgb([[255, 0, 255, 0]])
    Image.fromarray(np.array([[0, 99, 255]], dtype=np.uint8)).save(tmp_path / "grey.png")
    assert decode_rgb(tmp_path / "grey.png").tolist() == grey_rgb([[0, 99, 255]])
    assert to_rgb8(Image.new("YCbCr", (1, 1), (128, 128, 128))).tolist() == [[[128, 128, 128]]]


def test_rgb_is_kept_exactly(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "rgb.png")
    np.testing.assert_array_equal(decode_rgb(tmp_path / "rgb.png"), pixels)


def test_multi_frame_files_give_their_first_frame(tmp_path):
    for suffix in ("mpo", "tif"):  # new images for each save: Pillow keeps encoder state on them
        first, second = Image.new("RGB", (8, 8), (200, 0, 0)), Image.new("RGB", (8, 8), (0, 0, 200))
        first.save(tmp_path / f"two.{suffix}", save_all=True, append_images=[second])
    with Image.open(tmp_path / "two.mpo") as image:
        assert image.format == "MPO" and image.n_frames == 2
    assert np.abs(decode_rgb(tmp_path / "two.mpo").astype(int) - [200, 0, 0]).max() <= 3
    assert decode_rgb(tmp_path / "two.tif")[0, 0].tolist() == [200, 0, 0]


# --- HEIC ----------------------------------------------------------------------------------------

@needs_shared_heic
@pytest.mark.parametrize("path", HEIC_FILES, ids=lambda p: p.name)
def test_heic_photos_decode(path):
    """Phone HEIC photos decode (pillow-heif): full size, 8-bit RGB, real content."""
    import pillow_heif

    width, height = pillow_heif.open_heif(path).size  # the stored size, read by pillow-heif itself
    pixels = decode_rgb(path)
    assert pixels.dtype == np.uint8 and pixels.shape == (height, width, 3)
    assert 10 < pixels.mean() < 245 and pixels.std() > 5


# --- files that cannot be decoded ---------------------------------------------------------------

def _undecodable(tmp_path: Path) -> dict[str, Path]:
    good = tmp_path / "good.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)).save(good)
    data = good.read_bytes()
    files = {
        "empty": tmp_path / "empty.jpg",
        "text": tmp_path / "notes.jpg",
        "truncated": tmp_path / "cut.jpg",
        "fifo": tmp_path / "pipe.jpg",
        "directory": tmp_path / "folder.jpg",
        "missing": tmp_path / "missing.jpg",
        "dangling": tmp_path / "dangling.jpg",
        "socket": tmp_path / "socket.jpg",
    }
    files["empty"].write_bytes(b"")
    files["text"].write_text("this is a text file with a .jpg name\n")
    files["truncated"].write_bytes(data[: len(data) // 2])
    os.mkfifo(files["fifo"])
    files["directory"].mkdir()
    files["dangling"].symlink_to(tmp_path / "gone.jpg")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(files["socket"]))
    listener.close()
    return files


EXPECTED_REASONS = {
    "empty": "not an image format sdaie can decode",
    "text": "not an image format sdaie can decode",
    "truncated": "cannot decode the image: image file is truncated",
    "fifo": "not a regular file (FIFO)",
    "directory": "not a regular file (directory)",
    "missing": "FileNotFoundError: No such file or directory",
    "dangling": "dangling symbolic link: its target does not exist",
    "socket": "not a regular file (socket)",
}


def test_undecodable_files_raise_one_error_type_naming_the_file(tmp_path):
    files = _undecodable(tmp_path)
    outcomes: dict[str, BaseException | None] = {}

    def decode_all() -> None:
        for name, path in files.items():
            try:
                decode_rgb(path)
                outcomes[name] = None
            except BaseException as exc:  # noqa: BLE001 - recorded and checked below
                outcomes[name] = exc

    worker = threading.Thread(target=decode_all, daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "decoding hung (a FIFO opened for reading blocks)"
    for name, path in files.items():
        exc = outcomes[name]
        assert isinstance(exc, ImageDecodeError) and isinstance(exc, InputError) and isinstance(exc, ValueError), name
        assert exc.path == str(path) and exc.what.startswith(EXPECTED_REASONS[name]), (name, exc.what)
        assert str(exc).startswith(f"{path}: {EXPECTED_REASONS[name]}") and str(exc).endswith(")")
        assert "\n" not in str(exc)


def test_patches_cut_reexports_the_one_decoder():
    from sdaie.patches import cut

    assert cut.decode_rgb is decode_rgb
