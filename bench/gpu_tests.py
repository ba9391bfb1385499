"""GPU checks, run by bench/gpu_check.sh on a machine with CUDA (not part of the CPU test suite).

They need only torch, numpy and pyarrow, as on the lent GPU machine."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sdaie.model.backbone import SDAIEExtractor
from sdaie.model.covariance import CovariancePooling
from sdaie.train.pretext import PretextConfig, PretextModel, _compute_loss

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run by bench/gpu_check.sh)")

CLASSES = {"make": 5, "model": 9}
ORDINAL = ["iso", "f_number"]


def test_covariance_stays_float32_under_bf16_autocast():
    x = torch.randn(4, 32, 8, 8, device="cuda")
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out = CovariancePooling()(x.bfloat16())
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, CovariancePooling()(x.bfloat16().float()), rtol=1e-4, atol=1e-5)


def test_bf16_autocast_features_match_float32():
    torch.manual_seed(0)
    model = SDAIEExtractor().cuda().eval()
    x = torch.rand(4, 16, 3, 64, 64, device="cuda")
    with torch.no_grad():
        reference = model(x).feature
        with torch.autocast("cuda", dtype=torch.bfloat16):
            mixed = model(x).feature.float()
    cosine = torch.nn.functional.cosine_similarity(reference, mixed, dim=1)
    assert cosine.min() > 0.99, cosine


def test_cpu_and_gpu_agree_in_float32():
    torch.manual_seed(0)
    model = SDAIEExtractor().eval()
    x = torch.rand(2, 8, 3, 64, 64)
    with torch.no_grad():
        cpu = model(x).feature
        gpu = model.cuda()(x.cuda()).feature.cpu()
    torch.testing.assert_close(cpu, gpu, rtol=2e-3, atol=2e-3)


def test_compiled_training_step_matches_eager():
    torch.manual_seed(0)
    model = PretextModel(SDAIEExtractor().config, CLASSES, ORDINAL).cuda()
    compiled = torch.compile(model)
    config = PretextConfig(categorical=list(CLASSES), ordinal=ORDINAL)
    patches = torch.randint(0, 256, (8, 16, 3, 64, 64), dtype=torch.uint8)
    categorical = {tag: torch.randint(0, n, (8,)) for tag, n in CLASSES.items()}
    ordinal = {tag: torch.rand(8) for tag in ORDINAL}
    device = torch.device("cuda")
    eager, _ = _compute_loss(model, patches, categorical, ordinal, config, device, autocast=True)
    fast, _ = _compute_loss(compiled, patches, categorical, ordinal, config, device, autocast=True)
    assert np.isclose(eager.item(), fast.item(), rtol=2e-2)
    fast.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters() if p.requires_grad)
