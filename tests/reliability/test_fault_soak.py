"""Fault soak: Billbee's triggers polled through 5xx, dropped connections, 429 bursts and
latency from the sandbox lose nothing and duplicate nothing (issue 11, item 10).

Polls repeat (a poll that ends with an error resumes from its last commit, as ``skiff poll``
does) until one completes with nothing new. Counted: records, emitted messages, distinct
message ids (a repeat after a failure carries the same id, which downstream drops), lost
records and duplicates (one record version under two different ids).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from skiff.clock import ManualClock
from skiff.component import load_component
from skiff.executor import Event, Executor
from skiff.message import Message
from skiff.sandbox import SandboxApp, SandboxServer, load_sandbox, serve

ROOT = Path(__file__).resolve().parents[2]
ORDERS = 400
FAULTS = {"latency_ms": 3, "error_rate": 0.25, "drop_rate": 0.15, "burst_429": 4, "retry_after": 0.2, "seed": 11}


@pytest.fixture
def sandbox() -> Iterator[tuple[SandboxApp, SandboxServer]]:
    app = load_sandbox("billbee", seed=7, orders=ORDERS, rate_limits=False)
    with serve(app) as server:
        yield app, server


@pytest.mark.parametrize(("trigger", "version"), [("newOrders", None), ("updatedOrders", "LastModifiedAt")])
async def test_fault_soak(sandbox: tuple[SandboxApp, SandboxServer], trigger: str, version: str | None) -> None:
    app, server = sandbox
    httpx.put(f"{server.url}/_sandbox/faults", json=FAULTS).raise_for_status()
    cfg: dict[str, Any] = {**app.default_credentials, "baseUrl": server.base_url, "pageSize": 50}
    component = load_component(ROOT / "components" / "billbee")
    snapshot: dict[str, Any] = {}
    messages: list[Message] = []
    errors = 0
    # The component's own limits (2/s per endpoint) and the retries' waits pass on a ManualClock:
    # what is soaked is the faults, not the time.
    async with Executor(validate_output=False, clock=ManualClock()) as executor:
        for _ in range(30):
            emitted: list[Message] = []

            async def sink(event: Event, emitted: list[Message] = emitted) -> None:
                nonlocal snapshot
                if event.kind == "data":
                    emitted.append(event.payload)
                elif event.kind == "snapshot":
                    snapshot = dict(event.payload)

            result = await executor.run(component, trigger, cfg, Message(body={}), snapshot=snapshot, emit=sink)
            messages += emitted
            if result.error is not None:
                errors += 1
                continue
            if not emitted:
                break
    httpx.put(f"{server.url}/_sandbox/faults", json={}).raise_for_status()
    log = httpx.get(f"{server.url}/_sandbox/requests").json()["requests"]
    statuses = [e["status"] or 0 for e in log]  # 0: dropped without an answer
    orders = {o["BillBeeOrderId"]: o for o in _all_orders(server, app)}
    want = {(i, o[version] if version else None) for i, o in orders.items()}
    got = {(m.body["BillBeeOrderId"], m.body[version] if version else None) for m in messages}
    ids_per_version: dict[Any, set[str]] = {}
    for m in messages:
        ids_per_version.setdefault((m.body["BillBeeOrderId"], m.body.get(version or "")), set()).add(m.id)
    lost = len(want - got)
    duplicated = sum(len(ids) - 1 for ids in ids_per_version.values())
    print(
        f"fault soak {trigger}: records {len(want)}, messages {len(messages)}, distinct ids "
        f"{len({m.id for m in messages})}, lost {lost}, duplicated {duplicated}, failed polls {errors}, "
        f"requests {len(statuses)}, dropped {statuses.count(0)}, 5xx {sum(s >= 500 for s in statuses)}, "
        f"429 {statuses.count(429)}"
    )
    assert lost == 0 and duplicated == 0
    assert sum(s >= 500 for s in statuses) > 0 and statuses.count(429) > 0  # the faults did happen


def _all_orders(server: SandboxServer, app: SandboxApp) -> list[dict[str, Any]]:
    creds = app.default_credentials
    out: list[dict[str, Any]] = []
    with httpx.Client(auth=(creds["username"], creds["password"]), headers={"X-Billbee-Api-Key": creds["apiKey"]}) as c:
        page = 1
        while True:
            body = c.get(f"{server.base_url}/orders", params={"page": page, "pageSize": 250}).json()
            out += body["Data"]
            if page >= body["Paging"]["TotalPages"]:
                return out
            page += 1
