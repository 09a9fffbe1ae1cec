"""A 5,000-order sync through the Billbee component at Billbee's real throttles, plus
verifyCredentials, the select models and secret hygiene.

The sandbox runs with its rate limits ON (50/s per key, 10/s per key + user, 2/s per endpoint):
the client-side limiter must keep every answer below 429. One executor (one limiter, pooled
clients) serves the whole module, as one worker process would, so consecutive tests do not
start from an empty client-side window while the server still counts the previous test's calls.
The executor and the sandbox's rate windows share one ManualClock: the server judges the
client's pace on the client's time, and no test waits for a window (or a Retry-After) to pass.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from skiff.clock import ManualClock
from skiff.component import Component, load_component
from skiff.message import Message
from skiff.run import Event, Executor, RunResult
from skiff.sandbox import SandboxApp, SandboxServer, load_sandbox, serve

pytestmark = pytest.mark.asyncio(loop_scope="module")

ROOT = Path(__file__).resolve().parents[3]
ORDERS = 5000
PAGE_SIZE = 250  # the component's page size: 20 pages for 5,000 orders
WRONG_PASSWORD = "wrong-api-password-4711"
WRONG_KEY = "wrong-api-key-0815"


@pytest.fixture(scope="module")
def component() -> Component:
    return load_component(ROOT / "components" / "billbee")


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(scope="module")
def sandbox(clock: ManualClock) -> Iterator[tuple[SandboxApp, SandboxServer]]:
    app = load_sandbox("billbee", seed=1, orders=ORDERS, rate_limits=True)
    for window in app.limiters:
        window.now = clock.monotonic  # the server's rate windows run on the client's clock
    with serve(app) as server:
        yield app, server


@pytest.fixture(scope="module")
def admin(sandbox: tuple[SandboxApp, SandboxServer]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox[1].url, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def cfg(sandbox: tuple[SandboxApp, SandboxServer]) -> dict[str, Any]:
    app, server = sandbox
    return {**app.default_credentials, "baseUrl": server.base_url}


@pytest.fixture(scope="module")
def secrets(cfg: dict[str, Any]) -> list[str]:
    basic = base64.b64encode(f"{cfg['username']}:{cfg['password']}".encode()).decode()
    return [cfg["apiKey"], cfg["password"], WRONG_PASSWORD, WRONG_KEY, basic]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def executor(clock: ManualClock) -> AsyncIterator[Executor]:
    # Output validation is off here: test_component_actions checks every action's out-schema,
    # and jsonschema spends ~2.5 ms per Billbee order, which would slow the client below the
    # throttle and leave the rate limiter (what this module tests) with nothing to do.
    async with Executor(validate_output=False, clock=clock) as ex:
        yield ex


@pytest.fixture
def fresh_log(admin: httpx.Client) -> None:
    """Start the test with an empty sandbox request log."""
    admin.delete("/_sandbox/requests").raise_for_status()


def requests_since(admin: httpx.Client) -> list[dict[str, Any]]:
    """The sandbox's request log since ``fresh_log`` (secrets masked by the sandbox)."""
    entries: list[dict[str, Any]] = admin.get("/_sandbox/requests").json()["requests"]
    return entries


async def sync_orders(
    executor: Executor,
    component: Component,
    cfg: dict[str, Any],
    body: dict[str, Any] | None = None,
    on_record: Callable[[int], None] | None = None,
) -> tuple[RunResult, list[dict[str, Any]]]:
    records: list[dict[str, Any]] = []

    async def sink(event: Event) -> None:
        if event.kind == "data":
            records.append(event.payload.body)
            if on_record is not None:
                on_record(len(records))

    message = Message(body={"emitBehavior": "emitIndividually", **(body or {})})
    result = await executor.run(component, "orderApiGetList", cfg, message, emit=sink)
    return result, records


# ---------------------------------------------------------------- the sync


