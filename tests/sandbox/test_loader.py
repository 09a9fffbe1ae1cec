"""Sandboxes are found the one way components are: the checkout (or wheel) and $SKIFF_COMPONENTS_PATH."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from skiff.component import find_components
from skiff.sandbox import SandboxApp, list_sandboxes, load_sandbox, sandbox_folders

APP = """
from skiff.sandbox import SandboxApp

DEFAULT_CREDENTIALS = {"apiKey": "zeta-key"}


def create_app(seed: int = 1) -> SandboxApp:
    return SandboxApp("zeta", prefix="/v1")
"""


def test_the_vendor_sandboxes_are_found() -> None:
    assert list_sandboxes() == ["billbee", "billomat", "billwerk", "plenigo"]
    components = find_components()
    for name, folder in sandbox_folders().items():
        assert folder == components[name] / "sandbox"


def test_a_component_on_skiff_components_path_brings_its_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zeta = tmp_path / "zeta"
    (zeta / "sandbox").mkdir(parents=True)
    (zeta / "component.json").write_text(json.dumps({"title": "Zeta"}), encoding="utf-8")
    (zeta / "sandbox" / "app.py").write_text(APP, encoding="utf-8")
    monkeypatch.setenv("SKIFF_COMPONENTS_PATH", str(tmp_path))
    assert "zeta" in find_components() and "zeta" in list_sandboxes()
    app = load_sandbox("zeta")
    assert isinstance(app, SandboxApp) and app.default_credentials == {"apiKey": "zeta-key"}


def test_an_unknown_sandbox_names_the_known_ones() -> None:
    with pytest.raises(
        FileNotFoundError, match=r"no sandbox named 'zeta2' \(known: billbee, billomat, billwerk, plenigo\)"
    ):
        load_sandbox("zeta2")
