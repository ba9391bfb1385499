"""The SDAIE feature extractor: SRM residual CNN, covariance pooling, and a small Transformer.

    patches (B, n, 3, 64, 64), RGB in [0, 1]
      -> CLIP mean/std normalisation
      -> SRM: 30 fixed high-pass filters per colour channel          (90, 64, 64)
      -> conv 90->32 3x3, LayerNorm(32, 64, 64), Hardtanh(-5, 5)     (32, 64, 64)
      -> group 1: 4 x [conv 3x3, LayerNorm(C, H, W), ReLU], avgpool  (32, 32, 32)
      -> group 2: 2 x [...], avgpool                                 (32, 16, 16)
      -> group 3: 2 x [...], avgpool                                 (32, 8, 8)
      -> group 4: 2 x [...]                                          (32, 8, 8)
      -> covariance pooling, matrix square root, upper triangle      (528,) per patch
      -> Transformer over the n patch vectors (2 pre-norm layers, 4 heads of 16, MLP 128, GELU),
         no positional embedding, no class token, no final LayerNorm
      -> image feature: output token 0                               (528,)

This is the published network, layer for layer (the official code's `base()`); published weights load
into it with `sdaie.model.official`. `ExtractorConfig` records the architecture in every checkpoint.
Models trained with sdaie 0.1 had a final LayerNorm after the Transformer and the SRM kernels in
another order: their recorded config says so (`ExtractorConfig.from_dict`), and they load as trained.

Patches are spatially scrambled (their order carries no position), so the features describe the
camera's fine structure, not the scene's layout. The forward pass also returns the intermediate
outputs that the binary detector distils (each conv group's output and the per-patch covariance
vectors).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from torch import nn

from sdaie.model.covariance import CovariancePooling
from sdaie.model.srm import OFFICIAL, SDAIE_0_1, SRMFilter

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
PATCH = 64


@dataclass(frozen=True)
class ExtractorConfig:
    """Architecture of the extractor; the defaults are the published model."""

    channels: int = 32
    group_layers: tuple[int, ...] = (4, 2, 2, 2)
    pooled_groups: int = 3  # average pooling after each of the first this-many groups
    newton_schulz_iterations: int = 5
    transformer_layers: int = 2
    heads: int = 4
    head_dim: int = 16
    mlp_dim: int = 128
    dropout: float = 0.0
    final_norm: bool = False  # a LayerNorm after the Transformer: sdaie 0.1 only, not published
    srm_order: str = OFFICIAL  # order of the SRM kernels (sdaie.model.srm)

    @property
    def feature_dim(self) -> int:
        return self.channels * (self.channels + 1) // 2

    @classmethod
    def from_dict(cls, values: dict) -> "ExtractorConfig":
        """From `dataclasses.asdict` output as stored in checkpoints (lists back to tuples).

        A config without `final_norm` was written by sdaie 0.1, whose extractor had a final LayerNorm
        and the SRM kernels in its own order: it gets exactly that architecture back."""
        values = dict(values)
        if "final_norm" not in values:
            values.update(final_norm=True, srm_order=SDAIE_0_1)
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown extractor settings {sorted(unknown)}: written by a newer sdaie?")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})

    @property
    def final_size(self) -> int:
        return PATCH // (2**self.pooled_groups)


@dataclass
class ExtractorOutput:
    feature: torch.Tensor  # (B, feature_dim): the image feature, output token 0
    tokens: torch.Tensor  # (B, n, feature_dim): all output tokens
    groups: list[torch.Tensor]  # each conv group's output, (B * n, C, h, w)
    covariances: torch.Tensor  # (B, n, feature_dim): per-patch covariance vectors (Transformer input)


class ConvLayer(nn.Sequential):
    """3x3 conv, LayerNorm over the whole (C, H, W) map, ReLU."""

    def __init__(self, channels: int, size: int):
        super().__init__(
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.LayerNorm([channels, size, size]),
            nn.ReLU(inplace=True),
        )


def normalise(x: torch.Tensor) -> torch.Tensor:
    """RGB in [0, 1] -> (x - mean) / std with the CLIP constants, as published (torchvision's Normalize).

    The constants are made in the input's dtype from the decimal values, so a float64 model gets them
    exactly and a float32 one gets them rounded to float32, as the official pipeline does."""
    shape = (1, 3, 1, 1)
    mean = torch.tensor(CLIP_MEAN, dtype=x.dtype, device=x.device).view(shape)
    std = torch.tensor(CLIP_STD, dtype=x.dtype, device=x.device).view(shape)
    return (x - mean) / std


class ResidualCNN(nn.Module):
    """SRM front end and the convolutional groups; returns each group's output."""

    def __init__(self, config: ExtractorConfig):
        super().__init__()
        c = config.channels
        self.srm = SRMFilter(3, config.srm_order)
        self.stem = nn.Sequential(
            nn.Conv2d(90, c, 3, padding=1),
            nn.LayerNorm([c, PATCH, PATCH]),
            nn.Hardtanh(-5.0, 5.0),
        )
        self.groups = nn.ModuleList()
        self.pools = nn.ModuleList()
        size = PATCH
        for index, layers in enumerate(config.group_layers):
            self.groups.append(nn.Sequential(*[ConvLayer(c, size) for _ in range(layers)]))
            if index < config.pooled_groups:
                self.pools.append(nn.AvgPool2d(3, stride=2, padding=1))
                size //= 2
            else:
                self.pools.append(nn.Identity())

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(self.srm(normalise(x)))
        outputs = []
        for group, pool in zip(self.groups, self.pools):
            x = pool(group(x))
            outputs.append(x)
        return outputs


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int, head_dim: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * heads * head_dim, bias=False)
        self.out = nn.Linear(heads * head_dim, dim)
        self.dropout = dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        y = nn.functional.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0)
        return self.out(y.transpose(1, 2).reshape(b, n, -1))


