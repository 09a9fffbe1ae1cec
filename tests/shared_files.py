"""Files from ``../shared`` (vendor specs, seeds, fixtures), for the tests that need them.

``../shared`` lies beside the checkout and is not part of the repository, so a fresh clone may
not have it. Every test that reads from it gets its path here, never by building the path
itself: when the file is missing the test (or, called at module level, the whole module) is
skipped with one line naming the file; under ``CI=true``, where ``../shared`` is always laid
out, a missing file fails instead, so CI cannot pass by skipping.

    from tests.shared_files import shared_file
    SPEC = shared_file("specs/plenigo.v3.openapi.json")   # module level: skips the module

    def test_x() -> None:
        seed = shared_file("seeds/x.md")                   # in a test: skips only this test
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

__all__ = ["SHARED", "shared_file"]

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def shared_file(relative: str) -> Path:
    """``../shared/<relative>`` (a file or folder); skip, or fail under CI=true, when it is missing."""
    path = SHARED / relative
    if path.exists():
        return path
    message = f"needs ../shared/{relative}, which is missing (looked at {path})"
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message, allow_module_level=True)
