"""Canonical makers and cleaned models (sdaie.tags.makers, data/makers.csv)."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pytest
from conftest import needs_shared

from sdaie.tags.makers import (
    canonical_make_expr,
    clean_model_expr,
    load_maker_table,
    make_key,
    maker_model_mapping,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
MANIFEST = SHARED / "data" / "photos" / "manifest.csv"
# Makes in the real photos that are not camera makers (junk written by odd firmware): they keep a
# cleaned form of themselves instead of mapping through the table.
JUNK_MAKES = {"456", "Digital"}


def _canonical(makes: list[str | None]) -> list[str | None]:
    frame = pl.DataFrame({"make": makes}, schema={"make": pl.String})
    return frame.select(canonical_make_expr("make")).to_series().to_list()


def _mapping(pairs: list[tuple[str | None, str | None]]) -> list[tuple[str | None, str | None, str | None]]:
    frame = pl.DataFrame(pairs, schema={"make": pl.String, "model": pl.String}, orient="row")
    out = maker_model_mapping(frame)
    return list(zip(out["make_canonical"], out["model_clean"], out["model_key"]))


def test_table_is_valid_data():
    table = load_maker_table()  # raises on malformed rows
    assert len(table.exact) + len(table.prefix) > 80
    for name in ["Canon", "Nikon", "Sony", "Fujifilm", "Olympus", "OM System", "Panasonic", "Leica", "Pentax",
                 "Ricoh", "Samsung", "Kodak", "Konica Minolta", "Casio", "HP", "Apple", "Google", "Huawei",
                 "Xiaomi", "LG", "Motorola", "Sigma", "Hasselblad", "Phase One", "GoPro", "DJI"]:
        assert name in table.canonical_names(), name
    for raw in table.exact:
        assert raw == make_key(raw)


@pytest.mark.parametrize(
    ("variants", "canonical"),
    [
        (["NIKON", "NIKON CORPORATION", "Nikon Corp.", " nikon "], "Nikon"),
        (["SAMSUNG", "samsung", "Samsung Techwin", "SAMSUNG TECHWIN CO., LTD."], "Samsung"),
        (["OLYMPUS OPTICAL CO.,LTD", "OLYMPUS IMAGING CORP.", "OLYMPUS CORPORATION"], "Olympus"),
        (["EASTMAN KODAK COMPANY", "Eastman Kodak Company", "Kodak", "KODAK"], "Kodak"),
        (["FUJIFILM", "FUJI PHOTO FILM CO., LTD.", "Fujifilm"], "Fujifilm"),
        (["CASIO COMPUTER CO.,LTD", "CASIO COMPUTER CO.,LTD."], "Casio"),
        (["Minolta Co., Ltd.", "KONICA MINOLTA", "KONICA CORPORATION"], "Konica Minolta"),
        (["PENTAX Corporation", "Asahi Optical Co.,Ltd", "PENTAX"], "Pentax"),
        (["Hewlett-Packard", "HP"], "HP"),
        (["LGE", "LG Electronics"], "LG"),
        (["SONY", "Sony"], "Sony"),
    ],
)
def test_spelling_variants_collapse(variants, canonical):
    assert _canonical(variants) == [canonical] * len(variants)


def test_whole_words_longest_prefix_and_unknown_makes():
    assert _canonical(["Sony Ericsson", "NIKONOS", "ACME  Spy\tCams ", "Unknown", "", None, "Canonet"]) == [
        "Sony Ericsson",  # longer prefix wins over "sony"
        "NIKONOS",  # "nikon" is a whole-word prefix: no match
        "ACME Spy Cams",  # unknown: cleaned, case kept
        None,  # placeholder -> missing
        None,
        None,
        "Canonet",
    ]


@needs_shared("data", "photos", "manifest.csv")
def test_every_manifest_make_maps_to_a_canonical_name():
    with MANIFEST.open(newline="") as handle:
        makes = sorted({row["make"] for row in csv.DictReader(handle) if row["make"]})
    canonical = dict(zip(makes, _canonical(makes)))
    names = set(load_maker_table().canonical_names())
    unmapped = {make for make, name in canonical.items() if name not in names}
    assert unmapped == JUNK_MAKES
    assert len(set(canonical.values())) < len(makes)  # variants collapsed


@pytest.mark.parametrize(
    ("make", "model", "expected"),
    [
        ("Canon", "Canon EOS 40D", ("Canon", "EOS 40D")),
        ("NIKON CORPORATION", "NIKON D70", ("Nikon", "D70")),
        ("NIKON", "E990", ("Nikon", "E990")),
        ("SAMSUNG", "SAMSUNG-SM-N900A", ("Samsung", "SM-N900A")),
        ("Samsung Techwin", "<KENOX S730  / Samsung S730>", ("Samsung", "KENOX S730 / Samsung S730")),
        ("Hewlett-Packard", "HP PhotoSmart C812 (V09.33)", ("HP", "PhotoSmart C812")),
        ("Eastman Kodak Company", "DC210 Zoom (V05.00)", ("Kodak", "DC210 Zoom")),
        ("EASTMAN KODAK COMPANY", "KODAK DX4330 DIGITAL CAMERA", ("Kodak", "DX4330 DIGITAL CAMERA")),
        ("JK Imaging, Ltd.", "KODAK PIXPRO FZ201", ("JK Imaging", "PIXPRO FZ201")),
        ("KONICA CORPORATION", "Konica Digital Camera Q-M100", ("Konica Minolta", "Digital Camera Q-M100")),
        ("Asahi Optical Co.,Ltd", "PENTAX Optio 430", ("Pentax", "Optio 430")),
        ("Jolla", "Jolla", ("Jolla", "Jolla")),  # nothing would remain: kept
        ("Canon", "Canonet QL17", ("Canon", "Canonet QL17")),  # not followed by a separator
        ("A.B (x)", "a.b (x)  Foo", ("A.B (x)", "Foo")),  # unknown make, regex characters escaped
        ("Apple", "  iPhone\t6 ", ("Apple", "iPhone 6")),
        (None, "Digital Cam", (None, "Digital Cam")),
        ("Canon", None, ("Canon", None)),
    ],
)
def test_model_cleaning(make, model, expected):
    canonical, clean, key = _mapping([(make, model)])[0]
    assert (canonical, clean) == expected
    assert key == (None if clean is None else f"{canonical or ''}|{clean}")


def test_model_key_keeps_makers_apart_and_expression_matches_mapping():
    rows = [("NIKON CORPORATION", "NIKON D70"), ("Sony", "D70"), ("SAMSUNG", "SAMSUNG-SM-N900A"), (None, None)]
    keys = [key for _, _, key in _mapping(rows)]
    assert keys == ["Nikon|D70", "Sony|D70", "Samsung|SM-N900A", None]
    frame = pl.DataFrame(rows, schema={"make": pl.String, "model": pl.String}, orient="row")
    nested = frame.lazy().with_columns(c=canonical_make_expr("make")).select(clean_model_expr("model", "c")).collect()
    assert nested.to_series().to_list() == ["D70", "D70", "SM-N900A", None]
