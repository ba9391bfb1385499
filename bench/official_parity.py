"""How close sdaie is to the official SDAIE code, on its known answers (../shared/data/official_parity).

    python bench/official_parity.py [--parity ../shared/data/official_parity]

Loads the official-format checkpoints through sdaie's importer and prints, for every output the
official code computed, the relative difference max|ours - theirs| / max|theirs| (float32 and float64
runs), the GMM's scores, threshold and decisions, and the tolerance tests/test_official_parity.py holds
it to. The same comparisons as that test, printed as a table for RESULTS.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from sdaie.detect.features import image_patches
from sdaie.detect.oneclass import GMMSettings, OneClassDetector
from sdaie.model.backbone import normalise
from sdaie.model.checkpoint import load_binary, load_extractor
from sdaie.patches.dataset import patches_to_float

REPO = Path(__file__).resolve().parents[1]


def relative(ours, theirs) -> float:
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    return float(np.abs(ours - theirs).max() / np.abs(theirs).max())


@torch.no_grad()
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parity", type=Path, default=REPO.parent / "shared" / "data" / "official_parity")
    args = parser.parse_args()
    inputs, expected, gmm = (dict(np.load(args.parity / f"{n}.npz")) for n in ("inputs", "expected", "gmm"))
    u8 = torch.from_numpy(inputs["patches_uint8"]).permute(0, 1, 4, 2, 3).contiguous()
    rows = [("input normalisation (max abs difference)", float((normalise(patches_to_float(u8)) - torch.from_numpy(inputs["input_f32"])).abs().max()), "0")]

    extractor = load_extractor(args.parity / "backbone.pth")[0]
    out = extractor(patches_to_float(u8))
    rows += [("backbone feature f, float32", relative(out.feature, expected["f"]), "1e-4"),
             ("per-patch covariance vectors f5, float32", relative(out.covariances, expected["f5"]), "1e-4")]
    rows += [(f"conv group output f{i}, float32", relative(g[expected["sub_index"]], expected[f"f{i}_sub"]), "1e-4")
             for i, g in enumerate(out.groups, start=1)]
    out64 = load_extractor(args.parity / "backbone.pth")[0].double()(u8.double() / 255)
    rows += [("backbone feature f, float64", relative(out64.feature, expected["f_f64"]), "1e-9"),
             ("f5, float64", relative(out64.covariances, expected["f5_f64"]), "1e-9")]

    binary = load_binary(args.parity / "bc.pth")[0]
    logits, _ = binary(patches_to_float(u8))
    probability = logits.softmax(1)[:, 1].numpy()
    rows += [("binary logits, float32", relative(logits, expected["bc_logits"]), "1e-4"),
             ("P(generated), float32 (max abs difference)", float(np.abs(probability - expected["bc_prob_fake"]).max()), "1e-5 abs"),
             ("binary verdicts equal", "yes" if (probability > 0.5).tolist() == expected["bc_pred_fake"].tolist() else "no", "yes")]
    cut = image_patches(inputs["adaptive_source_uint8"], rule="official").patches
    rows.append(("official whole-image patching, 192x128 image (max abs difference)",
                 float((normalise(patches_to_float(torch.from_numpy(cut))) - torch.from_numpy(inputs["adaptive_input_f32"])).abs().max()), "0"))

    for case in ("photo", "synth"):
        g = {k[len(case) + 1:]: v for k, v in gmm.items() if k.startswith(case + "_")}
        detector = OneClassDetector.fit(g["train_features"], GMMSettings(), extractor_id="official")
        test = detector.score(g["test_features"])
        rows += [(f"GMM ({case}): test scores vs the official float64 fit", relative(test, g["f64_test_scores"]), "1e-6"),
                 (f"GMM ({case}): test scores vs the official float32 run", relative(test, g["test_scores"]), "3e-3" if case == "photo" else "1e-5"),
                 (f"GMM ({case}): threshold vs float64", abs(detector.threshold - float(g["f64_threshold"])) / abs(float(g["f64_threshold"])), "1e-9"),
                 (f"GMM ({case}): decisions equal (of {len(test)})",
                  "yes" if ((~detector.verdict(test)).astype(int) == g["f64_test_pred_real"]).all() else "no", "yes")]
    print("| output | sdaie vs official | tolerance |")
    print("|---|---|---|")
    for name, value, tolerance in rows:
        print(f"| {name} | {value if isinstance(value, str) else format(value, '.2g')} | {tolerance} |")


if __name__ == "__main__":
    main()
