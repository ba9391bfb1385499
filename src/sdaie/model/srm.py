"""The 30 basic high-pass filters of the spatial rich model (Fridrich and Kodovsky, 2012).

Each filter predicts a pixel from its neighbours and keeps the prediction error (the residual), so
scene content is suppressed and the fine structure that cameras leave (noise, demosaicing, JPEG) is
kept. All 30 kernels are 5x5 (3x3 ones zero-padded) and sum to zero, so a flat image has zero
residual. They come in the published order (the official SDAIE code's `group1.hpf` bank), which
published weights depend on, since the first convolution reads the residual maps by position:

    channels  class       kernel                                            divided by
     0 -  7   1st order   -1 at the centre, +1 at one of the 8 neighbours    1
                          (neighbours in raster order: TL, T, TR, L, R, BL, B, BR)
     8 - 11   2nd order   [1, -2, 1] through the centre, along TL-BR, T-B,   2
                          TR-BL, L-R
    12 - 19   3rd order   [-1, 3, -3, 1] from two steps out toward one side  3
                          to one step the other side, pointing TL, T, TR, R,
                          BR, B, BL, L (clockwise)
    20 - 23   EDGE3x3     half of SQUARE3x3 (centre line kept): top, right,   4
                          bottom, left
    24 - 27   EDGE5x5     half of SQUARE5x5, same order                      12
    28        SQUARE3x3   [[-1,2,-1],[2,-4,2],[-1,2,-1]]                     4
    29        SQUARE5x5   the 5x5 "KV" kernel                                12

Models trained with sdaie 0.1 used the same 30 kernels in another order; `srm_kernels("sdaie-0.1")`
gives that order so such models still load as they were trained.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

OFFICIAL, SDAIE_0_1 = "official", "sdaie-0.1"

# Unit steps (row, column): the 8 neighbours in raster order, and the 8 directions clockwise from top-left.
_RASTER = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]
_CLOCKWISE = [(-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1)]

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

# Position in the published bank of each kernel of the sdaie 0.1 bank.
_SDAIE_0_1_ORDER = [4, 2, 1, 0, 3, 5, 6, 7, 11, 10, 9, 8, 15, 14, 13, 12, 19, 18, 17, 16, 20, 23, 22, 21, 28, 24, 27, 26, 25, 29]


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


def _edges(square: np.ndarray) -> list[np.ndarray]:
    """The top, right, bottom and left halves (centre line included) of a square kernel."""
    top = square.copy()
    top[square.shape[0] // 2 + 1 :, :] = 0
    return [np.rot90(top, -quarter) for quarter in range(4)]  # clockwise quarter turns


def srm_kernels(order: str = OFFICIAL) -> np.ndarray:
    """The 30 SRM kernels, normalised, (30, 5, 5) float64, in the published order (or sdaie 0.1's)."""
    kernels = []
    kernels += [_line_kernel({0: -1, 1: 1}, d) for d in _RASTER]
    kernels += [_line_kernel({-1: 1, 0: -2, 1: 1}, d) / 2 for d in _RASTER[:4]]
    kernels += [_line_kernel({2: -1, 1: 3, 0: -3, -1: 1}, d) / 3 for d in _CLOCKWISE]
    kernels += [_pad5(edge) / 4 for edge in _edges(_SQUARE3)]
    kernels += [edge / 12 for edge in _edges(_SQUARE5)]
    kernels += [_pad5(_SQUARE3) / 4, _SQUARE5 / 12]
    stacked = np.stack(kernels)
    if order == SDAIE_0_1:
        return stacked[_SDAIE_0_1_ORDER]
    if order != OFFICIAL:
        raise ValueError(f"unknown SRM kernel order {order!r} (expected {OFFICIAL!r} or {SDAIE_0_1!r})")
    return stacked


class SRMFilter(nn.Module):
    """Frozen SRM front end: each of the 30 kernels on each colour channel separately.

    Input (N, C, H, W); output (N, 30 * C, H, W), channels grouped by input channel (channel c's 30
    residuals are output channels 30c .. 30c + 29), as published. Zero padding keeps the size. The
    kernels are float32 (coefficient / divisor rounded to float32, as in the published bank) and
    are not part of the state dict: they are fixed by `order`."""

    def __init__(self, in_channels: int = 3, order: str = OFFICIAL):
        super().__init__()
        kernels = torch.from_numpy(srm_kernels(order)).float()  # (30, 5, 5)
        weight = kernels.unsqueeze(1).repeat(in_channels, 1, 1, 1)  # (30 * C, 1, 5, 5)
        self.register_buffer("weight", weight, persistent=False)
        self.in_channels = in_channels
        self.order = order

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.conv2d(x, self.weight.to(x.dtype), padding=2, groups=self.in_channels)
