"""Procedural scenes: linear scene radiance for the simulated cameras and the generated stand-ins.

A scene is rendered at ``supersample`` times the sensor resolution so that edges are anti-aliased and
the content keeps detail above the sensor's Nyquist frequency (the camera model then integrates over
pixels and samples through the colour filter array, so the sensor's own traits are not masked).

Four styles, indexed like EXIF SceneCaptureType: standard (objects in a room or a street), landscape
(sky, clouds, mountain ridges, textured ground, trees), portrait (a person against a soft background)
and night (dark buildings, lit windows, street lights). Scene statistics mix smooth gradients, hard
occluding edges, 1/f textures, periodic fabric-like patterns and fine lines.

Values are linear relative radiance: reflectance (0.02-0.9) times illumination (around 1); light
sources go well above 1 and clip in the camera.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import fft as sfft
from scipy import ndimage

from .cameras import SCENE_STYLES

# The demo must write the same bytes on every CPU, else content hashes, splits and every report number
# move between machines. Rendered in float32, the last bits of numpy's SIMD kernels (AVX2 vs AVX-512
# exp, log, sin) and of OpenBLAS's products differ between CPUs, and enough of them crossed a rounding
# step that 223 of 242 demo files changed with AVX2-level kernels forced on an AVX-512 CPU. So images
# are computed in float64, where those differences stay ~1e-16 and round away, and products over
# channels avoid BLAS (``mix_channels``): its rounding of exact values such as 1.0 would not round away.
FLOAT = np.float64


# ----------------------------------------------------------------------------------------------
# Random fields
# ----------------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _pink_amplitude(h: int, w: int, alpha: float, cutoff: float) -> np.ndarray:
    fy = sfft.fftfreq(h).astype(FLOAT)[:, None]
    fx = sfft.rfftfreq(w).astype(FLOAT)[None, :]
    f = np.sqrt(fy * fy + fx * fx)
    f[0, 0] = 1.0
    amp = f ** (-alpha)
    amp[0, 0] = 0.0
    if cutoff < 0.7:
        amp *= np.exp(-((f / cutoff) ** 4))
    amp.setflags(write=False)
    return amp


def pink_noise(rng: np.random.Generator, h: int, w: int, alpha: float = 1.0, cutoff: float = 1.0) -> np.ndarray:
    """Zero-mean, unit-std Gaussian field with a 1/f**alpha amplitude spectrum (float64, h x w).

    ``cutoff`` (cycles/pixel, 0.5 = Nyquist) limits the highest frequency present.
    """
    amp = _pink_amplitude(h, w, float(alpha), float(cutoff))
    spec = np.empty((h, w // 2 + 1), dtype=np.complex64)
    spec.real = rng.standard_normal(spec.shape, dtype=FLOAT)
    spec.imag = rng.standard_normal(spec.shape, dtype=FLOAT)
    spec *= amp
    field = sfft.irfft2(spec, s=(h, w), workers=1).astype(FLOAT, copy=False)
    field -= field.mean()
    std = field.std()
    return field / std if std > 0 else field


def smooth_field(rng: np.random.Generator, h: int, w: int, scale: float = 0.2) -> np.ndarray:
    """A smooth unit-std field whose features are about ``scale`` of the image size."""
    gh, gw = max(4, int(round(6 / scale * h / max(h, w)))), max(4, int(round(6 / scale * w / max(h, w))))
    g = rng.standard_normal((gh, gw)).astype(FLOAT)
    g = ndimage.gaussian_filter(g, 1.0, mode="wrap")
    up = resize_linear(g, h, w)
    up -= up.mean()
    s = up.std()
    return up / s if s > 0 else up


def _interp_taps(n_out: int, n_in: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear interpolation from pixel centres of a coarse grid (n_in) to a fine one (n_out): for each
    output pixel the two input indices and the weight of the second."""
    pos = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    pos = np.clip(pos, 0, n_in - 1)
    i0 = np.floor(pos).astype(int)
    return i0, np.minimum(i0 + 1, n_in - 1), (pos - i0).astype(FLOAT)


def resize_linear(img: np.ndarray, h: int, w: int) -> np.ndarray:
    """Bilinear resize of a 2-D array to (h, w): two taps per axis (not a matrix product, whose BLAS
    summation order depends on the CPU; see ``mix_channels``)."""
    i0, i1, f = _interp_taps(h, img.shape[0])
    img = img.astype(FLOAT)
    img = img[i0] * (1 - f)[:, None] + img[i1] * f[:, None]
    j0, j1, g = _interp_taps(w, img.shape[1])
    return img[:, j0] * (1 - g) + img[:, j1] * g


