"""A deeply nested --cfg or --body is one line and exit 2, never a traceback (issue 11, item 9)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support import skiff_cmd


@pytest.mark.parametrize("depth", [500, 5000])
def test_deep_cfg_is_one_line(tmp_path: Path, depth: int) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text('{"a":' * depth + "1" + "}" * depth, encoding="utf-8")
    proc = subprocess.run(
        skiff_cmd("run", "http", "request", "--cfg", f"@{deep}", "--body", "{}"), capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: ConfigError: --cfg: nested more than 200 levels deep"
