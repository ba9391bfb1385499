"""Read patch shards by memory mapping and turn crops into scrambled 64x64 patch sequences.

Batches are described by a `BatchSpec` (which crops, which tiles of each crop, in which order) that
is computed from (seed, step) alone, so a resumed run sees exactly the batches an uninterrupted run
would have seen, whatever the number of loader workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

PATCH = 64


def shard_files(stem: Path) -> tuple[Path, Path]:
    """(.npy crops, .index.parquet) of a shard stem."""
    return stem.parent / (stem.name + ".npy"), stem.parent / (stem.name + ".index.parquet")


class PatchShards:
    """All crops of some shards: `index` (one row per crop, with `shard` and `crop`) and the crops."""

    def __init__(self, stems: list[Path]):
        self.arrays: list[np.ndarray] = []
        tables = []
        for number, stem in enumerate(stems):
            npy, index = shard_files(Path(stem))
            array = np.load(npy, mmap_mode="r")
            table = pq.read_table(index)
            if array.shape[0] != table.num_rows:
                raise ValueError(f"{stem}: {array.shape[0]} crops but {table.num_rows} index rows (rebuild the shard)")
            self.arrays.append(array)
            tables.append(table.append_column("shard", pa.array(np.full(table.num_rows, number, np.int32))))
        if not tables:
            raise ValueError("no patch shard given")
        self.index = pa.concat_tables(tables, promote_options="permissive")
        self.crop_size = self.arrays[0].shape[1] if self.arrays[0].ndim == 4 else 0
        self._shard = self.index.column("shard").to_numpy()
        self._crop = self.index.column("crop").to_numpy()

    def __len__(self) -> int:
        return self.index.num_rows

    def crops(self, rows: np.ndarray) -> np.ndarray:
        """uint8 (len(rows), crop, crop, 3) for index rows `rows` (copied out of the maps)."""
        out = np.empty((len(rows), self.crop_size, self.crop_size, 3), np.uint8)
        for i, row in enumerate(rows):
            out[i] = self.arrays[self._shard[row]][self._crop[row]]
        return out


@dataclass
class BatchSpec:
    rows: np.ndarray  # (B,) index rows
    tiles: np.ndarray  # (B, n) which 64x64 tile of each crop, in sequence order


def tiles_per_crop(crop_size: int) -> int:
    return (crop_size // PATCH) ** 2


def _generator(*keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(k) for k in keys]))


def epoch_order(seed: int, epoch: int, population: int) -> np.ndarray:
    return _generator(seed, 1, epoch).permutation(population)


def training_batch(seed: int, step: int, batch_size: int, population: np.ndarray, n_patches: int, crop_size: int) -> BatchSpec:
    """The batch of `step`: the next `batch_size` rows of the seeded per-epoch shuffles of `population`."""
    size = len(population)
    start = step * batch_size
    rows = []
    while len(rows) < batch_size:
        epoch, offset = divmod(start + len(rows), size)
        order = epoch_order(seed, epoch, size)
        rows.extend(order[offset : offset + batch_size - len(rows)].tolist())
    rng = _generator(seed, 2, step)
    available = tiles_per_crop(crop_size)
    tiles = np.stack([rng.permutation(available)[:n_patches] for _ in range(batch_size)])
    return BatchSpec(rows=population[np.array(rows)], tiles=tiles)


def evaluation_batches(population: np.ndarray, batch_size: int, n_patches: int, crop_size: int, seed: int = 0) -> list[BatchSpec]:
    """Fixed batches covering `population` once, with a fixed tile choice (the same at every evaluation)."""
    rng = _generator(seed, 3)
    available = tiles_per_crop(crop_size)
    tiles = np.stack([rng.permutation(available)[:n_patches] for _ in range(len(population))]) if len(population) else np.zeros((0, n_patches), int)
    return [
        BatchSpec(rows=population[i : i + batch_size], tiles=tiles[i : i + batch_size])
        for i in range(0, len(population), batch_size)
    ]


def crops_to_patches(crops: np.ndarray, tiles: np.ndarray) -> torch.Tensor:
    """uint8 crops (B, S, S, 3) and tile choices (B, n) -> uint8 patches (B, n, 3, 64, 64)."""
    b, size = crops.shape[0], crops.shape[1]
    grid = size // PATCH
    if tiles.size and tiles.max() >= grid * grid:
        raise ValueError(f"a {size}px crop has {grid * grid} tiles of {PATCH}px; asked for tile {tiles.max()}")
    tensor = torch.from_numpy(crops[:, : grid * PATCH, : grid * PATCH])
    tensor = tensor.view(b, grid, PATCH, grid, PATCH, 3).permute(0, 1, 3, 5, 2, 4).reshape(b, grid * grid, 3, PATCH, PATCH)
    return tensor[torch.arange(b).unsqueeze(1), torch.from_numpy(tiles)]


def patches_to_float(patches: torch.Tensor) -> torch.Tensor:
    """uint8 patches -> float32 in [0, 1]."""
    return patches.float().div_(255.0)
