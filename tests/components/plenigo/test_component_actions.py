"""The Plenigo component against the Plenigo sandbox, everything through ``Executor.run``.

Every action whose operation the sandbox implements runs once with a valid input (ids from the
seeded data, bodies from the spec's examples) and must succeed with output that matches its
out-schema (the executor checks every emitted record). The four polling triggers run twice
(the second poll emits nothing) and again after the sandbox changes three records (only those
arrive). Also: cursor paging costs, a 99429 absorbed by retries, a wrong token, a bad body,
a vendor 400/404, verifyCredentials, and that regenerating the folder changes no file.

One sandbox for the module (30 customers, rate limits off), reset after every call that changes
data; one test switches a (tightened) rate limit on. Calls share one executor (one HTTP client,
as a flow runner would) on a module-scoped event loop; its client-side limiter is cleared before
each call so the order of tests never makes one wait.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from skiff.component import Component, load_component
from skiff.errors import ApiError, AuthError, InputError
from skiff.http import HttpStats
from skiff.message import Message
from skiff.openapi import render_component
from skiff.run import Event, Executor, RunResult
from skiff.sandbox import SandboxApp, SandboxServer, import_sandbox_module, load_sandbox, serve
from tests.shared_files import shared_file

ROOT = Path(__file__).resolve().parents[3]
COMPONENT_DIR = ROOT / "components" / "plenigo"
OVERLAY = COMPONENT_DIR / "overlay.yaml"
SPEC_FILE = shared_file("specs/plenigo.v3.openapi.json")  # every case takes its input from the spec

SPEC: dict[str, Any] = json.loads(SPEC_FILE.read_text(encoding="utf-8"))
MODULE = import_sandbox_module("plenigo")
OPERATIONS = {o.operation_id: o for o in MODULE.operations()}
COMPONENT_JSON: dict[str, Any] = json.loads((COMPONENT_DIR / "component.json").read_text(encoding="utf-8"))
ACTION_OF = {a["operationId"]: name for name, a in COMPONENT_JSON["actions"].items()}
TRIGGERS = {
    "changedCustomers": ("customers", "customerId"),
    "changedOrders": ("orders", "orderId"),
    "changedInvoices": ("invoices", "invoiceId"),
    "changedSubscriptions": ("subscriptions", "subscriptionId"),
}
FUTURE = (date.today() + timedelta(days=40)).isoformat()
CUSTOMERS = 30

on_module_loop = pytest.mark.asyncio(loop_scope="module")  # the loop the shared executor lives on


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def component() -> Component:
    return load_component(COMPONENT_DIR)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[SandboxApp, SandboxServer]]:
    app = load_sandbox("plenigo", seed=1, customers=CUSTOMERS, rate_limits=False)
    with serve(app) as server:
        yield app, server


@pytest.fixture(scope="module")
def app(sandbox: tuple[SandboxApp, SandboxServer]) -> SandboxApp:
    return sandbox[0]


@pytest.fixture(scope="module")
def cfg(sandbox: tuple[SandboxApp, SandboxServer]) -> dict[str, Any]:
    app, server = sandbox
    return {**app.default_credentials, "baseUrl": server.base_url}


@pytest.fixture(scope="module")
def ids(app: SandboxApp) -> dict[str, Any]:
    found: dict[str, Any] = MODULE.sample_ids(app)
    return found


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def executor() -> AsyncIterator[Executor]:
    async with Executor() as shared:
        yield shared


@pytest.fixture
def admin(sandbox: tuple[SandboxApp, SandboxServer]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox[1].url + "/_sandbox", timeout=10) as http:
        yield http


async def run(
    executor: Executor | None,
    component: Component,
    cfg: dict[str, Any],
    name: str,
    body: dict[str, Any] | None = None,
    *,
    snapshot: dict[str, Any] | None = None,
    dry_run: bool = False,
) -> tuple[RunResult, list[Message], list[HttpStats]]:
    """One call (executor None: a fresh one, for counting its HTTP stats); also the HTTP stats."""
    emitted: list[Message] = []

    async def sink(event: Event) -> None:
        if event.kind == "data":
            emitted.append(event.payload)

    if executor is None:
        async with Executor() as fresh:
            return await run(fresh, component, cfg, name, body, snapshot=snapshot, dry_run=dry_run)
    await executor.limiter.reset()
    result = await executor.run(
        component, name, cfg, Message(body=body or {}), snapshot=snapshot, emit=sink, dry_run=dry_run
    )
    return result, emitted, executor.http_stats()


# ---------------------------------------------------------------------------- inputs from the spec


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def from_schema(node: dict[str, Any]) -> Any:
    """A minimal value: the required properties of an object, the first enum value, ..."""
    node = resolve(node)
    if "allOf" in node:
        merged: dict[str, Any] = {}
        for part in node["allOf"]:
            merged.update(from_schema(part))
        return merged
    kind = node.get("type")
    kind = next((k for k in kind if k != "null"), None) if isinstance(kind, list) else kind
    if "enum" in node:
        return node["enum"][0]
    if kind == "object" or "properties" in node:
        props = node.get("properties", {})
        return {name: from_schema(props[name]) for name in node.get("required", []) if name in props}
    if kind == "integer":
        return int(node.get("minimum", 1))
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    samples = {"date": "2031-01-15", "date-time": "2031-01-15T08:00:00Z", "email": "new.reader@example.com"}
    return samples.get(str(node.get("format")), "sample")


def example_body(operation: dict[str, Any]) -> Any:
    content = operation["requestBody"]["content"]["application/json"]
    for example in (content.get("examples") or {}).values():
        return copy.deepcopy(resolve(example)["value"])
    return from_schema(content["schema"])


# Which seeded record suits a call whose id the default would not (sample_ids' keys).
PARAM_IDS: dict[str, dict[str, str]] = {
    "deleteCustomer": {"customerId": "deletableCustomerId"},
    "deleteAddressById": {"addressId": "unusedAddressId"},
    "getFutureAddresses": {"addressId": "futureAddressId"},
    "createFutureAddress": {"addressId": "futureAddressId"},
    "updateFutureAddress": {"addressId": "futureAddressId"},
    "deleteFutureAddress": {"addressId": "futureAddressId"},
    "updateAccessRightForCustomer": {"customerId": "accessCustomerId"},
    "deleteAccessRightForCustomer": {"customerId": "accessCustomerId"},
    "blockCustomerAccessRightItem": {"customerId": "accessCustomerId"},
    "unblockCustomerAccessRightItem": {"customerId": "accessCustomerId"},
    "deleteStripeCustomer": {"customerId": "stripeCustomerId"},
    "getCustomerMark": {"customerId": "markCustomerId"},
    "getCrossClientSubscriptionsByChain": {"chainId": "crossClientChainId"},
    "pauseSubscriptionDelivery": {"subscriptionId": "printSubscriptionId"},
    "deletePauseSubscriptionDelivery": {"subscriptionId": "printSubscriptionId"},
}


def body_changes(operation_id: str, ids: dict[str, Any], app: SandboxApp) -> dict[str, Any]:
    """The spec's examples use plenigo's own ids and a few invalid values; point them at seeded data."""
    address = MODULE.world_of(app).addresses.get(ids["addressId"])
    changes: dict[str, dict[str, Any]] = {
        # The spec's example sends times ("06:00:00") where its schema wants date-times.
        "createAccessRightsForCustomer": {"accessTimeStart": None, "accessTimeEnd": None},
        "updateAccessRightForCustomer": {"accessTimeStart": None, "accessTimeEnd": None},
        "createCustomer": {"customerId": None, "email": "wild.flower@example.org", "username": "wild_flower_2"},
        "updateCustomer": {"email": "wild.flower@example.org"},
        "changeCustomerEmail": {"email": "new.address@example.org"},
        "createAddress": {"customerId": ids["customerId"]},
        "createWbzAddress": {"customerId": ids["customerId"]},
        "validateAddress": {"customerId": ids["customerId"]},
        "updateCustomerAssociatedOptIn": {"optIns": {"EMAIL": {"status": "DOUBLE_OPT_IN"}}},
        "searchCustomerByAddress": {
            "postcode": address["postcode"],
            "country": address["country"],
            "lastName": address["lastName"],
        },
        "updateCrossClientTransactionPaidStatus": {"paidStatus": "PAID"},
        "useCrossClientVoucher": {"customerId": ids["customerId"], "voucherCode": ids["voucherCode"]},
        "changeSubscriptionAddress": {"addressId": ids["invoiceAddressId"], "addressType": "INVOICE"},
        "cancelSubscriptionAt": {"cancellationDate": FUTURE},
        "changeSubscriptionDiscount": {"subscriptionItemId": ids["subscriptionItemId"]},
        "changeSubscriptionQuantity": {"subscriptionItemId": ids["subscriptionItemId"]},
        "changeSubscriptionPaymentMethod": {
            "paymentMethod": ids["paymentMethod"],
            "paymentMethodId": ids["paymentMethodId"],
        },
        "pauseSubscription": {"startPauseDate": FUTURE, "endPauseDate": "2099-01-31"},
        "pauseSubscriptionDelivery": {"startPauseDate": FUTURE, "endPauseDate": "2099-01-31"},
    }
    return changes.get(operation_id, {})


# Calls that need a state first: (action, message body from ids).
SETUP: dict[str, list[tuple[str, Any]]] = {
    "undoSubscriptionCancellation": [
        ("cancelSubscriptionRegular", lambda ids: {"subscriptionId": ids["subscriptionId"]}),
    ],
    "deletePauseSubscription": [
        (
            "pauseSubscription",
            lambda ids: {
                "subscriptionId": ids["subscriptionId"],
                "body": {"startPauseDate": FUTURE, "endPauseDate": "2099-01-31"},
            },
        )
    ],
    "deletePauseSubscriptionDelivery": [
        (
            "pauseSubscriptionDelivery",
            lambda ids: {
                "subscriptionId": ids["printSubscriptionId"],
                "body": {"startPauseDate": FUTURE, "endPauseDate": "2099-01-31"},
            },
        )
    ],
}


def message_body(component: Component, operation_id: str, ids: dict[str, Any], app: SandboxApp) -> dict[str, Any]:
    """The action's input: path and required query parameters by name, the request body as ``body``."""
    meta = OPERATIONS[operation_id]
    item = SPEC["paths"][meta.path]
    operation = item[meta.method.lower()]
    chosen = PARAM_IDS.get(operation_id, {})
    body: dict[str, Any] = {}
    for raw in [*item.get("parameters", []), *operation.get("parameters", [])]:
        param = resolve(raw)
        name, where = param["name"], param["in"]
        if where == "path":
            value = ids[chosen.get(name, name)]
            if operation_id == "createFutureAddress" and name == "date":
                value = (date.fromisoformat(ids["date"]) + timedelta(days=1)).isoformat()
            body[name] = value
        elif where == "query" and param.get("required"):
            body[name] = ids[name] if name in ids else ids["accessRightUniqueId"]
    if "requestBody" in operation:
        payload = example_body(operation)
        for key, value in body_changes(operation_id, ids, app).items():
            if value is None:
                payload.pop(key, None)
            else:
                payload[key] = value
        in_props = component.function(ACTION_OF[operation_id]).in_schema["properties"]
        body["requestBody" if "requestBody" in in_props else "body"] = payload
    return body


