"""Credential sets: from the environment or an owner-only file, never inline, never echoed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from skiff.errors import ConfigError
from skiff.flow import Flow, resolve_credentials

FLOW = Flow.model_validate(
    {
        "name": "f",
        "credentials": {"bee": {"env": {"apiKey": "BEE_KEY", "baseUrl": "BEE_URL?"}}},
        "trigger": {"component": "billbee", "function": "newOrders", "credentials": "bee"},
        "steps": [{"id": "a", "component": "billomat", "function": "listClients", "credentials": "mat"}],
    }
)


def write(path: Path, text: str, mode: int) -> Path:
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)
    return path


def test_env_and_file_values(tmp_path: Path) -> None:
    creds = write(tmp_path / "c.yaml", "mat: {apiKey: file-secret, billomatId: acme}\nbee: {username: u}\n", 0o600)
    got = resolve_credentials(FLOW, path=creds, environ={"BEE_KEY": "env-secret"})
    assert got == {
        "bee": {"username": "u", "apiKey": "env-secret"},
        "mat": {"apiKey": "file-secret", "billomatId": "acme"},
    }


def test_a_file_readable_by_others_is_refused_without_showing_it(tmp_path: Path) -> None:
    creds = write(tmp_path / "c.yaml", "mat: {apiKey: file-secret}\n", 0o644)
    with pytest.raises(ConfigError) as info:
        resolve_credentials(FLOW, path=creds, environ={"BEE_KEY": "x"})
    assert "readable by others (mode 644)" in str(info.value) and "chmod 600" in str(info.value)
    assert "file-secret" not in str(info.value)


def test_missing_values_name_the_variable_and_the_section(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="environment variable BEE_KEY not set"):
        resolve_credentials(FLOW, path=tmp_path / "none.yaml", environ={})
    with pytest.raises(ConfigError, match="credential set 'mat' has no values: no section 'mat'"):
        resolve_credentials(FLOW, path=tmp_path / "none.yaml", environ={"BEE_KEY": "k"})


def test_a_broken_file_is_reported_without_its_content(tmp_path: Path) -> None:
    creds = write(tmp_path / "c.yaml", "mat: {apiKey: 'file-secret\n", 0o600)
    with pytest.raises(ConfigError) as info:
        resolve_credentials(FLOW, path=creds, environ={"BEE_KEY": "k"})
    assert "not valid YAML or JSON" in str(info.value) and "file-secret" not in str(info.value)
