"""Linear probes on frozen features, regularisation chosen on the training photos only.

    classification probe   standardised features -> multinomial logistic regression (make, model)
    ranking probe          standardised features -> ridge regression of the tag's log value; the
                           prediction is used as a ranking score (ISO, exposure time)

The strength (``C`` of the logistic regression, ``alpha`` of the ridge) is picked from a fixed grid by
K-fold cross-validation over the training photos, folds grouped by ``split_group`` (a burst of
near-identical frames never sits on both sides of a fold), scored by accuracy or by pairwise ranking
accuracy; ties go to the stronger regularisation. The chosen value is then refitted on all training
photos. No validation photo is involved in any choice.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np


def pair_matrices(scores: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(pairs, right): float (n, n) matrices over items; pairs[i, j] = 1 where value i > value j (both known),
    right[i, j] = 1 where moreover score i > score j, 0.5 where the scores tie (a constant score is at chance)."""
    scores, values = np.asarray(scores, float), np.asarray(values, float)
    known = ~np.isnan(values)
    higher = (values[:, None] > values[None, :]) & known[:, None] & known[None, :]
    ds = scores[:, None] - scores[None, :]
    right = higher * ((ds > 0) + 0.5 * (ds == 0))
    return higher.astype(float), right.astype(float)


def pairwise_accuracy(scores: np.ndarray, values: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Share of pairs with distinct known values whose scores order them the same way (score ties count half).

    ``weights`` (per item, e.g. bootstrap counts) weight pair (i, j) by w_i * w_j; NaN when there is no pair."""
    pairs, right = pair_matrices(scores, values)
    w = np.ones(len(pairs)) if weights is None else np.asarray(weights, float)
    total = w @ pairs @ w
    return float(w @ right @ w / total) if total > 0 else float("nan")


def _folds(groups: np.ndarray, n_folds: int):
    from sklearn.model_selection import GroupKFold

    distinct = len(set(groups.tolist()))
    if distinct < 2:
        return []
    return list(GroupKFold(n_splits=min(n_folds, distinct)).split(np.zeros(len(groups)), groups=groups))


def _standardise(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    mean = train.mean(axis=0)
    scale = train.std(axis=0)
    scale[scale < 1e-12] = 1.0
    return [(x - mean) / scale for x in (train, *others)]


@dataclass
class ProbeFit:
    """What a probe chose: the grid value, the cross-validated score of every grid value, sizes."""

    chosen: float | None
    cv_scores: dict[float, float] = field(default_factory=dict)
    n_train: int = 0
    n_classes: int = 0
    note: str = ""


def _logistic(c: float, seed: int):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=3000, random_state=seed)


def _fit_predict_classes(x_train, y_train, x_eval, c: float, seed: int) -> np.ndarray:
    classes = np.unique(y_train)
    if len(classes) == 1:
        return np.full(len(x_eval), classes[0])
    x_train, x_eval = _standardise(x_train, x_eval)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings at the weakest regularisation of the grid
        model = _logistic(c, seed).fit(x_train, y_train)
    return model.predict(x_eval)


def _one_thread(function):
    """Run with one BLAS thread: these problems are small, and on busy shared cores several BLAS threads spin far
    more than they compute (a probe's 26 fits took 105 s of CPU with the default threads, 3 s with one)."""
    import functools

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            return function(*args, **kwargs)

    return wrapper


@_one_thread
def classification_probe(x_train: np.ndarray, y_train: np.ndarray, groups: np.ndarray, x_eval: np.ndarray, *,
                         grid: list[float], n_folds: int = 5, seed: int = 0) -> tuple[np.ndarray, ProbeFit]:
    """Predicted classes of ``x_eval`` and the fit record; C chosen by grouped CV accuracy on the training photos."""
    fit = ProbeFit(chosen=None, n_train=len(y_train), n_classes=len(np.unique(y_train)))
    if len(y_train) == 0:
        raise ValueError("a probe needs training photos")
    folds = _folds(groups, n_folds)
    if fit.n_classes > 1 and folds:
        for c in sorted(grid):
            accuracies = [np.mean(_fit_predict_classes(x_train[a], y_train[a], x_train[b], c, seed) == y_train[b])
                          for a, b in folds]
            fit.cv_scores[c] = float(np.mean(accuracies))
        best = max(fit.cv_scores.values())
        fit.chosen = min(c for c, score in fit.cv_scores.items() if score >= best - 1e-12)
    else:
        fit.chosen = min(grid)
        fit.note = "one class or one group: no cross-validation"
    return _fit_predict_classes(x_train, y_train, x_eval, fit.chosen, seed), fit


def _fit_predict_scores(x_train, v_train, x_eval, alpha: float) -> np.ndarray:
    from sklearn.linear_model import Ridge

    x_train, x_eval = _standardise(x_train, x_eval)
    return Ridge(alpha=alpha).fit(x_train, v_train).predict(x_eval)


@_one_thread
def ranking_probe(x_train: np.ndarray, v_train: np.ndarray, groups: np.ndarray, x_eval: np.ndarray, *,
                  grid: list[float], n_folds: int = 5) -> tuple[np.ndarray, ProbeFit]:
    """Ranking scores of ``x_eval`` from a ridge regression of the (log) tag value; alpha by grouped CV
    pairwise ranking accuracy on the training photos (rows with a missing value are left out)."""
    known = ~np.isnan(v_train)
    x_train, v_train, groups = x_train[known], v_train[known], groups[known]
    fit = ProbeFit(chosen=None, n_train=int(known.sum()))
    if len(v_train) < 2 or np.unique(v_train).size < 2:
        fit.note = "fewer than two distinct values: constant score"
        return np.zeros(len(x_eval)), fit
    folds = _folds(groups, n_folds)
    if folds:
        for alpha in sorted(grid, reverse=True):
            scores = [pairwise_accuracy(_fit_predict_scores(x_train[a], v_train[a], x_train[b], alpha), v_train[b])
                      for a, b in folds]
            fit.cv_scores[alpha] = float(np.nanmean(scores)) if not np.all(np.isnan(scores)) else float("nan")
        finite = {a: s for a, s in fit.cv_scores.items() if np.isfinite(s)}
        if finite:
            best = max(finite.values())
            fit.chosen = max(a for a, s in finite.items() if s >= best - 1e-12)
    if fit.chosen is None:
        fit.chosen = max(grid)
        fit.note = "no usable fold: strongest regularisation"
    return _fit_predict_scores(x_train, v_train, x_eval, fit.chosen), fit