# ---------------------------------------------------------------------------- every implemented action


def test_every_implemented_operation_has_an_action() -> None:
    missing = sorted(set(OPERATIONS) - set(ACTION_OF))
    assert not missing
    assert len(COMPONENT_JSON["actions"]) == 314
    assert set(COMPONENT_JSON["triggers"]) == set(TRIGGERS)
    paged = [a for a in COMPONENT_JSON["actions"].values() if "pagination" in a]
    assert len(paged) == 99
    for action in paged:  # skiff sets size and startingAfter; endingBefore would contradict them
        schema = json.loads((COMPONENT_DIR / action["metadata"]["in"]).read_text(encoding="utf-8"))
        assert not set(action["request"].get("query", {})) & {"size", "startingAfter", "endingBefore"}
        # In a message, size and startingAfter ask for that one page only.
        assert {"size", "startingAfter"} <= set(schema["properties"]), action["operationId"]
        assert "endingBefore" not in schema["properties"], action["operationId"]


@on_module_loop
@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
async def test_action(
    operation_id: str,
    executor: Executor,
    component: Component,
    cfg: dict[str, Any],
    app: SandboxApp,
    ids: dict[str, Any],
) -> None:
    name = ACTION_OF[operation_id]
    function = component.function(name)
    paged = function.model.pagination is not None
    try:
        for setup_action, setup_body in SETUP.get(operation_id, []):
            result, _, _ = await run(executor, component, cfg, setup_action, setup_body(ids))
            assert result.error is None, f"setup {setup_action}: {result.error!r}"
        body = message_body(component, operation_id, ids, app)
        if paged:
            body["emitBehavior"] = "fetchAll"  # one message even when the search finds nothing
        result, emitted, _ = await run(executor, component, cfg, name, body)
    finally:
        if OPERATIONS[operation_id].method != "GET":
            app.reset()  # the next call starts from the seeded data again
    # The executor checked every emitted body (every record of a page) against the out-schema.
    assert result.error is None, f"{name}: {result.error!r}"
    assert result.data == len(emitted) == 1
    if paged:
        assert isinstance(emitted[0].body["results"], list)
    if function.model.request is not None and function.model.request.responseType == "binary":
        assert emitted[0].attachments, f"{name}: no attachment"


