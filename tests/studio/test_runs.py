"""Flows run from the studio: saved credentials by name, the journal skiff flow uses, one run at a time."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import httpx

from skiff.studio import StudioServer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "billbee-orders-to-billomat.yaml"


def _wait(client: httpx.Client, path: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        status: dict[str, Any] = client.get("/api/flows/status", params={"path": path}).json()
        if not status["running"] or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def test_example_a_runs_with_the_studio_credentials(studio: StudioServer, client: httpx.Client) -> None:
    shutil.copyfile(EXAMPLE, studio.settings.flows_dir / "a.yaml")
    missing = client.post("/api/flows/run", json={"path": "a.yaml"})
    assert missing.status_code == 400
    assert "not saved in the studio" in missing.json()["error"]["line"]

    for name, options in (("billbee", {"orders": 2}), ("billomat", {})):
        cfg = client.post(f"/api/sandboxes/{name}", json={"options": options}).json()["cfg"]
        client.post("/api/credentials", json={"name": name, "component": name, "cfg": cfg}).raise_for_status()
    started = client.post("/api/flows/run", json={"path": "a.yaml"})
    assert started.json() == {"started": True, "replayed": 0}
    again = client.post("/api/flows/run", json={"path": "a.yaml"})
    assert again.status_code == 400 and "running already" in again.json()["error"]["line"]
    status = _wait(client, "a.yaml")
    assert "error" not in status, status
    assert status["steps"]["order"]["done"] == 2
    assert all(status["steps"][s]["done"] == 2 for s in ("client", "confirmation", "complete", "pdf"))
    assert status["results"] == 2 and status["failures"] == []
    # The same journal as `skiff flow run a.yaml` in the flows folder.
    assert (studio.settings.flows_dir / ".skiff" / "flows" / "billbee-orders-to-billomat.db").is_file()
    # Nothing new: a second run adds no message.
    client.post("/api/flows/run", json={"path": "a.yaml"}).raise_for_status()
    assert _wait(client, "a.yaml")["steps"]["order"]["done"] == 2


def test_replay_without_failures_says_so(studio: StudioServer, client: httpx.Client) -> None:
    shutil.copyfile(EXAMPLE, studio.settings.flows_dir / "a.yaml")
    for name in ("billbee", "billomat"):
        cfg = client.post(f"/api/sandboxes/{name}").json()["cfg"]
        client.post("/api/credentials", json={"name": name, "component": name, "cfg": cfg}).raise_for_status()
    r = client.post("/api/flows/replay", json={"path": "a.yaml", "id": "nope"})
    assert r.status_code == 400
    assert "no failed or in-doubt message matches nope" in r.json()["error"]["line"]
    assert client.get("/api/flows/status", params={"path": "a.yaml"}).json()["running"] is False
