"""Scoring many images: decoding and patch cutting in loader workers, the networks on packed batches.

    files ── loader workers: decode, transform (e.g. a perturbation), cut into 64x64 patches,
             optional per-image statistics (e.g. SRM residual statistics) ──>
    main process: images packed until `patch_budget` patches, pinned memory, onto the device ──>
    each network: CNN over all patches of the pack (chunks of `chunk`) -> per-patch covariance vectors
                  -> Transformer per image (images with equal patch counts together) -> token 0
                  -> optional head (the binary detector's: probability of "AI-generated")

While the networks run on one pack, the workers decode the next images (DataLoader prefetch), so a
GPU is not left waiting on JPEG decoding. Small images share a pack; an image with more patches than
the budget is a pack of its own. Results come back in the order of the input files, one `Scored` per
file, with one `Variant` per transform. This is the one scoring path: `sdaie detect`, `Detector.score`,
the features rule, `sdaie fit-oneclass`, the baselines and the evaluation all go through `score_files`.
A file that cannot be decoded gives a `Scored` with `error` set, never an exception.

bf16 autocast (`amp`) is off by default: on an H200 it was not faster for whole images (BENCHMARKS.md),
and its features differ from float32 by up to about 1% relative (tests/test_scoring_pipeline.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sdaie.detect.features import Patching
from sdaie.imageio import ImageDecodeError, decode_rgb
from sdaie.model.backbone import SDAIEExtractor

Transform = Callable[[np.ndarray], np.ndarray]  # uint8 RGB (H, W, 3) -> uint8 RGB, in a worker
Statistic = Callable[[np.ndarray], np.ndarray]  # uint8 patches (n, 3, 64, 64) -> vector, in a worker


@dataclass
class Network:
    """An extractor, and optionally a head on its feature: without one the output is the 528-d feature,
    with one (the binary detector's Linear(528, 2)) the probability of class 1, "AI-generated"."""

    name: str
    extractor: SDAIEExtractor
    head: nn.Module | None = None


@dataclass
class Variant:
    """One transform of one image: its patch count and what every network and statistic gave."""

    patches: int
    upscaled: bool
    outputs: dict[str, np.ndarray | float] = field(default_factory=dict)


@dataclass
class Scored:
    index: int  # position in the input list
    path: Path
    width: int | None = None
    height: int | None = None
    error: str | None = None
    variants: list[Variant] = field(default_factory=list)


@dataclass
class _Loaded:
    index: int
    width: int | None
    height: int | None
    error: str | None
    patches: list[torch.Tensor]  # uint8 (n, 3, 64, 64) per transform
    upscaled: list[bool]
    statistics: list[dict[str, np.ndarray]]


class _Images(torch.utils.data.Dataset):
    """Item i: file i decoded, transformed and cut (run in loader workers)."""

    def __init__(self, paths: Sequence[Path], patching: Patching, transforms: Sequence[Transform | None],
                 statistics: dict[str, Statistic], decode: Callable[[Path], np.ndarray]):
        self.paths, self.patching, self.transforms = list(paths), patching, list(transforms)
        self.statistics, self.decode = statistics, decode

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> _Loaded:
        try:
            pixels = self.decode(self.paths[i])
        except ImageDecodeError as exc:  # unreadable, truncated, not an image: a result with the reason
            return _Loaded(i, None, None, f"cannot decode: {exc.what}", [], [], [])
        patches, upscaled, statistics = [], [], []
        for transform in self.transforms:
            cut = self.patching(transform(pixels) if transform is not None else pixels)
            patches.append(torch.from_numpy(cut.patches))
            upscaled.append(cut.upscaled)
            statistics.append({name: fn(cut.patches) for name, fn in self.statistics.items()})
        return _Loaded(i, pixels.shape[1], pixels.shape[0], None, patches, upscaled, statistics)


@torch.no_grad()
def network_outputs(network: Network, sequences: list[torch.Tensor], device: torch.device, *, chunk: int = 512,
                    amp: bool = False) -> list[np.ndarray | float]:
    """The network's output for each patch sequence (uint8 (n_i, 3, 64, 64)), computed as one pack."""
    extractor = network.extractor
    flat = torch.cat(sequences) if len(sequences) > 1 else sequences[0]
    covariances = []
    for start in range(0, len(flat), chunk):
        x = flat[start : start + chunk].to(device, non_blocking=True).float().div_(255.0)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
            covariances.append(extractor.pool(extractor.cnn(x)[-1]))
    tokens = torch.cat(covariances).split([len(s) for s in sequences])
    outputs: list = [None] * len(sequences)
    by_length: dict[int, list[int]] = {}
    for i, t in enumerate(tokens):
        by_length.setdefault(len(t), []).append(i)
    for members in by_length.values():  # one Transformer batch per sequence length
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
            features = extractor.encode(torch.stack([tokens[i] for i in members]))[:, 0]
            if network.head is not None:
                values = network.head(features).float().softmax(dim=1)[:, 1].cpu().tolist()
            else:
                values = list(features.float().cpu().numpy())
        for i, value in zip(members, values):
            outputs[i] = value
    return outputs


def score_files(paths: Iterable[str | Path], networks: Sequence[Network], patching: Patching, device: torch.device, *,
                transforms: Sequence[Transform | None] = (None,), statistics: dict[str, Statistic] | None = None,
                decode: Callable[[Path], np.ndarray] | None = None, workers: int = 0, patch_budget: int = 2048,
                chunk: int = 512, amp: bool = False, progress=None) -> Iterator[Scored]:
    """Every file's outputs, in input order (module docstring). `progress(done)` is called per file."""
    decode = decode or decode_rgb
    paths = [Path(p) for p in paths]
    for network in networks:
        network.extractor.to(device).eval()
        if network.head is not None:
            network.head.to(device).eval()
    dataset = _Images(paths, patching, transforms, statistics or {}, decode)
    loader = torch.utils.data.DataLoader(dataset, batch_size=None, shuffle=False, num_workers=workers,
                                         pin_memory=device.type == "cuda", prefetch_factor=4 if workers else None)
    pack: list[_Loaded] = []
    size = done = 0
    for loaded in loader:
        n = sum(len(p) for p in loaded.patches)
        if pack and size + n > patch_budget:
            yield from _finish(pack, paths, networks, device, chunk, amp)
            done += len(pack)
            if progress:
                progress(done)
            pack, size = [], 0
        pack.append(loaded)
        size += n
    if pack:
        yield from _finish(pack, paths, networks, device, chunk, amp)
        if progress:
            progress(done + len(pack))


def _finish(pack: list[_Loaded], paths: list[Path], networks: Sequence[Network], device: torch.device, chunk: int,
            amp: bool) -> Iterator[Scored]:
    sequences = [p for loaded in pack for p in loaded.patches]
    outputs = {net.name: network_outputs(net, sequences, device, chunk=chunk, amp=amp) for net in networks} if sequences else {}
    k = 0
    for loaded in pack:
        scored = Scored(loaded.index, paths[loaded.index], loaded.width, loaded.height, loaded.error)
        for patches, upscaled, stats in zip(loaded.patches, loaded.upscaled, loaded.statistics):
            variant = Variant(len(patches), upscaled, dict(stats))
            for name, values in outputs.items():
                variant.outputs[name] = values[k]
            scored.variants.append(variant)
            k += 1
        yield scored


def scoring_workers(features: dict, threads: int, device: torch.device) -> int:
    """Loader workers of a pipeline job: the config's `features.workers`, else `default_workers`."""
    return features.get("workers") or default_workers(threads, device)


def default_workers(threads: int, device: torch.device) -> int:
    """Loader workers for scoring: the job's cores on a GPU (decoding is the bottleneck there); on the
    CPU one, since the networks need the cores and decoding is a small share of the time."""
    return max(1, threads) if device.type == "cuda" else 1
