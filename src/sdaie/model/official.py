"""Published SDAIE checkpoints: read the official code's files and map them onto sdaie's modules.

The official training scripts (github Ekko-zn/SDAIE) save `{'state_net': state_dict}` of the network
wrapped in DistributedDataParallel, so keys start with `module.` (or not, when saved unwrapped):

    backbone checkpoint (backbone_train.py)   backbone.<extractor key>          the pretext extractor
                                              fc1 ... fc14 .weight/.bias        its 14 pretext heads
    binary checkpoint (bc_train.py)           diffusionextractor_pretrained.*   the frozen teacher
                                              diffusionextractor_random.*       the detector's extractor
                                              fc.weight, fc.bias                its 2-way head

Every tensor is mapped by name and shape (`key_pairs`, one table for both directions); a file with a
tensor left over, missing or of another shape is refused with a list of what did not map. The
SRM bank (`group1.hpf.weight`) is not a parameter here: it must equal sdaie's published bank exactly.
The pretext heads are kept beside the extractor for reference but not used: their classes are the
authors' EXIF vocabulary, which is not published.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import torch

from sdaie.errors import InputError
from sdaie.model.backbone import ExtractorConfig
from sdaie.model.srm import srm_kernels

SRM_KEY = "group1.hpf.weight"
BACKBONE, TEACHER, STUDENT = "backbone.", "diffusionextractor_pretrained.", "diffusionextractor_random."
PRETEXT_HEADS = [f"fc{i}" for i in range(1, 15)]
BINARY_HEAD = "fc"


def key_pairs(config: ExtractorConfig | None = None) -> list[tuple[str, str]]:
    """(official key, sdaie key) of every parameter of the extractor, in the official order."""
    config = config or ExtractorConfig()
    pairs = []
    for i in range(config.transformer_layers):
        official, ours = f"transformer.layers.{i}", f"layers.{i}"
        pairs += [
            (f"{official}.0.norm.weight", f"{ours}.norm1.weight"),
            (f"{official}.0.norm.bias", f"{ours}.norm1.bias"),
            (f"{official}.0.fn.to_qkv.weight", f"{ours}.attention.qkv.weight"),
            (f"{official}.0.fn.to_out.0.weight", f"{ours}.attention.out.weight"),
            (f"{official}.0.fn.to_out.0.bias", f"{ours}.attention.out.bias"),
            (f"{official}.1.norm.weight", f"{ours}.norm2.weight"),
            (f"{official}.1.norm.bias", f"{ours}.norm2.bias"),
        ]
        pairs += [(f"{official}.1.fn.net.{k}.{p}", f"{ours}.mlp.{k}.{p}") for k in (0, 3) for p in ("weight", "bias")]
    pairs += [(f"group1_b.{k}.{p}", f"cnn.stem.{k}.{p}") for k in (0, 1) for p in ("weight", "bias")]
    for group, layers in enumerate(config.group_layers):
        for layer in range(layers):  # official Sequential: conv at 3j, LayerNorm at 3j + 1, ReLU at 3j + 2
            for part in (0, 1):
                pairs += [(f"group{group + 2}.{3 * layer + part}.{p}", f"cnn.groups.{group}.{layer}.{part}.{p}")
                          for p in ("weight", "bias")]
    return pairs


@dataclass
class OfficialCheckpoint:
    """What a published checkpoint holds, as sdaie state dicts (extractor keys without a prefix)."""

    kind: str  # "backbone" or "binary"
    extractor: dict[str, torch.Tensor]  # backbone: the pretext extractor; binary: the detector's extractor
    teacher: dict[str, torch.Tensor] | None = None  # binary: the frozen pretext extractor it was distilled toward
    head: dict[str, torch.Tensor] | None = None  # binary: the 2-way head (weight, bias)
    pretext_heads: dict[str, torch.Tensor] = field(default_factory=dict)  # backbone: fc1..fc14, unused
    source: dict = field(default_factory=dict)  # path, sha256, other keys of the file


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_official(state: dict) -> bool:
    """True for the dict an official training script saves (sdaie's own checkpoints have no `state_net`)."""
    return isinstance(state, dict) and "state_net" in state


def _strip_ddp(state_net: dict) -> dict:
    return {(key[len("module."):] if key.startswith("module.") else key): value for key, value in state_net.items()}


def _extractor_from(state: dict, prefix: str, path: Path, problems: list[str]) -> dict[str, torch.Tensor]:
    """The sdaie extractor state dict under `prefix`; every key it takes is removed from `state`."""
    from sdaie.model.backbone import SDAIEExtractor

    expected = SDAIEExtractor(ExtractorConfig()).state_dict()
    extractor = {}
    for official, ours in key_pairs():
        tensor = state.pop(prefix + official, None)
        if tensor is None:
            problems.append(f"missing {prefix}{official}")
        elif tuple(tensor.shape) != tuple(expected[ours].shape):
            problems.append(f"{prefix}{official} has shape {tuple(tensor.shape)}, expected {tuple(expected[ours].shape)}")
        else:
            extractor[ours] = tensor.detach().clone().float()
    bank = state.pop(prefix + SRM_KEY, None)
    published = torch.from_numpy(srm_kernels()).float().unsqueeze(1)
    if bank is None:
        problems.append(f"missing {prefix}{SRM_KEY}")
    elif tuple(bank.shape) != tuple(published.shape) or not torch.equal(bank.float(), published):
        problems.append(f"{prefix}{SRM_KEY} is not the published SRM bank (30 kernels in the published order)")
    return extractor


def _linear(state: dict, name: str, problems: list[str], out_features: int | None = None) -> dict[str, torch.Tensor]:
    weight, bias = state.pop(f"{name}.weight", None), state.pop(f"{name}.bias", None)
    if weight is None or bias is None:
        problems.append(f"missing {name}.weight or {name}.bias")
        return {}
    dim = ExtractorConfig().feature_dim
    if weight.ndim != 2 or weight.shape[1] != dim or bias.shape != weight.shape[:1] or (out_features and weight.shape[0] != out_features):
        problems.append(f"{name} has shapes {tuple(weight.shape)} / {tuple(bias.shape)}, expected ({out_features or 'k'}, {dim}) / ({out_features or 'k'},)")
        return {}
    return {"weight": weight.detach().clone().float(), "bias": bias.detach().clone().float()}


def read_official(path: str | Path) -> OfficialCheckpoint:
    """Read a published backbone or binary-classifier checkpoint; InputError unless every tensor maps."""
    path = Path(path)
    from sdaie.model.checkpoint import read_torch_file

    raw = read_torch_file(path)
    if not is_official(raw) or not isinstance(raw["state_net"], dict):
        raise InputError(path, "not an official SDAIE checkpoint (no 'state_net' dict)",
                         "give the .pth file that backbone_train.py or bc_train.py saved")
    state = _strip_ddp(raw["state_net"])
    not_tensors = [key for key, value in state.items() if not isinstance(value, torch.Tensor)]
    if not_tensors:
        raise InputError(path, f"state_net holds entries that are not tensors: {', '.join(not_tensors[:5])}",
                         "give the .pth file that backbone_train.py or bc_train.py saved")
    source = {"path": str(path), "sha256": sha256_of(path), "other_keys": sorted(k for k in raw if k != "state_net")}
    problems: list[str] = []
    if any(key.startswith(STUDENT) for key in state):
        checkpoint = OfficialCheckpoint(
            kind="binary",
            extractor=_extractor_from(state, STUDENT, path, problems),
            teacher=_extractor_from(state, TEACHER, path, problems),
            head=_linear(state, BINARY_HEAD, problems, out_features=2),
            source=source,
        )
    elif any(key.startswith(BACKBONE) for key in state):
        checkpoint = OfficialCheckpoint(kind="backbone", extractor=_extractor_from(state, BACKBONE, path, problems),
                                        source=source)
        for head in PRETEXT_HEADS:
            for name, tensor in _linear(state, head, problems).items():
                checkpoint.pretext_heads[f"{head}.{name}"] = tensor
    else:
        raise InputError(path, "holds neither a backbone ('backbone.*' keys) nor a binary classifier "
                         "('diffusionextractor_random.*' keys)", "give an official SDAIE checkpoint")
    problems += [f"left over: {key} {tuple(value.shape)}" for key, value in state.items()]
    if problems:
        listing = "; ".join(problems[:12]) + (f"; and {len(problems) - 12} more" if len(problems) > 12 else "")
        raise InputError(path, f"{len(problems)} tensors do not map onto the published architecture: {listing}",
                         "is it a checkpoint of the official SDAIE code at its published architecture?")
    return checkpoint


def to_official(extractor: dict[str, torch.Tensor], prefix: str = BACKBONE) -> dict[str, torch.Tensor]:
    """An sdaie extractor state dict under official names (with the SRM bank), e.g. to write test fixtures."""
    state = {prefix + official: extractor[ours] for official, ours in key_pairs()}
    state[prefix + SRM_KEY] = torch.from_numpy(srm_kernels()).float().unsqueeze(1)
    return state
