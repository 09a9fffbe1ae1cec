"""``skiff demo``, the quick start's main job: full sync, nothing new, then only the new orders."""

from __future__ import annotations

import re
import subprocess

from tests.support import skiff_cmd


def test_demo_syncs_incrementally_without_429(tmp_path: object) -> None:
    proc = subprocess.run(
        skiff_cmd("demo", "--orders", "600", "--new", "3"), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert re.search(r"emitted: full / again / new\s*│\s*600 / 0 / 3", out), out
    assert re.search(r"only the new orders arrived\s*│\s*yes", out), out
    assert re.search(r"429 answers\s*│\s*0\b", out), out
