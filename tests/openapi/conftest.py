from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml


@pytest.fixture
def write_spec(tmp_path: Path) -> Callable[..., Path]:
    """Write a spec (or overlay) dict to a file; YAML when the name ends in .yaml."""

    def write(doc: dict[str, Any], name: str = "spec.json") -> Path:
        path = tmp_path / name
        if name.endswith((".yaml", ".yml")):
            path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
        else:
            path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        return path

    return write
