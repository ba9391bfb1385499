"""A non-learned baseline feature: simple statistics of an image's SRM residuals.

The same 30 SRM high-pass kernels as the extractor's front end, applied to the luminance of the
image's 64x64 patches (valid region only, 8-bit scale). Per kernel: log standard deviation, log mean
absolute value, and log kurtosis of the residuals pooled over all patches: 90 values. A Gaussian
mixture over these, fitted on real photos like the one-class detector, shows how far hand-made noise
statistics go without any training.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from sdaie.model.srm import srm_kernels

DIM = 90
_LUMA = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
_EPS = 1e-6


@torch.no_grad()
def srm_statistics(patches: np.ndarray, chunk: int = 512) -> np.ndarray:
    """Patches (n, 3, 64, 64) uint8 -> (90,) float64 residual statistics."""
    weight = torch.from_numpy(srm_kernels()).float().unsqueeze(1)  # (30, 1, 5, 5)
    s1 = torch.zeros(30, dtype=torch.float64)
    s2 = torch.zeros(30, dtype=torch.float64)
    s4 = torch.zeros(30, dtype=torch.float64)
    sabs = torch.zeros(30, dtype=torch.float64)
    count = 0
    for start in range(0, len(patches), chunk):
        x = torch.from_numpy(patches[start : start + chunk]).float()
        luma = (x * _LUMA).sum(dim=1, keepdim=True)
        r = F.conv2d(luma, weight).double()  # (b, 30, 60, 60), valid region
        s1 += r.sum(dim=(0, 2, 3))
        s2 += r.pow(2).sum(dim=(0, 2, 3))
        s4 += r.pow(4).sum(dim=(0, 2, 3))
        sabs += r.abs().sum(dim=(0, 2, 3))
        count += r.shape[0] * r.shape[2] * r.shape[3]
    mean = s1 / count
    var = (s2 / count - mean**2).clamp_min(0)
    fourth = s4 / count
    kurtosis = fourth / (s2 / count).pow(2).clamp_min(_EPS)
    features = torch.cat([0.5 * torch.log(var + _EPS), torch.log(sabs / count + _EPS), torch.log(kurtosis + _EPS)])
    return features.numpy()
