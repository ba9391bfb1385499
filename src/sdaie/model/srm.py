"""The 30 basic high-pass filters of the spatial rich model (Fridrich and Kodovsky, 2012).

Each filter predicts a pixel from its neighbours and keeps the prediction error (the residual), so
scene content is suppressed and the fine structure that cameras leave (noise, demosaicing, JPEG) is
kept. All 30 kernels are 5x5 (3x3 ones zero-padded) and sum to zero, so a flat image has zero
residual. Classes and normalisation, as in the rich model:

    class       count  kernel                                     divided by
    1st order     8    -1 at the centre, +1 at one neighbour       1
    2nd order     4    [1, -2, 1] along 4 axes                     2
    3rd order     8    [1, -3, 3, -1] along 8 directions           3
    EDGE3x3       4    half of SQUARE3x3, 4 rotations              4
    SQUARE3x3     1    [[-1,2,-1],[2,-4,2],[-1,2,-1]]              4
    EDGE5x5       4    half of SQUARE5x5, 4 rotations              12
    SQUARE5x5     1    5x5 "KV" kernel                             12
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

# The 8 unit steps (row, column), counter-clockwise from "right".
_DIRECTIONS = [(0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1), (1, 0), (1, 1)]

_SQUARE3 = np.array([[-1, 2, -1], [2, -4, 2], [-1, 2, -1]], dtype=np.float64)
_SQUARE5 = np.array(
    [
        [-1, 2, -2, 2, -1],
        [2, -6, 8, -6, 2],
        [-2, 8, -12, 8, -2],
        [2, -6, 8, -6, 2],
        [-1, 2, -2, 2, -1],
    ],
    dtype=np.float64,
)


def _line_kernel(coefficients: dict[int, float], direction: tuple[int, int]) -> np.ndarray:
    """A 5x5 kernel with coefficient c at centre + k * direction for each (k, c)."""
    kernel = np.zeros((5, 5))
    dr, dc = direction
    for k, c in coefficients.items():
        kernel[2 + k * dr, 2 + k * dc] = c
    return kernel


def _pad5(kernel3: np.ndarray) -> np.ndarray:
    kernel = np.zeros((5, 5))
    kernel[1:4, 1:4] = kernel3
    return kernel


def _edge(square: np.ndarray, rotation: int) -> np.ndarray:
    """The top half (centre row included) of a square kernel, rotated by 90 degrees `rotation` times."""
    half = square.copy()
    half[square.shape[0] // 2 + 1 :, :] = 0
    return np.rot90(half, rotation)


def srm_kernels() -> np.ndarray:
    """The 30 SRM kernels, normalised, as an array of shape (30, 5, 5), in the order of the table above."""
    kernels = []
    kernels += [_line_kernel({0: -1, 1: 1}, d) for d in _DIRECTIONS]
    kernels += [_line_kernel({-1: 1, 0: -2, 1: 1}, d) / 2 for d in _DIRECTIONS[:4]]
    kernels += [_line_kernel({-1: 1, 0: -3, 1: 3, 2: -1}, d) / 3 for d in _DIRECTIONS]
    kernels += [_pad5(_edge(_SQUARE3, r)) / 4 for r in range(4)]
    kernels += [_pad5(_SQUARE3) / 4]
    kernels += [_edge(_SQUARE5, r) / 12 for r in range(4)]
    kernels += [_SQUARE5 / 12]
    stacked = np.stack(kernels)
    assert stacked.shape == (30, 5, 5)
    return stacked


class SRMFilter(nn.Module):
    """Frozen SRM front end: each of the 30 kernels on each colour channel separately.

    Input (N, C, H, W); output (N, 30 * C, H, W), channels grouped by input channel
    (channel c's 30 residuals are output channels 30c .. 30c + 29). Zero padding keeps the size."""

    def __init__(self, in_channels: int = 3):
        super().__init__()
        kernels = torch.from_numpy(srm_kernels()).float()  # (30, 5, 5)
        weight = kernels.unsqueeze(1).repeat(in_channels, 1, 1, 1)  # (30 * C, 1, 5, 5)
        self.register_buffer("weight", weight, persistent=False)
        self.in_channels = in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.conv2d(x, self.weight.to(x.dtype), padding=2, groups=self.in_channels)
