"""Simulated camera models for the demo dataset, as data.

Every camera is fictional ("Simucam", "Lumetra", "Orbis" are made-up makes) but its parameters are
plausible for its class (compact, phone, APS-C DSLR, Micro Four Thirds mirrorless, action camera, an old
CCD compact). The cameras differ in the traits that survive into the pixels' fine structure:

* colour filter array layout (RGGB / BGGR / GRBG / GBRG) and demosaicing algorithm,
* sensor noise (full-well capacity, read noise, photo-response non-uniformity, column noise, hot pixels),
  which grows with ISO because a higher ISO means fewer collected photons for the same output level,
* optics: diffraction (grows with the f-number), aberrations wide open, optical low-pass filter,
* in-camera noise reduction, tone curve, colour matrix, saturation, unsharp-mask sharpening,
* JPEG quantization tables (libjpeg quality or custom tables) and chroma subsampling,

and in their EXIF habits: which exposure programs, metering, flash and white-balance modes they use, and
which tags they leave out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Nominal third-stop scales, as cameras print them.
F_STOPS: tuple[float, ...] = (
    1.4, 1.6, 1.8, 2.0, 2.2, 2.5, 2.8, 3.2, 3.5, 4.0, 4.5, 5.0, 5.6, 6.3, 7.1, 8.0,
    9.0, 10.0, 11.0, 13.0, 14.0, 16.0, 18.0, 20.0, 22.0,
)  # fmt: skip
ISO_STOPS: tuple[int, ...] = (
    50, 64, 80, 100, 125, 160, 200, 250, 320, 400, 500, 640, 800, 1000, 1250, 1600, 2000, 2500,
    3200, 4000, 5000, 6400, 8000, 10000, 12800, 16000, 20000, 25600,
)  # fmt: skip
# Shutter speeds in seconds (third stops), written as the camera displays them.
SHUTTER_STOPS: tuple[float, ...] = tuple(
    [1 / d for d in (8000, 6400, 5000, 4000, 3200, 2500, 2000, 1600, 1250, 1000, 800, 640, 500, 400,
                     320, 250, 200, 160, 125, 100, 80, 60, 50, 40, 30, 25, 20, 15, 13, 10, 8, 6, 5, 4)]
    + [0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.3, 1.6, 2.0, 2.5, 3.2, 4.0]
)  # fmt: skip

BAYER_LAYOUTS = ("RGGB", "BGGR", "GRBG", "GBRG")
DEMOSAIC_METHODS = ("bilinear", "malvar", "hamilton_adams", "smooth_hue", "nearest")

# EXIF codes (written with exiftool -n).
FLASH_CODES = {
    "no_flash_function": 32,  # the camera has no flash
    "off": 16,  # flash off, did not fire (compulsory suppression)
    "auto_not_fired": 24,
    "auto_fired": 25,
    "on_fired": 9,  # compulsory firing
    "none": 0,  # "No Flash": cameras that write a bare 0
}
SCENE_STYLES = ("standard", "landscape", "portrait", "night")  # index = EXIF SceneCaptureType

# The EXIF tags the demo writes (exiftool names) and the manifest column holding each true value.
EXIF_TAGS: dict[str, str] = {
    "Make": "make",
    "Model": "model",
    "Software": "software",
    "LensModel": "lens_model",
    "DateTimeOriginal": "datetime_original",
    "ISO": "iso",
    "FNumber": "f_number",
    "ExposureTime": "exposure_time",
    "FocalLength": "focal_length",
    "FocalLengthIn35mmFormat": "focal_length_35mm",
    "ExposureProgram": "exposure_program",
    "ExposureCompensation": "exposure_compensation",
    "BrightnessValue": "brightness_value",
    "Flash": "flash",
    "MeteringMode": "metering_mode",
    "ExposureMode": "exposure_mode",
    "WhiteBalance": "white_balance",
    "SceneCaptureType": "scene_capture_type",
    "LightSource": "light_source",
}


@dataclass(frozen=True)
class Lens:
    """A lens (zoom or prime). Maximum aperture varies linearly in focal length between its ends."""

    focal_min: float  # mm, real focal length
    focal_max: float
    n_wide: float  # maximum aperture (smallest f-number) at focal_min
    n_tele: float  # ... at focal_max
    n_max: float  # minimum aperture (largest f-number); equal to n_wide for fixed-aperture lenses
    name: str | None = None  # written as LensModel when the camera writes it


@dataclass(frozen=True)
class CameraSpec:
    """One simulated camera model: identity, sensor, optics, image processor, JPEG and EXIF habits."""

    slug: str
    make: str
    model: str
    summary: str  # one line for the README
    software: str | None
    # --- optics ---
    lenses: tuple[Lens, ...]
    crop_factor: float
    pixel_pitch_um: float  # effective pitch at the simulated resolution: sets the diffraction cutoff
    aberration_px: float  # Gaussian blur sigma (px) wide open; falls off as the lens is stopped down
    olpf: float  # optical low-pass filter displacement in px (0: none)
    stabilized: float  # shake reduction factor (1: none, 0.25: good stabilisation)
    # --- sensor ---
    cfa: str
    full_well_e: float  # electrons at saturation, base ISO
    read_noise_e: float
    prnu: float  # photo-response non-uniformity (relative std)
    column_noise_e: float
    hot_pixel_fraction: float
    dark_current: float  # hot-pixel signal per second (fraction of full scale)
    adc_bits: int
    iso_values: tuple[int, ...]
    sensitivity: tuple[float, float, float]  # raw R, G, B response to a white (daylight) surface
    color_matrix: tuple[tuple[float, float, float], ...]  # camera RGB -> linear sRGB (rows sum to 1)
    # --- image processor ---
    demosaic: str
    nr_luma: float  # luma noise-reduction strength at high ISO (0..1)
    nr_chroma: float  # chroma blur sigma (px) at high ISO
    gamma: float
    contrast: float  # S-curve strength (0..1)
    saturation: float
    sharpen_radius: float
    sharpen_amount: float
    sharpen_threshold: float  # in 8-bit levels
    jpeg_quality: tuple[int, ...] = ()  # libjpeg quality values the camera picks from (by image detail)
    jpeg_custom: tuple[float, float, float] | None = None  # custom tables: (base, slope, chroma scale)
    subsampling: int = 2  # Pillow: 0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0
    # --- exposure and EXIF habits ---
    shutter_min: float = 1 / 4000
    shutter_max: float = 1.0
    snap_shutter: bool = True  # False: phone-style arbitrary exposure times (1/ n)
    auto_iso_shutter: float | None = None  # auto-ISO rises above this time (None: 1/focal35 rule)
    programs: dict[int, float] = field(default_factory=lambda: {2: 1.0})  # ExposureProgram priors
    exposure_modes: dict[int, float] = field(default_factory=lambda: {0: 1.0})  # 0 auto 1 manual 2 bracket
    user_iso: float = 0.2  # probability the ISO was set by hand instead of auto-ISO
    flash_modes: dict[str, float] = field(default_factory=lambda: {"auto": 1.0})  # auto / off / on / none
    flash_none_code: int = 32  # code written when the camera has no flash ("none")
    flash_bare: bool = False  # old firmware: writes 0 (did not fire) / 1 (fired) whatever the mode
    metering: dict[int, float] = field(default_factory=lambda: {5: 1.0})
    white_balance: dict[int, float] = field(default_factory=lambda: {0: 0.9, 1: 0.1})
    scenes: dict[int, float] = field(default_factory=lambda: {0: 0.5, 1: 0.25, 2: 0.15, 3: 0.1})
    writes_light_source: bool = False
    writes_brightness: bool = False
    missing: dict[str, float] = field(default_factory=dict)  # exiftool tag -> probability left out
    strip_probability: float = 0.0  # the whole EXIF block is missing (photo passed through an editor)
    years: tuple[int, int] = (2018, 2024)

    @property
    def description(self) -> str:
        return f"{self.make} {self.model}: {self.summary}"


def _lens(fmin: float, fmax: float, nw: float, nt: float, nmax: float, name: str | None = None) -> Lens:
    return Lens(fmin, fmax, nw, nt, nmax, name)


CAMERAS: tuple[CameraSpec, ...] = (
    CameraSpec(
        slug="simucam_s1_compact",
        make="Simucam",
        model="S1 Compact",
        summary="1/2.3-inch compact with a 5x zoom; RGGB, bilinear demosaicing, strong sharpening, "
        "libjpeg quality 92 at 4:2:2, auto flash",
        software="S1 Firmware 1.02",
        lenses=(_lens(4.5, 22.5, 2.8, 5.9, 8.0),),
        crop_factor=5.6,
        pixel_pitch_um=2.6,
        aberration_px=0.3,
        olpf=0.0,
        stabilized=0.5,
        cfa="RGGB",
        full_well_e=6000,
        read_noise_e=3.5,
        prnu=0.010,
        column_noise_e=0.6,
        hot_pixel_fraction=4e-4,
        dark_current=0.08,
        adc_bits=12,
        iso_values=tuple(i for i in ISO_STOPS if 80 <= i <= 3200),
        sensitivity=(0.52, 1.0, 0.70),
        color_matrix=((1.72, -0.58, -0.14), (-0.30, 1.55, -0.25), (-0.05, -0.62, 1.67)),
        demosaic="bilinear",
        nr_luma=0.6,
        nr_chroma=1.6,
        gamma=2.2,
        contrast=0.30,
        saturation=1.10,
        sharpen_radius=0.8,
        sharpen_amount=1.1,
        sharpen_threshold=1.0,
        jpeg_quality=(92,),
        subsampling=1,
        shutter_max=1.0,
        programs={2: 0.85, 3: 0.1, 4: 0.05},
        exposure_modes={0: 0.95, 2: 0.05},
        user_iso=0.15,
        flash_modes={"auto": 0.7, "off": 0.3},
        metering={5: 0.8, 2: 0.15, 3: 0.05},
        white_balance={0: 0.92, 1: 0.08},
        scenes={0: 0.55, 1: 0.2, 2: 0.15, 3: 0.1},
        missing={"LensModel": 1.0, "ISO": 0.05, "ExposureCompensation": 0.3, "BrightnessValue": 1.0,
                 "LightSource": 1.0},
        strip_probability=0.03,
        years=(2012, 2016),
    ),
    CameraSpec(
        slug="lumetra_phone_x",
        make="Lumetra",
        model="Phone X",
        summary="smartphone with a 26 mm f/1.8 main and 52 mm f/2.4 tele camera; BGGR, edge-directed "
        "(Hamilton-Adams) demosaicing, heavy noise reduction, custom JPEG tables at 4:2:0, "
        "free exposure times, never writes SceneCaptureType",
        software="LumOS 14.2",
        lenses=(_lens(4.2, 4.2, 1.8, 1.8, 1.8, "Phone X back camera 4.2mm f/1.8"),
                _lens(8.4, 8.4, 2.4, 2.4, 2.4, "Phone X back telephoto camera 8.4mm f/2.4")),
        crop_factor=6.2,
        pixel_pitch_um=1.9,
        aberration_px=0.30,
        olpf=0.0,
        stabilized=0.3,
        cfa="BGGR",
        full_well_e=9000,
        read_noise_e=2.0,
        prnu=0.008,
        column_noise_e=0.3,
        hot_pixel_fraction=2e-4,
        dark_current=0.05,
        adc_bits=10,
        iso_values=(32, 40, 50, 64, 80, 100, 125, 160, 200, 250, 320, 400, 500, 640, 800, 1000, 1250,
                    1600, 2000, 2500, 3200),
        sensitivity=(0.48, 1.0, 0.62),
        color_matrix=((1.85, -0.70, -0.15), (-0.22, 1.48, -0.26), (0.02, -0.55, 1.53)),
        demosaic="hamilton_adams",
        nr_luma=0.85,
        nr_chroma=2.5,
        gamma=2.35,
        contrast=0.45,
        saturation=1.22,
        sharpen_radius=1.2,
        sharpen_amount=0.8,
        sharpen_threshold=2.0,
        jpeg_custom=(2.0, 0.55, 1.25),
        subsampling=2,
        shutter_min=1 / 10000,
        shutter_max=1 / 3,
        snap_shutter=False,
        auto_iso_shutter=1 / 60,
        programs={2: 1.0},
        exposure_modes={0: 1.0},
        user_iso=0.0,
        flash_modes={"auto": 0.3, "off": 0.7},
        metering={5: 1.0},
        white_balance={0: 1.0},
        scenes={0: 0.55, 1: 0.15, 2: 0.2, 3: 0.1},
        writes_brightness=True,
        missing={"SceneCaptureType": 1.0, "ExposureCompensation": 0.0, "LightSource": 1.0,
                 "Software": 0.1},
        years=(2021, 2024),
    ),
    CameraSpec(
        slug="simucam_pro_r5",
        make="Simucam",
        model="Pro R5",
        summary="APS-C DSLR with a 18-135 mm zoom and 50 mm f/1.8 prime; GBRG, gradient-corrected "
        "(Malvar) demosaicing, optical low-pass filter, low noise, light sharpening, custom JPEG "
        "tables near quality 96 at 4:2:2",
        software="Pro R5 Ver.1.1.0",
        lenses=(_lens(18.0, 135.0, 3.5, 5.6, 22.0, "SC 18-135mm f/3.5-5.6 IS"),
                _lens(50.0, 50.0, 1.8, 1.8, 22.0, "SC 50mm f/1.8")),
        crop_factor=1.6,
        pixel_pitch_um=4.2,
        aberration_px=0.35,
        olpf=0.5,
        stabilized=0.5,
        cfa="GBRG",
        full_well_e=26000,
        read_noise_e=4.0,
        prnu=0.006,
        column_noise_e=1.2,
        hot_pixel_fraction=1e-4,
        dark_current=0.03,
        adc_bits=14,
        iso_values=tuple(i for i in ISO_STOPS if 100 <= i <= 12800),
        sensitivity=(0.55, 1.0, 0.75),
        color_matrix=((1.60, -0.48, -0.12), (-0.24, 1.44, -0.20), (0.00, -0.48, 1.48)),
        demosaic="malvar",
        nr_luma=0.2,
        nr_chroma=1.2,
        gamma=2.2,
        contrast=0.25,
        saturation=1.0,
        sharpen_radius=1.0,
        sharpen_amount=0.45,
        sharpen_threshold=3.0,
        jpeg_custom=(1.0, 0.22, 1.6),
        subsampling=1,
        shutter_min=1 / 4000,
        shutter_max=4.0,
        programs={2: 0.35, 3: 0.4, 4: 0.1, 1: 0.15},
        exposure_modes={0: 0.82, 1: 0.15, 2: 0.03},
        user_iso=0.35,
        flash_modes={"off": 0.8, "on": 0.2},
        metering={5: 0.6, 2: 0.2, 3: 0.1, 6: 0.1},
        white_balance={0: 0.75, 1: 0.25},
        scenes={0: 0.45, 1: 0.3, 2: 0.2, 3: 0.05},
        writes_light_source=True,
        missing={"LightSource": 0.3, "ExposureCompensation": 0.0},
        years=(2015, 2020),
    ),
    CameraSpec(
        slug="lumetra_mx4",
        make="Lumetra",
        model="MX-4",
        summary="Micro Four Thirds mirrorless with a 12-60 mm zoom; GRBG, smooth-hue (colour-"
        "difference) demosaicing, no low-pass filter, libjpeg quality 88 at 4:4:4, ISO often missing",
        software="MX-4 v2.0",
        lenses=(_lens(12.0, 60.0, 2.8, 4.0, 16.0, "LUMETRA 12-60/2.8-4.0"),),
        crop_factor=2.0,
        pixel_pitch_um=3.4,
        aberration_px=0.3,
        olpf=0.0,
        stabilized=0.25,
        cfa="GRBG",
        full_well_e=16000,
        read_noise_e=3.0,
        prnu=0.007,
        column_noise_e=0.8,
        hot_pixel_fraction=2e-4,
        dark_current=0.04,
        adc_bits=12,
        iso_values=tuple(i for i in ISO_STOPS if 200 <= i <= 25600),
        sensitivity=(0.50, 1.0, 0.66),
        color_matrix=((1.68, -0.52, -0.16), (-0.28, 1.52, -0.24), (-0.04, -0.58, 1.62)),
        demosaic="smooth_hue",
        nr_luma=0.45,
        nr_chroma=1.8,
        gamma=2.4,
        contrast=0.35,
        saturation=1.05,
        sharpen_radius=0.7,
        sharpen_amount=0.7,
        sharpen_threshold=1.5,
        jpeg_quality=(88,),
        subsampling=0,
        shutter_min=1 / 8000,
        shutter_max=2.0,
        programs={2: 0.5, 3: 0.35, 4: 0.15},
        exposure_modes={0: 0.9, 2: 0.1},
        user_iso=0.3,
        flash_modes={"off": 0.6, "auto": 0.4},
        metering={5: 0.55, 2: 0.25, 3: 0.1, 1: 0.1},
        white_balance={0: 0.85, 1: 0.15},
        scenes={0: 0.5, 1: 0.25, 2: 0.15, 3: 0.1},
        missing={"ISO": 0.12, "LensModel": 0.2, "LightSource": 1.0, "BrightnessValue": 1.0,
                 "ExposureCompensation": 0.1},
        strip_probability=0.02,
        years=(2017, 2023),
    ),
    CameraSpec(
        slug="orbis_action_4",
        make="Orbis",
        model="Action 4",
        summary="action camera with a fixed 2.9 mm f/2.8 wide lens; RGGB, nearest-neighbour "
        "(pixel replication) demosaicing, strong sharpening, libjpeg quality 80 at 4:2:0, "
        "no flash, no manual exposure, sparse EXIF",
        software=None,
        lenses=(_lens(2.9, 2.9, 2.8, 2.8, 2.8),),
        crop_factor=5.9,
        pixel_pitch_um=2.2,
        aberration_px=0.45,
        olpf=0.0,
        stabilized=0.6,
        cfa="RGGB",
        full_well_e=5000,
        read_noise_e=3.0,
        prnu=0.012,
        column_noise_e=1.0,
        hot_pixel_fraction=6e-4,
        dark_current=0.1,
        adc_bits=10,
        iso_values=tuple(i for i in ISO_STOPS if 100 <= i <= 6400),
        sensitivity=(0.50, 1.0, 0.68),
        color_matrix=((1.78, -0.62, -0.16), (-0.32, 1.60, -0.28), (-0.06, -0.70, 1.76)),
        demosaic="nearest",
        nr_luma=0.5,
        nr_chroma=1.4,
        gamma=2.1,
        contrast=0.5,
        saturation=1.25,
        sharpen_radius=1.0,
        sharpen_amount=1.3,
        sharpen_threshold=0.5,
        jpeg_quality=(80,),
        subsampling=2,
        shutter_min=1 / 8000,
        shutter_max=1 / 4,
        auto_iso_shutter=1 / 120,
        programs={2: 1.0},
        exposure_modes={0: 1.0},
        user_iso=0.0,
        flash_modes={"none": 1.0},
        flash_none_code=32,
        metering={1: 0.5, 2: 0.5},
        white_balance={0: 1.0},
        scenes={0: 0.5, 1: 0.4, 2: 0.05, 3: 0.05},
        missing={"LensModel": 1.0, "Software": 1.0, "MeteringMode": 0.3, "WhiteBalance": 0.5,
                 "ExposureMode": 0.5, "FocalLengthIn35mmFormat": 0.2, "ExposureCompensation": 1.0,
                 "BrightnessValue": 1.0, "LightSource": 1.0, "ExposureProgram": 0.5},
        years=(2019, 2024),
    ),
    CameraSpec(
        slug="simucam_retro_800",
        make="Simucam",
        model="Retro 800",
        summary="2008-era 1/2.5-inch CCD compact with a 3x zoom; BGGR, bilinear demosaicing, high "
        "read noise, weak noise reduction, libjpeg quality 75 at 4:2:0, writes bare Flash = 0/1",
        software="Retro800 v1.0",
        lenses=(_lens(6.0, 18.0, 2.8, 4.9, 8.0),),
        crop_factor=6.0,
        pixel_pitch_um=2.8,
        aberration_px=0.4,
        olpf=0.4,
        stabilized=1.0,
        cfa="BGGR",
        full_well_e=9000,
        read_noise_e=9.0,
        prnu=0.009,
        column_noise_e=0.0,
        hot_pixel_fraction=8e-4,
        dark_current=0.15,
        adc_bits=10,
        iso_values=(64, 100, 200, 400, 800, 1600),
        sensitivity=(0.58, 1.0, 0.78),
        color_matrix=((1.55, -0.42, -0.13), (-0.26, 1.46, -0.20), (-0.02, -0.46, 1.48)),
        demosaic="bilinear",
        nr_luma=0.1,
        nr_chroma=0.8,
        gamma=2.0,
        contrast=0.2,
        saturation=0.95,
        sharpen_radius=1.4,
        sharpen_amount=0.6,
        sharpen_threshold=0.0,
        jpeg_quality=(75,),
        subsampling=2,
        shutter_min=1 / 2000,
        shutter_max=1.0,
        programs={2: 1.0},
        exposure_modes={0: 1.0},
        user_iso=0.1,
        flash_modes={"auto": 0.8, "off": 0.2},
        flash_bare=True,
        metering={1: 0.3, 2: 0.5, 5: 0.2},
        white_balance={0: 0.9, 1: 0.1},
        scenes={0: 0.6, 1: 0.2, 2: 0.15, 3: 0.05},
        missing={"LensModel": 1.0, "ExposureMode": 0.4, "WhiteBalance": 0.4, "SceneCaptureType": 0.4,
                 "FocalLengthIn35mmFormat": 1.0, "ExposureCompensation": 0.0, "BrightnessValue": 1.0,
                 "LightSource": 1.0, "Software": 0.2},
        years=(2007, 2010),
    ),
)

CAMERA_BY_SLUG: dict[str, CameraSpec] = {camera.slug: camera for camera in CAMERAS}
MIN_CAMERAS = 4


def select_cameras(count: int) -> tuple[CameraSpec, ...]:
    """The first ``count`` camera specs (the first four use two makes and four demosaicing methods)."""
    if not MIN_CAMERAS <= count <= len(CAMERAS):
        raise ValueError(f"cameras must be between {MIN_CAMERAS} and {len(CAMERAS)}, got {count}")
    return CAMERAS[:count]
