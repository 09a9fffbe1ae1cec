"""The suite's secret-leak scan (tests/conftest.py) catches a leak, alone and under pytest-xdist.

A small test file that prints a sandbox secret and writes one into a snapshot is run by an inner
pytest with the suite's conftest as a plugin: the run must fail and name both places, once each,
and not the clean test beside them (the whole suite passing shows that a clean run passes).
Under ``-n 2`` the snapshot is written in a worker process, whose findings must reach the
controller.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

LEAKY = """
import skiff.state.base as base
from tests.conftest import SECRETS


def test_prints_a_secret() -> None:
    print("token", SECRETS[0])


def test_snapshot_with_a_secret() -> None:
    base.encode("k", {"t": SECRETS[0]})


def test_clean() -> None:
    print("nothing here")
    base.encode("clean", {"t": "no secret"})
"""


def _run(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest", *args, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_leak_fails_the_run_and_is_named(tmp_path: Path, workers: list[str]) -> None:
    leaky = tmp_path / "test_leaky.py"
    leaky.write_text(LEAKY, encoding="utf-8")
    result = _run(leaky, "--rootdir", str(ROOT), *workers)
    lines = result.stdout.splitlines()
    summary = [line for line in lines if line.startswith("secret-leak scan:")]
    assert len(summary) == 1, lines
    assert summary[0].split(", ")[-1] == "leaks 2", summary
    assert "snapshots 2" in summary[0], summary
    named = sorted(line.strip() for line in lines if line.strip().startswith("secret leaked in"))
    assert named == [
        "secret leaked in ::test_prints_a_secret (Captured stdout call)",
        "secret leaked in snapshot 'k'",
    ], named
    assert result.returncode == 1
