"""Write the simulated photos' EXIF with exiftool (one stay-open process for the whole build).

Values are written as exact numbers (exiftool ``-n``): ``-EXIF:ExposureTime=0.004`` becomes the
rational 1/250, ``-EXIF:Flash=16`` the raw flash code. Only the listed tags are written (plus the
structural ColorSpace and Orientation); exiftool adds no dates of its own, so the files are
byte-for-byte deterministic. Tags a camera leaves out are simply not written.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .cameras import EXIF_TAGS, CameraSpec
from .exposure import Capture

STRUCTURAL_TAGS = {"ColorSpace": 1, "Orientation": 1}  # sRGB, upright: written whenever EXIF is


class ExifWriteError(RuntimeError):
    pass


def true_tag_values(camera: CameraSpec, capture: Capture) -> dict[str, object]:
    """Every demo EXIF tag's true value for a photo (``None`` where the camera has no such value)."""
    return {
        "Make": camera.make,
        "Model": camera.model,
        "Software": camera.software,
        "LensModel": capture.lens_model,
        "DateTimeOriginal": capture.datetime_original,
        "ISO": capture.iso,
        "FNumber": capture.f_number,
        "ExposureTime": capture.exposure_time,
        "FocalLength": capture.focal_length,
        "FocalLengthIn35mmFormat": capture.focal_length_35mm,
        "ExposureProgram": capture.exposure_program,
        "ExposureCompensation": capture.exposure_compensation,
        "BrightnessValue": capture.brightness_value,
        "Flash": capture.flash,
        "MeteringMode": capture.metering_mode,
        "ExposureMode": capture.exposure_mode,
        "WhiteBalance": capture.white_balance,
        "SceneCaptureType": capture.scene_capture_type,
        "LightSource": capture.light_source,
    }


def choose_omitted(camera: CameraSpec, capture: Capture, rng: np.random.Generator) -> tuple[bool, list[str]]:
    """Which tags this photo's EXIF leaves out: (whole EXIF stripped?, sorted omitted tag names).

    A tag is left out with the camera's probability for it; tags the camera never records
    (BrightnessValue, LightSource unless it writes them; Software or LensModel when it has none) are
    always left out. The random draws happen in a fixed order, whatever the outcome.
    """
    values = true_tag_values(camera, capture)
    draws = rng.uniform(size=len(EXIF_TAGS) + 1)
    stripped = bool(draws[-1] < camera.strip_probability)
    omitted = []
    for draw, tag in zip(draws, EXIF_TAGS, strict=False):
        never = (
            values[tag] is None
            or (tag == "BrightnessValue" and not camera.writes_brightness)
            or (tag == "LightSource" and not camera.writes_light_source)
        )
        if stripped or never or draw < camera.missing.get(tag, 0.0):
            omitted.append(tag)
    return stripped, sorted(omitted)


def format_value(value: object) -> str:
    """A value as exiftool should read it with -n: integers plain, floats exact and short."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if not math.isfinite(v):
            raise ValueError(f"cannot write {v!r}")
        if v.is_integer():
            return str(int(v))
        return repr(v)
    return str(value)


def exif_arguments(values: dict[str, object], omitted: list[str]) -> list[str]:
    """exiftool arguments that write every tag not in ``omitted`` (empty when all are)."""
    args = []
    for tag in EXIF_TAGS:
        if tag in omitted or values[tag] is None:
            continue
        args.append(f"-EXIF:{tag}={format_value(values[tag])}")
    if args:
        args += [f"-EXIF:{tag}={value}" for tag, value in STRUCTURAL_TAGS.items()]
    return args


class ExifWriter:
    """A stay-open exiftool that writes tags into files in place (``-overwrite_original``)."""

    def __init__(self, executable: str | None = None):
        import exiftool

        # No user config file: it could define extra tags and change what gets written.
        self._et = exiftool.ExifTool(executable=executable, common_args=["-n"], config_file="")
        self.version: str | None = None

    def __enter__(self) -> ExifWriter:
        self._et.run()
        self.version = str(self._et.version)
        return self

    def __exit__(self, *exc) -> None:
        self._et.terminate()

    def write(self, path: Path, args: list[str]) -> None:
        if not args:
            return
        out = self._et.execute("-overwrite_original", *args, str(path))
        status = self._et.last_status
        err = (self._et.last_stderr or "").strip()
        if status not in (0, None) or "1 image files updated" not in out:
            raise ExifWriteError(f"exiftool could not write {path}: {err or out.strip()}")