@on_module_loop
@pytest.mark.parametrize(
    "operation_id", ["searchCustomers", "searchOrders", "searchInvoices", "searchSubscriptions", "searchAddresses"]
)
async def test_core_searches_page_through_everything(
    operation_id: str,
    executor: Executor,
    component: Component,
    cfg: dict[str, Any],
    app: SandboxApp,
    admin: httpx.Client,
) -> None:
    """Default emitIndividually: one message per record; requests = full pages + 1 (a short or empty last)."""
    admin.delete("/requests").raise_for_status()
    result, emitted, _ = await run(executor, component, cfg, ACTION_OF[operation_id])
    assert result.error is None, repr(result.error)
    table = {"searchAddresses": "addresses"}.get(operation_id, operation_id.removeprefix("search").lower())
    expected = len(getattr(MODULE.world_of(app), table).list())
    assert result.data == len(emitted) == expected
    log = admin.get("/requests").json()["requests"]
    assert len(log) == expected // 100 + 1  # full pages, then the short one
    assert all(entry["query"].get("size") == "100" for entry in log)
    assert "startingAfter" not in log[0]["query"]
    assert all("startingAfter" in entry["query"] for entry in log[1:])


@on_module_loop
async def test_a_full_last_page_costs_one_empty_request(
    executor: Executor, component: Component, cfg: dict[str, Any], app: SandboxApp, admin: httpx.Client
) -> None:
    """plenigo sends startingAfterId with every non-empty page: after exactly 100 records skiff asks once more."""
    admin.post("/seed", json={"resource": "customers", "count": 100 - CUSTOMERS}).raise_for_status()
    admin.delete("/requests").raise_for_status()
    try:
        result, emitted, _ = await run(executor, component, cfg, "searchCustomers")
        log = admin.get("/requests").json()["requests"]
    finally:
        app.reset()
    assert result.error is None, repr(result.error)
    assert len(emitted) == 100
    assert [entry["status"] for entry in log] == [200, 200]
    assert log[1]["query"]["startingAfter"] == str(emitted[-1].body["customerId"])


