"""Generated-image *stand-ins*: two synthesis processes with no camera in the loop.

These are not real generative models and are named "stand-in" everywhere. They take the same kind of
procedural content as the photos (``scenes.render_scene``), so the difference to the photos lies in
the fine structure that each synthesis process leaves, not in the picture content:

``standin_upconv``
    A transposed-convolution upsampling decoder with fixed, seeded "learned-like" weights: the scene is
    encoded as a low-resolution feature map (colour plus noise "style" channels, mixed by a random
    orthogonal matrix), then two decoder blocks each do zero-insertion x2 upsampling with a 4 x 4
    kernel per channel (a bilinear kernel plus a random perturbation whose two phases no longer sum to
    the same weight), a 3 x 3 refinement convolution, near-identity channel mixing, a leaky-ReLU and
    noise injection; a final projection maps back to RGB. The uneven kernel overlap leaves the periodic
    checkerboard pattern (spectral peaks at 1/2 and 1/4 cycles per pixel) that real GAN and VAE
    decoders leave.

``standin_denoiser``
    An iterative denoiser, DDIM-like: start from Gaussian noise and over a few dozen steps of a cosine
    noise schedule move towards the content; at each step the "model" predicts the clean image as a
    mix of a coarse-to-fine view of the content and a denoised (Gaussian, then edge-aware) copy of the
    current sample, and the sampler re-noises with decreasing noise (eta > 0). The result has the smooth,
    low-noise, slightly blotchy textures of diffusion output, with no sensor noise, CFA or JPEG traces.

With ``standin_finish: photo_like`` (``make_photo_like_standin``) the upconv decoder also gets skip
connections that carry the content's fine detail, and both are *finished like photos*
(``finish_like_photo``): signal-dependent noise at the photos' levels, added to every RGB value
independently, and JPEG compression at the cameras' qualities. What they then share with the photos: scene content, overall noise level, JPEG format and
quantization. What they lack: everything a camera's pipeline leaves -- colour filter array sampling
and demosaicing, sensor noise shaped by noise reduction and sharpening, a camera's own JPEG tables,
optics. They are written as JPEG without EXIF. By default (``standin_finish: none``, the README's
demo) they stay as synthesised and are written as PNG.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from scipy import ndimage

from .scenes import (FLOAT, SCENE_STYLES, area_downsample, blur_large, linear_to_srgb, mix_channels, pink_noise,
                     render_scene)

GENERATORS: dict[str, str] = {
    "standin_upconv": "stand-in for a GAN/VAE decoder: transposed-convolution x2 upsampling (2 blocks, "
    "fixed seeded weights) from a 1/4-resolution feature map; periodic checkerboard spectra",
    "standin_denoiser": "stand-in for a diffusion model: DDIM-like iterative denoiser (cosine schedule, "
    "Gaussian and edge-aware denoise operators) from pure noise towards the content; smooth, "
    "low-noise textures",
}
STYLE_PRIORS = (0.5, 0.25, 0.15, 0.1)  # standard, landscape, portrait, night (like the cameras' average)


def scene_content(rng: np.random.Generator, height: int, width: int) -> tuple[int, np.ndarray]:
    """Scene style and its neutral display rendering in [0, 1] (float64, h x w x 3)."""
    style = int(rng.choice(len(SCENE_STYLES), p=STYLE_PRIORS))
    scene = area_downsample(render_scene(rng, height, width, style, supersample=2), 2)
    lum = mix_channels(scene, [0.2126, 0.7152, 0.0722])
    level = float(np.exp(np.mean(np.log(np.maximum(lum, 1e-4))))) * 0.6 + float(lum.mean()) * 0.4
    x = np.clip(scene * (0.2 / max(level, 1e-6)), 0, 1)
    return style, linear_to_srgb(x).astype(FLOAT)


# ----------------------------------------------------------------------------------------------
# Transposed-convolution decoder
# ----------------------------------------------------------------------------------------------


def _transposed_conv2x(h: np.ndarray, kernels: np.ndarray) -> np.ndarray:
    """Depthwise stride-2 transposed convolution: zero insertion, then a 4 x 4 kernel per channel."""
    c, hh, ww = h.shape
    up = np.zeros((c, hh * 2, ww * 2), FLOAT)
    up[:, ::2, ::2] = h * 4.0  # the kernel's taps over one output phase sum to 1/4 of the total
    out = np.empty_like(up)
    for i in range(c):
        out[i] = ndimage.correlate(up[i], kernels[i], mode="mirror", origin=(-1, -1))
    return out


def _depthwise3(h: np.ndarray, kernels: np.ndarray) -> np.ndarray:
    return np.stack([ndimage.correlate(h[i], kernels[i], mode="mirror") for i in range(h.shape[0])])


def _mix(h: np.ndarray, m: np.ndarray) -> np.ndarray:
    return np.moveaxis(mix_channels(np.moveaxis(h, 0, -1), m), -1, 0)


def upconv_decoder(rng: np.random.Generator, content: np.ndarray, stages: int = 2, channels: int = 8,
                   perturbation: float = 0.06, skip: float = 0.0) -> np.ndarray:
    """Decode ``content`` (h x w x 3 in [0, 1]) through a seeded transposed-convolution decoder.

    ``skip`` > 0 adds that share of the content's own fine detail (above ~1/8 cycle per pixel) to the
    output, as a decoder with full-resolution skip connections (a U-Net) carries it."""
    h, w = content.shape[:2]
    f = 2**stages
    hp, wp = -(-h // f) * f, -(-w // f) * f
    padded = np.pad(content, ((0, hp - h), (0, wp - w), (0, 0)), mode="edge")
    latent = area_downsample(padded, f)  # (hp/f, wp/f, 3)
    lh, lw = latent.shape[:2]
    style = np.stack([pink_noise(rng, lh, lw, 1.0) * 0.25 for _ in range(channels - 3)])
    feats = np.concatenate([np.moveaxis(latent, -1, 0) * 2 - 1, style]).astype(FLOAT)

    q, _ = np.linalg.qr(rng.standard_normal((channels, channels)))
    lin = q.copy()  # the linear part of the network, to build the output projection
    x = _mix(feats, q.astype(FLOAT))
    bilinear = np.outer([1, 3, 3, 1], [1, 3, 3, 1]).astype(FLOAT) / 64.0
    for _ in range(stages):
        k4 = bilinear[None] * (1 + perturbation * rng.standard_normal((channels, 4, 4)).astype(FLOAT))
        k4 += perturbation * 0.02 * rng.standard_normal((channels, 4, 4)).astype(FLOAT)
        x = _transposed_conv2x(x, k4)
        a = rng.uniform(0.05, 0.25, channels).astype(FLOAT)  # learned-like sharpening 3 x 3 kernels
        k3 = np.zeros((channels, 3, 3), FLOAT)
        k3[:, 1, 1] = 1 + 4 * a
        k3[:, 0, 1] = k3[:, 2, 1] = k3[:, 1, 0] = k3[:, 1, 2] = -a
        k3 += 0.03 * rng.standard_normal((channels, 3, 3)).astype(FLOAT)
        k3 /= k3.sum(axis=(1, 2), keepdims=True)
        x = _depthwise3(x, k3)
        m = np.eye(channels) + 0.08 * rng.standard_normal((channels, channels))
        x = _mix(x, m.astype(FLOAT))
        lin = _mix(lin, m)  # m @ lin
        bias = rng.uniform(0.6, 1.4, channels).astype(FLOAT)[:, None, None]
        x = np.where(x + bias > 0, x, 0.2 * (x + bias) - bias)  # leaky ReLU around a learned bias
        x += 0.012 * rng.standard_normal(x.shape, dtype=FLOAT)  # noise injection
    proj = np.linalg.inv(lin)[:3].astype(FLOAT)
    rgb = np.moveaxis(_mix(x, proj), 0, -1)[:h, :w]
    out = (rgb + 1) / 2
    if skip > 0:
        out = out + FLOAT(skip) * (content - _blur(content, 1.5))
    return np.clip(out, 0, 1)


# ----------------------------------------------------------------------------------------------
# Iterative denoiser
# ----------------------------------------------------------------------------------------------


def _blur(x: np.ndarray, sigma: float) -> np.ndarray:
    if sigma < 0.2:
        return x
    if sigma > 2.5:  # large blurs on a decimated copy
        return np.stack([blur_large(x[..., c], sigma) for c in range(x.shape[-1])], axis=-1)
    return ndimage.gaussian_filter(x, (sigma, sigma, 0), mode="mirror", truncate=3.0)


def _edge_aware(x: np.ndarray, strength: float) -> np.ndarray:
    """Edge-preserving smoothing: blend towards a blurred copy where local differences are small."""
    smooth = _blur(x, 1.0)
    d = x - smooth
    s = 1.4826 * float(np.median(np.abs(d))) + 1e-4
    wgt = strength / (1 + (np.abs(d).sum(axis=-1, keepdims=True) / (3 * s)) ** 2)
    return x - wgt * d


def diffusion_sampler(rng: np.random.Generator, content: np.ndarray, steps: int = 20, eta: float = 0.4,
                      guidance: float = 0.8) -> np.ndarray:
    """DDIM-like sampling from noise towards ``content`` (h x w x 3 in [0, 1])."""
    target = (content * 2 - 1).astype(FLOAT)
    # Coarse-to-fine views of the content (a small Gaussian pyramid, interpolated between levels).
    scales = [0.0, 0.75, 1.5, 3.0, 6.0, 12.0]
    views = [target] + [_blur(target, sc) for sc in scales[1:]]
    t = np.linspace(1, 0, steps + 1)
    alpha_bar = np.cos((t + 0.008) / 1.008 * np.pi / 2) ** 2 / np.cos(0.008 / 1.008 * np.pi / 2) ** 2
    alpha_bar = np.clip(alpha_bar, 1e-4, 1.0)
    x = rng.standard_normal(content.shape, dtype=FLOAT)
    x0 = x
    for i in range(steps):
        ab, ab_prev = float(alpha_bar[i]), float(alpha_bar[i + 1])
        sigma_t = float(np.sqrt((1 - ab) / ab))  # noise level of x / sqrt(ab) around the clean image
        # The "model": a denoised copy of the current sample ...
        denoised = _blur(x * FLOAT(1 / np.sqrt(ab)), min(8.0, max(0.7, 1.2 * sigma_t)))
        if sigma_t < 0.15:
            denoised = _edge_aware(denoised, 0.8)
        # ... pulled towards the content seen at a scale that shrinks with the noise level.
        scale = min(12.0, 3.0 * sigma_t)
        j = int(np.searchsorted(scales, scale))
        if j == 0:
            coarse = views[0]
        else:
            f = FLOAT((scale - scales[j - 1]) / (scales[j] - scales[j - 1]))
            coarse = views[j - 1] + f * (views[j] - views[j - 1])
        x0 = FLOAT(guidance) * coarse + FLOAT(1 - guidance) * denoised
        if ab_prev >= 1.0:
            break
        eps = (x - FLOAT(np.sqrt(ab)) * x0) * FLOAT(1 / np.sqrt(max(1 - ab, 1e-8)))
        sig = eta * np.sqrt((1 - ab_prev) / (1 - ab)) * np.sqrt(max(1 - ab / ab_prev, 0.0))
        x = FLOAT(np.sqrt(ab_prev)) * x0 + FLOAT(np.sqrt(max(1 - ab_prev - sig * sig, 0.0))) * eps
        x += FLOAT(sig) * rng.standard_normal(x.shape, dtype=FLOAT)
    return np.clip((x0 + 1) / 2, 0, 1)


def make_standin(generator: str, rng: np.random.Generator, width: int, height: int, *,
                 upconv_skip: float = 0.0) -> tuple[int, np.ndarray]:
    """Generate one stand-in image: (scene style, uint8 RGB h x w x 3)."""
    style, content = scene_content(rng, height, width)
    if generator == "standin_upconv":
        img = upconv_decoder(rng, content, skip=upconv_skip)
    elif generator == "standin_denoiser":
        img = diffusion_sampler(rng, content)
    else:
        raise ValueError(f"unknown stand-in generator {generator!r}")
    return style, (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


# ----------------------------------------------------------------------------------------------
# Photo-like finishing: noise and JPEG as photos have them, without a camera pipeline
# ----------------------------------------------------------------------------------------------

FINISH_QUALITIES = (75, 80, 85, 88, 90, 92, 95)  # the libjpeg qualities of the simulated cameras' range


def finish_like_photo(rng: np.random.Generator, img: np.ndarray, *, full_well: tuple[float, float] = (150.0, 6000.0),
                      grain: tuple[float, float] = (0.0, 0.0)) -> bytes:
    """Give a stand-in (uint8 RGB) the noise and JPEG statistics of a photo, but no camera pipeline.

    Signal-dependent Gaussian noise (shot plus read noise, in linear light, at a level drawn over the
    photos' ISO range) is added to each RGB value independently -- no colour filter array, no
    demosaicing, no noise reduction or sharpening that shapes a camera's noise -- and the result is
    JPEG-compressed at a quality and chroma subsampling drawn from the cameras' range. ``full_well``
    (electrons at white, drawn log-uniformly) and ``grain`` (a Gaussian blur, in pixels, of the noise
    field) set the noise; with the defaults the denoiser stand-in's SRM residual statistics came
    closest to the photos' (experiments/2026-12-04_demo_standins).
    """
    x = img.astype(FLOAT) / 255
    lin = np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)
    well = float(np.exp(rng.uniform(np.log(full_well[0]), np.log(full_well[1]))))
    read = float(rng.uniform(1.0, 6.0))
    sigma = np.sqrt(lin * well + read * read) / well
    white = rng.standard_normal(lin.shape, dtype=FLOAT)
    g = float(rng.uniform(*grain))
    if g > 0.05:
        white = ndimage.gaussian_filter(white, (g, g, 0), mode="mirror")
        white /= white.std()
    lin = np.clip(lin + sigma * white, 0, 1)
    out = (np.clip(linear_to_srgb(lin), 0, 1) * 255 + 0.5).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(out, "RGB").save(buf, "JPEG", quality=int(rng.choice(FINISH_QUALITIES)),
                                     subsampling=int(rng.choice([0, 1, 2])), optimize=False)
    return buf.getvalue()


# Photo-like stand-ins: the upconv decoder gets skip connections (fine detail as photos have it) and each
# generator is finished at the noise levels that bring its SRM residual statistics closest to the photos'
# (experiments/2026-12-04_demo_standins/residual_match.py).
PHOTO_LIKE: dict[str, dict] = {
    "standin_upconv": {"upconv_skip": 0.8, "full_well": (600.0, 20000.0)},
    "standin_denoiser": {"upconv_skip": 0.0, "full_well": (150.0, 6000.0)},
}


def make_photo_like_standin(generator: str, rng: np.random.Generator, width: int, height: int) -> tuple[int, bytes]:
    """One photo-like stand-in: (scene style, JPEG bytes)."""
    settings = PHOTO_LIKE[generator]
    style, img = make_standin(generator, rng, width, height, upconv_skip=settings["upconv_skip"])
    return style, finish_like_photo(rng, img, full_well=settings["full_well"])
