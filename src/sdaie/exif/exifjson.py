"""Read exiftool's ``-json`` output without losing how its numbers were written, and write it back.

exiftool prints number-like values as bare JSON numbers (``"Software": 4.10`` for a Software tag
whose text is ``4.10``). A plain ``json.loads`` would turn that into the float 4.1 and lose the
text. Here every JSON number is kept as a :class:`RawNumber`, a ``str`` holding the number's exact
text, so string columns get the real text, numeric columns parse it, and :func:`dump_exif_json`
writes the number back unchanged: the round trip is lossless.
"""

from __future__ import annotations

import json
from typing import Any

SOURCE_FILE = "SourceFile"


class RawNumber(str):
    """The text of a JSON number exactly as exiftool printed it (e.g. ``"4.10"``, ``"0.004"``)."""

    __slots__ = ()


_DECODER = json.JSONDecoder(parse_float=RawNumber, parse_int=RawNumber, parse_constant=RawNumber)
_dump_string = json.JSONEncoder(ensure_ascii=False).encode


def parse_exiftool_json(text: str) -> list[dict[str, Any]]:
    """Parse the output of ``exiftool -json`` into one dict per file, numbers as :class:`RawNumber`.

    Empty output (exiftool found no file to report) gives ``[]``.
    Raises ``ValueError`` (``json.JSONDecodeError``) for output that is not a JSON array of objects.
    """
    text = text.strip()
    if not text:
        return []
    parsed = _DECODER.decode(text)
    if not isinstance(parsed, list) or not all(isinstance(item, dict) for item in parsed):
        raise ValueError("exiftool -json output is not a list of objects")
    return parsed


def dump_exif_json(record: dict[str, Any]) -> str:
    """Serialize one exiftool record as compact JSON, without ``SourceFile``.

    Numbers are written with their original text, strings exactly (non-ASCII kept as is), key
    order as exiftool printed it. ``SourceFile`` is left out: it is the absolute path the file had
    when it was read, which the table already holds, relative to the dataset root, in ``path``.
    """
    return "{" + ",".join(
        f"{_dump_string(key)}:{_dump_value(value)}" for key, value in record.items() if key != SOURCE_FILE
    ) + "}"


def _dump_value(value: Any) -> str:
    if isinstance(value, RawNumber):
        return str.__str__(value)
    if isinstance(value, str):
        return _dump_string(value)
    if isinstance(value, list):
        return "[" + ",".join(_dump_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{_dump_string(k)}:{_dump_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)  # true, false, null
