"""Known answers from the official SDAIE code (../shared/data/official_parity, made by running it).

The fixtures hold checkpoints in the official format (DDP `module.` keys, seeded non-trivial weights),
uint8 input patches of six real photos, and what the official code computed from them: image features,
the intermediate maps the binary detector distils, binary logits and probabilities, and GMM scores,
threshold and decisions. Their README gives the tolerances used here: float32 within 1e-4 relative (the
official float32-vs-float64 gap is below 6e-7), float64 within 1e-9, GMM scores of a float64 fit within
1e-6 with the same threshold and identical decisions.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import shared_path

from sdaie.cli import main
from sdaie.detect.binary import distillation_loss
from sdaie.detect.features import image_patches
from sdaie.detect.oneclass import GMMSettings, OneClassDetector, published_threshold
from sdaie.errors import InputError
from sdaie.model.backbone import normalise
from sdaie.model.checkpoint import load_binary, load_extractor
from sdaie.model.official import read_official
from sdaie.patches.dataset import patches_to_float


@pytest.fixture(scope="module")
def parity():
    return shared_path("data", "official_parity")


@pytest.fixture(scope="module")
def inputs(parity):
    with np.load(parity / "inputs.npz") as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="module")
def expected(parity):
    with np.load(parity / "expected.npz") as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="module")
def gmm_cases(parity):
    with np.load(parity / "gmm.npz") as data:
        return {k: data[k] for k in data.files}


def relative(ours, theirs) -> float:
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    return float(np.abs(ours - theirs).max() / np.abs(theirs).max())


def uint8_patches(inputs) -> torch.Tensor:
    """(6, 16, 3, 64, 64) uint8, the layout sdaie's loaders give."""
    return torch.from_numpy(inputs["patches_uint8"]).permute(0, 1, 4, 2, 3).contiguous()


def test_input_normalisation_is_bit_exact(inputs):
    x = normalise(patches_to_float(uint8_patches(inputs)))
    assert torch.equal(x, torch.from_numpy(inputs["input_f32"]))


def test_every_tensor_of_both_checkpoints_maps(parity):
    backbone = read_official(parity / "backbone.pth")
    assert backbone.kind == "backbone" and len(backbone.extractor) == 66 and len(backbone.pretext_heads) == 28
    binary = read_official(parity / "bc.pth")
    assert binary.kind == "binary" and len(binary.extractor) == len(binary.teacher) == 66 and set(binary.head) == {"weight", "bias"}
    # the teacher inside bc.pth is backbone.pth's backbone, loaded by the official code unchanged
    assert all(torch.equal(binary.teacher[k], backbone.extractor[k]) for k in backbone.extractor)


def test_float32_features_and_intermediate_maps_match(parity, inputs, expected):
    extractor, _, _ = load_extractor(parity / "backbone.pth")
    with torch.no_grad():
        out = extractor(patches_to_float(uint8_patches(inputs)))
    assert relative(out.feature, expected["f"]) < 1e-4
    assert relative(out.covariances, expected["f5"]) < 1e-4
    for i, group in enumerate(out.groups, start=1):
        assert relative(group[expected["sub_index"]], expected[f"f{i}_sub"]) < 1e-4
        flat = group.double().reshape(96, -1)
        for stat, value in (("sum", flat.sum(1)), ("sumsq", (flat**2).sum(1))):
            reference = expected[f"f{i}_patch_{stat}"]
            assert (np.abs(value.numpy() - reference) <= 1e-4 * np.abs(reference) + 1e-6).all(), (i, stat)


def test_float64_features_match_to_1e9(parity, inputs, expected):
    extractor = load_extractor(parity / "backbone.pth")[0].double()
    with torch.no_grad():
        out = extractor(uint8_patches(inputs).double() / 255)
    assert relative(out.feature, expected["f_f64"]) < 1e-9
    assert relative(out.covariances, expected["f5_f64"]) < 1e-9
    for i, group in enumerate(out.groups, start=1):
        flat = group.reshape(96, -1)
        assert relative(flat.sum(1), expected[f"f{i}_patch_sum_f64"]) < 1e-9
        assert relative((flat**2).sum(1), expected[f"f{i}_patch_sumsq_f64"]) < 1e-9


def per_image_distillation(student, teacher) -> np.ndarray:
    """distillation_loss of each image alone (mean squared error over that image's elements), from one batch."""
    pairs = list(zip(student.groups, teacher.groups)) + [(student.covariances, teacher.covariances)]
    b = student.feature.shape[0]
    return sum(((s - t) ** 2).reshape(b, -1).mean(1) for s, t in pairs).numpy()


