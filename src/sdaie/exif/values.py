"""Turn exiftool's JSON values into the typed values of the raw table's tag columns.

Pure functions, no I/O. exiftool is run with ``-n`` so numeric tags normally arrive as JSON numbers,
but damaged or unusual files give strings instead (``"1/250"``, ``"inf"``, ``"undef"``, ``""``,
garbage). These helpers keep what is meaningful and map the rest to ``None`` (a null in the table);
the exact exiftool value is kept separately in ``exif_json``.

Values may be ``str`` subclasses holding the text of a JSON number exactly as exiftool printed it
(see :mod:`sdaie.exif.exifjson`); they are treated like any other numeric text.
"""

from __future__ import annotations

import math
import re
from typing import Any

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1

# A plain decimal number: no "inf"/"nan", no underscores, no hex (all of which float() would accept).
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
# A rational as exiftool prints unconverted ones: "1/250", "-1/3", "10/10".
_RATIONAL = re.compile(r"([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*/\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))")
# Characters stripped from both ends of strings: whitespace and NULs (C-string padding).
_STRIP = " \t\r\n\v\f\x00"


def clean_string(value: Any) -> str | None:
    """Return ``value`` as a string stripped of surrounding whitespace and NULs, or ``None``.

    ``None`` and strings that are empty after stripping give ``None``. Numbers (exiftool prints
    number-like strings such as a Software of ``4.1`` as JSON numbers) become their text. Lists
    (exiftool's list-type tags) are joined with ``", "`` as exiftool does by default.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, list):
        parts = [part for part in (clean_string(item) for item in value) if part is not None]
        return ", ".join(parts) if parts else None
    if isinstance(value, dict):
        return None
    text = str(value).strip(_STRIP)
    return text or None


def parse_float(value: Any) -> float | None:
    """Return ``value`` as a finite float, or ``None`` if it is not a usable number.

    Accepts numbers and numeric text (``"2.8"``, ``"1e-3"``) and plain rationals (``"1/250"``
    -> 0.004). Infinite/NaN values, division by zero, booleans and anything else give ``None``.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
        return number if math.isfinite(number) else None
    if not isinstance(value, str):
        return None
    text = value.strip(_STRIP)
    if _DECIMAL.fullmatch(text):
        number = float(text)
    else:
        match = _RATIONAL.fullmatch(text)
        if match is None:
            return None
        numerator, denominator = float(match.group(1)), float(match.group(2))
        if denominator == 0:
            return None
        number = numerator / denominator
    return number if math.isfinite(number) else None


def parse_int(value: Any) -> int | None:
    """Return ``value`` as an int32 code, or ``None``.

    Integral numbers (``3``, ``"3"``, ``3.0``) are accepted; non-integers (``1.5``, ``"1/2"``),
    values outside the int32 range, booleans and non-numeric text give ``None``.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        result = value
    elif isinstance(value, (str, float)):
        number = parse_float(value)
        if number is None or not number.is_integer():
            return None
        result = int(number)
    else:
        return None
    return result if INT32_MIN <= result <= INT32_MAX else None


def parse_dimension(value: Any) -> int | None:
    """A pixel width or height: a positive int32, else ``None``."""
    number = parse_int(value)
    return number if number is not None and number > 0 else None
