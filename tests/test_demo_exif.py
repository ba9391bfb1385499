"""Demo EXIF: written with exiftool, equal to the simulated values, tags left out as designed."""

import csv
import math

import exiftool
import numpy as np
import pytest

from sdaie.demo import CAMERAS, build_demo
from sdaie.demo.cameras import EXIF_TAGS, F_STOPS, SCENE_STYLES
from sdaie.demo.exif_writer import choose_omitted, exif_arguments, true_tag_values
from sdaie.demo.exposure import sample_capture

NUMERIC = {"ISO", "FNumber", "ExposureTime", "FocalLength", "FocalLengthIn35mmFormat", "ExposureProgram",
           "ExposureCompensation", "BrightnessValue", "Flash", "MeteringMode", "ExposureMode",
           "WhiteBalance", "SceneCaptureType", "LightSource"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo_exif") / "data"
    build_demo(out, seed=5, cameras=6, photos_per_camera=6, generated_per_set=2, width=64, height=64, workers=2)
    with open(out / "manifest.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    with exiftool.ExifToolHelper(common_args=["-G0", "-n"]) as et:
        meta = et.get_metadata([str(out / r["path"]) for r in rows])
    return out, rows, meta


def test_exif_read_back_equals_manifest(built):
    _, rows, meta = built
    checked = 0
    for row, m in zip(rows, meta, strict=True):
        if row["kind"] != "photo":
            continue
        omitted = set(filter(None, row["omitted_tags"].split(";")))
        for tag, column in EXIF_TAGS.items():
            key = f"EXIF:{tag}"
            if tag in omitted:
                assert key not in m, (row["path"], tag)
                continue
            assert key in m, (row["path"], tag)
            got, want = m[key], row[column]
            if tag in NUMERIC:
                assert math.isclose(float(got), float(want), rel_tol=1e-6, abs_tol=1e-9), (row["path"], tag)
            else:
                assert str(got) == want, (row["path"], tag)
            checked += 1
        if row["exif_stripped"] == "true":
            assert not any(k.startswith("EXIF:") for k in m)
        else:
            assert m["EXIF:ColorSpace"] == 1 and m["EXIF:Orientation"] == 1
        # No tags other than the ones the demo writes, and no dates made up by exiftool.
        extra = {k.split(":", 1)[1] for k in m if k.startswith("EXIF:")} - set(EXIF_TAGS)
        assert extra <= {"ColorSpace", "Orientation", "ExifVersion", "ComponentsConfiguration",
                         "FlashpixVersion", "XResolution", "YResolution", "ResolutionUnit",
                         "YCbCrPositioning"}
        assert "EXIF:ModifyDate" not in m and "EXIF:CreateDate" not in m
    assert checked > 300


def test_generated_stand_ins_have_no_exif(built):
    _, rows, meta = built
    for row, m in zip(rows, meta, strict=True):
        if row["kind"] == "generated":
            assert m["File:FileType"] == "PNG"
            assert not any(k.startswith(("EXIF:", "XMP:", "MakerNotes:")) for k in m), row["path"]


def test_always_written_tags_and_never_written_tags(built):
    _, rows, _ = built
    for row in rows:
        if row["kind"] != "photo":
            continue
        camera = next(c for c in CAMERAS if c.slug == row["source"])
        omitted = set(filter(None, row["omitted_tags"].split(";")))
        if row["exif_stripped"] == "true":
            assert omitted == set(EXIF_TAGS)
            continue
        assert {"Make", "Model"}.isdisjoint(omitted)
        for tag, p in camera.missing.items():
            if p >= 1.0:
                assert tag in omitted


@pytest.mark.parametrize("camera", CAMERAS, ids=lambda c: c.slug)
def test_share_of_missing_tags_matches_design(camera):
    rng = np.random.default_rng(0)
    n = 2000
    counts = dict.fromkeys(EXIF_TAGS, 0)
    stripped = 0
    for _ in range(n):
        capture = sample_capture(camera, rng)
        was_stripped, omitted = choose_omitted(camera, capture, rng)
        stripped += was_stripped
        for tag in omitted:
            counts[tag] += 1
    assert abs(stripped / n - camera.strip_probability) < 0.015
    for tag in EXIF_TAGS:
        share = counts[tag] / n
        values = true_tag_values(camera, sample_capture(camera, np.random.default_rng(1)))
        never = (tag == "BrightnessValue" and not camera.writes_brightness) or (
            tag == "LightSource" and not camera.writes_light_source) or (
            tag == "Software" and camera.software is None)
        if never:
            assert share == 1.0, tag
        elif tag != "LensModel" or values["LensModel"] is not None:
            p = camera.missing.get(tag, 0.0)
            expected = p + (1 - p) * camera.strip_probability
            assert abs(share - expected) < 0.04, (tag, share, expected)
    # Realistic: some tags are missing somewhere, Make and Model only when the EXIF is stripped.
    assert counts["Make"] == counts["Model"] == stripped
    assert sum(counts.values()) > n


@pytest.mark.parametrize("camera", CAMERAS, ids=lambda c: c.slug)
def test_settings_are_consistent_with_the_simulation(camera):
    rng = np.random.default_rng(1)
    for _ in range(400):
        c = sample_capture(camera, rng)
        lens = camera.lenses[c.lens_index]
        assert lens.focal_min - 0.05 <= c.focal_length <= lens.focal_max + 0.05
        assert c.focal_length_35mm == round(c.focal_length * camera.crop_factor)
        assert lens.n_wide - 1e-9 <= c.f_number <= lens.n_max + 1e-9
        assert c.f_number in F_STOPS or c.f_number == lens.n_wide
        assert c.iso in camera.iso_values
        assert camera.shutter_min * 0.99 <= c.exposure_time <= camera.shutter_max * 1.01
        assert c.scene_capture_type in range(len(SCENE_STYLES))
        assert c.metering_mode in camera.metering and c.white_balance in camera.white_balance
        assert (c.exposure_mode == 1) == (c.exposure_program == 1)
        assert c.flash_fired == (c.flash in (1, 9, 25))
        if c.flash_fired:
            assert 1 / 250 - 1e-9 <= c.exposure_time <= 1 / 30 + 1e-9
        elif abs(c.exposure_bias) < 3.0:
            # EV = log2(N^2 / t) - log2(ISO / 100); what the settings miss shows as exposure bias.
            ev_set = math.log2(c.f_number**2 / c.exposure_time) - math.log2(c.iso / 100)
            assert abs(c.ev_scene - ev_set - c.exposure_bias) < 1e-3
        assert c.light_source == 0 or c.white_balance == 1
        args = exif_arguments(true_tag_values(camera, c), [])
        assert "-EXIF:Make=" + camera.make in args and f"-EXIF:ISO={c.iso}" in args


def test_iso_spans_the_cameras_range():
    for camera in CAMERAS[:4]:
        rng = np.random.default_rng(2)
        isos = [sample_capture(camera, rng).iso for _ in range(300)]
        assert min(isos) == camera.iso_values[0]
        assert max(isos) >= 8 * camera.iso_values[0]
        assert len(set(isos)) >= 6
