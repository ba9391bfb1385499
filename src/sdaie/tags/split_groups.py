"""Grouped, camera-stratified split (``tags.split.group_by: camera_burst``).

The default split (:mod:`sdaie.tags.split`) buckets each file by its own content hash. That is right
for a large collection of unrelated photos, and wrong for photo series: frames of one burst or one
photogrammetry sequence are near-identical, so a model can "recognise" a validation photo from its
twin in training; and a camera with a handful of photos often lands entirely on one side, so "which
camera took this?" cannot be asked of it. ``camera_burst`` fixes both:

Groups
    Photos are grouped by camera (the canonical ``model_key``, make and model) and capture burst:
    sorted by ``DateTimeOriginal``, a camera's photo starts a new burst when it was taken more than
    ``burst_seconds`` after the previous one. A burst is one group and never straddles two splits.
    Photos without a camera model or a readable capture time, and files whose EXIF could not be read,
    are groups of one. A group's key is the smallest content-hash key of its photos
    (:func:`sdaie.tags.split.key_expr`), so a group of one has its file's key.

Assignment
    Cameras with at least ``min_photos`` usable photos in at least two groups are *stratified*: their
    groups, largest first (ties broken by the group's hash bucket, so the seed decides), each go to the
    split whose target (``fraction * photos of the camera``) is furthest from met; afterwards, if
    ``pretext_train`` or ``pretext_val`` got nothing, the smallest group of the split holding most
    groups moves there. So every stratified camera has photos on both sides of the train/validation
    line, in roughly the configured proportions. Every other group is bucketed like a single file by
    the default rule, from its key: a group of one gets exactly the split the default gives its file.

Unlike the default, a stratified camera's assignment depends on its other photos: adding photos of a
camera can move that camera's groups (never another camera's). The result is deterministic in the
rows, the seed and the settings.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from sdaie.tags.split import SPLITS, _split_from_u, bucket_expr, check_fractions, key_expr

GROUP_BY = ("file", "camera_burst")
TRAIN, VAL = "pretext_train", "pretext_val"


@dataclass(frozen=True)
class SplitGrouping:
    """Settings of the grouped split (config ``tags.split``: group_by, burst_seconds, min_photos)."""

    group_by: str = "file"
    burst_seconds: float = 10.0
    min_photos: int = 4

    def __post_init__(self):
        if self.group_by not in GROUP_BY:
            raise ValueError(f"unknown split grouping {self.group_by!r} (expected one of {', '.join(GROUP_BY)})")
        if self.burst_seconds < 0:
            raise ValueError(f"burst_seconds must be >= 0, got {self.burst_seconds}")
        if self.min_photos < 2:
            raise ValueError(f"min_photos must be >= 2 (a camera needs two photos to sit on both sides), got {self.min_photos}")

    @property
    def grouped(self) -> bool:
        return self.group_by != "file"

    @classmethod
    def from_config(cls, split: dict) -> "SplitGrouping":
        return cls(split.get("group_by", "file"), float(split.get("burst_seconds", 10.0)), int(split.get("min_photos", 4)))


def capture_time_expr(column: str | pl.Expr) -> pl.Expr:
    """EXIF ``YYYY:MM:DD HH:MM:SS`` text (sub-seconds and zones ignored) -> Datetime; null when unreadable."""
    text = pl.col(column) if isinstance(column, str) else column
    return text.cast(pl.String).str.slice(0, 19).str.strptime(pl.Datetime("us"), "%Y:%m:%d %H:%M:%S", strict=False)


def burst_groups(rows: pl.DataFrame, burst_seconds: float) -> pl.DataFrame:
    """``rows`` (columns ``row``, ``key`` UInt64, ``camera``, ``time``, ``usable``) + ``group_key``, ``split_group``.

    ``split_group`` is readable: ``<camera>@<first capture time>`` for bursts, ``file:<key hex>`` for groups of one.
    """
    groupable = pl.col("usable") & pl.col("camera").is_not_null() & pl.col("time").is_not_null()
    series = rows.filter(groupable).sort("camera", "time", "key")
    gap = pl.col("time").diff().over("camera").dt.total_microseconds()
    series = series.with_columns(
        (gap.is_null() | (gap > int(round(burst_seconds * 1e6)))).cast(pl.UInt32).cum_sum().over("camera").alias("_burst")
    ).with_columns(
        pl.col("key").min().over("camera", "_burst").alias("group_key"),
        (pl.col("camera") + "@" + pl.col("time").min().over("camera", "_burst").dt.strftime("%Y-%m-%dT%H:%M:%S")).alias("split_group"),
    ).drop("_burst")
    single = rows.filter(~groupable).with_columns(
        pl.col("key").alias("group_key"),
        ("file:" + pl.col("key").map_elements(lambda k: f"{k:016x}", return_dtype=pl.String)).alias("split_group"),
    )
    return pl.concat([series, single.select(series.columns)]).sort("row")


def _allocate(sizes: list[int], fractions: dict[str, float]) -> list[str]:
    """Splits for one stratified camera's groups, given in order (largest first); see the module doc."""
    total = sum(sizes)
    target = {name: fractions[name] * total for name in SPLITS}
    assigned = dict.fromkeys(SPLITS, 0)
    out = []
    for size in sizes:
        best = max(SPLITS, key=lambda name: (target[name] - assigned[name], -SPLITS.index(name)))
        out.append(best)
        assigned[best] += size
    for needed in (TRAIN, VAL):
        if fractions[needed] > 0 and needed not in out:
            counts = {name: out.count(name) for name in SPLITS}
            donor = max((n for n in SPLITS if counts[n] > 1 or (counts[n] == 1 and n not in (TRAIN, VAL))),
                        key=lambda n: (counts[n], -SPLITS.index(n)), default=None)
            if donor is None:
                continue
            smallest = min((i for i, name in enumerate(out) if name == donor), key=lambda i: (sizes[i], -i))
            out[smallest] = needed
    return out


