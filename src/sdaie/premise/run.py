"""The premise measurements from the pipeline's files to their outputs (rule premise_measure)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from sdaie.premise.data import EVAL, premise_data
from sdaie.premise.figures import learning_curve_figure
from sdaie.premise.measure import PremiseSettings, bootstrap_metrics, learning_curve, predictions
from sdaie.premise.plan import check_fractions, fraction_label

log = logging.getLogger(__name__)
OUTPUTS = ("predictions", "metrics", "comparisons", "curve", "summary", "figure")


def run_premise(*, tags: Path, index: list[Path], vocabulary: Path, features: dict[str, list[Path]],
                heads: dict[float, Path], settings: PremiseSettings, subset_seed: int, outputs: dict[str, Path]) -> dict:
    """Measure, and write ``outputs`` (keys: OUTPUTS): predictions.parquet, metrics.parquet, comparisons.parquet,
    learning_curve.csv, summary.json, learning_curve.png. Returns the summary."""
    fractions = check_fractions(settings.fractions)
    vocab = json.loads(Path(vocabulary).read_text())
    data = premise_data(tags, index, vocab, features, fractions, subset_seed)
    if len(data.rows(EVAL)) == 0:
        raise ValueError("no evaluation photo: no pretext_val photo of a camera model seen in training "
                         "(use tags.split.group_by: camera_burst, and cameras with several photos)")
    from threadpoolctl import threadpool_limits

    # one BLAS thread (as the probes): the bootstrap's matrices are small
    with threadpool_limits(limits=1):
        table, fits = predictions(data, heads, settings)
        groups = data.photos["split_group"].to_numpy()[data.rows(EVAL)]
        metrics, comparisons = bootstrap_metrics(table, groups, settings)
    curve = learning_curve(metrics, data.counts)
    for path in outputs.values():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    evaluation = data.photos[data.rows(EVAL)]
    table.join(evaluation.select("dataset", "path", "split_group").with_row_index("photo").cast({"photo": table["photo"].dtype}),
               on="photo", how="left").write_parquet(outputs["predictions"])
    metrics.write_parquet(outputs["metrics"])
    comparisons.write_parquet(outputs["comparisons"])
    curve.write_csv(outputs["curve"])
    learning_curve_figure(curve, Path(outputs["figure"]))
    model_names = vocab["tags"]["model"]["values"]
    per_camera = (evaluation.group_by("model_idx").len().sort("len", descending=True).to_dicts())
    summary = {
        "settings": {**vars(settings), "fractions": fractions, "subset_seed": subset_seed},
        "counts": data.counts,
        "evaluation_cameras": {model_names[int(r["model_idx"])]: int(r["len"]) for r in per_camera},
        "evaluation_groups": int(len(np.unique(groups))),
        "probes": fits,
        "fractions": {fraction_label(f): f for f in fractions},
    }
    Path(outputs["summary"]).write_text(json.dumps(summary, indent=1, default=float))
    log.info("premise: %d evaluation photos, %s", len(evaluation), data.counts)
    return summary
