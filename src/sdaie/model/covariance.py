"""Covariance pooling with a matrix square root (MPN-COV / iSQRT-COV).

A feature map (C, H, W) becomes the centred covariance of its C channels over the H*W positions,
then that matrix's square root by Newton-Schulz iterations (pre-normalised by the trace so they
converge, post-compensated by the square root of the trace), and finally the upper triangle
(C (C + 1) / 2 values). Computed in float32 under autocast (from bf16 or fp16 maps), in float64 for
float64 maps.
"""

from __future__ import annotations

import torch
from torch import nn


def centred_covariance(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, C): covariance of the channels over positions, 1/M normalised."""
    n, c, h, w = x.shape
    features = x.reshape(n, c, h * w)
    features = features - features.mean(dim=2, keepdim=True)
    return features @ features.transpose(1, 2) / (h * w)


def newton_schulz_sqrt(matrix: torch.Tensor, iterations: int = 5, eps: float = 1e-12) -> torch.Tensor:
    """Approximate square root of symmetric positive semi-definite matrices (N, C, C)."""
    n, c, _ = matrix.shape
    identity = torch.eye(c, dtype=matrix.dtype, device=matrix.device).expand(n, c, c)
    trace = matrix.diagonal(dim1=1, dim2=2).sum(dim=1).clamp_min(eps).view(n, 1, 1)
    y = matrix / trace
    z = identity
    for _ in range(iterations):
        t = 0.5 * (3.0 * identity - z @ y)
        y, z = y @ t, t @ z
    return y * trace.sqrt()


def upper_triangle(matrix: torch.Tensor) -> torch.Tensor:
    """(N, C, C) -> (N, C (C + 1) / 2), row by row, diagonal included."""
    c = matrix.shape[-1]
    rows, cols = torch.triu_indices(c, c, device=matrix.device)
    return matrix[:, rows, cols]


class CovariancePooling(nn.Module):
    """Feature map (N, C, H, W) -> square-rooted covariance, upper triangle (N, C (C + 1) / 2), float32 or float64."""

    def __init__(self, iterations: int = 5):
        super().__init__()
        self.iterations = iterations

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=x.device.type, enabled=False):
            covariance = centred_covariance(x if x.dtype == torch.float64 else x.float())
            return upper_triangle(newton_schulz_sqrt(covariance, self.iterations))
