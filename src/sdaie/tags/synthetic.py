"""Synthetic raw EXIF tables for tests and benchmarks (not real data; never used for training).

:func:`synthetic_raw_table` builds a table in :data:`sdaie.exif.schema.RAW_SCHEMA` with a realistic
mess: makes in many spellings (``NIKON`` / ``NIKON CORPORATION``, ``samsung`` / ``Samsung Techwin``,
padded and placeholder makes), models repeating their make, discrete camera values with nulls and
a few impossible ones (zeros), duplicate files (same content hash), and unreadable-file rows (error
set, tags null). With ``numeric_as_text=True`` numeric tags and EXIF codes are strings in the forms
other tools write (``"1/250"``, ``" 1/250 "``, ``"250/1"``, ``"0.004"``, ``"inf"``, ``""``, ``"undef"``).
Vectorized with numpy; a million rows take about a second.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

from sdaie.exif.schema import RAW_SCHEMA

# (raw make spelling, weight, models as written by the camera)
MAKES: list[tuple[str | None, float, list[str]]] = [
    ("Canon", 20, ["Canon EOS 5D Mark III", "Canon EOS 40D", "Canon PowerShot S95", "Canon EOS R5", "Canon IXUS 130"]),
    (" Canon ", 1, ["Canon EOS 40D"]),
    ("NIKON CORPORATION", 9, ["NIKON D70", "NIKON D750", "NIKON Z 6", "NIKON D3300"]),
    ("NIKON", 4, ["COOLPIX P6000", "E990", "COOLPIX S3300"]),
    ("SONY", 6, ["ILCE-7M3", "DSC-RX100", "DSC-H9"]),
    ("Sony", 2, ["D6503", "E5823"]),
    ("Apple", 15, ["iPhone 6", "iPhone 8", "iPhone 12 Pro", "iPhone XR", "iPhone 13"]),
    ("samsung", 6, ["SM-G935L", "SM-G991B", "SM-A515F"]),
    ("SAMSUNG", 2, ["SAMSUNG-SM-N900A", "GT-I9505"]),
    ("Samsung Techwin", 1, ["<Digimax i50 MP3, Samsung #1 MP3>", "<KENOX S730  / Samsung S730>"]),
    ("OLYMPUS OPTICAL CO.,LTD", 1, ["C3030Z", "E-10"]),
    ("OLYMPUS IMAGING CORP.", 2, ["E-M5", "E-420"]),
    ("OLYMPUS CORPORATION", 1, ["E-M1MarkII"]),
    ("EASTMAN KODAK COMPANY", 1, ["KODAK DX6490 ZOOM DIGITAL CAMERA", "KODAK Z710 ZOOM DIGITAL CAMERA"]),
    ("Eastman Kodak Company", 1, ["DC210 Zoom (V05.00)"]),
    ("FUJIFILM", 4, ["X-T3", "FinePix S2Pro", "X100V"]),
    ("FUJI PHOTO FILM CO., LTD.", 1, ["SP-2500"]),
    ("Panasonic", 3, ["DMC-FZ18", "DC-GH5"]),
    ("Google", 4, ["Pixel 3", "Pixel 6", "Pixel 7 Pro"]),
    ("HUAWEI", 3, ["ELE-L29", "VOG-L29"]),
    ("Xiaomi", 3, ["Redmi Note 8", "Mi 9"]),
    ("LGE", 1, ["Nexus 5", "LG-H850"]),
    ("motorola", 1, ["moto g(7)"]),
    ("PENTAX Corporation", 1, ["PENTAX K10D", "PENTAX Optio S4"]),
    ("RICOH IMAGING COMPANY, LTD.", 1, ["PENTAX K-3", "GR III"]),
    ("Hewlett-Packard", 0.5, ["HP PhotoSmart C812 (V09.33)"]),
    ("GoPro", 1, ["HERO9 Black"]),
    ("DJI", 1, ["FC3170"]),
    ("LEICA CAMERA AG", 0.5, ["LEICA Q2", "M10"]),
    ("Minolta Co., Ltd.", 0.5, ["DiMAGE 7"]),
    ("KONICA MINOLTA", 0.5, ["DiMAGE Z3"]),
    ("Hasselblad", 0.3, ["L1D-20c"]),
    ("ACME Spy Cams Ltd", 0.2, ["ACME Spy 1"]),
    ("Unknown", 0.3, ["Unknown"]),
    (None, 3, [""]),
]
EXPOSURE_TIMES = [1 / 8000, 1 / 4000, 1 / 2000, 1 / 1000, 1 / 500, 1 / 250, 1 / 125, 1 / 60, 1 / 30, 1 / 15, 0.125, 0.5, 1.0, 2.0, 30.0, 0.0]
EXPOSURE_TEXT = ["1/8000", "1/4000", " 1/2000", "1/1000 ", "0.002", "1/250", "1/125", "1/60", "1/30", "1/15", "0.125", "1/2", "1", "2/1", "30", "0", "inf", "", "undef"]
F_NUMBERS = [1.4, 1.8, 2.0, 2.8, 4.0, 5.6, 8.0, 11.0, 16.0, 22.0, 0.0]
ISOS = [50, 64, 100, 125, 200, 400, 800, 1600, 3200, 6400, 25600, 0]
FOCAL = [4.2, 4.25, 5.1, 6.0, 18.0, 24.0, 35.0, 50.0, 85.0, 200.0, 400.0, 0.0]
FOCAL35 = [13, 24, 26, 28, 35, 50, 77, 85, 200, 600, 0]
BIAS = [-2.0, -1.0, -0.7, -0.3, 0.0, 0.0, 0.0, 0.3, 0.7, 1.0, 2.0]
BIAS_TEXT = ["-2", "-1", "-2/3", "-1/3", "0", "0", "+0", "+1/3", "+2/3", "1", "+2"]
FLASH = [0, 16, 24, 25, 1, 9, 5, 7, 31, 89, 32]
METERING = [5, 2, 3, 1, 6, 4, 0, 255]
EXPOSURE_MODE = [0, 1, 2]
WHITE_BALANCE = [0, 1]
SCENE = [0, 1, 2, 3]
PROGRAM = [2, 1, 3, 4, 0, 5]
LIGHT = [0, 1, 2, 4, 9, 10, 255]


def _pick(rng: np.random.Generator, n: int, values: list, missing: float, weights=None) -> pl.Series:
    # without weights, popularity falls as 1/rank: the first values are the common ones
    weights = 1.0 / np.arange(1, len(values) + 1) if weights is None else np.asarray(weights, dtype=float)
    idx = rng.choice(len(values), size=n, p=weights / weights.sum())
    series = pl.Series(values)[pl.Series(idx)]
    mask = pl.Series(rng.random(n) < missing)
    return series.set(mask, None) if missing > 0 else series


def _hex_hashes(rng: np.random.Generator, n: int, duplicate: float) -> pl.Series:
    raw = rng.bytes(16 * n)
    array = pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), n, [None, pa.py_buffer(raw)])
    hashes = pl.Series("content_hash", array.cast(pa.binary())).bin.encode("hex")
    if duplicate > 0:  # some files appear twice (copies in two datasets): reuse an earlier hash
        dup = rng.random(n) < duplicate
        source = (np.arange(n) * rng.random(n)).astype(np.int64)
        idx = np.where(dup, source, np.arange(n))
        hashes = hashes[pl.Series(idx)]
    return hashes


def synthetic_raw_table(
    n: int,
    *,
    seed: int = 0,
    numeric_as_text: bool = False,
    error_rate: float = 0.01,
    dataset: str = "synthetic",
) -> pl.DataFrame:
    """A raw table of ``n`` rows (see the module doc); RAW_SCHEMA dtypes unless ``numeric_as_text``."""
    rng = np.random.default_rng(seed)
    make_idx = rng.choice(len(MAKES), size=n, p=np.array([w for _, w, _ in MAKES]) / sum(w for _, w, _ in MAKES))
    make = pl.Series([m for m, _, _ in MAKES], dtype=pl.String)[pl.Series(make_idx)]
    # model: a make-specific list; choose uniformly within it
    offsets = np.cumsum([0] + [len(models) for _, _, models in MAKES])
    counts = np.array([len(models) for _, _, models in MAKES])
    within = (rng.random(n) * counts[make_idx]).astype(np.int64)
    all_models = pl.Series([m or None for _, _, models in MAKES for m in models], dtype=pl.String)
    model = all_models[pl.Series(offsets[make_idx] + within)]

    columns: dict[str, pl.Series] = {
        "dataset": pl.Series([dataset]).extend_constant(dataset, n - 1) if n else pl.Series([], dtype=pl.String),
        "path": pl.select(pl.format("img/{}.jpg", pl.int_range(n, dtype=pl.Int64))).to_series() if n else pl.Series([], dtype=pl.String),
        "content_hash": _hex_hashes(rng, n, 0.01),
        "bytes": pl.Series(rng.integers(20_000, 12_000_000, n)),
        "mtime_ns": pl.Series(rng.integers(1_400_000_000, 1_700_000_000, n) * 1_000_000_000),
        "format": _pick(rng, n, ["JPEG", "HEIC", "TIFF", "PNG"], 0.0, [90, 6, 2, 2]),
        "width": pl.Series(rng.choice([640, 1024, 3000, 4032, 6000], n)),
        "height": pl.Series(rng.choice([480, 768, 2000, 3024, 4000], n)),
        "make": make,
        "model": model,
        "lens_model": _pick(rng, n, ["EF24-105mm f/4L IS USM", "iPhone 12 Pro back camera 4.2mm f/1.6"], 0.7),
        "software": _pick(rng, n, ["Adobe Photoshop CC", "GIMP 2.10", "Ver.1.00", "14.4"], 0.5),
        "datetime_original": _pick(rng, n, ["2019:06:01 12:00:00", "2021:12:24 18:30:05"], 0.2),
        "orientation": _pick(rng, n, [1, 6, 8, 3], 0.3),
    }
    if numeric_as_text:
        columns["exposure_time"] = _pick(rng, n, EXPOSURE_TEXT, 0.15)
        columns["f_number"] = _pick(rng, n, [f"{v:g}" for v in F_NUMBERS] + ["f/2.8", "28/10"], 0.2)
        columns["iso"] = _pick(rng, n, [str(v) for v in ISOS] + [" 100 "], 0.3)
        columns["focal_length"] = _pick(rng, n, [f"{v:g} mm" for v in FOCAL] + ["43/10"], 0.15)
        columns["focal_length_35mm"] = _pick(rng, n, [str(v) for v in FOCAL35], 0.5)
        columns["exposure_compensation"] = _pick(rng, n, BIAS_TEXT, 0.3)
        columns["brightness_value"] = pl.Series(np.round(rng.normal(5, 3, n), 2)).cast(pl.String).set(
            pl.Series(rng.random(n) < 0.6), None
        )
    else:
        columns["exposure_time"] = _pick(rng, n, EXPOSURE_TIMES, 0.15)
        columns["f_number"] = _pick(rng, n, F_NUMBERS, 0.2)
        columns["iso"] = _pick(rng, n, [float(v) for v in ISOS], 0.3)
        columns["focal_length"] = _pick(rng, n, FOCAL, 0.15)
        columns["focal_length_35mm"] = _pick(rng, n, [float(v) for v in FOCAL35], 0.5)
        columns["exposure_compensation"] = _pick(rng, n, BIAS, 0.3)
        columns["brightness_value"] = pl.Series(np.round(rng.normal(5, 3, n), 4)).set(
            pl.Series(rng.random(n) < 0.6), None
        )
    codes = {
        "exposure_program": PROGRAM,
        "metering_mode": METERING,
        "flash": FLASH,
        "exposure_mode": EXPOSURE_MODE,
        "white_balance": WHITE_BALANCE,
        "scene_capture_type": SCENE,
        "light_source": LIGHT,
    }
    for name, values in codes.items():
        picked = _pick(rng, n, values, 0.25)
        columns[name] = picked.cast(pl.String) if numeric_as_text else picked
    columns["exif_json"] = pl.Series([None], dtype=pl.String).extend_constant(None, n - 1) if n else pl.Series([], dtype=pl.String)
    columns["warning"] = _pick(rng, n, ["[minor] Bad MakerNotes offset"], 0.98)
    error = pl.Series(rng.random(n) < error_rate)
    columns["error"] = pl.Series(["File format error"]).extend_constant("File format error", n - 1).set(~error, None) if n else pl.Series([], dtype=pl.String)
    columns["exiftool_version"] = pl.Series(["12.76"]).extend_constant("12.76", n - 1) if n else pl.Series([], dtype=pl.String)

    frame = pl.DataFrame({name: columns[name].alias(name) for name in RAW_SCHEMA.names})
    tag_names = [f.name for f in RAW_SCHEMA if f.name not in ("dataset", "path", "exif_json", "warning", "error", "exiftool_version", "bytes", "mtime_ns")]
    # unreadable files: no hash, no format/size, no tags
    frame = frame.with_columns(
        [pl.when(pl.col("error").is_null()).then(pl.col(c)).alias(c) for c in tag_names]
    )
    if numeric_as_text:
        casts = {f.name: pl.String for f in RAW_SCHEMA if pa.types.is_floating(f.type) or (pa.types.is_integer(f.type) and f.name in codes)}
        rest = {f.name: pl.from_arrow(pa.array([], f.type)).dtype for f in RAW_SCHEMA if f.name not in casts}
        return frame.cast({**rest, **casts})
    return frame.cast({f.name: pl.from_arrow(pa.array([], f.type)).dtype for f in RAW_SCHEMA})
