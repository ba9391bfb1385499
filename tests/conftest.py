"""Test-wide helpers: where the shared data lies, and what happens when it does not.

The shared data (`../shared`, beside the repository) holds real photos, edge cases and the official
code's known answers. A plain clone does not have it: tests that need it skip with one reason. CI has it
and sets SDAIE_REQUIRE_SHARED=1, which turns such a skip into a failure, so nothing is skipped there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REQUIRE_SHARED = os.environ.get("SDAIE_REQUIRE_SHARED", "") not in ("", "0")


def shared_path(*parts: str) -> Path:
    """../shared/<parts>, or a skip (a failure under SDAIE_REQUIRE_SHARED=1) when it is not there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        reason = f"needs the shared test data ({path} is absent: it sits beside CI's checkout, not in a clone)"
        if REQUIRE_SHARED:
            pytest.fail(reason + "; SDAIE_REQUIRE_SHARED=1 makes this a failure")
        pytest.skip(reason)
    return path
