"""The simulated camera: optics, sensor, image processor and JPEG encoder.

``render_photo`` turns a procedural scene (rendered at twice the sensor resolution) into the 8-bit
image a camera would write, through these stages, each parameterised by the ``CameraSpec`` and the
photo's ``Capture``:

1. light: illuminant colour (or flash with fall-off), camera raw colour response (inverse colour matrix
   and channel sensitivities);
2. optics, as an optical transfer function on the supersampled scene: diffraction of a circular
   aperture (cut-off pitch / (lambda N): blur grows with the f-number), aberrations wide open (with a
   little longitudinal chromatic blur), optical low-pass filter, camera shake (length grows with exposure
   time and focal length); then vignetting;
3. sensor: pixel-aperture integration (2 x 2 area average), metering (mode-dependent weights) and
   exposure, colour filter array sampling, photo-response non-uniformity, shot noise, read noise and
   column noise in electrons (the full-well charge per output level shrinks as ISO grows, so noise
   grows with ISO), hot pixels (grow with exposure time), ADC quantisation;
4. image processor: white balance, demosaicing (bilinear, gradient-corrected / Malvar, edge-directed /
   Hamilton-Adams, smooth-hue, nearest), colour matrix, tone curve, ISO-dependent luma and chroma
   noise reduction, saturation, unsharp-mask sharpening;
5. JPEG with the camera's quantization tables and chroma subsampling (``encode_jpeg``).
"""

from __future__ import annotations

import io
import zlib
from functools import lru_cache

import numpy as np
from PIL import Image
from scipy import fft as sfft
from scipy import ndimage

from .cameras import CameraSpec
from .exposure import ILLUMINANTS, Capture
from .scenes import FLOAT, area_downsample, blur_large, mix_channels, render_scene

WAVELENGTH_UM = 0.55
MIDDLE_GREY = 0.14  # raw level (fraction of saturation) the meter puts a metered grey at


# ----------------------------------------------------------------------------------------------
# Fixed sensor patterns (one simulated unit per camera model and build seed)
# ----------------------------------------------------------------------------------------------


