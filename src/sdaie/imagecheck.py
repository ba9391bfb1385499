"""A cheap check that a file is a whole image: the header parses and the data is all there.

:func:`image_problem` is what EXIF extraction runs on every file, so that a truncated, empty or
non-image file gets ``error`` set in the raw table instead of failing later at patch cutting or
scoring. A full decode costs about 5 ms for the shared JPEGs (0.6 megapixels) and 370 ms for a
12-megapixel HEIC, and libheif decodes a HEIC cut in half without an error; this check costs about
0.4 ms a file (BENCHMARKS.md, ``bench/decode_check.py``). It reads headers and looks for the end of
the image data, with no pixel decoding:

* every format: Pillow (with pillow-heif for HEIC/HEIF) must recognize the file and parse its
  header (:func:`sdaie.imageio.open_image`); an empty file, a text file or a README fails here;
* JPEG, MPO: the header segments must lie inside the file and the entropy-coded data after the
  first SOS marker must end with an end-of-image marker ``FF D9`` (inside entropy-coded data an
  ``FF`` byte is always followed by ``00`` or a restart marker, so the first ``FF D9`` after SOS
  is the image's end; data appended after it, e.g. a motion photo's video, is allowed);
* PNG: every chunk up to IEND is present and its CRC matches (Pillow's ``verify``; the pixel
  data is not inflated);
* TIFF: the strips or tiles of the first image end inside the file;
* HEIF/HEIC, AVIF: every top-level ISO-BMFF box ends inside the file (the box sizes are what
  the header promises; a file cut short loses the end of its ``mdat`` box);
* WebP: Pillow's opener (libwebp's demuxer) already refuses a file cut short;
* other formats (GIF, BMP...): the header only.

What it does not catch: damage inside the compressed data of a file that is complete in length.
"""

from __future__ import annotations

import mmap
import os
import struct
from collections.abc import Callable

from PIL import Image

from sdaie.imageio import ImageDecodeError, open_image

__all__ = ["image_problem"]

JPEG_EOI = b"\xff\xd9"
_JPEG_SOS = 0xDA
_JPEG_STANDALONE = {0x01, 0xD8, *range(0xD0, 0xD8)}  # TEM, SOI, RST0-7: no length field


def image_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` is not a whole image (one line of text), or ``None`` when it passes the check."""
    try:
        with open_image(path) as image:
            probe = _PROBES.get(image.format or "")
            return probe(image, path) if probe is not None else None
    except ImageDecodeError as exc:
        return exc.what
    except OSError as exc:  # the file changed or vanished while the probe read it
        return f"cannot read the file: {exc}"


def _jpeg(image: Image.Image, path: str | os.PathLike) -> str | None:
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        size = len(data)
        pos = 2  # after SOI (Pillow checked it)
        while True:
            pos = _next_marker(data, pos)
            if pos is None or pos + 4 > size:
                return f"truncated JPEG: the file ends at byte {size}, inside its header, before any image data"
            marker = data[pos + 1]
            if marker in _JPEG_STANDALONE:
                pos += 2
                continue
            if marker == 0xD9:
                return "corrupt JPEG: end-of-image marker before any image data"
            (length,) = struct.unpack_from(">H", data, pos + 2)
            pos += 2 + length
            if marker == _JPEG_SOS:
                break
        if pos > size or data.find(JPEG_EOI, pos) < 0:
            return f"truncated JPEG: the image data has no end-of-image marker (FF D9); the file ends at byte {size}"
    return None


def _next_marker(data: mmap.mmap, pos: int) -> int | None:
    """Position of the next marker ``FF xx`` (xx not 00 or FF) at or after ``pos``, or ``None``.

    Stray bytes and fill bytes between header segments are skipped, as libjpeg skips them.
    """
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            return None
        if data[pos + 1] not in (0x00, 0xFF):
            return pos
        pos += 1


def _png(image: Image.Image, path: str | os.PathLike) -> str | None:
    try:
        image.verify()
    except (OSError, SyntaxError, EOFError, struct.error, ValueError) as exc:
        return f"corrupt or truncated PNG: {exc or type(exc).__name__}"
    return None


_STRIP_TAGS = ((273, 279), (324, 325))  # (StripOffsets, StripByteCounts), (TileOffsets, TileByteCounts)


def _tiff(image: Image.Image, path: str | os.PathLike) -> str | None:
    tags = getattr(image, "tag_v2", {})
    ends = []
    for offsets_tag, counts_tag in _STRIP_TAGS:
        offsets, counts = tags.get(offsets_tag), tags.get(counts_tag)
        if offsets is not None and counts is not None:
            offsets = offsets if isinstance(offsets, tuple) else (offsets,)
            counts = counts if isinstance(counts, tuple) else (counts,)
            ends += [int(o) + int(c) for o, c in zip(offsets, counts)]
    size = os.path.getsize(path)
    if ends and max(ends) > size:
        return f"truncated TIFF: its image data should end at byte {max(ends)}, the file has {size} bytes"
    return None


def _iso_bmff(image: Image.Image, path: str | os.PathLike) -> str | None:
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        pos = 0
        while pos < size:
            handle.seek(pos)
            header = handle.read(16)
            if len(header) < 8:
                return f"truncated {image.format}: the file ends at byte {size}, inside a box header"
            box_size, box_type = struct.unpack_from(">I4s", header)
            if box_size == 1:
                if len(header) < 16:
                    return f"truncated {image.format}: the file ends at byte {size}, inside a box header"
                (box_size,) = struct.unpack_from(">Q", header, 8)
            elif box_size == 0:  # the last box, up to the end of the file
                return None
            if box_size < 8:
                return f"corrupt {image.format}: box at byte {pos} has an invalid size {box_size}"
            if pos + box_size > size:
                name = box_type.decode("latin-1")
                return f"truncated {image.format}: box {name!r} should end at byte {pos + box_size}, the file has {size} bytes"
            pos += box_size
    return None


_PROBES: dict[str, Callable[[Image.Image, str | os.PathLike], str | None]] = {
    "JPEG": _jpeg,
    "MPO": _jpeg,
    "PNG": _png,
    "TIFF": _tiff,
    "HEIF": _iso_bmff,
    "AVIF": _iso_bmff,
}
