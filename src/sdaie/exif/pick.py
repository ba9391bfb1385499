"""Choose, for each typed tag column, which of exiftool's copies of a tag to use.

exiftool runs with ``-G1 -a``, so a record holds every copy of a requested tag under its group,
e.g. ``"ExifIFD:ISO": 200`` and ``"Pentax:ISO": 9``. exiftool's own choice for a bare ``-ISO``
would be the maker-note copy here, which with ``-n`` is a camera-specific raw code (Pentax's 9 is
an index meaning ISO 200). The table wants the standard value, so copies are ranked by group:

1. ``IFD0`` (Make, Model, Software, Orientation...), then ``ExifIFD`` (exposure settings), then
   other EXIF IFDs (``IFD1``, ``SubIFD``...): the EXIF standard, in any file format;
2. XMP (``XMP-exif``, ``XMP-tiff``, ``XMP-exifEX``...): the same tags in XMP, as editors write them;
3. for text columns only: any other group (maker notes, CIFF, QuickTime...), since a maker's
   own Make/Model/LensModel text is meaningful where its numbers are raw codes.

Composite tags (derived by exiftool) and File/System/ExifTool pseudo-tags are never used for
tag columns. Every copy stays in ``exif_json`` either way.

:func:`stored_size` chooses the pixel size of the image as stored, the value exiftool's
``Composite:ImageSize`` would give (exiftool runs with ``-e``, without composite tags, which is
markedly faster): the file-format level copy (``File:`` for JPEG, HEIC, BMP...; ``PNG:``, ``GIF:``,
``RIFF:`` (WebP), ``Jpeg2000:``... for those formats), else ``IFD0:`` (TIFF). Thumbnail (``IFD1``)
and declared (``ExifIFD``, ``XMP-tiff``, maker notes) sizes are never used.
"""

from __future__ import annotations

import re
from typing import Any

_EXIF_OTHER = re.compile(r"(?:Sub)?IFD\d*|GPS|InteropIFD|GlobParamIFD")
_NEVER = frozenset({"Composite", "File", "System", "ExifTool", ""})

RANK_OTHER = 4


def group_rank(group: str) -> int | None:
    """Preference of a family-1 group (lower is better), ``None`` for groups never used."""
    if group == "IFD0":
        return 0
    if group == "ExifIFD":
        return 1
    if _EXIF_OTHER.fullmatch(group):
        return 2
    if group.startswith("XMP"):
        return 3
    if group in _NEVER:
        return None
    return RANK_OTHER


def candidates(record: dict[str, Any]) -> dict[str, list[tuple[int, Any]]]:
    """Index a ``-G1`` record by bare tag name: ``{"ISO": [(rank, value), ...]}`` in record order."""
    index: dict[str, list[tuple[int, Any]]] = {}
    for key, value in record.items():
        group, sep, tag = key.rpartition(":")
        if not sep:
            continue  # SourceFile
        rank = group_rank(group)
        if rank is not None:
            index.setdefault(tag, []).append((rank, value))
    return index


def pick(copies: list[tuple[int, Any]] | None, *, text: bool) -> Any:
    """The best-ranked copy's value (the first one on ties); ``None`` if there is none.

    Copies from maker notes and other non-standard groups count only when ``text`` is true.
    """
    if not copies:
        return None
    best_rank, best_value = None, None
    for rank, value in copies:
        if rank >= RANK_OTHER and not text:
            continue
        if best_rank is None or rank < best_rank:
            best_rank, best_value = rank, value
    return best_value


# Groups whose ImageWidth/ImageHeight describe the stored image, best first. "File" is the
# file-format parser for JPEG (SOF), HEIC/AVIF (ispe), BMP, ICO, PPM...; the next ones are the
# parsers of formats that report their size under their own group; IFD0 is TIFF's main image.
SIZE_GROUPS = ("File", "PNG", "GIF", "RIFF", "Jpeg2000", "JXL", "MNG", "BPG", "FLIF", "Photoshop", "IFD0")
_SIZE_RANK = {group: rank for rank, group in enumerate(SIZE_GROUPS)}


def stored_size(record: dict[str, Any]) -> tuple[Any, Any]:
    """Raw ``(width, height)`` values from the best group holding both, or ``(None, None)``."""
    widths: dict[str, Any] = {}
    heights: dict[str, Any] = {}
    for key, value in record.items():
        group, _, tag = key.rpartition(":")
        if group in _SIZE_RANK:
            if tag == "ImageWidth":
                widths[group] = value
            elif tag == "ImageHeight":
                heights[group] = value
    for group in SIZE_GROUPS:
        if group in widths and group in heights:
            return widths[group], heights[group]
    return None, None