async def test_sync_5000_orders_without_429(
    executor: Executor,
    component: Component,
    cfg: dict[str, Any],
    admin: httpx.Client,
    fresh_log: None,
) -> None:
    result, records = await sync_orders(executor, component, cfg)
    assert result.error is None, result.error
    ids = [r["BillBeeOrderId"] for r in records]
    assert result.data == len(ids) == ORDERS
    assert len(set(ids)) == ORDERS  # every order once
    assert ids == sorted(ids)  # in page order (the sandbox lists by id), whatever order pages came in

    entries = requests_since(admin)
    statuses = [e["status"] for e in entries]
    assert 429 not in statuses
    assert statuses == [200] * (ORDERS // PAGE_SIZE)
    # Each page exactly once. Pages are fetched ahead concurrently (fetchAhead), so on a loaded
    # machine two may reach the server out of order; the records are emitted in page order.
    pages = [int(e["query"]["page"]) for e in entries]
    assert sorted(pages) == list(range(1, ORDERS // PAGE_SIZE + 1))
    assert {e["query"]["pageSize"] for e in entries} == {str(PAGE_SIZE)}
    client = executor.client(component, cfg)
    assert client is not None
    assert client.stats.status_429 == 0
    assert client.stats.throttled_waits > 0  # the limiter, not luck, kept the server below 2/s


async def test_sync_absorbs_a_429_burst(
    executor: Executor,
    component: Component,
    cfg: dict[str, Any],
    sandbox: tuple[SandboxApp, SandboxServer],
    admin: httpx.Client,
    fresh_log: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Two 429s injected between pages 1 and 2 are waited out (Retry-After) and page 2 retried."""
    client = executor.client(component, cfg)
    assert client is not None
    before = client.stats.status_429, client.stats.retries
    # The newest 1,000 orders (4 pages) keep the test short; the full sync is the test above.
    newest = [o["BillBeeOrderId"] for o in sandbox[0].options["billbee"].data.orders.list()][-1000:]

    def inject(count: int) -> None:
        if count == PAGE_SIZE:  # page 1 is in; page 2 has not been asked for yet
            admin.put("/_sandbox/faults", json={"burst_429": 2, "retry_after": 1}).raise_for_status()

    caplog.set_level(logging.DEBUG, logger="skiff.http")
    try:
        result, records = await sync_orders(
            executor, component, cfg, {"minimumBillBeeOrderId": newest[0]}, on_record=inject
        )
    finally:
        admin.put("/_sandbox/faults", json={}).raise_for_status()
    assert result.error is None, result.error
    ids = [r["BillBeeOrderId"] for r in records]
    assert sorted(ids) == sorted(newest)  # complete, and nothing twice

    entries = requests_since(admin)
    assert [e["status"] for e in entries].count(429) == 2
    assert [e.get("fault") for e in entries if e["status"] == 429] == ["429", "429"]
    ok_pages = [int(e["query"]["page"]) for e in entries if e["status"] == 200]
    # Each page answered once: no page lost or fetched twice. (Pages are fetched ahead, so a
    # retried page may be answered after the next one; records still come out in page order,
    # which tests/http/test_http_prefetch.py checks.)
    assert sorted(ok_pages) == [1, 2, 3, 4]
    for index, entry in enumerate(entries):
        if entry["status"] == 429:
            # The same page again, next time it is asked for.
            assert any(e["query"]["page"] == entry["query"]["page"] for e in entries[index + 1 :])
    # Retry-After: 1 was honoured: each retry waited a second on the executor's clock.
    waits = [
        float(m.group(1))
        for r in caplog.records
        if (m := re.search(r"status 429, retrying in ([\d.]+) s", r.getMessage()))
    ]
    assert len(waits) == 2 and all(w >= 1.0 for w in waits), waits
    assert (client.stats.status_429 - before[0], client.stats.retries - before[1]) == (2, 2)


# ---------------------------------------------------------------- verifyCredentials


async def test_verify_good_credentials(executor: Executor, component: Component, cfg: dict[str, Any]) -> None:
    assert await executor.verify(component, cfg) == {"verified": True}


async def test_verify_wrong_password(
    executor: Executor,
    component: Component,
    cfg: dict[str, Any],
    secrets: list[str],
    fresh_log: None,
    admin: httpx.Client,
) -> None:
    result = await executor.verify(component, {**cfg, "password": WRONG_PASSWORD})
    assert result["verified"] is False
    reason = result["reason"]
    assert isinstance(reason, str) and reason.strip()
    assert "\n" not in reason
    assert "401" in reason or "invalid" in reason.lower()
    for secret in secrets:
        assert secret not in reason
    assert [e["status"] for e in requests_since(admin)] == [401]  # no retry of a 401


# ---------------------------------------------------------------- select models


def _sandbox_data(app: SandboxApp) -> Any:
    return sys.modules[type(app.options["billbee"]).__module__.rsplit(".", 1)[0] + ".data"]


@pytest.mark.parametrize(
    ("function", "field", "model"),
    [
        ("orderApiGetList", "orderStateId", "orderStates"),
        ("orderApiPostNewOrder", "paymentMethod", "paymentTypes"),
        ("orderApiGetList", "shopId", "shops"),
        ("orderApiCreateInvoice", "sendToCloudId", "cloudStorages"),
    ],
)
async def test_select_models(
    function: str,
    field: str,
    model: str,
    executor: Executor,
    component: Component,
    cfg: dict[str, Any],
    sandbox: tuple[SandboxApp, SandboxServer],
) -> None:
    app = sandbox[0]
    assert component.function(function).fields[field].model == model
    data = _sandbox_data(app)
    billbee = app.options["billbee"].data
    expected = {
        "orderStates": {str(k): v for k, v in data.ORDER_STATES.items()},
        "paymentTypes": {str(k): v for k, v in data.PAYMENT_TYPES.items()},
        "shops": {str(s["Id"]): s["Name"] for s in billbee.shops.list()},
        "cloudStorages": {str(c["Id"]): c["Name"] for c in billbee.cloud_storages.list()},
    }[model]
    options = await executor.select(component, function, field, cfg)
    assert options == expected
    assert len(options) >= 2


# ---------------------------------------------------------------- secrets


async def test_no_secret_in_logs_errors_or_messages(
    executor: Executor,
    component: Component,
    cfg: dict[str, Any],
    secrets: list[str],
    admin: httpx.Client,
    fresh_log: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    emitted: list[Any] = []
    errors: list[str] = []

    async def sink(event: Event) -> None:
        if event.kind == "data":
            emitted.append(event.payload.body)
        elif event.kind == "error":
            errors.append(str(event.payload["error"]))

    bad = {**cfg, "password": WRONG_PASSWORD}
    runs = [
        (cfg, "orderApiGetList", {"emitBehavior": "emitPage", "maxPages": 1}),
        (cfg, "webHookManagementGetFilters", {}),
        (cfg, "orderApiGet", {"id": 1}),  # 404 OrderNotFound: an ApiError
        (bad, "orderApiGetList", {"maxPages": 1}),  # 401: an AuthError
        ({**cfg, "apiKey": WRONG_KEY}, "enumApiGetOrderStates", {}),
    ]
    results = [await executor.run(component, name, c, Message(body=body), emit=sink) for c, name, body in runs]
    assert results[0].error is None and results[1].error is None
    assert all(r.error is not None for r in results[2:])
    errors += [r.error.one_line() for r in results if r.error is not None]
    errors.append(str((await executor.verify(component, bad)).get("reason")))

    texts = {
        "logs": caplog.text,
        "errors": "\n".join(errors),
        "messages": json.dumps(emitted),
        "sandbox log": admin.get("/_sandbox/requests").text,
    }
    assert caplog.records, "expected DEBUG logs from the executor and the HTTP client"
    assert len(emitted) == 2 and errors
    for where, text in texts.items():
        for secret in secrets:
            assert secret not in text, f"a secret leaked into the {where}"
