"""Matplotlib figures of the evaluation report (Agg backend, PNG)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402
from sklearn.metrics import roc_curve  # noqa: E402


AXES = {"jpeg": "JPEG quality", "blur": "Gaussian blur sigma (px)", "scale": "rescale factor"}


def roc_figure(scores: pl.DataFrame, path: Path, perturbation: str = "none") -> None:
    """ROC curves per generator, one panel per detector, for one perturbation."""
    scored = scores.filter(pl.col("error").is_null() & (pl.col("perturbation") == perturbation))
    detectors = sorted(scored["detector"].unique().to_list())
    generators = sorted(g for g in scored["generator"].unique().to_list() if g is not None)
    fig, axes = plt.subplots(1, max(1, len(detectors)), figsize=(4 * max(1, len(detectors)), 4), squeeze=False)
    for ax, detector in zip(axes[0], detectors):
        rows = scored.filter(pl.col("detector") == detector)
        real = rows.filter(pl.col("label") == 0)
        for generator in generators:
            fake = rows.filter(pl.col("generator") == generator)
            both = pl.concat([real, fake])
            if real.is_empty() or fake.is_empty():
                continue
            fpr, tpr, _ = roc_curve(both["label"].to_numpy(), both["score"].to_numpy())
            ax.plot(fpr, tpr, label=generator)
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
        ax.set(title=detector, xlabel="false-positive rate (real flagged)", ylabel="true-positive rate", xlim=(0, 1), ylim=(0, 1.01))
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(f"ROC curves, perturbation: {perturbation}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def robustness_figure(points: pl.DataFrame, path: Path, metric: str = "auc") -> None:
    axes_present = [a for a in AXES if a in points["axis"].unique().to_list()] or ["jpeg"]
    fig, axes = plt.subplots(1, len(axes_present), figsize=(4.2 * len(axes_present), 3.8), squeeze=False)
    for ax, axis in zip(axes[0], axes_present):
        rows = points.filter(pl.col("axis") == axis)
        for detector in sorted(rows["detector"].unique().to_list()):
            line = rows.filter(pl.col("detector") == detector)
            ax.plot(line["x"].to_numpy(), line["value"].to_numpy(), marker="o", label=detector)
        if axis == "jpeg":
            ticks = sorted(rows["x"].unique().to_list())
            ax.set_xticks(ticks, [("none" if t > 100 else f"{t:g}") for t in ticks], fontsize=7)
            ax.invert_xaxis()
        ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
        ax.set(xlabel=AXES[axis], ylabel=f"{metric} (mean over generators)", ylim=(0, 1.02))
        ax.legend(fontsize=7)
    fig.suptitle("Robustness to post-processing")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def training_figure(curves: pl.DataFrame, path: Path, title: str) -> None:
    """Validation metrics (and training loss) over steps from a trainer's metrics.csv."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    train = curves.filter((pl.col("kind") == "train") & (pl.col("name") == "loss"))
    if not train.is_empty():
        left.plot(train["step"].to_numpy(), train["value"].to_numpy(), linewidth=1)
    left.set(title="training loss", xlabel="step")
    val = curves.filter(pl.col("kind") == "val")
    for name in sorted(val["name"].unique().to_list()):
        line = val.filter(pl.col("name") == name).sort("step")
        right.plot(line["step"].to_numpy(), line["value"].to_numpy(), marker=".", label=name)
    right.set(title="validation", xlabel="step")
    if not val.is_empty():
        right.legend(fontsize=6, ncol=2)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def empty_figure(path: Path, message: str) -> None:
    fig, ax = plt.subplots(figsize=(4, 1.5))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center")
    fig.savefig(path, dpi=80)
    plt.close(fig)