@on_module_loop
async def test_emit_page_sort_desc_and_max_pages(
    executor: Executor, component: Component, cfg: dict[str, Any], app: SandboxApp
) -> None:
    invoices = len(MODULE.world_of(app).invoices.list())
    assert 100 < invoices < 200
    result, emitted, _ = await run(
        executor, component, cfg, "searchInvoices", {"emitBehavior": "emitPage", "sort": "DESC"}
    )
    assert result.error is None, repr(result.error)
    assert [len(m.body["results"]) for m in emitted] == [100, invoices - 100]
    ids = [r["invoiceId"] for m in emitted for r in m.body["results"]]
    assert ids == sorted(ids, reverse=True)  # the DESC cursor pages on downwards
    result, emitted, _ = await run(
        executor, component, cfg, "searchInvoices", {"emitBehavior": "emitPage", "maxPages": 1}
    )
    assert result.error is None and [len(m.body["results"]) for m in emitted] == [100]


# ---------------------------------------------------------------------------- triggers


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _record_ids(messages: list[Message], id_field: str) -> list[str]:
    return [str(m.body[id_field]) for m in messages]


@on_module_loop
@pytest.mark.parametrize("trigger", sorted(TRIGGERS))
async def test_trigger_polls_twice_then_sees_only_changes(
    trigger: str, executor: Executor, component: Component, cfg: dict[str, Any], app: SandboxApp, admin: httpx.Client
) -> None:
    app.reset()
    table, id_field = TRIGGERS[trigger]
    world = MODULE.world_of(app)
    total = len(getattr(world, table).list())

    first, emitted, _ = await run(executor, component, cfg, trigger)
    assert first.error is None, repr(first.error)
    seen = _record_ids(emitted, id_field)
    assert len(seen) == len(set(seen)) == total
    # plenigo pages by id; order "any" emits by changedDate all the same.
    dates = [instant(m.body["changedDate"]) for m in emitted]
    assert dates == sorted(dates)
    snapshot = first.snapshot
    assert snapshot and snapshot["kind"] == "timestamp"
    assert snapshot["cursor"] == max(str(r["changedDate"]) for r in getattr(world, table).list())
    # Message ids derive from record id + changedDate: a repeated first poll names them alike.
    again, repeat, _ = await run(executor, component, cfg, trigger, dry_run=True)
    assert again.error is None and [m.id for m in repeat] == [m.id for m in emitted]

    admin.delete("/requests").raise_for_status()
    second, emitted, _ = await run(executor, component, cfg, trigger, snapshot=snapshot)
    assert second.error is None, repr(second.error)
    assert emitted == [] and second.snapshot == snapshot
    asked = admin.get("/requests").json()["requests"]
    assert [instant(e["query"].get("startTime")) for e in asked] == [instant(snapshot["cursor"])]
    assert asked[0]["query"].get("sort") == "ASC"

    changed = admin.post("/seed", json={"resource": trigger, "count": 3}).json()["ids"]
    third, emitted, _ = await run(executor, component, cfg, trigger, snapshot=second.snapshot)
    assert third.error is None, repr(third.error)
    assert sorted(_record_ids(emitted, id_field)) == sorted(map(str, changed))
    assert all(m.body["changedBy"] for m in emitted)

    fourth, emitted, _ = await run(executor, component, cfg, trigger, snapshot=third.snapshot)
    assert fourth.error is None and emitted == []


