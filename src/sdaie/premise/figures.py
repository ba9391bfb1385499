"""The learning-curve figure: accuracy against the number of training photos, one panel per tag."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402

from sdaie.premise.measure import METHOD_NAMES  # noqa: E402
from sdaie.premise.plan import CATEGORICAL, ORDINAL  # noqa: E402

STYLES = {
    "pretext heads": dict(color="C0", marker="o"),
    "pretext + probe": dict(color="C0", marker="s", linestyle="--"),
    "random weights + probe": dict(color="C1", marker="^"),
    "SRM statistics + probe": dict(color="C2", marker="v"),
    "majority class": dict(color="grey", marker=".", linestyle=":"),
}


def learning_curve_figure(curve: pl.DataFrame, path: Path, title: str = "Camera metadata from pixels: learning curve") -> None:
    """``curve``: :func:`sdaie.premise.measure.learning_curve`. Error bars: the photo-bootstrap interval."""
    tags = [t for t in (*CATEGORICAL, *ORDINAL) if t in curve["tag"].unique().to_list()]
    fig, axes = plt.subplots(1, max(1, len(tags)), figsize=(3.6 * max(1, len(tags)), 3.6), squeeze=False)
    for ax, tag in zip(axes[0], tags):
        rows = curve.filter(pl.col("tag") == tag)
        for name in METHOD_NAMES.values():
            line = rows.filter(pl.col("name") == name).sort("fraction")
            if line.is_empty():
                continue
            x = line["training_photos"].to_numpy()
            y = line["value"].to_numpy()
            err = [y - line["ci_low"].to_numpy(), line["ci_high"].to_numpy() - y]
            ax.errorbar(x, y, yerr=err, capsize=3, label=name, **STYLES.get(name, {}))
        if tag in ORDINAL:
            ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
        ax.set(title=f"{tag} ({'accuracy' if tag in CATEGORICAL else 'pairwise ranking accuracy'})",
               xlabel="training photos", ylim=(0, 1.02))
        ax.set_xscale("log")
        ticks = sorted(set(rows["training_photos"].drop_nulls().to_list()))
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.minorticks_off()
    axes[0][0].legend(fontsize=7, loc="lower left")
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
