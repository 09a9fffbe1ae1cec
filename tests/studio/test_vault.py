"""Saved credentials: encrypted at rest, secrets never in the public view, kept on edits."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from skiff.component import resolve_component
from skiff.errors import ConfigError
from skiff.studio.vault import SAVED, Vault, secret_fields

BILLBEE = {"apiKey": "k-123-secret", "username": "me@example.com", "password": "pw-456-secret", "baseUrl": "http://x"}


def _fields() -> dict[str, dict[str, object]]:
    return {"billbee": dict(resolve_component("billbee").model.credentials.fields)}


def test_file_is_ciphertext_and_key_is_private(tmp_path: Path) -> None:
    vault = Vault(tmp_path)
    hidden = secret_fields(_fields()["billbee"])
    assert hidden == {"apiKey", "password"}
    vault.save(None, name="shop", component="billbee", cfg=BILLBEE, hidden=hidden)
    raw = (tmp_path / "credentials.enc").read_bytes()
    for value in BILLBEE.values():
        assert value.encode() not in raw
    assert stat.S_IMODE((tmp_path / "studio.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "credentials.enc").stat().st_mode) == 0o600
    # A new Vault on the same home (a restarted studio) reads it back.
    cid = Vault(tmp_path).public(_fields())[0]["id"]
    assert Vault(tmp_path).cfg(cid) == ("billbee", BILLBEE)


def test_public_view_hides_secrets_and_edits_keep_them(tmp_path: Path) -> None:
    vault = Vault(tmp_path)
    hidden = secret_fields(_fields()["billbee"])
    cid = vault.save(None, name="shop", component="billbee", cfg=BILLBEE, hidden=hidden)
    (entry,) = vault.public(_fields())
    assert entry["cfg"] == {"apiKey": SAVED, "username": "me@example.com", "password": SAVED, "baseUrl": "http://x"}
    # The browser sends the form back: placeholders and empty passwords keep the saved secrets.
    vault.save(
        cid,
        name="shop",
        component="billbee",
        cfg={**entry["cfg"], "password": "", "username": "new@example.com"},
        hidden=hidden,
    )
    assert vault.cfg(cid)[1] == {**BILLBEE, "username": "new@example.com"}
    # A field left empty in the form is gone from the set; a call overlays the page's fields.
    vault.save(cid, name="shop", component="billbee", cfg={"username": "new@example.com"}, hidden=hidden)
    assert vault.cfg(cid)[1] == {
        "apiKey": BILLBEE["apiKey"],
        "password": BILLBEE["password"],
        "username": "new@example.com",
    }
    assert vault.merged(cid, {"shopId": [1]}, hidden)["apiKey"] == BILLBEE["apiKey"]
    # A new value replaces the secret.
    vault.save(cid, name="shop", component="billbee", cfg={**entry["cfg"], "apiKey": "k-new"}, hidden=hidden)
    assert vault.cfg(cid)[1]["apiKey"] == "k-new"


def test_nested_secrets_in_code_fields_are_masked(tmp_path: Path) -> None:
    vault = Vault(tmp_path)
    cfg = {"baseUrl": "https://api.example.com", "auth": {"type": "bearer", "token": "tok-secret"}}
    cid = vault.save(None, name="api", component="http", cfg=cfg, hidden=set())
    (entry,) = vault.public({"http": {}})
    assert entry["cfg"]["auth"] == {"type": "bearer", "token": SAVED}
    vault.save(cid, name="api", component="http", cfg=entry["cfg"], hidden=set())
    assert vault.cfg(cid)[1] == cfg


def test_wrong_key_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Vault(tmp_path).save(None, name="a", component="http", cfg={"baseUrl": "x"}, hidden=set())
    from cryptography.fernet import Fernet

    monkeypatch.setenv("SKIFF_STUDIO_KEY", Fernet.generate_key().decode())
    with pytest.raises(ConfigError, match="key does not match"):
        Vault(tmp_path).public({})
