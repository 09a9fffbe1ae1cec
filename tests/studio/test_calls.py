"""Try it: sandboxes from the page, verify, select options, runs, attachments, errors at fields."""

from __future__ import annotations

from typing import Any

import httpx

SECRETS = ("sandbox-api-key", "sandbox-password")


def _billbee(client: httpx.Client) -> dict[str, Any]:
    started = client.post("/api/sandboxes/billbee")
    assert started.status_code == 200
    cfg: dict[str, Any] = started.json()["cfg"]
    assert cfg["baseUrl"].startswith("http://127.0.0.1:")
    return cfg


def test_verify_save_and_run_with_saved_credentials(client: httpx.Client) -> None:
    cfg = _billbee(client)
    assert client.post("/api/verify", json={"component": "billbee", "cfg": cfg}).json()["verified"] is True
    wrong = client.post("/api/verify", json={"component": "billbee", "cfg": {**cfg, "password": "wrong"}}).json()
    assert wrong["verified"] is False and wrong["reason"]
    cid = client.post("/api/credentials", json={"name": "shop", "component": "billbee", "cfg": cfg}).json()["id"]
    listed = client.get("/api/credentials").text
    for secret in SECRETS:
        assert secret not in listed  # a saved secret never goes back to the browser
    # The browser only knows the placeholders; the saved secrets are put back on the server.
    (saved,) = client.get("/api/credentials").json()
    ran = client.post(
        "/api/run",
        json={
            "component": "billbee",
            "function": "orderApiGetList",
            "credentialId": cid,
            "cfg": saved["cfg"],
            "body": {"pageSize": 5, "maxPages": 1},
        },
    )
    result = ran.json()
    assert "error" not in result, result
    assert result["count"] >= 1 and result["messages"][0]["body"]["BillBeeOrderId"]
    assert any("GET " in line and "/orders" in line and "-> 200" in line for line in result["log"])
    for secret in SECRETS:
        assert secret not in ran.text


def test_errors_name_their_field(client: httpx.Client) -> None:
    cfg = _billbee(client)
    missing = {k: v for k, v in cfg.items() if k != "apiKey"}
    r = client.post("/api/run", json={"component": "billbee", "function": "orderApiGetList", "cfg": missing}).json()
    assert r["error"]["field"] == "cfg.apiKey"
    assert r["error"]["line"].startswith("ConfigError: ")
    bad = client.post(
        "/api/run",
        json={"component": "billbee", "function": "orderApiGetList", "cfg": cfg, "body": {"minOrderDate": 5}},
    ).json()
    assert bad["error"]["kind"] == "InputError"
    assert bad["error"]["field"] == "body.minOrderDate"


def test_select_options_come_live_from_the_api(client: httpx.Client) -> None:
    cfg = _billbee(client)
    r = client.post(
        "/api/select", json={"component": "billbee", "function": "orderApiGetList", "field": "orderStateId", "cfg": cfg}
    ).json()
    assert r["options"] and all(isinstance(v, str) for v in r["options"].values())


def test_trigger_poll_once_and_again_from_its_snapshot(client: httpx.Client) -> None:
    cfg = _billbee(client)
    first = client.post("/api/run", json={"component": "billbee", "function": "newOrders", "cfg": cfg}).json()
    assert first["count"] > 0 and first["snapshot"]
    again = client.post(
        "/api/run", json={"component": "billbee", "function": "newOrders", "cfg": cfg, "snapshot": first["snapshot"]}
    ).json()
    assert again["count"] == 0


def test_billomat_confirmation_pdf_downloads(client: httpx.Client) -> None:
    cfg = client.post("/api/sandboxes/billomat").json()["cfg"]

    def run(function: str, body: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = client.post(
            "/api/run", json={"component": "billomat", "function": function, "cfg": cfg, "body": body}
        ).json()
        assert "error" not in out, out
        return out

    confirmation = run("listConfirmations", {})["messages"][0]["body"]
    if confirmation["status"] == "DRAFT":
        run("completeConfirmation", {"id": confirmation["id"]})
    (message,) = run("getConfirmationPdf", {"id": confirmation["id"]})["messages"]
    (attachment,) = message["attachments"].values()
    assert attachment["content-type"] == "application/pdf"
    pdf = client.get("/" + attachment["download"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert len(pdf.content) == attachment["size"]
    assert "attachment" in pdf.headers["content-disposition"]
