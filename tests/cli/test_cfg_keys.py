"""skiff.cli.cfg_keys: new credential values kept in --cfg @file.json, atomically, never shown."""

from __future__ import annotations

import json
import os
from pathlib import Path

from skiff.cli.cfg_keys import write_back_keys

NEW = {"token": "n3w-t0ken-value", "refresh": "n3w-refresh-value"}


def test_the_keys_are_merged_into_the_file_which_keeps_its_mode(tmp_path: Path) -> None:
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"token": "0ld", "account": "acc-1"}))
    os.chmod(cfg, 0o600)
    line = write_back_keys(cfg, NEW)
    assert line == f"updateKeys: refresh, token updated in {cfg}"
    assert json.loads(cfg.read_text()) == {
        "token": "n3w-t0ken-value",
        "account": "acc-1",
        "refresh": "n3w-refresh-value",
    }
    assert cfg.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["cfg.json"]  # no temporary file left


def test_without_a_json_file_the_keys_are_named_never_shown(tmp_path: Path) -> None:
    for where in (None, tmp_path / "cfg.yaml"):
        line = write_back_keys(where, NEW)
        assert (
            line == "updateKeys: the component sent new values for refresh, token; give --cfg @file.json to keep them"
        )
    assert not (tmp_path / "cfg.yaml").exists()


def test_a_file_that_cannot_be_updated_is_left_as_it_was(tmp_path: Path) -> None:
    cfg = tmp_path / "cfg.json"
    cfg.write_text("[1, 2]")
    line = write_back_keys(cfg, NEW)
    assert line == f"updateKeys: cannot update {cfg}: not a JSON object; new values for refresh, token are lost"
    assert cfg.read_text() == "[1, 2]"
    missing = write_back_keys(tmp_path / "gone.json", NEW)
    assert missing.startswith(f"updateKeys: cannot update {tmp_path / 'gone.json'}: No such file")
    for text in (line, missing):
        assert "n3w" not in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cfg.json"]
