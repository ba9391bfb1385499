"""The simulated traits are really in the pixels: noise vs ISO, blur vs f-number, JPEG tables, CFA and
demosaicing signatures, and the stand-ins' own fine structure."""

import dataclasses
import io

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from sdaie.demo import CAMERAS
from sdaie.demo.cameras import CAMERA_BY_SLUG
from sdaie.demo.exposure import sample_capture
from sdaie.demo.pipeline import demosaic, encode_jpeg, mosaic, simulate_photo
from sdaie.demo.scenes import area_downsample, render_scene
from sdaie.demo.standins import make_standin

W, H = 192, 128


def neutral_capture(camera, **changes):
    """A daylight, correctly exposed, shake-free capture of a standard scene."""
    c = sample_capture(camera, np.random.default_rng(3), W)
    c = dataclasses.replace(c, scene_capture_type=0, exposure_bias=0.0, shake_px=0.0, flash_fired=False,
                            illuminant="daylight", wb_preset="daylight", white_balance=1)
    return dataclasses.replace(c, **changes)


def jpeg_pixels(camera, capture, scene_seed=5, noise_seed=6):
    rgb = simulate_photo(camera, capture, width=W, height=H, scene_seed=scene_seed, noise_seed=noise_seed)
    with Image.open(io.BytesIO(encode_jpeg(camera, rgb, capture.jpeg_quality))) as im:
        return np.asarray(im.convert("RGB")).astype(np.float32)


def noise_residual_std(img):
    g = img.mean(axis=-1)
    return float((g - ndimage.median_filter(g, 3)).std())


