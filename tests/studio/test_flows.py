"""Flow files through the canvas's API: exact round trip, edits keep comments, mapping preview."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx

from skiff.studio import StudioServer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "billbee-orders-to-billomat.yaml"


def _copy_example(studio: StudioServer) -> Path:
    target = studio.settings.flows_dir / "orders.yaml"
    shutil.copyfile(EXAMPLE, target)
    return target


def test_hand_written_file_opens_and_saves_byte_for_byte(studio: StudioServer, client: httpx.Client) -> None:
    target = _copy_example(studio)
    before = target.read_bytes()
    assert client.get("/api/flows").json() == [{"path": "orders.yaml", "name": "billbee-orders-to-billomat"}]
    opened = client.get("/api/flows/file", params={"path": "orders.yaml"}).json()
    assert opened["text"] == before.decode()
    assert [s["id"] for s in opened["doc"]["steps"]] == ["client", "confirmation", "complete", "pdf"]
    saved = client.put("/api/flows/file", json={"path": "orders.yaml", "doc": opened["doc"]}).json()
    assert saved["changed"] is False
    assert target.read_bytes() == before


def test_an_edit_keeps_the_comments_of_the_rest(studio: StudioServer, client: httpx.Client) -> None:
    target = _copy_example(studio)
    doc = client.get("/api/flows/file", params={"path": "orders.yaml"}).json()["doc"]
    doc["trigger"]["schedule"] = {"every": "5m"}
    doc["steps"] = [s for s in doc["steps"] if s["id"] != "pdf"]
    saved = client.put("/api/flows/file", json={"path": "orders.yaml", "doc": doc}).json()
    assert saved["changed"] is True and saved["problems"] == []
    text = target.read_text()
    assert "# Find the client by e-mail; create it only when there is none" in text
    assert "every: 5m" in text and "getConfirmationPdf" not in text
    assert client.get("/api/flows/file", params={"path": "orders.yaml"}).json()["doc"] == doc


def test_positions_saved_through_the_api_come_back_on_reopen(studio: StudioServer, client: httpx.Client) -> None:
    target = _copy_example(studio)
    before = target.read_text()
    doc = client.get("/api/flows/file", params={"path": "orders.yaml"}).json()["doc"]
    assert "studio" not in doc  # a file without positions: the canvas lays it out
    positions = {"order": {"x": 20, "y": 30}, "client": {"x": 260, "y": 130}, "pdf": {"x": 900, "y": 410}}
    doc["studio"] = {"positions": positions}
    saved = client.put("/api/flows/file", json={"path": "orders.yaml", "doc": doc}).json()
    assert saved["changed"] is True and saved["problems"] == []
    text = target.read_text()
    assert text.startswith(before)  # comments and everything else kept; the block is added at the end
    assert text[len(before) :].endswith("    pdf: {x: 900, y: 410}\n")
    reopened = client.get("/api/flows/file", params={"path": "orders.yaml"}).json()
    assert reopened["doc"]["studio"]["positions"] == positions
    again = client.put("/api/flows/file", json={"path": "orders.yaml", "doc": reopened["doc"]}).json()
    assert again["changed"] is False and target.read_text() == text
    # A position naming no step is a problem of the file, located as `skiff flow validate` places it.
    reopened["doc"]["studio"]["positions"]["gone"] = {"x": 1, "y": 1}
    stale = client.put("/api/flows/file", json={"path": "orders.yaml", "doc": reopened["doc"]}).json()
    assert any("studio.positions.gone: 'gone' is not a step of this flow" in p for p in stale["problems"])


def test_new_flow_is_written_and_checked(studio: StudioServer, client: httpx.Client) -> None:
    doc = {
        "name": "new-flow",
        "trigger": {"component": "billbee", "function": "newOrders", "schedule": {"every": "60s"}},
        "steps": [{"id": "client", "component": "billomat", "function": "nosuchAction"}],
    }
    saved = client.put("/api/flows/file", json={"path": "sub/new.yaml", "doc": doc}).json()
    assert saved["changed"] is True
    assert (studio.settings.flows_dir / "sub" / "new.yaml").is_file()
    assert any("nosuchAction" in p for p in saved["problems"])
    invalid = client.put("/api/flows/file", json={"path": "x.yaml", "doc": {"name": "x"}})
    assert invalid.status_code == 400 and "'trigger' is required" in invalid.json()["error"]["line"]
    assert not (studio.settings.flows_dir / "x.yaml").exists()


def test_paths_stay_inside_the_flows_folder(client: httpx.Client) -> None:
    for path in ("../escape.yaml", "/etc/passwd.yaml", "flow.txt"):
        r = client.get("/api/flows/file", params={"path": path})
        assert r.status_code == 400, path


def test_mapping_preview_with_passthrough_and_located_errors(client: httpx.Client) -> None:
    ok = client.post(
        "/api/flows/preview",
        json={
            "expression": '{"label": "order " & $string($passthrough.order.id), "name": Name}',
            "input": {"Name": "Ada"},
            "passthrough": {"order": {"id": 7}},
            "step": "client",
        },
    ).json()
    assert ok == {"result": {"label": "order 7", "name": "Ada"}}
    bad = client.post("/api/flows/preview", json={"expression": '{"a": }', "input": {}, "step": "client"}).json()
    assert bad["error"]["kind"] == "MappingError"
    assert "step 'client' mapping" in bad["error"]["line"]