class TransformerLayer(nn.Module):
    """Pre-norm: x + Attention(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, dim: int, heads: int, head_dim: int, mlp_dim: int, dropout: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attention = Attention(dim, heads, head_dim, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(
            nn.Linear(dim, mlp_dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(mlp_dim, dim), nn.Dropout(dropout)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class SDAIEExtractor(nn.Module):
    """Patches (B, n, 3, 64, 64) in [0, 1] -> ExtractorOutput (image feature = token 0)."""

    def __init__(self, config: ExtractorConfig | None = None):
        super().__init__()
        self.config = config or ExtractorConfig()
        cfg = self.config
        self.cnn = ResidualCNN(cfg)
        self.pool = CovariancePooling(cfg.newton_schulz_iterations)
        dim = cfg.feature_dim
        self.layers = nn.ModuleList(
            [TransformerLayer(dim, cfg.heads, cfg.head_dim, cfg.mlp_dim, cfg.dropout) for _ in range(cfg.transformer_layers)]
        )
        self.norm = nn.LayerNorm(dim) if cfg.final_norm else nn.Identity()

    @property
    def feature_dim(self) -> int:
        return self.config.feature_dim

    def encode(self, covariances: torch.Tensor) -> torch.Tensor:
        """Per-patch covariance vectors (B, n, feature_dim) -> output tokens (B, n, feature_dim)."""
        tokens = covariances
        for layer in self.layers:
            tokens = layer(tokens)
        return self.norm(tokens)

    def forward(self, patches: torch.Tensor) -> ExtractorOutput:
        if patches.ndim != 5 or patches.shape[2:] != (3, PATCH, PATCH):
            raise ValueError(f"expected patches of shape (B, n, 3, {PATCH}, {PATCH}), got {tuple(patches.shape)}")
        b, n = patches.shape[:2]
        groups = self.cnn(patches.reshape(b * n, 3, PATCH, PATCH))
        covariances = self.pool(groups[-1]).view(b, n, -1)
        tokens = self.encode(covariances)
        return ExtractorOutput(feature=tokens[:, 0], tokens=tokens, groups=groups, covariances=covariances)