def test_binary_detector_logits_probabilities_and_distillation_match(parity, inputs, expected):
    detector, _ = load_binary(parity / "bc.pth")
    teacher, _, _ = load_extractor(parity / "bc.pth")  # a binary checkpoint's extractor is its teacher
    x = patches_to_float(uint8_patches(inputs))
    with torch.no_grad():
        logits, student = detector(x)
        probability = detector.probability_generated(x)
        per_image = per_image_distillation(student, teacher(x))
        first_alone = float(distillation_loss(detector(x[:1])[1], teacher(x[:1])))  # the training loss, batch of one
    assert first_alone == pytest.approx(float(expected["bc_dis"][0]), rel=1e-4)
    assert relative(logits, expected["bc_logits"]) < 1e-4
    assert relative(student.feature, expected["bc_student_f"]) < 1e-4
    assert relative(student.covariances, expected["bc_student_f5"]) < 1e-4
    assert np.abs(probability.numpy() - expected["bc_prob_fake"]).max() < 1e-5
    assert ((probability > 0.5).numpy() == expected["bc_pred_fake"]).all()
    assert relative(per_image, expected["bc_dis"]) < 1e-4

    detector64, teacher64 = detector.double(), teacher.double()
    x64 = uint8_patches(inputs).double() / 255
    with torch.no_grad():
        logits64, student64 = detector64(x64)
        per_image64 = per_image_distillation(student64, teacher64(x64))
    assert relative(logits64, expected["bc_logits_f64"]) < 1e-9
    assert relative(student64.feature, expected["bc_student_f_f64"]) < 1e-9
    assert relative(logits64.softmax(1)[:, 1], expected["bc_prob_fake_f64"]) < 1e-9
    assert relative(per_image64, expected["bc_dis_f64"]) < 1e-9


def test_official_whole_image_patching_and_its_feature(parity, inputs, expected):
    """The official rule's transposed crop of a 192x128 image: 6 patches, 3 rows by 2 columns, black padding."""
    cut = image_patches(inputs["adaptive_source_uint8"], rule="official")
    assert not cut.upscaled
    x = normalise(patches_to_float(torch.from_numpy(cut.patches)))
    assert torch.equal(x, torch.from_numpy(inputs["adaptive_input_f32"]))
    centre = image_patches(inputs["adaptive_source_uint8"], rule="centre").patches
    assert centre.shape == cut.patches.shape and not np.array_equal(centre, cut.patches)
    extractor, _, _ = load_extractor(parity / "backbone.pth")
    detector, _ = load_binary(parity / "bc.pth")
    with torch.no_grad():
        patches = patches_to_float(torch.from_numpy(cut.patches)).unsqueeze(0)
        assert relative(extractor(patches).feature, expected["adaptive_f"]) < 1e-4
        assert relative(detector(patches)[0], expected["adaptive_bc_logits"]) < 1e-4


@pytest.mark.parametrize("case", ["photo", "synth"])
def test_published_gmm_recipe_gives_the_official_scores_threshold_and_decisions(gmm_cases, case):
    g = {k[len(case) + 1:]: v for k, v in gmm_cases.items() if k.startswith(case + "_")}
    settings = GMMSettings()  # the defaults are the published recipe
    assert (settings.n_components, settings.covariance_type, settings.init_params, settings.reg_covar, settings.max_iter,
            settings.seed) == (int(gmm_cases["gmm_n_components"]), str(gmm_cases["gmm_covariance_type"]),
                               str(gmm_cases["gmm_init_params"]), float(gmm_cases["gmm_reg_covar"]),
                               int(gmm_cases["gmm_max_iter"]), int(gmm_cases["gmm_random_state"]))
    detector = OneClassDetector.fit(g["train_features"], settings, extractor_id="official")
    train, test = detector.score(g["train_features"]), detector.score(g["test_features"])
    # float64 fit against the official code run on float64 features
    assert relative(train, g["f64_train_scores"]) < 1e-6 and relative(test, g["f64_test_scores"]) < 1e-6
    assert detector.threshold == pytest.approx(float(g["f64_threshold"]), rel=1e-9)
    assert ((~detector.verdict(train)).astype(int) == g["f64_train_pred_real"]).all()
    assert ((~detector.verdict(test)).astype(int) == g["f64_test_pred_real"]).all()
    # against the official float32 run: within its own float32-vs-float64 gaps, same decisions
    train_tol, test_tol = (1e-4, 3e-3) if case == "photo" else (1e-5, 1e-5)
    assert relative(train, g["train_scores"]) < train_tol and relative(test, g["test_scores"]) < test_tol
    assert ((~detector.verdict(test)).astype(int) == g["test_pred_real"]).all()
    accuracy = 100 * float(((~detector.verdict(test)).astype(int) == g["test_is_real"]).mean())
    assert accuracy == pytest.approx(float(g["accuracy_percent"]))