def assign_groups(groups: pl.DataFrame, fractions: dict[str, float], seed: int, min_photos: int) -> pl.DataFrame:
    """Per group (columns ``group_key``, ``camera``, ``size``, ``usable``): its ``split``."""
    fractions = check_fractions(fractions)
    groups = groups.with_columns(bucket_expr(pl.col("group_key"), seed).alias("_u"))
    usable = groups.filter(pl.col("usable") & pl.col("camera").is_not_null())
    per_camera = usable.group_by("camera").agg(pl.col("size").sum().alias("_photos"), pl.len().alias("_groups"))
    stratified = per_camera.filter((pl.col("_photos") >= min_photos) & (pl.col("_groups") >= 2))["camera"]
    chosen = {}
    strat = usable.filter(pl.col("camera").is_in(stratified.implode())).sort("camera", pl.col("size"), "_u",
                                                                                  descending=[False, True, False])
    for (camera,), frame in strat.group_by("camera", maintain_order=True):
        for key, split in zip(frame["group_key"], _allocate(frame["size"].to_list(), fractions)):
            chosen[key] = split
    default = groups.with_columns(_split_from_u(pl.col("_u"), fractions).alias("split"))
    if not chosen:
        return default.drop("_u")
    override = pl.DataFrame({"group_key": list(chosen), "_chosen": list(chosen.values())},
                            schema={"group_key": pl.UInt64, "_chosen": pl.String})
    return (default.join(override, on="group_key", how="left", maintain_order="left")
            .with_columns(pl.coalesce("_chosen", "split").alias("split")).drop("_u", "_chosen"))


def grouped_split(rows: pl.DataFrame, fractions: dict[str, float] | None, seed: int, grouping: SplitGrouping) -> pl.DataFrame:
    """``rows`` (``row``, ``key``, ``camera``, ``time``, ``usable``) -> ``row``, ``split``, ``split_group``."""
    grouped = burst_groups(rows, grouping.burst_seconds)
    groups = grouped.group_by("group_key").agg(
        pl.col("camera").first(), pl.len().alias("size"), pl.col("usable").all()
    )
    split = assign_groups(groups, fractions, seed, grouping.min_photos).select("group_key", "split")
    return grouped.join(split, on="group_key", how="left", maintain_order="left").select("row", "split", "split_group")


def with_grouped_split(frame: pl.LazyFrame, fractions: dict[str, float] | None, seed: int, grouping: SplitGrouping, *,
                       camera: pl.Expr, capture_time: pl.Expr, usable: str = "usable") -> pl.LazyFrame:
    """``frame`` with ``split`` and ``split_group`` columns by the grouped rule.

    ``camera`` (String, null when unknown) and ``capture_time`` (EXIF date text) are expressions over
    ``frame``; the small key table is collected once, assigned, and joined back by row position.
    """
    indexed = frame.with_row_index("__split_row")
    rows = indexed.select(
        pl.col("__split_row").alias("row"),
        key_expr().alias("key"),
        camera.alias("camera"),
        capture_time_expr(capture_time).alias("time"),
        pl.col(usable).alias("usable"),
    ).collect()
    assigned = grouped_split(rows, fractions, seed, grouping).rename({"row": "__split_row"})
    return indexed.join(assigned.lazy(), on="__split_row", how="left", maintain_order="left").drop("__split_row")
