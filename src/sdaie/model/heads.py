"""Pretext heads: one linear layer per tag on the 528-d image feature.

Categorical tags get logits over their vocabulary (kept values plus `other`); ordinal and continuous
tags get one scalar score each, trained by pairwise ranking.
"""

from __future__ import annotations

import torch
from torch import nn


class PretextHeads(nn.Module):
    def __init__(self, feature_dim: int, categorical: dict[str, int], ordinal: list[str]):
        super().__init__()
        self.categorical = nn.ModuleDict({tag: nn.Linear(feature_dim, n) for tag, n in categorical.items()})
        self.ordinal = nn.ModuleDict({tag: nn.Linear(feature_dim, 1) for tag in ordinal})

    def forward(self, feature: torch.Tensor) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """feature (B, D) -> ({tag: logits (B, K)}, {tag: scores (B,)})."""
        logits = {tag: head(feature) for tag, head in self.categorical.items()}
        scores = {tag: head(feature).squeeze(-1) for tag, head in self.ordinal.items()}
        return logits, scores
