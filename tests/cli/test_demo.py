"""``skiff demo``: example (a) end to end on the sandboxes, checked against Billomat's own records."""

from __future__ import annotations

import re
import subprocess

from tests.support import skiff_cmd


def test_demo_runs_example_a_without_loss_duplicates_or_429() -> None:
    proc = subprocess.run(
        skiff_cmd("demo", "--orders", "12", "--new", "2"), capture_output=True, text=True, timeout=180
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "14 orders, 14 confirmations, 0 lost, 0 duplicated, 0 × 429." in out, out
    assert re.search(r"confirmations\s*│\s*14 \(14 completed, 14 PDFs\)", out), out
    assert re.search(r"runs: new orders\s*│\s*12 then 2", out), out
    assert re.search(r"failed or in doubt\s*│\s*0\b", out), out
    # It says what its numbers mean and ends with three commands to try next.
    assert "Billomat allows 300 requests per 15 minutes" in out, out
    assert len(re.findall(r"^  skiff ", out.split("Try next", 1)[1], re.M)) == 3, out
