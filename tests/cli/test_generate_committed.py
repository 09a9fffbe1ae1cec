"""The committed Billbee and Plenigo components are exactly what ``skiff generate`` makes.

Runs the command itself (not the library function) from the real spec in ../shared and the
overlay in the repository, into an empty folder, and compares every file byte for byte.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.shared_files import shared_file
from tests.support import SKIFF

REPO = Path(__file__).resolve().parents[2]
SPECS = {"billbee": "specs/billbee.v1.swagger.yaml", "plenigo": "specs/plenigo.v3.openapi.json"}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_committed_component_is_what_generate_makes(name: str, tmp_path: Path) -> None:
    spec = shared_file(SPECS[name])
    committed = REPO / "components" / name
    out = tmp_path / name
    proc = subprocess.run(
        [*SKIFF, "generate", "openapi", str(spec), "--name", name, "--out", str(out),
         "--overlay", str(committed / "overlay.yaml")],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    generated = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert len(generated) > 100
    differing = [rel for rel in generated if (committed / rel).read_bytes() != (out / rel).read_bytes()]
    assert differing == [], f"regenerate components/{name}: {differing[:5]}"
    # No stale generated schema in the repository (handlers, sandbox and overlay are hand-written).
    stale = sorted(
        {p.name for p in (committed / "schemas").glob("*.json")} - {p.name for p in (out / "schemas").glob("*")}
    )
    assert stale == []
