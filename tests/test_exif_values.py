"""Unit tests of the pure helpers of EXIF extraction: value parsing, lossless JSON, group choice."""

from __future__ import annotations

import json

import pytest

from sdaie.exif.exifjson import RawNumber, dump_exif_json, parse_exiftool_json
from sdaie.exif.pick import candidates, group_rank, pick, stored_size
from sdaie.exif.values import clean_string, parse_dimension, parse_float, parse_int


# --- clean_string -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Canon", "Canon"),
        ("  NIKON CORPORATION \x00\x00", "NIKON CORPORATION"),
        ("\x00\t\n ", None),
        ("", None),
        (None, None),
        (RawNumber("1.00"), "1.00"),  # exiftool printed Software 1.00 as a JSON number
        (4, "4"),
        (True, None),
        (["a", " b ", ""], "a, b"),
        ([], None),
        ({"x": 1}, None),
        ("a\x00b", "a\x00b"),  # only the ends are stripped
    ],
)
def test_clean_string(value, expected):
    assert clean_string(value) == expected


# --- parse_float --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (RawNumber("0.004"), 0.004),
        (RawNumber("200"), 200.0),
        (2.8, 2.8),
        (100, 100.0),
        ("1/250", 0.004),
        (" 1 / 4 ", 0.25),
        ("-1/3", -1 / 3),
        ("2.5e-3", 0.0025),
        (".5", 0.5),
        ("1/0", None),
        ("0/0", None),
        ("inf", None),
        ("-Infinity", None),
        ("nan", None),
        ("undef", None),
        ("", None),
        ("   ", None),
        ("f/2.8", None),
        ("1_000", None),
        ("0x10", None),
        ("12 mm", None),
        ("garbage", None),
        (float("inf"), None),
        (float("nan"), None),
        (RawNumber("1e999"), None),
        (True, None),
        (None, None),
        ([1], None),
    ],
)
def test_parse_float(value, expected):
    result = parse_float(value)
    if expected is None:
        assert result is None
    else:
        assert result == pytest.approx(expected, rel=1e-12)


# --- parse_int ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (RawNumber("5"), 5),
        (3, 3),
        ("3", 3),
        (" 16 ", 16),
        (3.0, 3),
        (RawNumber("6.0"), 6),
        (1.5, None),
        ("1/2", None),
        ("4/2", 2),
        ("undef", None),
        ("", None),
        (None, None),
        (True, None),
        (2**31 - 1, 2**31 - 1),
        (2**31, None),
        (-(2**31), -(2**31)),
        (RawNumber("99999999999999999999"), None),
        ("inf", None),
    ],
)
def test_parse_int(value, expected):
    assert parse_int(value) == expected


# --- parse_dimension ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("value", "expected"),
    [(RawNumber("4032"), 4032), (640, 640), ("174", 174), (0, None), (-5, None), (12.5, None),
     ("", None), (None, None), (2**31, None)],
)
def test_parse_dimension(value, expected):
    assert parse_dimension(value) == expected


# --- exifjson -----------------------------------------------------------------------------------

EXIFTOOL_OUTPUT = """[{
  "SourceFile": "/data/photos/a.jpg",
  "IFD0:Make": "Canon",
  "IFD0:Software": 1.00,
  "ExifIFD:ExposureTime": 0.002,
  "Canon:ExposureTime": "0.00191127355876504",
  "ExifIFD:ISO": 200,
  "IFD0:Model": "Caf\\u00e9 \\"X\\" \\u0001",
  "XMP-dc:Subject": ["a", 1.50],
  "File:FileType": "JPEG"
},
{
  "SourceFile": "/data/photos/empty.jpg",
  "ExifTool:Error": "File is empty"
}]
"""


def test_parse_keeps_number_text():
    records = parse_exiftool_json(EXIFTOOL_OUTPUT)
    assert len(records) == 2
    first = records[0]
    assert isinstance(first["IFD0:Software"], RawNumber) and first["IFD0:Software"] == "1.00"
    assert first["ExifIFD:ISO"] == "200" and isinstance(first["ExifIFD:ISO"], RawNumber)
    assert not isinstance(first["Canon:ExposureTime"], RawNumber)  # a JSON string stays a str
    assert first["IFD0:Model"] == 'Café "X" \x01'


