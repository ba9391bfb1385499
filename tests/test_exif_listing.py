"""Tests of dataset listing and sharding."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import shared_path

from sdaie.exif.listing import file_list_bytes, list_files, partition_by_shard, read_file_list, shard_of, write_file_list


def _touch(path: Path, data: bytes = b"x") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


# --- shard_of -----------------------------------------------------------------------------------

# Fixed expectations: if these change, every existing shard assignment on every cluster changes.
# Checked independently with coreutils: printf '%s' PATH | b2sum -l 64, as an integer, mod n.
SHARD_CASES = [
    ("exif-samples/Canon_PowerShot_S40.jpg", 8, 1),
    ("metadata-extractor-images/Pentax_ist_D.jpg", 8, 6),
    ("a.jpg", 4, 1),
    ("sub/dir/日本語.jpg", 16, 4),
    ("a.jpg", 1, 0),
]


@pytest.mark.parametrize(("path", "n", "expected"), SHARD_CASES)
def test_shard_of_fixed_values(path, n, expected):
    assert shard_of(path, n) == expected


def test_shard_of_is_stable_across_processes():
    """Another interpreter (different hash salt) gives the same shards."""
    code = (
        "from sdaie.exif.listing import shard_of;"
        f"print([shard_of(p, n) for p, n, _ in {[(p, n, e) for p, n, e in SHARD_CASES]!r}])"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == str([e for _, _, e in SHARD_CASES])


def test_shard_of_range_and_spread():
    paths = [f"dir{i % 7}/img_{i:05d}.jpg" for i in range(4000)]
    shards = [shard_of(p, 8) for p in paths]
    assert set(shards) == set(range(8))
    counts = [shards.count(k) for k in range(8)]
    assert min(counts) > 400  # roughly uniform (expected 500 each)


def test_adding_a_file_moves_no_other_file():
    before = {p: shard_of(p, 5) for p in (f"x/{i}.jpg" for i in range(100))}
    after = {p: shard_of(p, 5) for p in [*before, "x/new.jpg"]}
    assert all(after[p] == s for p, s in before.items())


def test_shard_of_rejects_zero():
    with pytest.raises(ValueError):
        shard_of("a.jpg", 0)


def test_partition_by_shard_matches_shard_of():
    paths = [f"d{i % 13}/img_{i:05d}.jpg" for i in range(1000)]
    shards = partition_by_shard(paths, 6)
    assert len(shards) == 6
    assert sorted(p for shard in shards for p in shard) == sorted(paths)
    for k, shard in enumerate(shards):
        assert all(shard_of(p, 6) == k for p in shard)
        assert shard == [p for p in paths if shard_of(p, 6) == k]  # input order kept
    assert partition_by_shard([], 3) == [[], [], []]
    with pytest.raises(ValueError):
        partition_by_shard(paths, 0)


# --- list_files ---------------------------------------------------------------------------------

def test_list_files_recursive_sorted_hidden_skipped(tmp_path):
    for rel in ["b.jpg", "a/z.jpg", "a/b/c.png", "a-b/x.jpg", "A.JPG", "日本.jpg",
                ".hidden.jpg", ".git/config", "a/.DS_Store", "a/.cache/x.jpg"]:
        _touch(tmp_path / rel)
    (tmp_path / "emptydir").mkdir()
    listed = list(list_files(tmp_path))
    assert listed == ["A.JPG", "a-b/x.jpg", "a/b/c.png", "a/z.jpg", "b.jpg", "日本.jpg"]
    assert listed == sorted(listed)


def test_list_files_symlinks(tmp_path):
    _touch(tmp_path / "real/photo.jpg")
    _touch(tmp_path / "outside.jpg")
    (tmp_path / "real/loop").symlink_to(tmp_path / "real")  # a loop back to an ancestor
    (tmp_path / "real/link.jpg").symlink_to(tmp_path / "outside.jpg")
    (tmp_path / "real/dangling.jpg").symlink_to(tmp_path / "gone.jpg")
    os.mkfifo(tmp_path / "real/pipe")
    assert list(list_files(tmp_path / "real")) == ["dangling.jpg", "link.jpg", "photo.jpg", "pipe"]
    # A symlinked directory that is not a loop is walked.
    (tmp_path / "top").mkdir()
    (tmp_path / "top/linked").symlink_to(tmp_path / "real")
    assert list(list_files(tmp_path / "top")) == ["linked/dangling.jpg", "linked/link.jpg", "linked/photo.jpg", "linked/pipe"]


def test_list_files_bad_root(tmp_path):
    with pytest.raises(FileNotFoundError):
        list(list_files(tmp_path / "missing"))
    _touch(tmp_path / "file.jpg")
    with pytest.raises(NotADirectoryError):
        list(list_files(tmp_path / "file.jpg"))


def test_list_files_shared_photos():
    root = shared_path("data", "photos")
    listed = list(list_files(root))
    assert len(listed) == 193 and "manifest.csv" in listed
    assert listed == sorted(listed)


# --- file lists ---------------------------------------------------------------------------------


def test_file_list_round_trips_any_name_and_records_size_and_time(tmp_path):
    root = tmp_path / "root"
    names = ["a.jpg", "sub/dir/日本語.jpg", "new\nline.jpg", os.fsdecode(b"latin1-\xe9.jpg"), " spaced .jpg", "gone.jpg"]
    for name in names[:-1]:
        _touch(root / name)
    path = tmp_path / "lists" / "shard_0_of_1.files"
    assert write_file_list(path, root, names)
    assert read_file_list(path) == names
    assert [p.name for p in path.parent.iterdir()] == ["shard_0_of_1.files"]  # no temporary file left
    before = path.stat().st_mtime_ns
    assert not write_file_list(path, root, names)  # same files: left alone, mtime kept
    assert path.stat().st_mtime_ns == before
    (root / "a.jpg").write_bytes(b"longer now")  # a file rewritten
    assert write_file_list(path, root, names)
    assert not write_file_list(path, root, names)
    os.utime(root / "a.jpg", ns=(1, 1))  # only its time changed
    assert write_file_list(path, root, names)
    assert write_file_list(path, root, names[:-1])  # a file gone from the listing
    assert write_file_list(path, tmp_path / "elsewhere", names[:-1])  # another root
    assert write_file_list(path, root, []) and read_file_list(path) == []
    assert file_list_bytes(root, ["gone.jpg"]).endswith(b"gone.jpg\0-")


def test_read_file_list_rejects_other_files(tmp_path):
    (tmp_path / "other.files").write_bytes(b"something else entirely")
    with pytest.raises(ValueError):
        read_file_list(tmp_path / "other.files")
