"""Test-wide helpers: where the shared data lies, and what happens when it does not.

The shared data (`../shared`, beside the repository) holds real photos, edge cases and the official
code's known answers. A plain clone does not have it: tests that need it skip with one reason,
`SHARED_REASON`. CI has it and sets SDAIE_REQUIRE_SHARED=1 (.ci/run), which turns every such skip
into a failure, so nothing is skipped there.

    @needs_shared("data", "photos")            # a marker: skip unless ../shared/data/photos exists
    def test_...(): ...

    photos = shared_path("data", "photos")     # in a test or fixture: the path, or the same skip
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REQUIRE_SHARED = os.environ.get("SDAIE_REQUIRE_SHARED", "") not in ("", "0")
SHARED_REASON = "needs the shared test data (../shared beside the repository; CI has it, a clone does not)"


def shared_path(*parts: str) -> Path:
    """../shared/<parts>, or a skip with SHARED_REASON (a failure under SDAIE_REQUIRE_SHARED=1)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{SHARED_REASON}: {path} is absent")
    return path


def needs_shared(*parts: str) -> pytest.MarkDecorator:
    """A skipif marker for tests that read ../shared/<parts>."""
    path = SHARED.joinpath(*parts)
    return pytest.mark.skipif(not path.exists(), reason=f"{SHARED_REASON}: {path} is absent")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under SDAIE_REQUIRE_SHARED=1, a skip for missing shared data is a failure."""
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_SHARED and report.skipped and SHARED_REASON in str(report.longrepr):
        report.outcome = "failed"
        report.longrepr = f"SDAIE_REQUIRE_SHARED=1 and the shared data is missing: {report.longrepr}"


# The suite runs on 2 workers, one test file at a time each (`-n 2 --dist loadfile`). pytest-xdist hands
# each worker a first batch of files in collection order (an eighth of them each), then one more file
# whenever a worker has 2 or fewer waiting. The files that take minutes therefore come last, longest
# first (from `--durations` on 2 cores): put first, they would all land in the first worker's batch.
# Estimated by replaying that scheduling on one run's file times: 1,320 s of wall time with these files
# last, 1,568 s in alphabetical order (the run took 1,552 s), 1,646 s with them first; 1,254 s at best.
SLOW_FILES = ["test_workflow.py", "test_dvc.py", "test_demo_detection.py", "test_signals.py", "test_slurm.py",
               "test_published_pipeline.py", "test_pretext_train.py", "test_premise_pipeline.py",
               "test_gpu_bundle.py", "test_official_parity.py", "test_bad_models_and_corpus.py", "test_train_launch.py"]


def pytest_configure(config):
    """Under pytest-xdist each worker, and every process it starts, computes with one thread unless told
    otherwise (a pipeline job takes its count from the config): two workers share the 2 cores, and more
    threads than cores slow both down. Set before torch is imported, so a test's own training and a
    trainer it starts as a subprocess use the same count, and give the same weights."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ["OMP_NUM_THREADS"] = "1"


def pytest_collection_modifyitems(config, items):
    rank = {name: position for position, name in enumerate(SLOW_FILES, start=1)}
    items.sort(key=lambda item: rank.get(item.path.name, 0))  # stable: the order within a file is kept
