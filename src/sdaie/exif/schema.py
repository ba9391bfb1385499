"""The raw EXIF table: one row per file, a fixed schema shared by extraction and normalization.

Every file found under a dataset root gets exactly one row, readable or not. A row whose ``error`` is
null was read by exiftool and is a whole image (:mod:`sdaie.imagecheck`); otherwise ``error`` says
why the file cannot be used.

Column            Type     Meaning
----------------  -------  ---------------------------------------------------------------------------
dataset           string   dataset name from the config
path              string   path relative to the dataset root, POSIX separators
content_hash      string   BLAKE2b-128 of the file's bytes, hex (null if the file could not be read)
bytes             int64    file size in bytes
mtime_ns          int64    modification time (ns); with ``bytes`` the key that lets a refresh reuse a row
format            string   exiftool's FileType (``JPEG``, ``PNG``, ``HEIC``, ``TIFF``...), null if unknown
width, height     int32    pixel size of the image as stored (not rotated by Orientation)
<tags>            typed    the camera tags later stages need (see ``TAGS``), null when absent or unusable
exif_json         string   the requested tags exactly as exiftool printed them (-n), as JSON: lossless;
                           keys are `Group:Tag` (every copy of a tag, e.g. IFD0, ExifIFD, maker notes)
warning           string   exiftool's warning for the file, if any
error             string   why the file cannot be used (null when it can): exiftool could not read it
                           (tags null; `format` still set when exiftool named the file type), or
                           it is not a whole image: truncated, not an image, a format sdaie cannot
                           decode (tags kept as exiftool read them)
exiftool_version  string   version of the exiftool that read the file (null if it never read it)

Tag columns take the standard EXIF copy first (IFD0, then ExifIFD), then XMP; maker-note copies fill
text columns only (a maker note's numeric ISO is often a raw code, not the speed).

The Parquet file's metadata holds ``sdaie.raw_exif.format`` (:data:`FORMAT_VERSION`): what a row's
``error`` covers. A refresh reuses rows only from a table of the current format: version 2 added the
image check, so rows of a table without the key (version 1) are read again, never trusted unchecked.
"""

from __future__ import annotations

import pyarrow as pa

# (column name, exiftool tag name, arrow type). Order is the column order of the table.
# Numeric tags are stored as exiftool's -n values; categorical EXIF codes stay integer codes.
TAGS: list[tuple[str, str, pa.DataType]] = [
    ("make", "Make", pa.string()),
    ("model", "Model", pa.string()),
    ("lens_model", "LensModel", pa.string()),
    ("software", "Software", pa.string()),
    ("datetime_original", "DateTimeOriginal", pa.string()),
    ("orientation", "Orientation", pa.int32()),
    ("exposure_time", "ExposureTime", pa.float64()),
    ("f_number", "FNumber", pa.float64()),
    ("iso", "ISO", pa.float64()),
    ("focal_length", "FocalLength", pa.float64()),
    ("focal_length_35mm", "FocalLengthIn35mmFormat", pa.float64()),
    ("exposure_compensation", "ExposureCompensation", pa.float64()),
    ("brightness_value", "BrightnessValue", pa.float64()),
    ("exposure_program", "ExposureProgram", pa.int32()),
    ("metering_mode", "MeteringMode", pa.int32()),
    ("flash", "Flash", pa.int32()),
    ("exposure_mode", "ExposureMode", pa.int32()),
    ("white_balance", "WhiteBalance", pa.int32()),
    ("scene_capture_type", "SceneCaptureType", pa.int32()),
    ("light_source", "LightSource", pa.int32()),
]

TAG_COLUMNS: list[str] = [column for column, _, _ in TAGS]

FORMAT_KEY = b"sdaie.raw_exif.format"
FORMAT_VERSION = b"2"  # 1 (no key): exiftool errors only; 2: also the image check
EXIFTOOL_TAGS: list[str] = [tag for _, tag, _ in TAGS]

RAW_SCHEMA = pa.schema(
    [
        pa.field("dataset", pa.string(), nullable=False),
        pa.field("path", pa.string(), nullable=False),
        pa.field("content_hash", pa.string()),
        pa.field("bytes", pa.int64()),
        pa.field("mtime_ns", pa.int64()),
        pa.field("format", pa.string()),
        pa.field("width", pa.int32()),
        pa.field("height", pa.int32()),
        *[pa.field(column, dtype) for column, _, dtype in TAGS],
        pa.field("exif_json", pa.string()),
        pa.field("warning", pa.string()),
        pa.field("error", pa.string()),
        pa.field("exiftool_version", pa.string()),
    ],
    metadata={FORMAT_KEY: FORMAT_VERSION},
)


def format_version(schema: pa.Schema) -> str:
    """The ``sdaie.raw_exif.format`` of a table's schema: ``"1"`` when it has none."""
    return (schema.metadata or {}).get(FORMAT_KEY, b"1").decode("ascii", "replace")
