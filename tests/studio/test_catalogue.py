"""The catalogue and the forms, through the studio's API."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from skiff.studio.catalogue import Catalogue


def test_every_component_with_logo_actions_and_triggers(client: httpx.Client) -> None:
    comps = {c["name"]: c for c in client.get("/api/components").json()}
    assert {"http", "billbee", "billomat", "billwerk", "plenigo"} <= set(comps)
    billbee = comps["billbee"]
    assert billbee["title"] == "Billbee" and billbee["logo"] is True
    assert "orderApiGetList" in {a["name"] for a in billbee["actions"]}
    assert "newOrders" in {t["name"] for t in billbee["triggers"]}
    logo = client.get("/api/components/billbee/logo")
    assert logo.status_code == 200 and logo.content.startswith(b"\x89PNG")


def test_search_narrows_components_and_functions(client: httpx.Client) -> None:
    names = [c["name"] for c in client.get("/api/components", params={"q": "billomat"}).json()]
    assert names == ["billomat"]
    hits = client.get("/api/components", params={"q": "confirmation pdf"}).json()
    assert [c["name"] for c in hits] == ["billomat"]
    assert [a["name"] for a in hits[0]["actions"]] == ["getConfirmationPdf"]
    assert client.get("/api/components", params={"q": "no-such-thing-anywhere"}).json() == []


def test_credential_and_function_forms(client: httpx.Client) -> None:
    comp = client.get("/api/components/billbee").json()
    fields = {f["name"]: f for f in comp["credentials"]["fields"]}
    assert fields["apiKey"]["viewClass"] == "PasswordFieldView" and fields["apiKey"]["secret"] is True
    assert fields["username"]["secret"] is False
    fn = client.get("/api/components/billbee/functions/orderApiGetList").json()
    shop = {f["name"]: f for f in fn["fields"]}["shopId"]
    assert shop["viewClass"] == "MultiSelectView" and shop["model"] == "shops"
    assert fn["in"]["properties"]["minOrderDate"]["format"] == "date-time"
    billwerk = client.get("/api/components/billwerk").json()
    env = {f["name"]: f for f in billwerk["credentials"]["fields"]}["environment"]
    assert env["options"] == {
        "sandbox": "Sandbox (sandbox.billwerk.com)",
        "production": "Production (app.billwerk.com)",
    }
    unknown = client.get("/api/components/nope")
    assert unknown.status_code == 400 and "unknown component 'nope'" in unknown.json()["error"]["line"]


def test_extra_paths_and_broken_components_are_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = tmp_path / "acme"
    good.mkdir()
    (good / "component.json").write_text('{"title": "Acme", "description": "Acme API", "actions": {}, "triggers": {}}')
    bad = tmp_path / "broken"
    bad.mkdir()
    (bad / "component.json").write_text('{"title": ')
    monkeypatch.setenv("SKIFF_COMPONENTS_PATH", str(tmp_path))  # where `skiff studio --components` adds folders
    entries = {c["name"]: c for c in Catalogue().summaries()}
    assert entries["acme"]["title"] == "Acme"
    assert "invalid JSON" in entries["broken"]["error"]