def flat_area_noise(img):
    """Noise where the picture is flat: the lower quartile of the residual's std over 8 x 8 blocks."""
    g = img.astype(np.float32).mean(axis=-1)
    r = g - ndimage.median_filter(g, 3)
    h, w = (r.shape[0] // 8) * 8, (r.shape[1] // 8) * 8
    blocks = r[:h, :w].reshape(h // 8, 8, w // 8, 8).std(axis=(1, 3))
    return float(np.percentile(blocks, 25))


def high_frequency_energy(img):
    g = img.mean(axis=-1)
    return float(np.abs(g - ndimage.gaussian_filter(g, 1.0)).mean())


@pytest.mark.parametrize("camera", CAMERAS, ids=lambda c: c.slug)
def test_noise_grows_with_iso(camera):
    isos = [camera.iso_values[0], camera.iso_values[len(camera.iso_values) // 2], camera.iso_values[-1]]
    noise = [noise_residual_std(jpeg_pixels(camera, neutral_capture(camera, iso=iso))) for iso in isos]
    assert noise[0] < noise[1] < noise[2], noise
    assert noise[2] > 1.8 * noise[0], noise


@pytest.mark.parametrize("slug", ["simucam_pro_r5", "lumetra_mx4", "simucam_s1_compact"])
def test_blur_grows_with_f_number(slug):
    camera = CAMERA_BY_SLUG[slug]
    lens = camera.lenses[0]
    stops = [n for n in (lens.n_wide, 5.6, 8.0, 11.0, 16.0) if lens.n_wide <= n <= lens.n_max]
    energy = [high_frequency_energy(jpeg_pixels(camera, neutral_capture(
        camera, lens_index=0, f_number=n, iso=camera.iso_values[0]))) for n in stops]
    assert energy[-1] < 0.85 * max(energy[:2]), list(zip(stops, energy))
    assert energy[-1] == min(energy), list(zip(stops, energy))


def test_jpeg_quantization_tables_differ_between_cameras():
    rgb = (np.random.default_rng(0).uniform(0, 255, (64, 64, 3))).astype(np.uint8)
    tables = {}
    for camera in CAMERAS:
        quality = camera.jpeg_quality[0] if camera.jpeg_quality else None
        with Image.open(io.BytesIO(encode_jpeg(camera, rgb, quality))) as im:
            q = im.quantization
            tables[camera.slug] = tuple(tuple(q[k]) for k in sorted(q))
            assert im.layer[0][1:3] == {0: (1, 1), 1: (2, 1), 2: (2, 2)}[camera.subsampling]
    assert len(set(tables.values())) == len(CAMERAS)


def test_jpeg_tables_of_built_photos_identify_the_camera(tmp_path):
    from sdaie.demo import build_demo

    out = build_demo(tmp_path / "d", seed=0, cameras=6, photos_per_camera=2, generated_per_set=0, width=64,
                     height=64, workers=1).out_dir
    seen = {}
    for camera in CAMERAS:
        for f in (out / "photos" / camera.slug).iterdir():
            with Image.open(f) as im:
                seen.setdefault(camera.slug, set()).add(tuple(tuple(v) for v in im.quantization.values()))
    assert all(len(v) == 1 for v in seen.values())
    assert len({next(iter(v)) for v in seen.values()}) == len(CAMERAS)


def cfa_signature(img):
    """Per-channel 2 x 2 phase structure of the high-pass residual (log of normalised energy)."""
    feats = []
    for c in range(3):
        r = img[..., c] - ndimage.uniform_filter(img[..., c], 3)
        r = r[2:-2, 2:-2]
        e = np.array([[np.mean(r[i::2, j::2] ** 2) for j in range(2)] for i in range(2)]) + 1e-12
        feats.extend(np.log(e / e.mean()).ravel())
    return np.array(feats)


def test_each_cameras_cfa_and_demosaicing_leave_a_distinct_signature():
    scene = area_downsample(render_scene(np.random.default_rng(0), 96, 128, "standard"), 2)
    scene = scene / scene.max()
    runs = []
    for rep in range(2):
        noisy = scene + 0.02 * np.random.default_rng(rep).standard_normal(scene.shape).astype(np.float32)
        noisy = np.clip(noisy, 0, 1)
        runs.append(np.array([cfa_signature(demosaic(mosaic(noisy, c.cfa), c.cfa, c.demosaic)) for c in CAMERAS]))
    dist = np.sqrt(((runs[0][:, None] - runs[1][None]) ** 2).sum(-1))
    same = np.diag(dist)
    other = dist[~np.eye(len(CAMERAS), dtype=bool)]
    assert same.max() < 0.3 and other.min() > 2 * same.max(), np.round(dist, 2)


def test_cfa_phase_survives_jpeg_for_bilinear_cameras():
    """Through the whole pipeline and JPEG, the green channel's 2 x 2 residual structure follows the
    CFA layout: RGGB (green on the anti-diagonal) and GRBG (green on the diagonal) differ."""
    def green_phase(camera):
        vals = []
        for k in range(4):
            img = jpeg_pixels(camera, neutral_capture(camera, iso=camera.iso_values[0]), scene_seed=20 + k,
                              noise_seed=k)
            sig = cfa_signature(img)[4:8].reshape(2, 2)  # green channel
            vals.append((sig[0, 0] + sig[1, 1]) - (sig[0, 1] + sig[1, 0]))
        return np.array(vals)

    rggb = green_phase(CAMERA_BY_SLUG["simucam_s1_compact"])
    grbg = green_phase(CAMERA_BY_SLUG["lumetra_mx4"])
    assert rggb.max() < grbg.min(), (rggb, grbg)


def periodicity(img):
    """Power of the residual's spectrum at 1/4 cycle per pixel relative to neighbouring frequencies,
    averaged over the two axes (transposed-convolution decoders leave peaks there)."""
    g = img.astype(np.float64).mean(axis=-1)
    g = g - ndimage.uniform_filter(g, 3)
    ratios = []
    for axis in (0, 1):
        p = (np.abs(np.fft.rfft(g, axis=axis)) ** 2).mean(axis=1 - axis)
        k = g.shape[axis] // 4
        ratios.append(p[k] / np.median(np.r_[p[k - 4 : k - 1], p[k + 2 : k + 5]]))
    return float(np.mean(ratios))


def test_upconv_standin_has_a_periodic_spectral_peak_photos_do_not():
    upconv = [periodicity(make_standin("standin_upconv", np.random.default_rng(k), W, H)[1]) for k in range(6)]
    photos = []
    for camera in CAMERAS:
        for k in range(2):
            capture = sample_capture(camera, np.random.default_rng(10 + k), W)
            photos.append(periodicity(jpeg_pixels(camera, capture, scene_seed=30 + k, noise_seed=k)))
    assert np.median(upconv) > 3.0, upconv
    assert np.median(upconv) > 2.5 * np.median(photos), (upconv, photos)


def test_denoiser_standin_is_smoother_than_photos():
    denoised = [flat_area_noise(make_standin("standin_denoiser", np.random.default_rng(k), W, H)[1])
                for k in range(4)]
    photos = [flat_area_noise(jpeg_pixels(c, sample_capture(c, np.random.default_rng(k), W), scene_seed=40 + k))
              for c in CAMERAS[:4] for k in range(2)]
    assert np.median(denoised) < 0.5 * np.median(photos), (denoised, photos)


def test_standins_have_scene_content_like_photos():
    for name in ("standin_upconv", "standin_denoiser"):
        style, img = make_standin(name, np.random.default_rng(0), W, H)
        assert img.shape == (H, W, 3) and img.dtype == np.uint8
        assert 40 < img.mean() < 200 and img.std() > 20
        assert style in range(4)


def test_photo_like_finish_brings_stand_in_noise_to_the_photos_level():
    """The finishing adds noise to the smooth denoiser stand-in: its flat-area noise moves from far below
    the photos' (see above) into their range, and the result is a JPEG of the same size."""
    import io

    from PIL import Image

    from sdaie.demo.standins import finish_like_photo

    raw = [make_standin("standin_denoiser", np.random.default_rng(k), W, H)[1] for k in range(4)]
    finished = []
    for k, img in enumerate(raw):
        with Image.open(io.BytesIO(finish_like_photo(np.random.default_rng(k), img))) as im:
            assert im.format == "JPEG" and im.size == (W, H)
            finished.append(np.asarray(im.convert("RGB")))
    photos = [flat_area_noise(jpeg_pixels(c, sample_capture(c, np.random.default_rng(k), W), scene_seed=40 + k))
              for c in CAMERAS[:4] for k in range(2)]
    before = np.median([flat_area_noise(x) for x in raw])
    after = np.median([flat_area_noise(x) for x in finished])
    assert after > 2 * before, (before, after)
    assert min(photos) / 2 < after < 2 * max(photos), (after, photos)
