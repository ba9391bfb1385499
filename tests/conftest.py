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
