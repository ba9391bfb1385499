"""The one-class GMM detector: false-positive rate at the threshold, saving, extractor checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sdaie.errors import InputError
from sdaie.detect.oneclass import ExtractorMismatch, GMMSettings, OneClassDetector
from sdaie.model.checkpoint import state_fingerprint


def real_features(n, seed=0, d=12):
    """Samples of one fixed 3-cluster distribution (the seed changes the samples, not the clusters)."""
    centres = np.random.default_rng(99).normal(0, 3, (3, d))
    rng = np.random.default_rng(seed)
    return centres[rng.integers(0, 3, n)] + rng.normal(0, 1, (n, d))


@pytest.mark.parametrize("fpr", [0.02, 0.1])
def test_false_positive_rate_on_the_fitting_set_is_the_configured_rate(fpr):
    features = real_features(2000)
    detector = OneClassDetector.fit(features, GMMSettings(n_components=3, target_fpr=fpr), extractor_id="x")
    rate = detector.is_generated(features).mean()
    # quantile threshold: within one sample of the target on the fitting set itself
    assert abs(rate - fpr) <= 1 / len(features) + 1e-9
    # and within sampling error on fresh real samples of the same distribution
    held_out = detector.is_generated(real_features(4000, seed=1)).mean()
    assert abs(held_out - fpr) < 4 * np.sqrt(fpr * (1 - fpr) / 4000) + 0.01


def test_outliers_score_lower_than_real_features():
    features = real_features(1000)
    detector = OneClassDetector.fit(features, GMMSettings(n_components=3), extractor_id="x")
    outliers = np.random.default_rng(2).normal(0, 1, (200, 12)) * 4 + 10
    assert detector.is_generated(outliers).mean() > 0.95
    assert detector.score(outliers).mean() < detector.score(features).mean()


@pytest.mark.parametrize("covariance_type", ["full", "diag", "tied", "spherical"])
def test_saved_and_loaded_detector_scores_identically(tmp_path, covariance_type):
    features = real_features(500)
    detector = OneClassDetector.fit(features, GMMSettings(n_components=3, covariance_type=covariance_type),
                                    extractor_id="abc", vocabulary_hash="v1")
    path = tmp_path / "gmm.npz"
    detector.save(path)
    loaded = OneClassDetector.load(path, extractor_id="abc")
    probe = real_features(100, seed=5)
    np.testing.assert_array_equal(loaded.score(probe), detector.score(probe))
    assert loaded.threshold == detector.threshold and loaded.vocabulary_hash == "v1"
    with np.load(path, allow_pickle=False) as data:  # portable: no pickled objects inside
        assert set(data.files) >= {"meta", "weights", "means"}


def test_loading_against_another_extractor_fails_clearly(tmp_path):
    detector = OneClassDetector.fit(real_features(200), GMMSettings(n_components=2), extractor_id="abc")
    detector.save(tmp_path / "gmm.npz")
    with pytest.raises(InputError, match="refit") as caught:
        OneClassDetector.load(tmp_path / "gmm.npz", extractor_id="def")
    assert caught.value.path == str(tmp_path / "gmm.npz") and "abc" in caught.value.what
    with pytest.raises(ExtractorMismatch, match="refit"):
        detector.check_extractor("def")


def test_fingerprint_changes_with_weights():
    model = torch.nn.Linear(3, 2)
    a = state_fingerprint(model.state_dict())
    assert a == state_fingerprint(model.state_dict())
    with torch.no_grad():
        model.weight[0, 0] += 1e-3
    assert state_fingerprint(model.state_dict()) != a


def test_crossvalidated_threshold_holds_its_rate_where_the_fit_quantile_does_not():
    """A mixture with many dimensions and few photos overfits: its own scores flatter it."""
    rng = np.random.default_rng(0)
    fit, held_out = rng.normal(size=(60, 40)), rng.normal(size=(2000, 40))
    settings = dict(n_components=2, covariance_type="full", target_fpr=0.1)
    naive = OneClassDetector.fit(fit, GMMSettings(**settings), extractor_id="x")
    honest = OneClassDetector.fit(fit, GMMSettings(**settings, threshold_from="crossval"), extractor_id="x")
    assert naive.is_generated(held_out).mean() > 0.5  # the published rule misses badly here
    assert honest.is_generated(held_out).mean() < 0.3
    with pytest.raises(ValueError, match="threshold_from"):
        OneClassDetector.fit(fit, GMMSettings(threshold_from="median"), extractor_id="x")


def correlated_features(n, seed, d=100, rank=5):
    """Real features that vary along a few directions (fixed), plus a little independent noise."""
    mixing = np.random.default_rng(7).normal(size=(rank, d))
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, rank)) @ mixing + 0.3 * rng.normal(size=(n, d))


def test_ledoit_wolf_regularisation_is_the_ledoit_wolf_estimate_and_sees_broken_correlations(tmp_path):
    from sklearn.covariance import LedoitWolf
    from sklearn.metrics import roc_auc_score

    fit, held_out = correlated_features(40, 0), correlated_features(200, 1)  # 40 photos, 100 dimensions
    # Off-distribution: every feature's value is a real one, but taken from different samples, so each
    # marginal is right and only the correlations are broken.
    rng = np.random.default_rng(2)
    pool = correlated_features(200, 3)
    shuffled = np.stack([rng.permutation(pool[:, j]) for j in range(pool.shape[1])], axis=1)
    settings = dict(n_components=1, threshold_from="crossval")
    shrunk = OneClassDetector.fit(fit, GMMSettings(**settings, covariance_type="full", reg_covar="ledoit_wolf"),
                                  extractor_id="x")
    diagonal = OneClassDetector.fit(fit, GMMSettings(**settings, covariance_type="diag"), extractor_id="x")

    # Up to a monotone map, the score is minus the Mahalanobis distance under sklearn's Ledoit-Wolf estimate.
    probe = np.vstack([held_out, shuffled])
    np.testing.assert_array_equal(np.argsort(shrunk.score(probe)), np.argsort(-LedoitWolf().fit(fit).mahalanobis(probe)))

    def auc(detector):
        scores = np.r_[detector.score(held_out), detector.score(shuffled)]
        return roc_auc_score(np.r_[np.zeros(len(held_out)), np.ones(len(shuffled))], -scores)

    assert auc(shrunk) > 0.95 and auc(diagonal) < 0.75, (auc(shrunk), auc(diagonal))
    assert shrunk.is_generated(held_out).mean() < 0.15  # the cross-validated threshold still holds on real samples

    shrunk.save(tmp_path / "gmm.npz")  # the chosen number is kept; scores are unchanged after loading
    loaded = OneClassDetector.load(tmp_path / "gmm.npz")
    assert loaded.gmm.reg_covar == shrunk.gmm.reg_covar > 0
    np.testing.assert_array_equal(loaded.score(probe), shrunk.score(probe))
    with pytest.raises(ValueError, match="ledoit_wolf"):
        OneClassDetector.fit(fit, GMMSettings(reg_covar="shrink"), extractor_id="x")
