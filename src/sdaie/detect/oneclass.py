"""One-class detector: a Gaussian mixture over the features of real photos.

Score = log-likelihood under the mixture (higher = more like the photos it was fitted on). As
published, the threshold is the fitting set's own score at index int(target_fpr * n) of the ascending
order (no interpolation), and an image whose score is at or below it is called AI-generated: with
n = 300 and target_fpr 0.02, the 7 lowest-scoring fitting photos fall on the generated side. The
defaults are the published settings (sklearn's GaussianMixture with 5 full components, k-means++
initialisation, reg_covar 1e-6, max_iter 100, random_state 42). One difference: the mixture is fitted
in float64, where the official code fits the float32 features as they are (an ill-conditioned fit in
528 dimensions whose float32 rounding moves scores by up to 1e-3 relative); known-answer tests against
the official outputs hold both ways (tests/test_official_parity.py).

Covariance regularisation: `reg_covar` is added to every component's covariance diagonal (scikit-learn).
Besides a number it can be "ledoit_wolf": the constant is then chosen from the fitting features by
Ledoit and Wolf's optimal shrinkage (sklearn.covariance.ledoit_wolf_shrinkage): with shrinkage d and
mean feature variance m, reg_covar = d m / (1 - d), which makes a one-component full mixture the
Ledoit-Wolf covariance estimate up to a scale that leaves the ranking of scores unchanged. Made for
fitting sets that are small next to the feature dimension (528), where the sample covariance is singular
and a diagonal one ignores the correlations between features.

Saved as one .npz file (no pickle): the mixture's arrays plus a JSON header with the threshold, the
settings, and the fingerprint of the feature extractor and the vocabulary hash it was fitted with.
Loading against another extractor fails with a clear message.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from sklearn.mixture import GaussianMixture

from sdaie.detect.features import CENTRE, Patching
from sdaie.errors import InputError

FORMAT = "sdaie.oneclass/1"


@dataclass
class GMMSettings:
    n_components: int = 5
    covariance_type: str = "full"
    init_params: str = "k-means++"
    reg_covar: float | str = 1e-6  # or "ledoit_wolf": chosen from the fitting features (module docstring)
    max_iter: int = 100
    seed: int = 42
    target_fpr: float = 0.02
    threshold_from: str = "fit"  # "fit": the fitting set's own scores (published);
    # "crossval": out-of-fold scores (5 folds), unbiased when the mixture overfits a small fitting set


class ExtractorMismatch(ValueError):
    """A detector is used with features from another extractor than it was fitted on."""


LEDOIT_WOLF = "ledoit_wolf"


def covariance_regularisation(features: np.ndarray, reg_covar: float | str) -> float:
    """The constant added to the covariance diagonals: `reg_covar` itself, or the Ledoit-Wolf choice."""
    if reg_covar == LEDOIT_WOLF:
        from sklearn.covariance import ledoit_wolf_shrinkage

        shrinkage = float(ledoit_wolf_shrinkage(features))
        mean_variance = float(np.var(features, axis=0).mean())
        return max(shrinkage * mean_variance / max(1.0 - shrinkage, 1e-6), 1e-6)
    if isinstance(reg_covar, str):
        raise ValueError(f"reg_covar must be a positive number or {LEDOIT_WOLF!r}, not {reg_covar!r}")
    return float(reg_covar)


def _mixture(settings: GMMSettings, features: np.ndarray) -> GaussianMixture:
    return GaussianMixture(
        n_components=settings.n_components,
        covariance_type=settings.covariance_type,
        init_params=settings.init_params,
        reg_covar=covariance_regularisation(features, settings.reg_covar),
        max_iter=settings.max_iter,
        random_state=settings.seed,
    )


def _out_of_fold_scores(features: np.ndarray, settings: GMMSettings, folds: int = 5) -> np.ndarray:
    """Each feature scored by a mixture fitted without it (k folds, seeded)."""
    from sklearn.model_selection import KFold

    scores = np.empty(len(features))
    for train, held in KFold(n_splits=min(folds, len(features)), shuffle=True, random_state=settings.seed).split(features):
        if len(train) < max(2, settings.n_components):
            raise ValueError(f"{len(features)} photos are too few for a cross-validated threshold")
        scores[held] = _mixture(settings, features[train]).fit(features[train]).score_samples(features[held])
    return scores


def published_threshold(scores: np.ndarray, target_fpr: float) -> float:
    """The score at index int(target_fpr * n) of the ascending scores (the official rule, no interpolation)."""
    ordered = np.sort(np.asarray(scores, dtype=np.float64))
    return float(ordered[min(int(target_fpr * len(ordered)), len(ordered) - 1)])


@dataclass
class OneClassDetector:
    gmm: GaussianMixture
    threshold: float
    settings: GMMSettings
    extractor_id: str
    vocabulary_hash: str | None = None
    fit_size: int = 0
    patching: Patching | None = None  # how the fitting images were cut into patches (score likewise)

    @classmethod
    def fit(cls, features: np.ndarray, settings: GMMSettings | None = None, *, extractor_id: str,
            vocabulary_hash: str | None = None, patching: Patching | None = None) -> OneClassDetector:
        settings = settings or GMMSettings()
        features = np.asarray(features, dtype=np.float64)
        if len(features) < max(2, settings.n_components):
            raise ValueError(
                f"{len(features)} photos to fit a {settings.n_components}-component mixture: the oneclass_fit split "
                "needs more photos (add photos, raise tags.split.fractions.oneclass_fit or lower oneclass.n_components)"
            )
        gmm = _mixture(settings, features).fit(features)
        if settings.threshold_from == "crossval":
            scores = _out_of_fold_scores(features, settings)
        elif settings.threshold_from == "fit":
            scores = gmm.score_samples(features)
        else:
            raise ValueError(f"threshold_from must be 'fit' or 'crossval', not {settings.threshold_from!r}")
        threshold = published_threshold(scores, settings.target_fpr)
        return cls(gmm, threshold, settings, extractor_id, vocabulary_hash, len(features), patching)

    def score(self, features: np.ndarray) -> np.ndarray:
        """Log-likelihood per feature vector (higher = more like real photos)."""
        return self.gmm.score_samples(np.asarray(features, dtype=np.float64))

    def is_generated(self, features: np.ndarray) -> np.ndarray:
        return self.verdict(self.score(features))

    def verdict(self, scores: np.ndarray | float) -> np.ndarray | bool:
        """AI-generated when the log-likelihood is at or below the threshold (the published comparison)."""
        return np.asarray(scores) <= self.threshold

    def check_extractor(self, extractor_id: str) -> None:
        if extractor_id != self.extractor_id:
            raise ExtractorMismatch(
                f"this one-class detector was fitted on features of extractor {self.extractor_id}, "
                f"not of extractor {extractor_id}: refit it on the current extractor's features"
            )

    def save(self, path: Path) -> None:
        meta = {
            "format": FORMAT,
            "threshold": self.threshold,
            "settings": asdict(self.settings),
            "extractor_id": self.extractor_id,
            "vocabulary_hash": self.vocabulary_hash,
            "fit_size": self.fit_size,
            "max_patches": self.patching.max_patches if self.patching else None,
            "patching": self.patching.rule if self.patching else None,
            "reg_covar_used": float(self.gmm.reg_covar),  # the number, also when chosen by Ledoit-Wolf
        }
        g = self.gmm
        tmp = Path(path).with_name(Path(path).name + ".tmp.npz")
        np.savez(tmp, meta=np.array(json.dumps(meta)), weights=g.weights_, means=g.means_, covariances=g.covariances_,
                 precisions_cholesky=g.precisions_cholesky_)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, *, extractor_id: str | None = None) -> OneClassDetector:
        """Read a saved detector; InputError when the file is damaged, of another kind, or fitted on
        another extractor's features than `extractor_id`."""
        rerun = "rerun the oneclass_fit stage or `sdaie fit-oneclass`"
        if not Path(path).is_file():
            raise InputError(path, "no such file" if not Path(path).exists() else "not a regular file", rerun)
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                arrays = {name: data[name] for name in ("weights", "means", "covariances", "precisions_cholesky")}
        except Exception as exc:  # truncated zip, not an npz, a missing array, bad JSON
            raise InputError(path, f"not a readable one-class detector ({type(exc).__name__}: {str(exc)[:120]})", rerun) from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise InputError(path, f"not an sdaie one-class detector (format {meta.get('format') if isinstance(meta, dict) else None!r})", rerun)
        try:
            settings = GMMSettings(**meta["settings"])
            gmm = GaussianMixture(n_components=settings.n_components, covariance_type=settings.covariance_type)
            gmm.weights_ = arrays["weights"]
            gmm.means_ = arrays["means"]
            gmm.covariances_ = arrays["covariances"]
            gmm.precisions_cholesky_ = arrays["precisions_cholesky"]
        except (KeyError, TypeError) as exc:
            raise InputError(path, f"its settings are incomplete or unknown ({exc})", rerun) from None
        if settings.covariance_type == "full":
            gmm.precisions_ = np.einsum("kij,klj->kil", gmm.precisions_cholesky_, gmm.precisions_cholesky_)
        elif settings.covariance_type == "tied":
            gmm.precisions_ = gmm.precisions_cholesky_ @ gmm.precisions_cholesky_.T
        else:
            gmm.precisions_ = gmm.precisions_cholesky_**2
        gmm.converged_, gmm.n_iter_, gmm.lower_bound_ = True, 0, float("nan")
        gmm.n_features_in_ = gmm.means_.shape[1]
        if "reg_covar_used" in meta:
            gmm.reg_covar = meta["reg_covar_used"]
        patching = Patching(meta["max_patches"], meta.get("patching") or CENTRE) if meta.get("max_patches") else None
        detector = cls(gmm, meta["threshold"], settings, meta["extractor_id"], meta["vocabulary_hash"], meta["fit_size"],
                       patching)
        if extractor_id is not None:
            try:
                detector.check_extractor(extractor_id)
            except ExtractorMismatch as exc:
                raise InputError(path, str(exc).split(":")[0], "refit it on this folder's extractor: rerun the pipeline or `sdaie fit-oneclass`") from None
        return detector
