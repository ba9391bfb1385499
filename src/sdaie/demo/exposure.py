"""Shooting conditions and exposure settings for one simulated photo.

A photo starts from a scene (style and light level, as EV at ISO 100) and the camera's habits (exposure
program, metering, flash, white balance). Auto-exposure then picks f-number, exposure time and ISO the
way cameras do: program line or aperture/shutter priority, a hand-holding limit that raises auto-ISO,
nominal third-stop values. Whatever rounding or clamping leaves over is an exposure error that the
image really shows, so the settings always agree with the pixels:

    EV_set = log2(N^2 / t) - log2(ISO / 100);   brightness = metered grey * 2^(EV_scene - EV_set)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .cameras import F_STOPS, FLASH_CODES, SCENE_STYLES, SHUTTER_STOPS, CameraSpec

# Illuminants as linear sRGB multipliers of a white surface, and their EXIF LightSource codes.
ILLUMINANTS: dict[str, tuple[tuple[float, float, float], int]] = {
    "daylight": ((1.0, 1.0, 1.0), 1),
    "cloudy": ((0.90, 1.0, 1.12), 10),
    "shade": ((0.84, 1.0, 1.22), 11),
    "tungsten": ((1.50, 1.0, 0.52), 3),
    "fluorescent": ((1.08, 1.0, 0.82), 2),
    "led_warm": ((1.30, 1.0, 0.68), 0),
    "flash": ((1.0, 1.0, 1.04), 4),
}


@dataclass(frozen=True)
class Capture:
    """The true simulated settings of one photo (what its EXIF says when nothing is left out)."""

    scene_capture_type: int  # also the scene style: 0 standard, 1 landscape, 2 portrait, 3 night
    ev_scene: float  # scene light as EV at ISO 100 (after flash)
    illuminant: str
    lens_index: int
    lens_model: str | None
    focal_length: float
    focal_length_35mm: int
    f_number: float
    exposure_time: float
    iso: int
    exposure_program: int
    exposure_mode: int
    exposure_compensation: float
    exposure_bias: float  # EV_scene - EV_set: > 0 brighter than the metered grey
    brightness_value: float
    flash: int
    flash_fired: bool
    metering_mode: int
    white_balance: int
    light_source: int
    wb_preset: str  # the illuminant the white balance corrects for
    shake_px: float  # camera-shake blur length at the output resolution
    shake_angle: float
    jpeg_quality: int | None
    datetime_original: str

    @property
    def style(self) -> str:
        return SCENE_STYLES[self.scene_capture_type]

    def as_dict(self) -> dict:
        return asdict(self)


def _choice(rng: np.random.Generator, priors: dict) -> object:
    keys = list(priors)
    p = np.array([priors[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def _nearest(values, x: float) -> float:
    """The value closest to ``x`` on a log scale."""
    return min(values, key=lambda v: abs(math.log(v) - math.log(x)))


def _scene_light(rng: np.random.Generator, style: int) -> tuple[float, str]:
    """Scene EV at ISO 100 and the illuminant for a scene style."""
    if style == 3:  # night
        return rng.uniform(0.0, 5.0), str(rng.choice(["tungsten", "led_warm", "fluorescent"]))
    indoor_p = {0: 0.55, 1: 0.05, 2: 0.5}[style]
    if rng.uniform() < indoor_p:
        return rng.uniform(3.0, 9.0), str(rng.choice(["tungsten", "fluorescent", "led_warm", "daylight"]))
    ev = rng.uniform(8.0, 15.5)
    if ev >= 12.5:
        return ev, "daylight"
    return ev, str(rng.choice(["cloudy", "shade", "daylight"]))


def _date(rng: np.random.Generator, years: tuple[int, int], style: int, indoor: bool) -> str:
    year = int(rng.integers(years[0], years[1] + 1))
    day = int(rng.integers(0, 365))
    month_days = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    month = 0
    while day >= month_days[month]:
        day -= month_days[month]
        month += 1
    if style == 3:
        hour = int(rng.choice([19, 20, 21, 22, 23, 0, 1, 5]))
    elif indoor:
        hour = int(rng.integers(7, 23))
    else:
        hour = int(rng.integers(8, 19))
    return f"{year:04d}:{month + 1:02d}:{day + 1:02d} {hour:02d}:{int(rng.integers(60)):02d}:{int(rng.integers(60)):02d}"


def _snap_time(camera: CameraSpec, t: float) -> float:
    t = min(max(t, camera.shutter_min), camera.shutter_max)
    if camera.snap_shutter:
        stops = [s for s in SHUTTER_STOPS if camera.shutter_min * 0.999 <= s <= camera.shutter_max * 1.001]
        return _nearest(stops, t)
    # Phones: arbitrary 1/n exposure times.
    return 1.0 / max(1, round(1.0 / t)) if t < 1 else round(t, 1)


def sample_capture(camera: CameraSpec, rng: np.random.Generator, width: int = 512) -> Capture:
    """Draw the shooting conditions and the camera's exposure settings for one photo."""
    style = int(_choice(rng, camera.scenes))
    ev, illuminant = _scene_light(rng, style)
    indoor = ev < 9.0 and style != 3

    # Lens and focal length.
    lens_index = int(rng.integers(len(camera.lenses)))
    lens = camera.lenses[lens_index]
    if lens.focal_max > lens.focal_min:
        u = rng.uniform()
        frac = 0.0 if u < 0.3 else (1.0 if u < 0.4 else rng.uniform() ** 1.5)
        focal = math.exp(math.log(lens.focal_min) + frac * (math.log(lens.focal_max) - math.log(lens.focal_min)))
        frac_lin = (focal - lens.focal_min) / (lens.focal_max - lens.focal_min)
        n_min = lens.n_wide + frac_lin * (lens.n_tele - lens.n_wide)
        n_min = min((s for s in F_STOPS if s >= n_min - 0.05), default=lens.n_max)
    else:
        focal, n_min = lens.focal_min, lens.n_wide
    focal = round(focal, 1)
    focal35 = int(round(focal * camera.crop_factor))
    if lens.n_max > n_min:
        stops = [s for s in F_STOPS if n_min - 1e-6 <= s <= lens.n_max + 1e-6]
        if stops[0] > n_min + 1e-6:
            stops.insert(0, n_min)
    else:
        stops = [n_min]

    # Flash.
    flash_mode = str(_choice(rng, camera.flash_modes))
    if flash_mode == "none":
        fired, code = False, camera.flash_none_code
    elif flash_mode == "on":
        fired, code = True, FLASH_CODES["on_fired"]
    elif flash_mode == "off":
        fired, code = False, FLASH_CODES["off"]
    else:
        fired = ev < 7.0 and style != 1
        code = FLASH_CODES["auto_fired"] if fired else FLASH_CODES["auto_not_fired"]
    if camera.flash_bare:
        code = 1 if fired else 0
    if fired:
        ev = max(ev, rng.uniform(7.5, 9.5))
        illuminant = "flash"

    # Program, mode, compensation.
    program = int(_choice(rng, camera.programs))
    mode = int(_choice(rng, camera.exposure_modes))
    if program == 1:
        mode = 1
    elif mode == 1:
        program = 1
    if mode == 2:
        comp = int(rng.choice([-3, -2, -1, 0, 1, 2, 3])) / 3
    elif mode == 0 and rng.uniform() < 0.15:
        comp = int(rng.choice([-3, -2, -1, 1, 2])) / 3
    else:
        comp = 0.0
    ev_target = ev - comp  # the EV the settings should give

    iso_values = camera.iso_values
    # Slowest shutter before auto-ISO steps in: the camera's own limit, or the hand-holding rule.
    t_hand = camera.auto_iso_shutter or min(1 / 30, 1.0 / focal35) / camera.stabilized
    user_iso = mode == 1 or rng.uniform() < camera.user_iso
    iso = float(iso_values[0])  # auto-ISO starts at base
    if user_iso:
        # Hand-picked ISO: anywhere in the camera's range, low values more often.
        lo, hi = math.log(iso_values[0]), math.log(iso_values[-1])
        iso = float(_nearest(iso_values, math.exp(lo + rng.uniform() ** 1.8 * (hi - lo))))

    # Aperture.
    if program in (1, 3):
        n = float(stops[int(rng.integers(len(stops)))])
    else:
        n_prog = n_min * 2 ** (max(0.0, ev_target - 11.5) / 2.0)
        n = float(_nearest(stops, min(n_prog, stops[-1])))

    # Shutter (and auto-ISO).
    def time_for(n_: float, iso_: float) -> float:
        return n_ * n_ / 2 ** (ev_target + math.log2(iso_ / 100))

    if program == 4:
        t = float(rng.choice([s for s in SHUTTER_STOPS if 1 / 2000 <= s <= (0.5 if style == 3 else 1 / 30)]))
        t = min(max(t, camera.shutter_min), camera.shutter_max)
        # Aperture follows; auto-ISO fills the rest.
        n_need = math.sqrt(t * 2 ** (ev_target + math.log2(iso / 100)))
        n = float(_nearest(stops, min(max(n_need, stops[0]), stops[-1])))
        if not user_iso:
            iso_need = 100 * 2 ** (math.log2(n * n / t) - ev_target)
            iso = float(_nearest(iso_values, min(max(iso_need, iso_values[0]), iso_values[-1])))
    elif mode == 1:
        t = time_for(n, iso) * 2 ** rng.normal(0, 0.5)  # the photographer's own call
    else:
        t = time_for(n, iso)
        if not user_iso and t > t_hand:
            iso_need = 100 * 2 ** (math.log2(n * n / t_hand) - ev_target)
            iso = float(min((v for v in iso_values if v >= iso_need * 0.95), default=iso_values[-1]))
            t = time_for(n, iso)
        if t < camera.shutter_min and program in (2, 3) and n < stops[-1]:
            n_need = math.sqrt(camera.shutter_min * 2 ** (ev_target + math.log2(iso / 100)))
            n = float(_nearest(stops, min(n_need, stops[-1])))
            t = time_for(n, iso)
    if fired:
        t = min(max(t, 1 / 250), 1 / 30)
    t = _snap_time(camera, t)
    iso_i = int(iso)

    ev_set = math.log2(n * n / t) - math.log2(iso_i / 100)
    bias = ev - ev_set
    if fired:  # TTL flash metering makes up for most of the ambient shortfall
        bias = comp + 0.6 * (bias - comp) * (bias > comp) + rng.normal(0, 0.15)
    bias = float(np.clip(bias, -3.0, 3.0))

    # White balance.
    wb = int(_choice(rng, camera.white_balance))
    if wb == 0:
        preset, light_source = illuminant, 0
    else:
        preset = illuminant if rng.uniform() < 0.6 else "daylight"
        light_source = ILLUMINANTS[preset][1]

    # Camera shake (hand-held), in output pixels.
    shake = t * focal35 * 0.9 * camera.stabilized * rng.uniform(0.3, 1.5) * width / 512
    quality = int(rng.choice(camera.jpeg_quality)) if camera.jpeg_quality else None
    return Capture(
        scene_capture_type=style,
        ev_scene=round(float(ev), 4),
        illuminant=illuminant,
        lens_index=lens_index,
        lens_model=lens.name,
        focal_length=float(focal),
        focal_length_35mm=focal35,
        f_number=float(n),
        exposure_time=float(t),
        iso=iso_i,
        exposure_program=program,
        exposure_mode=mode,
        exposure_compensation=float(comp),
        exposure_bias=round(bias, 4),
        brightness_value=round(float(ev) - 5.0, 2),
        flash=int(code),
        flash_fired=bool(fired),
        metering_mode=int(_choice(rng, camera.metering)),
        white_balance=wb,
        light_source=int(light_source),
        wb_preset=preset,
        shake_px=round(float(shake), 4),
        shake_angle=round(float(rng.uniform(0, math.pi)), 4),
        jpeg_quality=quality,
        datetime_original=_date(rng, camera.years, style, indoor),
    )
