"""Shared fixtures for flow tests: the Billbee and Billomat sandboxes of example (a), and its environment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from skiff.sandbox import SandboxApp, load_sandbox, serve

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_A = REPO / "examples" / "billbee-orders-to-billomat.yaml"


@dataclass
class Sandboxes:
    billbee: SandboxApp
    billomat: SandboxApp
    billbee_url: str  # without the API prefix: the admin API lives under it
    billomat_url: str
    env: dict[str, str]

    def add_orders(self, count: int) -> list[Any]:
        answer = httpx.post(f"{self.billbee_url}/_sandbox/seed", json={"resource": "orders", "count": count})
        answer.raise_for_status()
        return list(answer.json()["ids"])

    def billomat_requests(self) -> int:
        return len(self.billomat.log.entries())


@pytest.fixture
def sandboxes() -> Iterator[Sandboxes]:
    # A registered Billomat app's limit (the cfg field rateLimit says so to the client): the
    # crash test restarts the runner often, and each start re-learns the window from headers.
    billbee = load_sandbox("billbee", seed=3, orders=3)
    billomat = load_sandbox("billomat", seed=3, window_requests=5000)
    with serve(billbee) as bb, serve(billomat) as bm:
        c1, c2 = billbee.default_credentials, billomat.default_credentials
        env = {
            **os.environ,
            "BILLBEE_URL": bb.base_url,
            "BILLBEE_API_KEY": c1["apiKey"],
            "BILLBEE_USERNAME": c1["username"],
            "BILLBEE_PASSWORD": c1["password"],
            "BILLOMAT_URL": bm.base_url,
            "BILLOMAT_ID": c2["billomatId"],
            "BILLOMAT_API_KEY": c2["apiKey"],
            "BILLOMAT_RATE_LIMIT": "5000",
        }
        yield Sandboxes(billbee, billomat, bb.url, bm.url, env)


def confirmations_by_order(billomat: SandboxApp) -> dict[str, list[dict[str, Any]]]:
    """Billomat confirmations grouped by the Billbee order id in their label (read after the runs)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for record in billomat.store["confirmations"]:
        label = str(record.get("label") or "")
        if label.startswith("Billbee order "):
            out.setdefault(label.removeprefix("Billbee order "), []).append(dict(record))
    return out