@on_module_loop
async def test_trigger_fetch_all_emits_one_message_per_poll(
    executor: Executor, component: Component, cfg: dict[str, Any], app: SandboxApp
) -> None:
    app.reset()
    events: list[Event] = []

    async def sink(event: Event) -> None:
        events.append(event)

    await executor.limiter.reset()
    result = await executor.run(component, "changedInvoices", {**cfg, "emitBehavior": "fetchAll"}, emit=sink)
    assert result.error is None, repr(result.error)
    kinds = [e.kind for e in events]
    assert kinds == ["data", "snapshot", "end"]  # one message, then one commit
    assert len(events[0].payload.body["results"]) == len(MODULE.world_of(app).invoices.list())


@on_module_loop
async def test_trigger_start_time_is_normalised(
    executor: Executor, component: Component, cfg: dict[str, Any], app: SandboxApp, admin: httpx.Client
) -> None:
    """A plain date as startTime is sent as RFC 3339 (plenigo refuses anything else with 99003)."""
    app.reset()
    newest = max(o["changedDate"] for o in MODULE.world_of(app).orders.list())
    day = newest[:10]
    admin.delete("/requests").raise_for_status()
    result, emitted, _ = await run(executor, component, {**cfg, "startTime": day}, "changedOrders")
    assert result.error is None, repr(result.error)
    assert emitted and all(m.body["changedDate"] >= day for m in emitted)
    assert admin.get("/requests").json()["requests"][0]["query"]["startTime"] == f"{day}T00:00:00Z"


# ---------------------------------------------------------------------------- errors, auth, limits


