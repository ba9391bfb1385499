"""Pretext losses: cross-entropy for categorical tags, Thurstone pairwise ranking for ordinal ones.

Ranking in Thurstone form: for two images i, j with scalar scores s_i, s_j,

    p(i ranks above j) = Phi(s_i - s_j) = (1 + erf((s_i - s_j) / sqrt 2)) / 2

trained by binary cross-entropy against 1 when x_i > x_j and 0 when x_i < x_j, over all pairs in
the batch. Ties and pairs with a missing value (NaN) carry no order and are masked out.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

MISSING_CLASS = -1  # categorical label of a missing tag; ignored by the loss


def ranking_pairs(values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For values (B,) with NaN for missing: (target, mask), both (B, B), over pairs i < j.

    target[i, j] = 1 if values[i] > values[j] else 0; mask excludes ties, missing values,
    the diagonal and the lower triangle (each unordered pair counted once)."""
    b = values.shape[0]
    valid = ~torch.isnan(values)
    vi, vj = values.unsqueeze(1), values.unsqueeze(0)
    upper = torch.ones(b, b, dtype=torch.bool, device=values.device).triu(diagonal=1)
    mask = upper & valid.unsqueeze(1) & valid.unsqueeze(0) & (vi != vj)
    target = (vi > vj).to(values.dtype)
    return target, mask


def thurstone_ranking_loss(scores: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Mean BCE over all ordered pairs of the batch; returns (loss, number of pairs used).

    With no usable pair the loss is a zero that still depends on the scores (so backward works)."""
    scores = scores.float().view(-1)
    target, mask = ranking_pairs(values.float().view(-1))
    pairs = int(mask.sum())
    if pairs == 0:
        return scores.sum() * 0.0, 0
    diff = scores.unsqueeze(1) - scores.unsqueeze(0)
    # -[t log Phi(d) + (1 - t) log Phi(-d)], in log space for stability.
    nll = -(target * torch.special.log_ndtr(diff) + (1 - target) * torch.special.log_ndtr(-diff))
    return nll[mask].mean(), pairs


def ranking_accuracy(scores: torch.Tensor, values: torch.Tensor) -> tuple[int, int]:
    """(correctly ordered pairs, usable pairs) over all pairs i < j."""
    scores = scores.float().view(-1)
    target, mask = ranking_pairs(values.float().view(-1))
    predicted = (scores.unsqueeze(1) > scores.unsqueeze(0)).to(target.dtype)
    correct = int(((predicted == target) & mask).sum())
    return correct, int(mask.sum())


def categorical_loss(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Cross-entropy ignoring missing labels (MISSING_CLASS); returns (loss, labelled count)."""
    labelled = int((labels != MISSING_CLASS).sum())
    if labelled == 0:
        return logits.float().sum() * 0.0, 0
    return F.cross_entropy(logits.float(), labels.long(), ignore_index=MISSING_CLASS), labelled
