"""The SDAIE extractor's parts against references: SRM kernels, covariance pooling, invariances, losses."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pytest
import scipy.linalg
import torch

from sdaie.model.backbone import ExtractorConfig, SDAIEExtractor
from sdaie.model.covariance import CovariancePooling, centred_covariance, newton_schulz_sqrt, upper_triangle
from sdaie.model.losses import categorical_loss, ranking_accuracy, ranking_pairs, thurstone_ranking_loss
from sdaie.model.srm import SRMFilter, srm_kernels


def test_srm_has_30_distinct_zero_sum_kernels():
    kernels = srm_kernels()
    assert kernels.shape == (30, 5, 5)
    np.testing.assert_allclose(kernels.sum(axis=(1, 2)), 0.0, atol=1e-12)
    flat = kernels.reshape(30, -1)
    assert len({tuple(np.round(k, 9)) for k in flat}) == 30
    # normalisation: the largest coefficient of each class
    assert np.abs(kernels[0]).max() == 1  # 1st order
    assert np.isclose(np.abs(kernels[8]).max(), 1.0)  # 2nd order: 2 / 2
    assert np.isclose(np.abs(kernels[12]).max(), 1.0)  # 3rd order: 3 / 3
    assert np.isclose(np.abs(kernels[24]).max(), 1.0)  # EDGE5x5: 12 / 12
    assert np.isclose(np.abs(kernels[28]).max(), 1.0)  # SQUARE3x3: 4 / 4
    assert np.isclose(np.abs(kernels[29]).max(), 1.0)  # SQUARE5x5


def test_srm_kernels_come_in_the_published_order():
    """Spot checks of the published order (the whole bank is checked against the official checkpoint in
    test_official_parity.py); sdaie 0.1's order is a permutation of the same kernels."""
    k = srm_kernels()
    assert k[0][1, 1] == 1 and k[0][2, 2] == -1  # 1st order, +1 at the top-left neighbour
    assert k[4][2, 3] == 1  # 1st order, right neighbour
    assert k[8][1, 1] == k[8][3, 3] == 0.5 and k[11][2, 1] == k[11][2, 3] == 0.5  # 2nd order TL-BR ... L-R
    assert np.allclose(k[12][[0, 1, 2, 3], [0, 1, 2, 3]], [-1 / 3, 1, -1, 1 / 3])  # 3rd order pointing TL
    assert np.allclose(k[15][2, 1:5], [1 / 3, -1, 1, -1 / 3])  # 3rd order pointing right
    assert (k[20][3] == 0).all() and (k[21][:, 1] == 0).all() and (k[22][1] == 0).all() and (k[23][:, 3] == 0).all()
    assert np.allclose(k[29] * 12, k[29].round(12) * 12) and k[29][2, 2] == -1  # SQUARE5x5 last
    legacy = srm_kernels("sdaie-0.1")
    assert sorted(map(bytes, legacy.astype(np.float32))) == sorted(map(bytes, k.astype(np.float32)))
    assert not np.array_equal(legacy, k)
    with pytest.raises(ValueError, match="unknown SRM kernel order"):
        srm_kernels("other")


def test_models_of_sdaie_0_1_load_with_the_architecture_they_recorded():
    """A config without `final_norm` was written before the published architecture became the default."""
    old = {"channels": 32, "group_layers": [4, 2, 2, 2], "pooled_groups": 3, "newton_schulz_iterations": 5,
           "transformer_layers": 2, "heads": 4, "head_dim": 16, "mlp_dim": 128, "dropout": 0.0}
    config = ExtractorConfig.from_dict(old)
    assert config.final_norm and config.srm_order == "sdaie-0.1"
    assert ExtractorConfig.from_dict(asdict(ExtractorConfig())) == ExtractorConfig()
    with pytest.raises(ValueError, match="unknown extractor settings"):
        ExtractorConfig.from_dict({**asdict(ExtractorConfig()), "new_thing": 1})


def test_flat_image_gives_zero_residual_and_channels_stay_separate():
    srm = SRMFilter(3)
    flat = torch.full((1, 3, 16, 16), 0.7)
    residual = srm(flat)
    assert residual.shape == (1, 90, 16, 16)
    assert residual[..., 2:-2, 2:-2].abs().max() < 1e-6  # inside the border: zero
    x = torch.zeros(1, 3, 16, 16)
    x[0, 1] = torch.rand(16, 16)  # only the green channel varies
    residual = srm(x)
    assert residual[0, :30].abs().max() == 0 and residual[0, 60:].abs().max() == 0
    assert residual[0, 30:60].abs().max() > 0


