"""Decode image files into 8-bit RGB pixels: the one decoder that patches, features and detection use.

:func:`decode_rgb` returns a uint8 array (H, W, 3), exactly as stored: no resampling and no rotation
by the EXIF orientation. Formats: everything Pillow opens, plus HEIC/HEIF through pillow-heif (its
opener is registered with Pillow once, on first use). Multi-frame files give their first frame
(MPO: the main image; GIF, TIFF: the first page; HEIF: the primary image).

Every Pillow mode becomes 8-bit RGB by one rule:

==========================  ===================================================================
mode                        conversion
==========================  ===================================================================
RGB                         as stored
L, 1                        grey copied to R, G and B (``1``: 0 or 255)
P, PA                       the palette colours; transparency is ignored
RGBA, RGBa, RGBX, LA, La    the colour channels; alpha is dropped, not composited on any background
CMYK, YCbCr, HSV            Pillow's conversion (CMYK without its ICC profile: R = 255 - C - K...)
I;16, I;16L, I;16B, I;16N   16-bit grey: ``round(v / 257)``, half up (65535 -> 255, 257 -> 1)
I                           32-bit integers, read as 16-bit samples (Pillow's mode for 16-bit PNG
                            and TIFF data): clipped to 0..65535, then as I;16
F                           32-bit float: if no finite value exceeds 1, the range is [0, 1] and
                            the value is ``round(255 * v)`` (clipped to [0, 1] first); otherwise
                            clipped to 0..255 and rounded. NaN -> 0. Rounding is half up
==========================  ===================================================================

Modes Pillow cannot convert to RGB raise :class:`ImageDecodeError`, as does every file
that is missing, not a regular file (never opened: a FIFO would block), not an image or damaged.
"""

from __future__ import annotations

import functools
import os

import numpy as np
from PIL import Image, UnidentifiedImageError

from sdaie.errors import InputError, describe_os_error, regular_file_problem

__all__ = ["ImageDecodeError", "decode_rgb", "open_image", "to_rgb8"]

DECODE_HINT = "the file is damaged or not an image: replace it with an intact copy or remove it"

_SIXTEEN_BIT = {"I;16", "I;16L", "I;16B", "I;16N"}
_WITH_ALPHA_OR_PALETTE = {"P", "PA", "RGBA", "RGBa", "RGBX", "LA", "La"}


class ImageDecodeError(InputError):
    """An image file that cannot be decoded; ``.path`` names it and ``.what`` says why.

    A subclass of :class:`sdaie.errors.InputError` (and so of ``ValueError``).
    """

    def __init__(self, path: str | os.PathLike, what: str, hint: str = DECODE_HINT) -> None:
        super().__init__(path, what, hint)


@functools.cache
def register_heif() -> None:
    """Let Pillow open HEIC/HEIF files (pillow-heif's opener); runs once per process."""
    import pillow_heif

    pillow_heif.register_heif_opener()


def open_image(path: str | os.PathLike) -> Image.Image:
    """Open an image lazily (header only), after checking with ``stat`` that it is a regular file.

    Raises :class:`ImageDecodeError` for a path that is not a regular file, cannot be read, or is
    not in a format Pillow or pillow-heif recognizes. The caller closes the image.
    """
    register_heif()
    problem = regular_file_problem(path)
    if problem is not None:
        raise ImageDecodeError(path, problem)
    try:
        return Image.open(path)
    except UnidentifiedImageError as exc:
        raise ImageDecodeError(path, "not an image format sdaie can decode (Pillow and pillow-heif recognize none)") from exc
    except OSError as exc:
        what = describe_os_error(exc) if exc.errno is not None else f"truncated or damaged image header: {exc}"
        raise ImageDecodeError(path, what) from exc
    except (ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        raise ImageDecodeError(path, f"truncated or damaged image header: {exc}") from exc


def decode_rgb(path: str | os.PathLike) -> np.ndarray:
    """Decode an image file to uint8 RGB (H, W, 3); see the module doc for every mode's rule.

    Raises :class:`ImageDecodeError` when the file cannot be decoded, whatever the reason.
    """
    with open_image(path) as image:
        try:
            image.load()
            return to_rgb8(image)
        except (OSError, ValueError, SyntaxError, EOFError, MemoryError, Image.DecompressionBombError) as exc:
            raise ImageDecodeError(path, f"cannot decode the image: {exc}") from exc


def to_rgb8(image: Image.Image) -> np.ndarray:
    """The pixels of a loaded image as uint8 RGB (H, W, 3), by the rules of the module doc.

    Raises ``ValueError`` for a mode Pillow cannot convert to RGB.
    """
    mode = image.mode
    if mode == "RGB":
        return np.asarray(image)
    if mode in _SIXTEEN_BIT:
        return _grey_to_rgb(_from_16_bit(np.asarray(image)))
    if mode == "I":
        return _grey_to_rgb(_from_16_bit(np.clip(np.asarray(image), 0, 65535)))
    if mode == "F":
        return _grey_to_rgb(_from_float(np.asarray(image)))
    target = "RGBA" if mode in _WITH_ALPHA_OR_PALETTE else "RGB"
    try:
        converted = image.convert(target)
    except ValueError as exc:
        raise ValueError(f"cannot convert Pillow mode {mode} to RGB: {exc}") from exc
    pixels = np.asarray(converted)
    return np.ascontiguousarray(pixels[..., :3]) if target == "RGBA" else pixels


def _from_16_bit(values: np.ndarray) -> np.ndarray:
    """16-bit samples (0..65535) to 8 bits: ``round(v / 257)`` half up, in exact integer arithmetic."""
    wide = values.astype(np.uint32)
    return ((2 * wide + 257) // 514).astype(np.uint8)


def _from_float(values: np.ndarray) -> np.ndarray:
    values = np.where(np.isnan(values), 0.0, values.astype(np.float64))
    finite = values[np.isfinite(values)]
    if finite.size == 0 or finite.max() <= 1.0:
        values = np.clip(values, 0.0, 1.0) * 255.0
    else:
        values = np.clip(values, 0.0, 255.0)
    return np.floor(values + 0.5).astype(np.uint8)


def _grey_to_rgb(grey: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2))
