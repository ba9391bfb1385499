"""Categorical tags: which ones, and from which normalized column each vocabulary is built.

Every categorical tag becomes a String column in canonical form (maker and model names cleaned by
:mod:`sdaie.tags.makers`; EXIF codes as integer text, ``"24"``) and an Int32 ``<tag>_idx`` through
the saved :class:`sdaie.tags.vocab.Vocabulary`.
"""

from __future__ import annotations

# vocabulary tag -> the normalized String column its classes come from. The order is the column order
# of the ``*_idx`` columns. ``model`` classes are ``model_key`` values (``<make>|<model>``), so two
# makers' "D70" stay apart.
CATEGORICAL_TAGS: dict[str, str] = {
    "make": "make",
    "model": "model_key",
    "flash": "flash",
    "metering_mode": "metering_mode",
    "exposure_mode": "exposure_mode",
    "white_balance": "white_balance",
    "scene_capture_type": "scene_capture_type",
    "exposure_program": "exposure_program",
    "light_source": "light_source",
}

# EXIF code tags among them: raw integer codes (or text from other sources) -> canonical text
CODE_TAGS: list[str] = [tag for tag, column in CATEGORICAL_TAGS.items() if column == tag and tag != "make"]


def index_column(tag: str) -> str:
    return f"{tag}_idx"