def test_covariance_matches_numpy_float64():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 32, 8, 8))
    got = centred_covariance(torch.from_numpy(x).float()).double().numpy()
    for i in range(3):
        expected = np.cov(x[i].reshape(32, -1), bias=True)
        assert np.abs(got[i] - expected).max() / np.abs(expected).max() < 1e-5


def _numpy_newton_schulz(a: np.ndarray, iterations: int) -> np.ndarray:
    trace = np.trace(a)
    y, z, identity = a / trace, np.eye(len(a)), np.eye(len(a))
    for _ in range(iterations):
        t = 0.5 * (3 * identity - z @ y)
        y, z = y @ t, t @ z
    return y * np.sqrt(trace)


def test_matrix_square_root_matches_float64_references():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 32, 8, 8)).astype(np.float32)
    cov = centred_covariance(torch.from_numpy(x))
    five = newton_schulz_sqrt(cov, 5).double().numpy()
    many = newton_schulz_sqrt(cov.double(), 60).numpy()
    for i in range(4):
        c = np.cov(x[i].reshape(32, -1).astype(np.float64), bias=True)
        # the 5-iteration float32 result equals the same iterations done in float64 ...
        ref5 = _numpy_newton_schulz(c, 5)
        assert np.linalg.norm(five[i] - ref5) / np.linalg.norm(ref5) < 1e-3
        # ... and the iteration converges to the true square root (SciPy's sqrtm)
        root = np.real(scipy.linalg.sqrtm(c))
        assert np.linalg.norm(many[i] - root) / np.linalg.norm(root) < 1e-3
        assert np.linalg.norm(many[i] @ many[i] - c) / np.linalg.norm(c) < 1e-3