def test_dump_is_lossless_and_drops_source_file():
    record = parse_exiftool_json(EXIFTOOL_OUTPUT)[0]
    dumped = dump_exif_json(record)
    assert "SourceFile" not in dumped
    assert '"IFD0:Software":1.00' in dumped  # the number exactly as exiftool wrote it
    assert '"XMP-dc:Subject":["a",1.50]' in dumped
    assert "Café" in dumped  # non-ASCII kept as is, not \\u-escaped
    # Round trip: parsing the dump gives back the same record (minus SourceFile), same key order.
    again = parse_exiftool_json("[" + dumped + "]")[0]
    expected = {k: v for k, v in record.items() if k != "SourceFile"}
    assert list(again.items()) == list(expected.items())
    assert all(type(again[k]) is type(v) for k, v in expected.items())
    # And it is ordinary JSON for any reader.
    assert json.loads(dumped)["ExifIFD:ExposureTime"] == 0.002


def test_parse_empty_and_invalid_output():
    assert parse_exiftool_json("") == []
    assert parse_exiftool_json("  \n") == []
    with pytest.raises(ValueError):
        parse_exiftool_json("[{] garbage")
    with pytest.raises(ValueError):
        parse_exiftool_json('{"SourceFile": "x"}')


# --- pick ---------------------------------------------------------------------------------------

def test_group_rank_order():
    ranks = [group_rank(g) for g in ("IFD0", "ExifIFD", "IFD1", "XMP-exif", "Canon")]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)
    for never in ("Composite", "File", "System", "ExifTool"):
        assert group_rank(never) is None


def test_pick_prefers_exif_over_maker_notes():
    record = {
        "SourceFile": "x.jpg",
        "Pentax:ISO": RawNumber("9"),  # a raw maker-note code, listed first
        "ExifIFD:ISO": RawNumber("200"),
        "XMP-exif:ISO": RawNumber("250"),
        "Composite:ISO": RawNumber("100"),
        "Canon:LensModel": "EF70-200mm f/2.8L IS USM",
        "Casio:WhiteBalance": RawNumber("12"),
        "XMP-tiff:Make": "Canon",
    }
    copies = candidates(record)
    assert pick(copies.get("ISO"), text=False) == "200"
    # Maker-note copies are used for text columns only, never for numbers.
    assert pick(copies.get("LensModel"), text=True) == "EF70-200mm f/2.8L IS USM"
    assert pick(copies.get("WhiteBalance"), text=False) is None
    assert pick(copies.get("Make"), text=True) == "Canon"  # XMP when there is no EXIF copy
    assert pick(copies.get("Model"), text=True) is None
    # Composite values are never used.
    assert pick(candidates({"Composite:ISO": RawNumber("100")}).get("ISO"), text=False) is None


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        # JPEG with an EXIF-declared size and a thumbnail: the SOF size (File) wins.
        ({"IFD0:ImageWidth": 4128, "IFD0:ImageHeight": 2322, "IFD1:ImageWidth": 512, "IFD1:ImageHeight": 288,
          "File:ImageWidth": 1024, "File:ImageHeight": 768, "XMP-tiff:ImageWidth": 1}, (1024, 768)),
        ({"PNG:ImageWidth": 256, "PNG:ImageHeight": 255}, (256, 255)),
        ({"RIFF:ImageWidth": 33, "RIFF:ImageHeight": 21}, (33, 21)),
        ({"IFD0:ImageWidth": 635, "IFD0:ImageHeight": 348, "IFD1:ImageWidth": 80, "IFD1:ImageHeight": 60}, (635, 348)),
        # Only declared or thumbnail sizes, or a width without a height: unknown.
        ({"IFD1:ImageWidth": 80, "IFD1:ImageHeight": 60, "XMP-tiff:ImageWidth": 10, "XMP-tiff:ImageHeight": 10}, (None, None)),
        ({"File:ImageWidth": 10, "IFD0:ImageHeight": 20}, (None, None)),
        ({"Canon:ImageWidth": 10, "Canon:ImageHeight": 20}, (None, None)),
        ({}, (None, None)),
    ],
)
def test_stored_size(record, expected):
    assert stored_size(record) == expected
