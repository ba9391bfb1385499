"""A fixed fraction of the training photos, stratified by camera and nested across fractions.

Used by pretext training (``pretext.train_fraction``) and by the premise measurements
(:mod:`sdaie.premise`), which must pick exactly the same photos: both call :func:`subset_mask`.

Rule. Photos are the distinct content hashes among the rows given (several crops of one photo are
one photo). Within each camera (``model_key``; photos without one form one stratum) the photos are
ranked by a hash bucket ``u`` of ``"subset:<content hash>"`` and the seed
(:func:`sdaie.tags.split_keys.bucket_python`; its own key, so the ranking is independent of the split's
buckets), and the camera gets an offset ``o`` in [0, 1) from the bucket of ``"camera:<model_key>"``. A photo of
rank ``r`` (0-based) among ``n`` photos of its camera is kept at fraction ``f`` when
``(r + o) / n < f``: systematic sampling with a random start. So

- a camera keeps ``floor(f n)`` or ``ceil(f n)`` photos, ``f n`` on average over cameras: a 25% subset
  holds about a quarter of every camera's photos, and a camera with a single photo is kept with
  probability ``f`` (not always, which would inflate small fractions with singletons);
- subsets are nested: every photo kept at 25% is kept at 50% and 100%;
- ``f = 1`` keeps everything. The result depends only on the rows (their content hashes and cameras),
  the fraction and the seed.
"""

from __future__ import annotations

import math

import numpy as np

from sdaie.tags.split_keys import bucket_python, fallback_key


def photo_subset(photos: dict[str, str | None], fraction: float, seed: int) -> set[str]:
    """Content hashes kept at ``fraction``; ``photos`` maps content hash -> camera (None = unknown)."""
    if not 0 < fraction <= 1 or not math.isfinite(fraction):
        raise ValueError(f"a training fraction must lie in (0, 1], got {fraction}")
    if fraction >= 1:
        return set(photos)
    cameras: dict[str | None, list[tuple[float, str]]] = {}
    for content_hash, camera in photos.items():
        u = bucket_python(fallback_key(f"subset:{content_hash}"), seed)
        cameras.setdefault(camera, []).append((u, content_hash))
    kept = set()
    for camera, members in cameras.items():
        members.sort()
        offset = bucket_python(fallback_key(f"camera:{camera}"), seed)
        n = len(members)
        kept.update(h for rank, (_, h) in enumerate(members) if (rank + offset) / n < fraction)
    return kept


def subset_mask(content_hashes: list[str | None], cameras: list[str | None], fraction: float, seed: int) -> np.ndarray:
    """Per row: whether its photo is in the subset (rows without a content hash are never kept below 1)."""
    photos: dict[str, str | None] = {}
    for content_hash, camera in zip(content_hashes, cameras):
        if content_hash is not None:
            photos.setdefault(content_hash, camera)
    kept = photo_subset(photos, fraction, seed)
    if fraction >= 1:
        return np.ones(len(content_hashes), bool)
    return np.array([h in kept for h in content_hashes], bool)
