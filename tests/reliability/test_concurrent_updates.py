"""Orders that change while Billbee's ``updatedOrders`` pages through them are not lost.

Billbee lists orders by id (``order: any``); the poll reads every page, then emits in
modification order. Against the Billbee sandbox and its clock, the first order is changed
(sandbox clock +6 s) after page 1 was read and the last one (+1 s more) after page 3: every
version that exists after the last poll is emitted, none twice, and the third poll finds
nothing (issue 11, item 1). ``newOrders`` (an id cursor) gets a new order between page reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from skiff.clock import ManualClock
from skiff.component import load_component
from skiff.message import Message
from skiff.run import Event, Executor
from skiff.sandbox import SandboxApp, SandboxServer, load_sandbox, serve

ROOT = Path(__file__).resolve().parents[2]
ORDERS = 300
PAGE_SIZE = 50


class _Hook(httpx.AsyncHTTPTransport):
    """The real transport, calling ``after(page)`` once a page of GET /orders is back."""

    def __init__(self, after: Callable[[int], None]) -> None:
        super().__init__()
        self.after = after

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        if request.method == "GET" and request.url.path.endswith("/orders"):
            await response.aread()
            self.after(int(request.url.params.get("page", "1")))
        return response


@pytest.fixture
def sandbox() -> Iterator[tuple[SandboxApp, SandboxServer, httpx.Client]]:
    app = load_sandbox("billbee", seed=3, orders=ORDERS, rate_limits=False)
    with serve(app) as server:
        creds = app.default_credentials
        with httpx.Client(
            base_url=server.url,
            auth=(creds["username"], creds["password"]),
            headers={"X-Billbee-Api-Key": creds["apiKey"]},
            timeout=10,
        ) as api:
            yield app, server, api


def _order_ids(api: httpx.Client, base: str) -> list[int]:
    ids: list[int] = []
    page = 1
    while True:
        body = api.get(f"{base}/orders", params={"page": page, "pageSize": 250}).json()
        ids += [o["BillBeeOrderId"] for o in body["Data"]]
        if page >= body["Paging"]["TotalPages"]:
            return sorted(ids)
        page += 1


def _versions(api: httpx.Client, base: str) -> set[tuple[int, str]]:
    out: set[tuple[int, str]] = set()
    page = 1
    while True:
        body = api.get(f"{base}/orders", params={"page": page, "pageSize": 250}).json()
        out |= {(o["BillBeeOrderId"], o["LastModifiedAt"]) for o in body["Data"]}
        if page >= body["Paging"]["TotalPages"]:
            return out
        page += 1


class _SandboxTime(ManualClock):
    """The executor's clock: waits (the component's 2/s per endpoint) pass at once, and the time
    of day is the sandbox's (an API whose clock agrees with ours), so the polls' start and cap
    follow it and a poll interval can pass between polls without real time passing."""

    def __init__(self, app: SandboxApp) -> None:
        super().__init__()
        self.app = app

    def time(self) -> float:
        return self.app.clock.now().timestamp()


async def _polls(
    trigger: str, cfg: dict[str, Any], after: Callable[[int], None], n: int, app: SandboxApp
) -> list[list[Any]]:
    component = load_component(ROOT / "components" / "billbee")
    snapshot: dict[str, Any] = {}
    per_poll: list[list[Any]] = []
    hook = _Hook(after)
    async with Executor(transport=hook, validate_output=False, clock=_SandboxTime(app)) as executor:
        for _ in range(n):
            bodies: list[Any] = []

            async def sink(event: Event, bodies: list[Any] = bodies) -> None:
                nonlocal snapshot
                if event.kind == "data":
                    bodies.append(event.payload.body)
                elif event.kind == "snapshot":
                    snapshot = dict(event.payload)

            result = await executor.run(component, trigger, cfg, Message(body={}), snapshot=snapshot, emit=sink)
            assert result.error is None, result.error
            per_poll.append(bodies)
            hook.after = lambda page: None
            app.clock.advance(60)  # the poll interval
    return per_poll


async def test_updated_orders_changed_between_page_reads(
    sandbox: tuple[SandboxApp, SandboxServer, httpx.Client],
) -> None:
    app, server, api = sandbox
    base = server.base_url
    ids = _order_ids(api, base)
    changed: list[int] = []

    def after(page: int) -> None:
        if page == 1 and not changed:
            api.put("/_sandbox/clock", json={"advance": 6}).raise_for_status()
            api.put(f"{base}/orders/{ids[0]}/orderstate", json={"NewStateId": 14}).raise_for_status()
            changed.append(ids[0])
        elif page == 3 and len(changed) == 1:
            api.put("/_sandbox/clock", json={"advance": 1}).raise_for_status()
            api.put(f"{base}/orders/{ids[-1]}/orderstate", json={"NewStateId": 14}).raise_for_status()
            changed.append(ids[-1])

    cfg = {**app.default_credentials, "baseUrl": base, "pageSize": PAGE_SIZE}
    per_poll = await _polls("updatedOrders", cfg, after, 3, app)
    emitted = [(o["BillBeeOrderId"], o["LastModifiedAt"]) for poll in per_poll for o in poll]
    wanted = _versions(api, base)
    lost = wanted - set(emitted)
    duplicated = len(emitted) - len(set(emitted))
    print(f"updatedOrders: orders {len(wanted)}, emitted {len(emitted)}, lost {len(lost)}, duplicated {duplicated}")
    assert changed == [ids[0], ids[-1]]
    assert lost == set()
    assert duplicated == 0
    assert ids[0] in [o["BillBeeOrderId"] for o in per_poll[1]]  # its new version, one poll later
    assert per_poll[2] == []


async def test_new_orders_created_between_page_reads(sandbox: tuple[SandboxApp, SandboxServer, httpx.Client]) -> None:
    app, server, api = sandbox
    base = server.base_url
    ids = _order_ids(api, base)
    created: list[int] = []

    def after(page: int) -> None:
        if page == 1 and not created:
            api.put("/_sandbox/clock", json={"advance": 6}).raise_for_status()
            api.post("/_sandbox/seed", json={"resource": "orders", "count": 1}).raise_for_status()
            created.extend(set(_order_ids(api, base)) - set(ids))

    cfg = {**app.default_credentials, "baseUrl": base, "pageSize": PAGE_SIZE}
    per_poll = await _polls("newOrders", cfg, after, 3, app)
    emitted = [o["BillBeeOrderId"] for poll in per_poll for o in poll]
    lost = set(_order_ids(api, base)) - set(emitted)
    duplicated = len(emitted) - len(set(emitted))
    print(f"newOrders: orders {len(ids) + 1}, emitted {len(emitted)}, lost {len(lost)}, duplicated {duplicated}")
    assert len(created) == 1 and created[0] in emitted
    assert lost == set() and duplicated == 0
    assert per_poll[2] == []


async def test_updated_orders_shifted_by_an_order_leaving_the_filter(
    sandbox: tuple[SandboxApp, SandboxServer, httpx.Client],
) -> None:
    # Billbee pages by page number: an order on page 1 that leaves the state filter after page 1
    # was read moves every later order a place back, so the first order of page 2 lands on page
    # 1, already read. It did not change: without the bound and the total check it was lost.
    app, server, api = sandbox
    base = server.base_url
    states = sorted({o["State"] for o in api.get(f"{base}/orders", params={"pageSize": 250}).json()["Data"]} - {14})
    listed = [
        o["BillBeeOrderId"]
        for page in (1, 2)
        for o in api.get(f"{base}/orders", params={"page": page, "pageSize": PAGE_SIZE, "orderStateId": states}).json()[
            "Data"
        ]
    ]
    left: list[int] = []

    def after(page: int) -> None:
        if page == 1 and not left:
            api.put("/_sandbox/clock", json={"advance": 6}).raise_for_status()
            api.put(f"{base}/orders/{listed[0]}/orderstate", json={"NewStateId": 14}).raise_for_status()
            left.append(listed[0])

    cfg = {**app.default_credentials, "baseUrl": base, "pageSize": PAGE_SIZE, "orderStateId": states}
    per_poll = await _polls("updatedOrders", cfg, after, 3, app)
    emitted = {o["BillBeeOrderId"] for poll in per_poll for o in poll}
    shifted = listed[PAGE_SIZE]  # the first order of page 2 when the poll began
    versions = _versions(api, base)
    wanted = {oid for oid, _ in versions if oid != listed[0]} & set(_listed_ids(api, base, states))
    lost = wanted - emitted
    print(f"updatedOrders, an order leaving the filter: orders {len(wanted)}, lost {len(lost)}")
    assert left == [listed[0]] and shifted in emitted
    assert lost == set()
    assert per_poll[2] == []


def _listed_ids(api: httpx.Client, base: str, states: list[int]) -> list[int]:
    ids: list[int] = []
    page = 1
    while True:
        params = {"page": page, "pageSize": 250, "orderStateId": states}
        body = api.get(f"{base}/orders", params=params).json()  # type: ignore[arg-type]
        ids += [o["BillBeeOrderId"] for o in body["Data"]]
        if page >= body["Paging"]["TotalPages"]:
            return ids
        page += 1
