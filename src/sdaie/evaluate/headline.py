"""The evaluation's headline: each learned detector's mean AUC against the two no-learning baselines.

    random_oneclass   the same architecture with random weights + the same GMM recipe
    srm_stats         a GMM on SRM residual statistics

A learned detector that does not beat both has learned nothing these images need: the baselines see
the same pixels through the same SRM front end. The headline says so in one sentence per detector, at
the top of the report and in metrics.json (`headline`), where tests and `dvc metrics` read it.
"""

from __future__ import annotations

import polars as pl

from sdaie.evaluate.metrics import MEAN

BASELINES = {"random_oneclass": "random weights", "srm_stats": "SRM statistics"}
LEARNED = {"oneclass": "The one-class detector", "binary": "The binary detector"}
LEVEL = 0.02  # AUC differences below this count as level


def headline(metrics: pl.DataFrame, perturbation: str = "none") -> dict:
    """{"perturbation", "detectors": {name: {mean_auc, vs_<baseline>, beats_baselines}}, "sentences": [...]}."""
    means = metrics.filter((pl.col("generator") == MEAN) & (pl.col("perturbation") == perturbation))
    auc = {d: a for d, a in means.select("detector", "auc").iter_rows()}
    baselines = {b: auc[b] for b in BASELINES if b in auc}
    result = {"perturbation": perturbation, "detectors": {}, "sentences": []}
    for detector, label in LEARNED.items():
        if detector not in auc:
            continue
        mine = auc[detector]
        entry = {"mean_auc": round(mine, 4)}
        entry.update({f"vs_{b}": round(mine - a, 4) for b, a in baselines.items()})
        entry["beats_baselines"] = bool(baselines) and all(mine > a + LEVEL for a in baselines.values())
        result["detectors"][detector] = entry
        result["sentences"].append(_sentence(label, mine, baselines, entry["beats_baselines"]))
    return result


def _sentence(label: str, mine: float, baselines: dict[str, float], beats: bool) -> str:
    against = ", ".join(f"{BASELINES[b]} {a:.2f}" for b, a in baselines.items())
    if not baselines:
        return f"{label}: mean AUC {mine:.2f} (no baseline was scored)."
    chance = " (0.5 is chance)" if abs(mine - 0.5) < 0.05 else ""
    if beats:
        return (f"{label}: mean AUC {mine:.2f}, above both no-learning baselines ({against}): what it learned "
                "separates these images better than random filters or residual statistics do.")
    level = [BASELINES[b] for b, a in baselines.items() if mine <= a + LEVEL]
    return (f"{label}: mean AUC {mine:.2f}{chance}, not above {' or '.join(level)} ({against}): on these images its "
            "features add nothing a network that learned nothing already has.")