def test_covariance_pooling_gives_528_values_in_float32_under_autocast():
    pool = CovariancePooling()
    x = torch.randn(2, 32, 8, 8, dtype=torch.bfloat16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = pool(x)
    assert out.shape == (2, 528) and out.dtype == torch.float32
    m = torch.arange(9.0).view(1, 3, 3)
    assert upper_triangle(m).tolist() == [[0, 1, 2, 4, 5, 8]]


@pytest.fixture(scope="module")
def extractor():
    torch.manual_seed(0)
    return SDAIEExtractor().eval()


def test_extractor_shapes_and_intermediates(extractor):
    patches = torch.rand(2, 5, 3, 64, 64)
    with torch.no_grad():
        out = extractor(patches)
    assert out.feature.shape == (2, 528)
    assert out.tokens.shape == (2, 5, 528) and out.covariances.shape == (2, 5, 528)
    assert [tuple(g.shape[1:]) for g in out.groups] == [(32, 32, 32), (32, 16, 16), (32, 8, 8), (32, 8, 8)]
    torch.testing.assert_close(out.feature, out.tokens[:, 0])
    with pytest.raises(ValueError, match="expected patches"):
        extractor(torch.rand(2, 3, 64, 64))


def test_feature_is_unchanged_when_other_patches_are_permuted(extractor):
    torch.manual_seed(1)
    patches = torch.rand(3, 16, 3, 64, 64)
    order = torch.cat([torch.tensor([0]), 1 + torch.randperm(15)])
    with torch.no_grad():
        a = extractor(patches).feature
        b = extractor(patches[:, order]).feature
        c = extractor(patches[:, torch.roll(torch.arange(16), 1)]).feature
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(a, c, atol=1e-4)  # token 0 is a specific patch


def test_parameter_count_follows_the_architecture():
    model = SDAIEExtractor(ExtractorConfig())
    n = sum(p.numel() for p in model.parameters())
    conv = lambda cin, cout: cin * cout * 9 + cout
    layer_norm = lambda *shape: 2 * int(np.prod(shape))
    cnn = conv(90, 32) + layer_norm(32, 64, 64)  # stem
    cnn += 4 * (conv(32, 32) + layer_norm(32, 64, 64))  # group 1 (pooled after)
    cnn += 2 * (conv(32, 32) + layer_norm(32, 32, 32))
    cnn += 2 * (conv(32, 32) + layer_norm(32, 16, 16))
    cnn += 2 * (conv(32, 32) + layer_norm(32, 8, 8))
    d = 528
    transformer_layer = layer_norm(d) + d * 3 * 64 + 64 * d + d + layer_norm(d) + d * 128 + 128 + 128 * d + d
    assert n == cnn + 2 * transformer_layer  # published: no LayerNorm after the Transformer
    legacy = SDAIEExtractor(ExtractorConfig(final_norm=True))  # sdaie 0.1's extra LayerNorm(528)
    assert sum(p.numel() for p in legacy.parameters()) == n + layer_norm(d)


def test_ranking_pairs_mask_ties_and_missing():
    values = torch.tensor([1.0, 2.0, 2.0, float("nan"), 0.5])
    target, mask = ranking_pairs(values)
    pairs = {(i, j) for i, j in zip(*torch.nonzero(mask, as_tuple=True)) for i, j in [(int(i), int(j))]}
    assert (1, 2) not in pairs  # tie
    assert all(3 not in p for p in pairs)  # missing
    assert pairs == {(0, 1), (0, 2), (0, 4), (1, 4), (2, 4)}
    assert target[0, 1] == 0 and target[1, 4] == 1 and target[0, 4] == 1


def test_thurstone_loss_matches_formula_and_orders_scores():
    values = torch.tensor([3.0, 1.0, 2.0, float("nan")])
    scores = torch.tensor([0.3, -0.2, 0.9, 5.0], requires_grad=True)
    loss, pairs = thurstone_ranking_loss(scores, values)
    assert pairs == 3
    phi = lambda d: 0.5 * (1 + torch.erf(d / 2**0.5))
    s = scores.detach()
    expected = -(torch.log(phi(s[0] - s[1])) + torch.log(phi(s[0] - s[2])) + torch.log(1 - phi(s[1] - s[2]))) / 3
    torch.testing.assert_close(loss.detach(), expected)
    loss.backward()
    assert scores.grad[3] == 0  # the missing value gets no gradient
    # gradient descent puts the scores in the order of the values
    s = torch.zeros(4, requires_grad=True)
    optimizer = torch.optim.SGD([s], lr=1.0)
    for _ in range(200):
        optimizer.zero_grad()
        thurstone_ranking_loss(s, values)[0].backward()
        optimizer.step()
    assert s[0] > s[2] > s[1]
    assert ranking_accuracy(s.detach(), values) == (3, 3)


def test_losses_without_labels_are_zero_but_differentiable():
    scores = torch.randn(4, requires_grad=True)
    loss, pairs = thurstone_ranking_loss(scores, torch.full((4,), float("nan")))
    assert pairs == 0 and loss.item() == 0
    loss.backward()
    logits = torch.randn(3, 5, requires_grad=True)
    loss, n = categorical_loss(logits, torch.tensor([-1, -1, -1]))
    assert n == 0 and loss.item() == 0
    loss, n = categorical_loss(logits, torch.tensor([2, -1, 4]))
    assert n == 2
    expected = torch.nn.functional.cross_entropy(logits[[0, 2]], torch.tensor([2, 4]))
    torch.testing.assert_close(loss, expected)


def test_a_saved_sdaie_0_1_model_file_loads_as_it_was_trained(tmp_path):
    """A pretext model.pt of sdaie 0.1 (no `final_norm` in its config, a `norm.*` tensor, the old SRM
    order) gives the features it gave then: the LayerNorm and the old kernel order come back."""
    from sdaie.model.checkpoint import load_extractor
    from sdaie.train.common import save_checkpoint

    torch.manual_seed(0)
    legacy = SDAIEExtractor(ExtractorConfig(final_norm=True, srm_order="sdaie-0.1")).eval()
    recorded = {k: v for k, v in asdict(legacy.config).items() if k not in ("final_norm", "srm_order")}
    save_checkpoint(tmp_path / "model.pt", model={f"extractor.{k}": v for k, v in legacy.state_dict().items()},
                    extractor_config=recorded, vocabulary_hash="v")
    loaded, config, _ = load_extractor(tmp_path / "model.pt")
    assert config.final_norm and config.srm_order == "sdaie-0.1"
    x = torch.rand(2, 3, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(loaded(x).feature, legacy(x).feature)
        published = SDAIEExtractor(ExtractorConfig())
        published.load_state_dict({k: v for k, v in legacy.state_dict().items() if not k.startswith("norm.")})
        assert not torch.allclose(published.eval()(x).feature, legacy(x).feature)  # the other architecture differs
