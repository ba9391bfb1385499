"""Names of what the premise measurements run: training fractions and extractors.

Every extractor is measured on the same photos: ``pretext_f<percent>`` is the pretext network trained
on that share of the training photos (``pretext_f100`` is the pipeline's own pretext model), ``random``
the same architecture with the evaluation's seeded random weights, ``srm_stats`` the 90 SRM residual
statistics of :mod:`sdaie.evaluate.srm_stats` (nothing learned).
"""

from __future__ import annotations

import math

RANDOM, SRM_STATS = "random", "srm_stats"
REFERENCES = (RANDOM, SRM_STATS)
CATEGORICAL = ("make", "model")  # accuracy against the majority class
ORDINAL = ("iso", "exposure_time")  # pairwise ranking accuracy against 0.5


def fraction_label(fraction: float) -> str:
    """0.25 -> "f25", 1.0 -> "f100", 0.125 -> "f12.5"."""
    return f"f{round(fraction * 100, 6):g}"


def pretext_name(fraction: float) -> str:
    return f"pretext_{fraction_label(fraction)}"


def check_fractions(fractions: list[float]) -> list[float]:
    """Sorted distinct fractions in (0, 1] with distinct labels; ValueError otherwise."""
    out = sorted(set(float(f) for f in fractions))
    if not out:
        raise ValueError("premise.fractions is empty")
    for f in out:
        if not (0 < f <= 1) or not math.isfinite(f):
            raise ValueError(f"premise.fractions: {f} is not in (0, 1]")
    labels = [fraction_label(f) for f in out]
    if len(set(labels)) != len(labels):
        raise ValueError(f"premise.fractions {out} give the same label twice ({labels})")
    return out


def extractor_names(fractions: list[float]) -> list[str]:
    return [pretext_name(f) for f in check_fractions(fractions)] + list(REFERENCES)