@pytest.mark.parametrize("case", ["photo", "synth"])
def test_threshold_rule_is_the_official_order_statistic(gmm_cases, case):
    scores = gmm_cases[f"{case}_train_scores"].astype(np.float64)
    threshold = published_threshold(scores, 0.02)
    assert int(gmm_cases["threshold_index"]) == 6 and threshold == np.sort(scores)[6] == pytest.approx(float(gmm_cases[f"{case}_threshold"]))
    assert int((scores <= threshold).sum()) == 7  # the threshold sample itself is on the generated side
    assert threshold != np.quantile(scores, 0.02)


def test_import_weights_then_detect_end_to_end(parity, inputs, tmp_path, capsys):
    from PIL import Image

    models = tmp_path / "models"
    assert main(["import-weights", "--backbone", str(parity / "backbone.pth"), "--binary", str(parity / "bc.pth"),
                 "-o", str(models)]) == 0
    printed = capsys.readouterr().out
    assert "pretext heads kept unused" in printed and "sdaie fit-oneclass" in printed
    # the imported files hold exactly the official networks
    extractor, config, state = load_extractor(models / "pretext.pt")
    assert not config.final_norm and config.srm_order == "official" and state["kind"] == "imported"
    x = patches_to_float(uint8_patches(inputs))
    with torch.no_grad():
        assert relative(extractor(x).feature, np.load(parity / "expected.npz")["f"]) < 1e-4
    images = tmp_path / "images"
    images.mkdir()
    for i, patches in enumerate(inputs["patches_uint8"]):  # each 4x4 grid of patches back into its 256x256 crop
        Image.fromarray(patches.reshape(4, 4, 64, 64, 3).transpose(0, 2, 1, 3, 4).reshape(256, 256, 3)).save(images / f"{i}.png")
    (images / "broken.png").write_bytes(b"not an image")
    # binary only (no GMM yet), then the one-class detector fitted on the images, then both
    assert main(["detect", str(images), "--models", str(models), "--format", "json", "--device", "cpu"]) == 1
    rows = [__import__("json").loads(line) for line in capsys.readouterr().out.splitlines()]
    ok = {r["path"].rsplit("/", 1)[-1]: r for r in rows if r["error"] is None}
    assert len(ok) == 6 and all(r["oneclass_loglik"] is None for r in ok.values())
    probabilities = [ok[f"{i}.png"]["binary_probability"] for i in range(6)]
    assert np.abs(np.array(probabilities) - np.load(parity / "expected.npz")["bc_prob_fake"]).max() < 1e-5
    assert main(["fit-oneclass", str(images), "--models", str(models), "--components", "1", "--reg-covar", "ledoit_wolf",
                 "--device", "cpu"]) == 0
    fitted = capsys.readouterr()
    assert "on 6 photos (1 files skipped)" in fitted.out and "broken.png" in fitted.err
    assert main(["detect", str(images / "0.png"), "--models", str(models), "--device", "cpu"]) == 0
    table = capsys.readouterr().out
    assert "# one-class: log-likelihood" in table and "# binary:" in table and "0.png" in table


def test_bad_checkpoints_are_refused_with_a_list_of_what_did_not_map(parity, tmp_path):
    state = torch.load(parity / "backbone.pth", map_location="cpu", weights_only=True)
    net = state["state_net"]
    net.pop("module.backbone.group3.0.weight")
    net["module.backbone.extra.weight"] = torch.zeros(3)
    net["module.backbone.group2.1.weight"] = torch.zeros(2, 2)
    torch.save(state, tmp_path / "edited.pth")
    with pytest.raises(InputError) as caught:
        read_official(tmp_path / "edited.pth")
    what = caught.value.what
    assert "missing backbone.group3.0.weight" in what and "left over: backbone.extra.weight" in what
    assert "backbone.group2.1.weight has shape (2, 2)" in what
    # without the DDP prefix the same file maps
    plain = torch.load(parity / "backbone.pth", map_location="cpu", weights_only=True)
    torch.save({"state_net": {k.removeprefix("module."): v for k, v in plain["state_net"].items()}}, tmp_path / "plain.pth")
    assert read_official(tmp_path / "plain.pth").kind == "backbone"
    (tmp_path / "garbage.pth").write_bytes(b"\x80\x04garbage")
    for path in (tmp_path / "garbage.pth", tmp_path / "missing.pth"):
        with pytest.raises(InputError):
            load_extractor(path)
    with pytest.raises(InputError, match="not a binary"):
        load_binary(parity / "backbone.pth")