def fixed_patterns(camera: CameraSpec, seed: int, h: int, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PRNU gain map, per-column offsets (in units of column_noise_e) and hot-pixel rate map."""
    from .cameras import CAMERA_BY_SLUG

    if CAMERA_BY_SLUG.get(camera.slug) is camera:
        return _fixed_patterns(camera.slug, seed, h, w)
    return _fixed_patterns_uncached(camera, seed, h, w)


@lru_cache(maxsize=16)
def _fixed_patterns(slug: str, seed: int, h: int, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from .cameras import CAMERA_BY_SLUG

    return _fixed_patterns_uncached(CAMERA_BY_SLUG[slug], seed, h, w)


def _fixed_patterns_uncached(camera: CameraSpec, seed: int, h: int, w: int):
    rng = np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(camera.slug.encode()), 7]))
    prnu = rng.standard_normal((h, w), dtype=FLOAT)
    # PRNU has a little spatial correlation (micro-lens / pixel-layout effects).
    prnu = 0.8 * prnu + 0.6 * ndimage.uniform_filter(prnu, 3, mode="mirror")
    prnu = 1.0 + camera.prnu * prnu / prnu.std()
    columns = rng.standard_normal(w).astype(FLOAT)
    hot = np.zeros((h, w), FLOAT)
    n_hot = int(round(camera.hot_pixel_fraction * h * w))
    if n_hot:
        idx = rng.choice(h * w, n_hot, replace=False)
        hot.flat[idx] = rng.exponential(1.0, n_hot).astype(FLOAT)
    for a in (prnu, columns, hot):
        a.setflags(write=False)
    return prnu, columns, hot


# ----------------------------------------------------------------------------------------------
# Colour filter array and demosaicing
# ----------------------------------------------------------------------------------------------


def cfa_index(layout: str) -> np.ndarray:
    """2 x 2 array of channel indices (0 R, 1 G, 2 B) for a Bayer layout such as ``"RGGB"``."""
    return np.array(["RGB".index(c) for c in layout], dtype=np.int8).reshape(2, 2)


def cfa_masks(layout: str, h: int, w: int) -> np.ndarray:
    """Boolean masks (3, h, w): where each channel was sampled."""
    idx = np.tile(cfa_index(layout), ((h + 1) // 2, (w + 1) // 2))[:h, :w]
    return np.stack([idx == c for c in range(3)])


def mosaic(rgb: np.ndarray, layout: str) -> np.ndarray:
    """Sample an (h, w, 3) image through the colour filter array: (h, w)."""
    h, w = rgb.shape[:2]
    idx = np.tile(cfa_index(layout), ((h + 1) // 2, (w + 1) // 2))[:h, :w]
    return np.take_along_axis(rgb, idx[..., None].astype(np.intp), axis=2)[..., 0]


def _conv(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    # 'mirror' reflection keeps the CFA phase at the borders.
    return ndimage.convolve(x, k.astype(FLOAT), mode="mirror")


_K_RB = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], FLOAT) / 4
_K_G = np.array([[0, 1, 0], [1, 4, 1], [0, 1, 0]], FLOAT) / 4


def _bilinear(m: np.ndarray, masks: np.ndarray) -> np.ndarray:
    return np.stack([_conv(m * masks[c], _K_G if c == 1 else _K_RB) for c in range(3)], axis=-1)


def _malvar(m: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Gradient-corrected linear interpolation (Malvar, He and Cutler, 2004)."""
    k_g = np.array([[0, 0, -1, 0, 0], [0, 0, 2, 0, 0], [-1, 2, 4, 2, -1], [0, 0, 2, 0, 0], [0, 0, -1, 0, 0]],
                   FLOAT) / 8
    k_row = np.array([[0, 0, 0.5, 0, 0], [0, -1, 0, -1, 0], [-1, 4, 5, 4, -1], [0, -1, 0, -1, 0],
                      [0, 0, 0.5, 0, 0]], FLOAT) / 8  # colour at green, colour's neighbours in the row
    k_col = k_row.T
    k_diag = np.array([[0, 0, -1.5, 0, 0], [0, 2, 0, 2, 0], [-1.5, 0, 6, 0, -1.5], [0, 2, 0, 2, 0],
                       [0, 0, -1.5, 0, 0]], FLOAT) / 8
    g_at = _conv(m, k_g)
    row = _conv(m, k_row)
    col = _conv(m, k_col)
    diag = _conv(m, k_diag)
    h, w = m.shape
    r_mask, g_mask, b_mask = masks
    # Green sites in rows that hold red samples.
    r_rows = np.zeros((h, w), bool)
    r_rows[np.nonzero(r_mask.any(axis=1))[0], :] = True
    g_rrow = g_mask & r_rows
    g_brow = g_mask & ~r_rows
    out = np.empty((h, w, 3), FLOAT)
    out[..., 1] = np.where(g_mask, m, g_at)
    out[..., 0] = np.where(r_mask, m, np.where(g_rrow, row, np.where(g_brow, col, diag)))
    out[..., 2] = np.where(b_mask, m, np.where(g_brow, row, np.where(g_rrow, col, diag)))
    return out


def _shift(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """x[y + dy, x + dx] with mirrored borders (keeps CFA phase)."""
    p = max(abs(dy), abs(dx))
    xp = np.pad(x, p, mode="reflect")
    h, w = x.shape
    return xp[p + dy : p + dy + h, p + dx : p + dx + w]


def _colour_difference(m: np.ndarray, masks: np.ndarray, g: np.ndarray) -> np.ndarray:
    """R and B from interpolated colour differences (R - G, B - G) on a full green plane."""
    out = np.empty(m.shape + (3,), FLOAT)
    out[..., 1] = g
    for c in (0, 2):
        diff = _conv((m - g) * masks[c], _K_RB)
        out[..., c] = np.where(masks[c], m, g + diff)
    return out


def _hamilton_adams(m: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Edge-directed green interpolation with second-order correction (Hamilton and Adams), then
    colour-difference interpolation of red and blue."""
    gl, gr = _shift(m, 0, -1), _shift(m, 0, 1)
    gu, gd = _shift(m, -1, 0), _shift(m, 1, 0)
    cl2, cr2 = _shift(m, 0, -2), _shift(m, 0, 2)
    cu2, cd2 = _shift(m, -2, 0), _shift(m, 2, 0)
    lap_h = 2 * m - cl2 - cr2
    lap_v = 2 * m - cu2 - cd2
    gh = (gl + gr) / 2 + lap_h / 4
    gv = (gu + gd) / 2 + lap_v / 4
    dh = np.abs(gl - gr) + np.abs(lap_h)
    dv = np.abs(gu - gd) + np.abs(lap_v)
    g_est = np.where(dh < dv, gh, np.where(dv < dh, gv, (gh + gv) / 2))
    # Keep the estimate within its four green neighbours' range (no overshoot on noise).
    lo = np.minimum(np.minimum(gl, gr), np.minimum(gu, gd))
    hi = np.maximum(np.maximum(gl, gr), np.maximum(gu, gd))
    g_est = np.clip(g_est, lo, hi)
    g = np.where(masks[1], m, g_est)
    return _colour_difference(m, masks, g)


def _smooth_hue(m: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Bilinear green, then red and blue from interpolated hue ratios R/G, B/G (Cok's smooth hue)."""
    eps = 0.01
    g = _conv(m * masks[1], _K_G)
    g = np.where(masks[1], m, g)
    out = np.empty(m.shape + (3,), FLOAT)
    out[..., 1] = g
    for c in (0, 2):
        ratio = _conv(((m + eps) / (g + eps)) * masks[c], _K_RB)
        out[..., c] = np.where(masks[c], m, ratio * (g + eps) - eps)
    return out


def _nearest(m: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Pixel replication within each 2 x 2 CFA cell (cheap ISPs): R and B copied, G averaged."""
    h, w = m.shape
    he, we = h - h % 2, w - w % 2
    out = np.empty((h, w, 3), FLOAT)
    cells = m[:he, :we].reshape(he // 2, 2, we // 2, 2)
    for c in range(3):
        mk = masks[c][:he, :we].reshape(he // 2, 2, we // 2, 2)
        val = (cells * mk).sum(axis=(1, 3)) / mk.sum(axis=(1, 3))
        full = np.repeat(np.repeat(val, 2, axis=0), 2, axis=1)
        if c == 1:
            full = np.where(masks[1][:he, :we], m[:he, :we], full)
        out[:he, :we, c] = full
    if he < h:
        out[he:, :we] = out[he - 1 : he, :we]
    if we < w:
        out[:, we:] = out[:, we - 1 : we]
    return out


def demosaic(m: np.ndarray, layout: str, method: str) -> np.ndarray:
    """Reconstruct (h, w, 3) from a Bayer mosaic with one of ``cameras.DEMOSAIC_METHODS``."""
    m = np.ascontiguousarray(m, dtype=FLOAT)
    masks = cfa_masks(layout, *m.shape)
    if method == "bilinear":
        return _bilinear(m, masks)
    if method == "malvar":
        return _malvar(m, masks)
    if method == "hamilton_adams":
        return _hamilton_adams(m, masks)
    if method == "smooth_hue":
        return _smooth_hue(m, masks)
    if method == "nearest":
        return _nearest(m, masks)
    raise ValueError(f"unknown demosaicing method {method!r}")


# ----------------------------------------------------------------------------------------------
# Optics
# ----------------------------------------------------------------------------------------------


def aberration_sigma(camera: CameraSpec, capture: Capture) -> float:
    """Gaussian aberration blur (output px): largest wide open, shrinking as the lens stops down."""
    lens = camera.lenses[capture.lens_index]
    return camera.aberration_px * (lens.n_wide / capture.f_number) ** 2


def diffraction_cutoff(camera: CameraSpec, f_number: float) -> float:
    """Incoherent diffraction cut-off frequency in cycles per output pixel: pitch / (lambda N)."""
    return camera.pixel_pitch_um / (WAVELENGTH_UM * f_number)


def optical_transfer(camera: CameraSpec, capture: Capture, h: int, w: int, ss: int) -> list[np.ndarray]:
    """Per-channel OTFs (rfft2 layout) for an (h, w) image supersampled ``ss`` times per pixel."""
    fy = (sfft.fftfreq(h) * ss).astype(FLOAT)[:, None]  # cycles per output pixel
    fx = (sfft.rfftfreq(w) * ss).astype(FLOAT)[None, :]
    rho = np.sqrt(fy * fy + fx * fx)
    s = np.minimum(rho / diffraction_cutoff(camera, capture.f_number), 1.0)
    otf = (2 / np.pi) * (np.arccos(s) - s * np.sqrt(1 - s * s))
    if camera.olpf > 0:
        otf = otf * np.cos(np.pi * fy * camera.olpf) * np.cos(np.pi * fx * camera.olpf)
    if capture.shake_px > 0.05:
        c, sn = np.cos(capture.shake_angle), np.sin(capture.shake_angle)
        otf = otf * np.sinc(capture.shake_px * (fx * c + fy * sn))
    sigma = aberration_sigma(camera, capture)
    out = []
    for chroma in (1.2, 1.0, 1.3):  # longitudinal chromatic aberration: R and B a little softer
        sg = sigma * chroma
        out.append((otf * np.exp(-2 * np.pi**2 * sg * sg * rho * rho)).astype(FLOAT))
    return out


def apply_optics(img: np.ndarray, otfs: list[np.ndarray]) -> np.ndarray:
    h, w = img.shape[:2]
    out = np.empty_like(img)
    for c in range(3):
        spec = sfft.rfft2(img[..., c], workers=1)
        out[..., c] = sfft.irfft2(spec * otfs[c], s=(h, w), workers=1)
    return out


def vignetting(camera: CameraSpec, capture: Capture, h: int, w: int) -> np.ndarray:
    lens = camera.lenses[capture.lens_index]
    y = np.linspace(-1, 1, h, dtype=FLOAT)[:, None] * (h / max(h, w))
    x = np.linspace(-1, 1, w, dtype=FLOAT)[None, :] * (w / max(h, w))
    r2 = (x * x + y * y) / 2
    strength = 0.45 * min(1.0, (lens.n_wide / capture.f_number) ** 2) + 0.1
    return (1.0 - strength * r2).astype(FLOAT)


# ----------------------------------------------------------------------------------------------
# Metering, tone and processing helpers
# ----------------------------------------------------------------------------------------------


def meter(lum: np.ndarray, mode: int) -> float:
    """Metered level of a linear luminance image for an EXIF MeteringMode."""
    h, w = lum.shape
    y = np.linspace(-1, 1, h, dtype=FLOAT)[:, None]
    x = np.linspace(-1, 1, w, dtype=FLOAT)[None, :]
    r2 = y * y + x * x
    if mode == 1:  # average
        return float(lum.mean())
    if mode == 2:  # centre-weighted
        wgt = np.exp(-r2 / 0.3)
        return float((lum * wgt).sum() / wgt.sum())
    if mode == 3:  # spot: central 3 %
        return float(lum[r2 < 0.04].mean())
    if mode == 4:  # multi-spot
        spots = [(0.0, 0.0), (-0.4, -0.4), (0.4, 0.4)]
        vals = [lum[(y - a) ** 2 + (x - b) ** 2 < 0.03].mean() for a, b in spots]
        return float(np.mean(vals))
    if mode == 6:  # partial: central 10 %
        return float(lum[r2 < 0.13].mean())
    # 5, multi-segment: 5 x 5 zones averaged in log, bright zones (light sources, sky) discounted.
    zh, zw = h // 5, w // 5
    zones = lum[: zh * 5, : zw * 5].reshape(5, zh, 5, zw).mean(axis=(1, 3))
    logz = np.log(np.maximum(zones, 1e-5))
    med = np.median(logz)
    logz = np.minimum(logz, med + 1.5)
    return float(np.exp(logz.mean() * 0.7 + med * 0.3))


def tone_lut(camera: CameraSpec, size: int = 16384) -> np.ndarray:
    x = np.linspace(0, 1, size)
    g = camera.gamma
    y = np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / g) - 0.055)
    y = np.clip(y, 0, 1)
    s = y * y * (3 - 2 * y)
    y = (1 - camera.contrast) * y + camera.contrast * s
    return y.astype(FLOAT)


def _gauss(x: np.ndarray, sigma: float) -> np.ndarray:
    return ndimage.gaussian_filter(x, sigma, mode="mirror", truncate=3.0)


def noise_reduction_level(camera: CameraSpec, iso: float) -> float:
    """0 at base ISO, 1 six stops above it."""
    return float(np.clip(np.log2(iso / camera.iso_values[0]) / 6.0, 0.0, 1.0))


# ----------------------------------------------------------------------------------------------
# The full camera
# ----------------------------------------------------------------------------------------------


def render_photo(camera: CameraSpec, capture: Capture, scene: np.ndarray, noise_rng: np.random.Generator,
                 *, unit_seed: int = 0, supersample: int = 2) -> np.ndarray:
    """Simulate the camera on a supersampled linear scene; returns the processed uint8 (h, w, 3) image."""
    ss = supersample
    H, W = scene.shape[:2]
    h, w = H // ss, W // ss

    # 1. Light: illuminant or flash, then the camera's raw colour response.
    illum = np.array(ILLUMINANTS[capture.illuminant][0], FLOAT)
    if capture.flash_fired:
        yy = np.linspace(-1, 1, H, dtype=FLOAT)[:, None]
        xx = np.linspace(-1, 1, W, dtype=FLOAT)[None, :] * (W / H)
        falloff = 1.0 / (1.0 + (yy * yy + xx * xx) / 0.6)
        light = 0.25 * illum[None, None, :] + 0.75 * (falloff / falloff.mean())[..., None] * illum[None, None, :]
        radiance = scene * light
    else:
        radiance = scene * illum[None, None, :]
    cm = np.array(camera.color_matrix, dtype=np.float64)
    to_raw = (np.linalg.inv(cm) * np.array(camera.sensitivity)[:, None]).astype(FLOAT)  # raw = to_raw @ rgb
    raw = mix_channels(radiance, to_raw)

    # 2. Optics on the supersampled image, then the 2 x 2 pixel aperture.
    raw = apply_optics(raw, optical_transfer(camera, capture, H, W, ss))
    raw = area_downsample(raw, ss)
    raw *= vignetting(camera, capture, h, w)[..., None]

    # 3. Exposure: the meter puts the metered level at middle grey, shifted by the exposure error.
    lum = mix_channels(raw, [0.25, 0.6, 0.15])
    level = meter(np.maximum(lum, 0), capture.metering_mode)
    raw *= FLOAT(MIDDLE_GREY * 2.0**capture.exposure_bias / max(level, 1e-6))
    m = mosaic(np.maximum(raw, 0), camera.cfa)

    prnu, columns, hot = fixed_patterns(camera, unit_seed, h, w)
    base_iso = camera.iso_values[0]
    gain = capture.iso / base_iso
    full = camera.full_well_e / gain  # electrons at saturation at this ISO
    electrons = np.minimum(m, 1.5) * prnu * full
    electrons += np.sqrt(electrons) * noise_rng.standard_normal((h, w), dtype=FLOAT)
    electrons += camera.read_noise_e * noise_rng.standard_normal((h, w), dtype=FLOAT)
    if camera.column_noise_e:
        col = columns + 0.5 * noise_rng.standard_normal(w).astype(FLOAT)
        electrons += camera.column_noise_e * col[None, :]
    v = electrons / full + hot * FLOAT(camera.dark_current * capture.exposure_time * gain)
    levels = 2**camera.adc_bits - 1
    black = levels / 16.0
    dn = np.clip(np.round(v * (levels - black) + black), 0, levels)
    v = ((dn - black) / (levels - black)).astype(FLOAT)

    # 4. Image processor. White balance for the preset (or auto estimate), clipped highlights stay white.
    true_white = mix_channels(np.array(ILLUMINANTS[capture.wb_preset][0], FLOAT), to_raw)
    if capture.white_balance == 0:
        true_white = true_white * (1 + 0.03 * noise_rng.standard_normal(3).astype(FLOAT))
    gains = true_white[1] / true_white
    wb = np.tile(gains[cfa_index(camera.cfa)], ((h + 1) // 2, (w + 1) // 2))[:h, :w]
    v = np.minimum(v * wb, 1.0)
    rgb = demosaic(v, camera.cfa, camera.demosaic)
    rgb = mix_channels(rgb, camera.color_matrix)
    rgb = np.clip(rgb, 0.0, 1.0)

    lut = tone_lut(camera)
    y = lut[(rgb * (len(lut) - 1)).astype(np.int32)]

    # Noise reduction (ISO dependent): chroma blur and edge-aware luma smoothing.
    level_nr = noise_reduction_level(camera, capture.iso)
    luma = mix_channels(y, [0.299, 0.587, 0.114])
    chroma = y - luma[..., None]
    sc = camera.nr_chroma * (0.5 + 2.5 * level_nr)
    if sc > 0.3:
        blur = blur_large if sc > 2.5 else _gauss
        chroma = np.stack([blur(chroma[..., c], sc) for c in range(3)], axis=-1)
    strength = camera.nr_luma * level_nr
    if strength > 0.01:
        smooth = _gauss(luma, 1.2)
        detail = luma - smooth
        sigma_est = 1.4826 * float(np.median(np.abs(detail))) + 1e-4
        weight = strength / (1.0 + (detail / (2.5 * sigma_est)) ** 2)
        luma = luma - weight * detail

    # Sharpening: unsharp mask on luma with a threshold.
    blurred = _gauss(luma, camera.sharpen_radius)
    d = luma - blurred
    thr = camera.sharpen_threshold / 255.0
    d = np.sign(d) * np.maximum(np.abs(d) - thr, 0)
    luma = luma + camera.sharpen_amount * d

    out = luma[..., None] + camera.saturation * chroma
    return (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)


# ----------------------------------------------------------------------------------------------
# JPEG
# ----------------------------------------------------------------------------------------------


def custom_qtables(params: tuple[float, float, float]) -> list[list[int]]:
    """Luma and chroma quantization tables growing linearly with frequency (u + v): a camera maker's
    own tables rather than libjpeg's scaled standard ones."""
    base, slope, chroma_scale = params
    u = np.add.outer(np.arange(8), np.arange(8))
    luma = np.clip(np.round(base * (1 + slope * u) + 0.15 * (u >= 10)), 1, 255).astype(int)
    chroma = np.clip(np.round(base * chroma_scale * (1 + slope * 1.3 * u)), 1, 255).astype(int)
    return [luma.flatten().tolist(), chroma.flatten().tolist()]


def encode_jpeg(camera: CameraSpec, rgb: np.ndarray, quality: int | None) -> bytes:
    """The camera's JPEG encoding (baseline, its tables, its chroma subsampling), deterministic."""
    buf = io.BytesIO()
    img = Image.fromarray(rgb, "RGB")
    if camera.jpeg_custom is not None:
        img.save(buf, "JPEG", qtables=custom_qtables(camera.jpeg_custom), subsampling=camera.subsampling,
                 optimize=False)
    else:
        img.save(buf, "JPEG", quality=int(quality or 90), subsampling=camera.subsampling, optimize=False)
    return buf.getvalue()


def simulate_photo(camera: CameraSpec, capture: Capture, *, width: int, height: int, scene_seed: int,
                   noise_seed: int, unit_seed: int = 0) -> np.ndarray:
    """Render a scene from ``scene_seed`` and take it with ``camera`` at ``capture`` (uint8 RGB).

    Two calls with the same ``scene_seed`` see the same scene, so the effect of a setting (ISO,
    f-number) can be isolated.
    """
    scene = render_scene(np.random.default_rng(scene_seed), height, width, capture.scene_capture_type)
    return render_photo(camera, capture, scene, np.random.default_rng(noise_seed), unit_seed=unit_seed)