def mix_channels(x: np.ndarray, matrix) -> np.ndarray:
    """``x @ matrix.T`` over the last axis of ``x`` (``x @ matrix`` for a vector), summed term by term.

    A BLAS product sums in an order, and with fused multiply-adds, that depend on the CPU: a saturated
    pixel ([1, 1, 1] through a colour matrix whose rows sum to 1) is 1.0 on one machine and
    0.9999999999999999 on another, and falls into another tone-curve bin. Elementwise products and
    sums in a fixed order round the same way on every CPU.
    """
    matrix = np.asarray(matrix, FLOAT)
    rows = matrix[None] if matrix.ndim == 1 else matrix
    out = x[..., 0:1] * rows[:, 0]
    for j in range(1, rows.shape[1]):
        out = out + x[..., j:j + 1] * rows[:, j]
    return out[..., 0] if matrix.ndim == 1 else out


def blur_large(img: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of a 2-D array for large sigmas: blur a decimated copy, then interpolate back."""
    k = max(1, int(sigma / 2.5))
    if k == 1:
        return ndimage.gaussian_filter(img, sigma)
    h, w = img.shape
    small = area_downsample(img[: h - h % k, : w - w % k], k)
    small = ndimage.gaussian_filter(small, np.sqrt(max(sigma**2 - (k**2) / 12.0, 0.25)) / k, mode="nearest")
    return resize_linear(small, h, w)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    """The sRGB transfer curve, linear light in [0, 1] -> encoded values (same dtype as ``x``)."""
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def _srgb_to_linear(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def random_color(rng: np.random.Generator, hue: float | None = None, sat: tuple[float, float] = (0.1, 0.7),
                 val: tuple[float, float] = (0.25, 0.9)) -> np.ndarray:
    """A linear reflectance triple from a random HSV colour (display values in, linear out)."""
    h = rng.uniform(0, 1) if hue is None else hue % 1.0
    s = rng.uniform(*sat)
    v = rng.uniform(*val)
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    rgb = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return np.clip(_srgb_to_linear(np.array(rgb)), 0.015, 0.9).astype(FLOAT)


# ----------------------------------------------------------------------------------------------
# Canvas with anti-aliased shapes
# ----------------------------------------------------------------------------------------------


class Canvas:
    """An RGB float64 image plus helpers to composite soft-edged shapes with textures."""

    def __init__(self, rng: np.random.Generator, h: int, w: int):
        self.rng = rng
        self.h, self.w = h, w
        self.img = np.zeros((h, w, 3), dtype=FLOAT)
        # A small bank of full-frame textures, sliced at random offsets by the shapes.
        self.bank = [pink_noise(rng, h, w, a) for a in (0.9, 1.4)]

    # -- textures --------------------------------------------------------------------------
    def texture(self, y0: int, y1: int, x0: int, x1: int, kind: str | None = None) -> np.ndarray:
        """A zero-mean texture patch (float64) for the box [y0:y1, x0:x1]."""
        rng = self.rng
        hb, wb = y1 - y0, x1 - x0
        kind = kind or rng.choice(["pink", "pink", "pink", "stripes", "checker", "dots", "flat"])
        if kind in ("pink", "flat"):
            bank = self.bank[int(rng.integers(len(self.bank)))]
            oy = int(rng.integers(0, self.h - hb + 1))
            ox = int(rng.integers(0, self.w - wb + 1))
            t = bank[oy : oy + hb, ox : ox + wb] * (rng.choice([-1.0, 1.0]))
            return t * (0.04 if kind == "flat" else rng.uniform(0.12, 0.35))
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(FLOAT)
        theta = rng.uniform(0, np.pi)
        # Frequencies in cycles per canvas pixel; up to the sensor Nyquist at 2x supersampling.
        freq = float(np.exp(rng.uniform(np.log(0.02), np.log(0.24))))
        u = xx * np.cos(theta) + yy * np.sin(theta)
        if kind == "stripes":
            s = np.sin(2 * np.pi * freq * u + rng.uniform(0, 6.3))
            sharp = rng.uniform(1, 6)
            return (np.tanh(sharp * s) / np.tanh(sharp) * rng.uniform(0.15, 0.45)).astype(FLOAT)
        v = -xx * np.sin(theta) + yy * np.cos(theta)
        if kind == "checker":
            s = np.sin(2 * np.pi * freq * u) * np.sin(2 * np.pi * freq * v)
            return (np.tanh(4 * s) * rng.uniform(0.15, 0.4)).astype(FLOAT)
        # dots
        cu = (u * freq) % 1.0 - 0.5
        cv = (v * freq) % 1.0 - 0.5
        r = np.sqrt(cu * cu + cv * cv)
        return (np.clip((0.3 - r) * 8, 0, 1) - 0.3).astype(FLOAT) * rng.uniform(0.2, 0.5)

    # -- compositing -----------------------------------------------------------------------
    def paint(self, alpha: np.ndarray, box: tuple[int, int, int, int], color: np.ndarray,
              texture: str | None = None, shade: float = 0.0, tex_amount: float = 1.0) -> None:
        """Composite ``color`` (modulated by a texture and a linear shading ramp) through ``alpha``."""
        y0, y1, x0, x1 = box
        if y1 <= y0 or x1 <= x0:
            return
        tex = self.texture(y0, y1, x0, x1, texture) * tex_amount
        rng = self.rng
        fill = color[None, None, :] * (1.0 + tex[..., None])
        if rng.uniform() < 0.5:  # per-channel texture tint variation
            fill = fill * (1.0 + 0.3 * tex[..., None] * (rng.uniform(-1, 1, 3).astype(FLOAT))[None, None, :])
        if shade:
            ramp = np.linspace(-shade, shade, y1 - y0, dtype=FLOAT)[:, None, None]
            fill = fill * (1.0 + ramp)
        a = alpha[..., None]
        region = self.img[y0:y1, x0:x1]
        region *= 1.0 - a
        region += a * np.clip(fill, 0.005, 1.0)

    def _box(self, cy: float, cx: float, ry: float, rx: float) -> tuple[int, int, int, int]:
        y0 = max(0, int(np.floor(cy - ry - 2)))
        y1 = min(self.h, int(np.ceil(cy + ry + 2)))
        x0 = max(0, int(np.floor(cx - rx - 2)))
        x1 = min(self.w, int(np.ceil(cx + rx + 2)))
        return y0, y1, x0, x1

    def ellipse(self, cy, cx, ry, rx, angle=0.0, soft=1.0):
        """Alpha mask (box-sized) and box of a rotated ellipse; ``soft`` = edge width in pixels."""
        r = max(ry, rx)
        box = self._box(cy, cx, r, r)
        y0, y1, x0, x1 = box
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(FLOAT)
        dy, dx = yy - cy, xx - cx
        c, s = np.cos(angle), np.sin(angle)
        u = (dx * c + dy * s) / rx
        v = (-dx * s + dy * c) / ry
        d = (np.sqrt(u * u + v * v) - 1.0) * min(rx, ry)  # approx. signed distance in pixels
        return np.clip(0.5 - d / soft, 0.0, 1.0).astype(FLOAT), box

    def polygon(self, cy, cx, radius, n, angle=0.0, aspect=1.0, soft=1.0, jitter=0.35):
        """Alpha mask and box of a random convex polygon (vertices at sorted random angles)."""
        rng = self.rng
        steps = rng.uniform(1 - jitter, 1 + jitter, n)
        angles = angle + np.cumsum(steps) / steps.sum() * 2 * np.pi
        py = cy + radius * aspect * np.sin(angles)
        px = cx + radius * np.cos(angles)
        box = self._box(cy, cx, radius * max(aspect, 1.0), radius * max(aspect, 1.0))
        y0, y1, x0, x1 = box
        yy = np.arange(y0, y1, dtype=FLOAT)[:, None]
        xx = np.arange(x0, x1, dtype=FLOAT)[None, :]
        d = np.full((y1 - y0, x1 - x0), -np.inf, dtype=FLOAT)
        for i in range(n):
            ay, ax = py[i], px[i]
            by, bx = py[(i + 1) % n], px[(i + 1) % n]
            ny, nx = bx - ax, -(by - ay)
            norm = np.hypot(ny, nx) or 1.0
            ny, nx = ny / norm, nx / norm
            if (cy - ay) * ny + (cx - ax) * nx > 0:  # orient the normal outward
                ny, nx = -ny, -nx
            np.maximum(d, (yy - ay) * ny + (xx - ax) * nx, out=d)
        return np.clip(0.5 - d / soft, 0.0, 1.0).astype(FLOAT), box

    def rect(self, y0f, x0f, y1f, x1f, soft=1.0):
        box = (max(0, int(y0f) - 1), min(self.h, int(np.ceil(y1f)) + 1),
               max(0, int(x0f) - 1), min(self.w, int(np.ceil(x1f)) + 1))
        y0, y1, x0, x1 = box
        if y1 <= y0 or x1 <= x0:
            return np.zeros((0, 0), FLOAT), (0, 0, 0, 0)
        yy = np.arange(y0, y1, dtype=FLOAT)[:, None] + 0.5
        xx = np.arange(x0, x1, dtype=FLOAT)[None, :] + 0.5
        ay = np.clip(np.minimum(yy - y0f, y1f - yy) / soft + 0.5, 0, 1)
        ax = np.clip(np.minimum(xx - x0f, x1f - xx) / soft + 0.5, 0, 1)
        return (ay * ax).astype(FLOAT), box

    def line(self, y0f, x0f, y1f, x1f, width, soft=1.0):
        pad = width + 2
        box = (max(0, int(min(y0f, y1f) - pad)), min(self.h, int(max(y0f, y1f) + pad)),
               max(0, int(min(x0f, x1f) - pad)), min(self.w, int(max(x0f, x1f) + pad)))
        y0, y1, x0, x1 = box
        if y1 <= y0 or x1 <= x0:
            return np.zeros((0, 0), FLOAT), box
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(FLOAT)
        dy, dx = y1f - y0f, x1f - x0f
        length2 = dy * dy + dx * dx or 1.0
        t = np.clip(((yy - y0f) * dy + (xx - x0f) * dx) / length2, 0, 1)
        dist = np.hypot(yy - (y0f + t * dy), xx - (x0f + t * dx))
        return np.clip((width / 2 - dist) / soft + 0.5, 0, 1).astype(FLOAT), box

    def fill(self, y0, y1, color_top, color_bottom, texture_amount=0.1, alpha_map=None):
        """Vertical gradient band (rows y0..y1) with a 1/f texture, optionally through an alpha map."""
        y0, y1 = max(0, int(y0)), min(self.h, int(y1))
        if y1 <= y0:
            return
        t = np.linspace(0, 1, y1 - y0, dtype=FLOAT)[:, None, None]
        grad = color_top[None, None, :] * (1 - t) + color_bottom[None, None, :] * t
        tex = self.texture(y0, y1, 0, self.w, "pink") * (texture_amount / 0.25)
        band = grad * (1 + tex[..., None])
        if alpha_map is None:
            self.img[y0:y1] = np.clip(band, 0.005, 1.5)
        else:
            a = alpha_map[y0:y1, :, None]
            self.img[y0:y1] = self.img[y0:y1] * (1 - a) + a * np.clip(band, 0.005, 1.5)

    # -- generic object clutter -------------------------------------------------------------
    def objects(self, count: int, y_range=(0.0, 1.0), size=(0.03, 0.25), palette_hue=None):
        rng = self.rng
        h, w = self.h, self.w
        for _ in range(count):
            cy = rng.uniform(*y_range) * h
            cx = rng.uniform(0, 1) * w
            r = float(np.exp(rng.uniform(np.log(size[0]), np.log(size[1])))) * min(h, w)
            hue = None if palette_hue is None or rng.uniform() < 0.4 else palette_hue + rng.normal(0, 0.08)
            color = random_color(rng, hue)
            kind = rng.choice(["ellipse", "polygon", "rect", "rect", "polygon"])
            soft = float(rng.choice([1.0, 1.0, 1.5, 3.0]))
            if kind == "ellipse":
                alpha, box = self.ellipse(cy, cx, r * rng.uniform(0.4, 1.0), r, rng.uniform(0, np.pi), soft)
            elif kind == "polygon":
                alpha, box = self.polygon(cy, cx, r, int(rng.integers(3, 8)), rng.uniform(0, 6.3),
                                          rng.uniform(0.5, 1.5), soft)
            else:
                ry, rx = r * rng.uniform(0.3, 1.2), r * rng.uniform(0.3, 1.2)
                alpha, box = self.rect(cy - ry, cx - rx, cy + ry, cx + rx, soft)
            # Soft drop shadow below-right of the object.
            if rng.uniform() < 0.5:
                sy, sx = int(r * 0.15) + 1, int(r * 0.1) + 1
                sh = ndimage.gaussian_filter(alpha, r * 0.08 + 1)
                y0, y1, x0, x1 = box
                ty0, tx0 = min(h, y0 + sy), min(w, x0 + sx)
                ty1, tx1 = min(h, y1 + sy), min(w, x1 + sx)
                if ty1 > ty0 and tx1 > tx0:
                    self.img[ty0:ty1, tx0:tx1] *= (1 - 0.55 * sh[: ty1 - ty0, : tx1 - tx0])[..., None]
            self.paint(alpha, box, color, shade=rng.uniform(0, 0.4))

    def fine_lines(self, count: int, color=None, width=(0.6, 2.5)):
        rng = self.rng
        for _ in range(count):
            y0, x0 = rng.uniform(0, self.h), rng.uniform(0, self.w)
            length = rng.uniform(0.05, 0.6) * max(self.h, self.w)
            ang = rng.uniform(0, np.pi)
            alpha, box = self.line(y0, x0, y0 + length * np.sin(ang), x0 + length * np.cos(ang),
                                   rng.uniform(*width), 1.0)
            if alpha.size:
                c = random_color(rng, val=(0.02, 0.9), sat=(0.0, 0.5)) if color is None else color
                self.paint(alpha, box, c, texture="flat")


# ----------------------------------------------------------------------------------------------
# Styles
# ----------------------------------------------------------------------------------------------


def _standard(cv: Canvas) -> None:
    rng = cv.rng
    h, w = cv.h, cv.w
    indoor = rng.uniform() < 0.6
    if indoor:
        wall = random_color(rng, sat=(0.02, 0.35), val=(0.45, 0.9))
        floor = random_color(rng, sat=(0.1, 0.5), val=(0.2, 0.6))
        horizon = rng.uniform(0.45, 0.75) * h
        cv.fill(0, horizon, wall * 1.1, wall * 0.8, 0.04)
        cv.fill(horizon, h, floor * 0.8, floor * 1.1, 0.2)
        # A window / picture frame / door.
        for _ in range(int(rng.integers(1, 4))):
            y0 = rng.uniform(0.05, 0.4) * h
            x0 = rng.uniform(0, 0.8) * w
            alpha, box = cv.rect(y0, x0, y0 + rng.uniform(0.1, 0.4) * h, x0 + rng.uniform(0.08, 0.3) * w,
                                 1.0)
            cv.paint(alpha, box, random_color(rng), texture=rng.choice(["pink", "stripes", "flat"]))
    else:
        sky = np.array([0.35, 0.5, 0.85], FLOAT) * rng.uniform(0.7, 1.2)
        horizon = rng.uniform(0.3, 0.5) * h
        cv.fill(0, horizon, sky, sky * np.array([1.4, 1.3, 1.0], FLOAT), 0.05)
        ground = random_color(rng, sat=(0.05, 0.3), val=(0.25, 0.55))
        cv.fill(horizon, h, ground, ground * 1.2, 0.25)
        # Buildings / walls with windows.
        x = -rng.uniform(0, 0.1) * w
        while x < w:
            bw = rng.uniform(0.12, 0.35) * w
            top = rng.uniform(0.05, 0.35) * h
            alpha, box = cv.rect(top, x, horizon + rng.uniform(0.05, 0.2) * h, x + bw, 1.0)
            cv.paint(alpha, box, random_color(rng, sat=(0.05, 0.4), val=(0.3, 0.85)), texture="pink",
                     tex_amount=0.6)
            if rng.uniform() < 0.8:
                _windows(cv, top, x, horizon, x + bw, lit=False)
            x += bw + rng.uniform(0.0, 0.1) * w
    cv.objects(int(rng.integers(6, 16)), y_range=(0.25, 1.0), size=(0.03, 0.22))
    cv.fine_lines(int(rng.integers(2, 8)))


def _windows(cv: Canvas, top, x0, bottom, x1, lit: bool) -> None:
    rng = cv.rng
    ww = rng.uniform(0.012, 0.03) * cv.w
    gap = ww * rng.uniform(0.5, 1.5)
    wh = ww * rng.uniform(1.0, 1.8)
    vgap = wh * rng.uniform(0.4, 1.0)
    frame = random_color(rng, sat=(0.0, 0.2), val=(0.05, 0.3))
    y = top + vgap
    while y + wh < bottom - vgap:
        x = x0 + gap
        while x + ww < x1 - gap:
            alpha, box = cv.rect(y, x, y + wh, x + ww, 1.0)
            if not alpha.size:
                pass
            elif lit:
                on = rng.uniform() < 0.45
                color = (np.array([1.0, 0.8, 0.45], FLOAT) * rng.uniform(2.0, 8.0)) if on else frame * 0.3
                y0, y1, bx0, bx1 = box
                cv.img[y0:y1, bx0:bx1] = cv.img[y0:y1, bx0:bx1] * (1 - alpha[..., None]) + alpha[..., None] * color
            else:
                cv.paint(alpha, box, frame, texture="flat")
            x += ww + gap
        y += wh + vgap


def _landscape(cv: Canvas) -> None:
    rng = cv.rng
    h, w = cv.h, cv.w
    horizon = rng.uniform(0.3, 0.6) * h
    top = np.array([0.12, 0.25, 0.7], FLOAT) * rng.uniform(0.8, 1.3)
    bottom = np.array([0.55, 0.65, 0.85], FLOAT) * rng.uniform(0.9, 1.2)
    cv.fill(0, h, top, bottom, 0.02)
    # Clouds: soft thresholded 1/f noise.
    if rng.uniform() < 0.75:
        n = pink_noise(rng, h, w, 1.6)
        cover = rng.uniform(-0.2, 1.2)
        a = np.clip((n - cover) * rng.uniform(0.6, 1.5), 0, 1)[: int(horizon) + 1]
        white = np.array([0.95, 0.95, 0.95], FLOAT) * rng.uniform(0.8, 1.1)
        seg = cv.img[: a.shape[0]]
        seg[:] = seg * (1 - a[..., None]) + a[..., None] * white * (1 - 0.25 * n[: a.shape[0], :, None].clip(0, 2))
    # Mountain ridges, far (hazy) to near.
    for layer in range(int(rng.integers(1, 4))):
        profile = pink_noise(rng, 1, w, 1.8)[0] * rng.uniform(0.03, 0.12) * h
        base = horizon - rng.uniform(0.0, 0.12) * h + layer * 0.03 * h
        ridge = base + profile
        yy = np.arange(h, dtype=FLOAT)[:, None]
        alpha = np.clip(yy - ridge[None, :] + 0.5, 0, 1)
        haze = 0.6 - 0.2 * layer
        color = random_color(rng, hue=rng.uniform(0.2, 0.65), sat=(0.1, 0.4), val=(0.2, 0.5))
        color = color * (1 - haze) + bottom * haze
        y0 = int(max(0, ridge.min() - 1))
        cv.paint(alpha[y0:], (y0, h, 0, w), color, texture="pink", tex_amount=0.5)
    # Ground: textured, with a darker foreground.
    ground = random_color(rng, hue=rng.uniform(0.08, 0.35), sat=(0.3, 0.7), val=(0.2, 0.5))
    gy = int(horizon + rng.uniform(0.02, 0.1) * h)
    t = np.linspace(0, 1, h - gy, dtype=FLOAT)[:, None, None]
    tex = cv.texture(gy, h, 0, w, "pink") * 1.6
    cv.img[gy:] = np.clip(ground * (1.1 - 0.4 * t) * (1 + tex[..., None]), 0.005, 1.0)
    # Water, sometimes: a reflective band with horizontal ripples.
    if rng.uniform() < 0.3:
        wy0 = gy + rng.uniform(0.05, 0.3) * (h - gy)
        alpha, box = cv.rect(wy0, -5, wy0 + rng.uniform(0.1, 0.4) * (h - gy), w + 5, 1.0)
        cv.paint(alpha, box, bottom * 0.6, texture="stripes", tex_amount=0.5)
    # Trees and bushes: textured blobs with trunks.
    for _ in range(int(rng.integers(2, 10))):
        cx = rng.uniform(0, w)
        cy = rng.uniform(horizon, h)
        r = rng.uniform(0.03, 0.15) * h * (0.5 + (cy - horizon) / (h - horizon + 1))
        trunk, box = cv.rect(cy, cx - r * 0.08, cy + r * 1.2, cx + r * 0.08, 1.0)
        cv.paint(trunk, box, random_color(rng, hue=0.07, sat=(0.3, 0.6), val=(0.1, 0.3)), texture="pink")
        alpha, box = cv.ellipse(cy - r * 0.3, cx, r * rng.uniform(0.8, 1.5), r, 0.0, 1.5)
        cv.paint(alpha, box, random_color(rng, hue=rng.uniform(0.2, 0.38), sat=(0.4, 0.8), val=(0.15, 0.45)),
                 texture="pink", tex_amount=2.0, shade=0.3)
    cv.fine_lines(int(rng.integers(0, 6)), width=(0.6, 1.5))  # branches, wires, grass blades


def _portrait(cv: Canvas) -> None:
    rng = cv.rng
    h, w = cv.h, cv.w
    # Soft background (out of focus).
    bg = Canvas.__new__(Canvas)
    bg.rng, bg.h, bg.w, bg.bank = rng, h, w, cv.bank
    bg.img = np.zeros_like(cv.img)
    c1, c2 = random_color(rng, val=(0.3, 0.8)), random_color(rng, val=(0.2, 0.7))
    bg.fill(0, h, c1, c2, 0.1)
    bg.objects(int(rng.integers(4, 10)), size=(0.05, 0.3))
    blur = rng.uniform(2.0, 8.0) * h / 384
    cv.img = np.stack([blur_large(bg.img[..., c], blur) for c in range(3)], axis=-1)
    # Person: shoulders/body, neck, head, hair, eyes, mouth.
    cx = w * rng.uniform(0.35, 0.65)
    head_r = h * rng.uniform(0.12, 0.2)
    cy = h * rng.uniform(0.3, 0.45)
    skin = random_color(rng, hue=rng.uniform(0.03, 0.1), sat=(0.25, 0.55), val=(0.35, 0.9))
    cloth = random_color(rng, sat=(0.2, 0.8), val=(0.1, 0.8))
    alpha, box = cv.ellipse(cy + head_r * 3.2, cx, head_r * 2.0, head_r * 2.4, 0.0, 1.5)
    cv.paint(alpha, box, cloth, texture=rng.choice(["stripes", "pink", "checker"]), shade=0.3)
    alpha, box = cv.rect(cy + head_r * 0.6, cx - head_r * 0.35, cy + head_r * 1.4, cx + head_r * 0.35, 2.0)
    cv.paint(alpha, box, skin * 0.85, texture="flat")
    hair = random_color(rng, hue=rng.uniform(0.02, 0.12), sat=(0.2, 0.7), val=(0.05, 0.6))
    alpha, box = cv.ellipse(cy - head_r * 0.15, cx, head_r * 1.12, head_r * 0.95, 0.0, 1.5)
    cv.paint(alpha, box, hair, texture="stripes", shade=0.2)
    alpha, box = cv.ellipse(cy + head_r * 0.1, cx, head_r * 1.0, head_r * 0.78, 0.0, 2.0)
    cv.paint(alpha, box, skin, texture="flat", shade=0.25)
    for side in (-1, 1):
        alpha, box = cv.ellipse(cy, cx + side * head_r * 0.32, head_r * 0.07, head_r * 0.13, 0.0, 1.0)
        cv.paint(alpha, box, np.array([0.03, 0.025, 0.02], FLOAT), texture="flat")
    alpha, box = cv.ellipse(cy + head_r * 0.5, cx, head_r * 0.06, head_r * 0.25, 0.0, 1.5)
    cv.paint(alpha, box, skin * np.array([0.8, 0.45, 0.45], FLOAT), texture="flat")
    # Flyaway hairs: fine lines at the top of the head.
    for _ in range(int(rng.integers(5, 20))):
        a = rng.uniform(-2.6, -0.5)
        y0, x0 = cy + head_r * 0.9 * np.sin(a), cx + head_r * 0.9 * np.cos(a)
        alpha, box = cv.line(y0, x0, y0 + head_r * 0.4 * np.sin(a), x0 + head_r * 0.4 * np.cos(a + 0.3), 0.8)
        if alpha.size:
            cv.paint(alpha, box, hair, texture="flat")


def _night(cv: Canvas) -> None:
    rng = cv.rng
    h, w = cv.h, cv.w
    sky = np.array([0.02, 0.03, 0.07], FLOAT) * rng.uniform(0.5, 2.0)
    cv.fill(0, h, sky, sky * 3, 0.05)
    horizon = rng.uniform(0.6, 0.85) * h
    x = -rng.uniform(0, 0.1) * w
    while x < w:
        bw = rng.uniform(0.08, 0.3) * w
        top = rng.uniform(0.1, 0.55) * h
        alpha, box = cv.rect(top, x, h, x + bw, 1.0)
        cv.paint(alpha, box, random_color(rng, sat=(0.0, 0.3), val=(0.03, 0.15)), texture="pink")
        _windows(cv, top, x, horizon, x + bw, lit=True)
        x += bw + rng.uniform(0, 0.05) * w
    # Street: dark ground, lamps with glow.
    ground = random_color(rng, sat=(0.0, 0.2), val=(0.04, 0.12))
    cv.fill(horizon, h, ground, ground * 2, 0.3)
    cv.objects(int(rng.integers(2, 6)), y_range=(0.7, 1.0), size=(0.03, 0.12))
    glow = np.zeros((h, w), FLOAT)
    for _ in range(int(rng.integers(2, 8))):
        ly, lx = rng.uniform(0.2, 0.8) * h, rng.uniform(0, w)
        pole, box = cv.line(ly, lx, h, lx, rng.uniform(1.5, 4.0))
        if pole.size:
            cv.paint(pole, box, np.array([0.05, 0.05, 0.05], FLOAT), texture="flat")
        alpha, box = cv.ellipse(ly, lx, rng.uniform(3, 8), rng.uniform(3, 8), 0, 1.5)
        y0, y1, x0, x1 = box
        glow[y0:y1, x0:x1] += alpha * rng.uniform(10, 40)
    glow = glow + blur_large(glow, 6.0) * 0.6 + blur_large(glow, 25.0) * 1.5
    lamp = np.array([1.0, 0.75, 0.4], FLOAT)
    cv.img += glow[..., None] * lamp


_STYLE_FUNCS = {"standard": _standard, "landscape": _landscape, "portrait": _portrait, "night": _night}


def render_scene(rng: np.random.Generator, height: int, width: int, style: str | int = "standard",
                 supersample: int = 2) -> np.ndarray:
    """Render a procedural scene: (height*supersample, width*supersample, 3) float64 linear radiance.

    ``style`` is one of ``SCENE_STYLES`` or its index (the EXIF SceneCaptureType code). The scene is
    lit by a smooth, slightly uneven illumination field; its overall level is arbitrary (the camera
    meters it), but night scenes are dark with bright light sources.
    """
    if not isinstance(style, str):
        style = SCENE_STYLES[int(style)]
    h, w = height * supersample, width * supersample
    cv = Canvas(rng, h, w)
    _STYLE_FUNCS[style](cv)
    # Uneven illumination: a smooth multiplicative field and a gentle directional gradient (vignetting
    # is not added here: it belongs to the lens).
    light = 1.0 + 0.25 * smooth_field(rng, h, w, 0.5)
    gy = np.linspace(-1, 1, h, dtype=FLOAT)[:, None] * rng.uniform(-0.15, 0.15)
    gx = np.linspace(-1, 1, w, dtype=FLOAT)[None, :] * rng.uniform(-0.15, 0.15)
    light = np.clip(light + gy + gx, 0.4, 1.8)
    img = cv.img * light[..., None]
    return np.ascontiguousarray(np.maximum(img, 0.0), dtype=FLOAT)


def area_downsample(img: np.ndarray, factor: int) -> np.ndarray:
    """Average ``factor`` x ``factor`` blocks (the pixel aperture of a sensor with 100% fill factor)."""
    if factor == 1:
        return img
    h, w = img.shape[0] // factor, img.shape[1] // factor
    acc = np.zeros((h, w, *img.shape[2:]), dtype=FLOAT)
    for dy in range(factor):
        for dx in range(factor):
            acc += img[dy : h * factor : factor, dx : w * factor : factor]
    acc *= FLOAT(1.0 / (factor * factor))
    return acc


def display(img: np.ndarray) -> np.ndarray:
    """Quick neutral rendering of linear radiance to uint8 sRGB (auto exposure on the mean), for
    previews and for the generated stand-ins' content."""
    m = float(np.mean(img)) or 1.0
    x = np.clip(img * (0.18 / m), 0, 1)
    return (np.clip(linear_to_srgb(x), 0, 1) * 255 + 0.5).astype(np.uint8)