@on_module_loop
async def test_rate_limit_99429_is_absorbed(component: Component, cfg: dict[str, Any], app: SandboxApp) -> None:
    """The sandbox's limiter on, tightened to 1 per second: 99429s (no Retry-After) are retried."""
    limiter = app.limiters[0]
    saved = (limiter.requests, limiter.per_seconds)
    limiter.requests, limiter.per_seconds = 1, 1.0
    limiter.reset()
    limiter.enabled = True
    try:
        result, emitted, stats = await run(None, component, cfg, "searchInvoices")
    finally:
        limiter.requests, limiter.per_seconds = saved
        limiter.enabled = False
        limiter.reset()
    assert result.error is None, repr(result.error)
    assert len(emitted) == len(MODULE.world_of(app).invoices.list())
    assert stats[0].status_429 >= 1 and stats[0].retries >= stats[0].status_429


@on_module_loop
async def test_429_burst_is_absorbed(component: Component, cfg: dict[str, Any], admin: httpx.Client) -> None:
    admin.put("/faults", json={"burst_429": 2}).raise_for_status()
    try:
        result, emitted, stats = await run(None, component, cfg, "getCustomer", {"customerId": "100001"})
    finally:
        admin.put("/faults", json={}).raise_for_status()
    assert result.error is None, repr(result.error)
    assert emitted[0].body["customerId"] == "100001"
    assert stats[0].status_429 == 2
    faults = [e for e in admin.get("/requests").json()["requests"] if e.get("fault") == "429"]
    assert len(faults) >= 2


@on_module_loop
async def test_wrong_token_is_an_auth_error(executor: Executor, component: Component, cfg: dict[str, Any]) -> None:
    bad = {**cfg, "apiToken": "not-the-token-123"}
    result, emitted, _ = await run(executor, component, bad, "searchCustomers")
    assert isinstance(result.error, AuthError) and emitted == []
    assert "not-the-token-123" not in result.error.one_line()
    result, _, _ = await run(executor, component, bad, "changedCustomers")
    assert isinstance(result.error, AuthError)


@on_module_loop
async def test_verify_credentials(executor: Executor, component: Component, cfg: dict[str, Any]) -> None:
    assert await executor.verify(component, cfg) == {"verified": True}
    refused = await executor.verify(component, {**cfg, "apiToken": "not-the-token-123"})
    assert refused["verified"] is False
    assert "not-the-token-123" not in refused["reason"]


@on_module_loop
async def test_bad_body_is_an_input_error_naming_the_field(
    executor: Executor, component: Component, cfg: dict[str, Any], admin: httpx.Client
) -> None:
    admin.delete("/requests").raise_for_status()
    result, _, _ = await run(executor, component, cfg, "createCustomer", {"body": {"email": 42, "language": "de"}})
    assert isinstance(result.error, InputError)
    assert "email" in str(result.error)
    result, _, _ = await run(executor, component, cfg, "getCustomer", {})
    assert isinstance(result.error, InputError) and "customerId" in str(result.error)
    assert admin.get("/requests").json()["count"] == 0  # refused before any request


@on_module_loop
async def test_vendor_errors_become_api_errors(
    executor: Executor, component: Component, cfg: dict[str, Any], app: SandboxApp
) -> None:
    result, _, _ = await run(executor, component, cfg, "getCustomer", {"customerId": "987654321"})
    assert isinstance(result.error, ApiError)
    assert (result.error.status, result.error.code) == (404, 99404)
    # The in-schema does not check formats; plenigo does: 400, code 99400 (validationErrors: email).
    result, _, _ = await run(
        executor, component, cfg, "createCustomer", {"body": {"email": "not-an-email", "language": "de"}}
    )
    assert isinstance(result.error, ApiError)
    assert (result.error.status, result.error.code) == (400, 99400)
    assert len(MODULE.world_of(app).customers.list()) == CUSTOMERS


# ---------------------------------------------------------------------------- the generated folder


def test_regeneration_changes_nothing() -> None:
    files = render_component(SPEC_FILE, name="plenigo", overlay=OVERLAY)
    for rel, content in files.items():
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        assert (COMPONENT_DIR / rel).read_bytes() == data, f"{rel} differs from a fresh generation"
    on_disk = {f"schemas/{p.name}" for p in (COMPONENT_DIR / "schemas").glob("*.json")}
    assert on_disk == {rel for rel in files if rel.startswith("schemas/")}
