"""Behaviour of the Billbee sandbox: auth, errors, paging, throttling, polling, side effects."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from skiff.sandbox import SandboxApp, SandboxServer, load_sandbox, serve

KEY, USER, PASSWORD = "sandbox-api-key", "sandbox@example.com", "sandbox-password"
BASE = "2024-01-01T00:00:00Z"  # seeded history ends here


def make_client(server: SandboxServer, **kwargs: Any) -> httpx.Client:
    options: dict[str, Any] = {
        "base_url": server.base_url,
        "auth": (USER, PASSWORD),
        "headers": {"X-Billbee-Api-Key": KEY},
        "timeout": 10,
    }
    options.update(kwargs)
    return httpx.Client(**options)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[SandboxApp, SandboxServer]]:
    app = load_sandbox("billbee", rate_limits=False)
    with serve(app) as server:
        yield app, server


@pytest.fixture(scope="module")
def shared_client(sandbox: tuple[SandboxApp, SandboxServer]) -> Iterator[httpx.Client]:
    with make_client(sandbox[1]) as c:
        yield c


@pytest.fixture
def app(sandbox: tuple[SandboxApp, SandboxServer]) -> SandboxApp:
    return sandbox[0]


@pytest.fixture
def client(shared_client: httpx.Client, sandbox: tuple[SandboxApp, SandboxServer]) -> httpx.Client:
    shared_client.post(f"{sandbox[1].url}/_sandbox/reset").raise_for_status()  # admin lives outside /api/v1
    return shared_client


@pytest.fixture
def admin(sandbox: tuple[SandboxApp, SandboxServer]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox[1].url, timeout=10) as c:
        yield c


def orders(client: httpx.Client, **params: Any) -> dict[str, Any]:
    response = client.get("/orders", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# ---------------------------------------------------------------- auth


@pytest.mark.parametrize(
    ("headers", "auth", "fragment"),
    [
        ({}, (USER, PASSWORD), "X-Billbee-Api-Key"),
        ({"X-Billbee-Api-Key": "wrong"}, (USER, PASSWORD), "X-Billbee-Api-Key"),
        ({"X-Billbee-Api-Key": KEY}, None, "missing"),
        ({"X-Billbee-Api-Key": KEY}, (USER, "wrong"), "invalid"),
        ({"X-Billbee-Api-Key": KEY}, ("other@example.com", PASSWORD), "invalid"),
    ],
)
def test_auth_failures(
    sandbox: tuple[SandboxApp, SandboxServer], headers: dict[str, str], auth: Any, fragment: str
) -> None:
    with httpx.Client(base_url=sandbox[1].base_url, headers=headers, auth=auth) as c:
        response = c.get("/orders")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    body = response.json()
    assert body["ErrorCode"] == 1 and body["Data"] is None and fragment in body["ErrorMessage"]
    assert "wrong" not in response.text


def test_request_log_masks_credentials(client: httpx.Client, admin: httpx.Client) -> None:
    admin.get("/_sandbox/requests", params={"clear": 1})
    client.get("/orders", params={"pageSize": 1})
    log = admin.get("/_sandbox/requests").json()["requests"]
    assert log[-1]["headers"]["x-billbee-api-key"] == "***"
    assert log[-1]["headers"]["authorization"] == "Basic ***"
    assert KEY not in json.dumps(log) and base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode() not in json.dumps(
        log
    )


# ---------------------------------------------------------------- errors and paging


def test_unknown_ids(client: httpx.Client) -> None:
    response = client.get("/orders/1")
    assert response.status_code == 404
    assert response.json() == {
        "ErrorMessage": "Order 1 not found.",
        "ErrorCode": 2,
        "ErrorDescription": "OrderNotFound",
        "Data": None,
    }
    assert client.put("/orders/1/orderstate", json={"NewStateId": 3}).json()["ErrorCode"] == 2
    assert client.get("/customers/1").json()["ErrorCode"] == 11
    invalid_id = client.get("/orders/abc")
    assert invalid_id.status_code == 400 and invalid_id.json()["Message"] == "The request is invalid."
    unknown = client.get("/no/such/route")
    assert unknown.status_code == 404 and "No HTTP resource" in unknown.json()["Message"]


def test_paging_bounds(client: httpx.Client) -> None:
    first = orders(client)
    assert first["Paging"] == {"Page": 1, "TotalPages": 5, "TotalRows": 250, "PageSize": 50}
    assert len(first["Data"]) == 50
    assert len(orders(client, pageSize=250)["Data"]) == 250
    past = orders(client, page=9, pageSize=100)
    assert past["Data"] == [] and past["Paging"]["TotalPages"] == 3 and past["Paging"]["Page"] == 9
    for params in ({"pageSize": 0}, {"pageSize": 251}, {"page": 0}, {"pageSize": "x"}):
        response = client.get("/orders", params=params)
        assert response.status_code == 400, params
        assert response.json()["ErrorCode"] == 11 and "Paging" not in response.json()
    unpaged = client.get("/layouts").json()
    assert "Paging" not in unpaged and unpaged["ErrorCode"] == 0


def test_paths_and_query_names_are_case_insensitive(client: httpx.Client) -> None:
    assert client.get("/ORDERS/patchablefields").json()["ErrorCode"] == 0
    assert client.get(client.base_url.join("/API/V1/Orders"), params={"PAGESIZE": 3}).json()["Paging"]["PageSize"] == 3


def test_orders_ascending_and_filters(client: httpx.Client, app: SandboxApp) -> None:
    ids = [o["BillBeeOrderId"] for o in orders(client, pageSize=250)["Data"]]
    assert ids == sorted(ids) and len(set(ids)) == 250
    for params in (
        [("orderStateId", "4"), ("orderStateId", "7")],
        [("orderStateId[]", "4"), ("orderStateId[]", "7")],
        [("orderStateId[0]", "4"), ("orderStateId[1]", "7")],
    ):
        data = client.get("/orders", params=[*params, ("pageSize", "250")]).json()["Data"]
        assert data and {o["State"] for o in data} == {4, 7}
    tagged = orders(client, tag="Express", pageSize=250)["Data"]
    assert tagged and all("Express" in o["Tags"] for o in tagged)
    both = orders(client, tag=["Express", "Geschenk"], pageSize=250)["Data"]
    assert all({"Express", "Geschenk"} <= set(o["Tags"]) for o in both) and len(both) < len(tagged)
    excluded = orders(client, tag="Express", excludeTags="true", pageSize=250)["Data"]
    assert len(excluded) + len(tagged) == 250
    shop = app.store.table("orders").list()[0]["Seller"]["BillbeeShopId"]
    assert all(o["Seller"]["BillbeeShopId"] == shop for o in orders(client, shopId=shop, pageSize=250)["Data"])
    middle = ids[100]
    assert orders(client, minimumBillBeeOrderId=middle)["Paging"]["TotalRows"] == 150
    created = [o["CreatedAt"] for o in orders(client, pageSize=250)["Data"]]
    window = orders(client, minOrderDate=created[10], maxOrderDate=created[19])["Data"]
    assert [o["CreatedAt"] for o in window] == created[10:20]
    assert client.get("/orders", params={"minOrderDate": "yesterday"}).status_code == 400


def test_deterministic_seed() -> None:
    def page(seed: int) -> list[Any]:
        app = load_sandbox("billbee", seed=seed, rate_limits=False)
        return [o for o in app.store.table("orders").list()[:20]]

    assert json.dumps(page(1)) == json.dumps(page(1))
    assert json.dumps(page(1)) != json.dumps(page(2))


# ---------------------------------------------------------------- throttling


@pytest.fixture
def limited() -> Iterator[tuple[SandboxApp, httpx.Client, list[float]]]:
    """A rate-limited sandbox whose limiters read a fake clock (no dependence on real timing)."""
    app = load_sandbox("billbee", rate_limits=True, orders=20)
    now = [1000.0]
    for window in app.limiters:
        window.now = lambda: now[0]
    with serve(app) as server, make_client(server) as c:
        yield app, c, now


def test_endpoint_limit_answers_429_with_retry_after(
    limited: tuple[SandboxApp, httpx.Client, list[float]],
) -> None:
    _, c, now = limited
    assert [c.get("/orders").status_code for _ in range(2)] == [200, 200]
    throttled = c.get("/orders")
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "1"
    assert throttled.json() == "API calls quota exceeded! maximum admitted 2 per Second."
    assert c.get("/layouts").status_code == 200  # another endpoint has its own 2/s
    now[0] += 1.0
    assert c.get("/orders").status_code == 200


def test_user_limit_spans_endpoints(limited: tuple[SandboxApp, httpx.Client, list[float]]) -> None:
    _, c, now = limited
    paths = ["/orders", "/layouts", "/cloudstorages", "/products", "/customers"]
    statuses = [c.get(p).status_code for p in paths for _ in range(2)]
    assert statuses == [200] * 10
    eleventh = c.get("/shopaccounts")
    assert eleventh.status_code == 429 and "10 per Second" in eleventh.json()
    now[0] += 1.5
    assert c.get("/shopaccounts").status_code == 200


def test_documented_extra_limits(limited: tuple[SandboxApp, httpx.Client, list[float]]) -> None:
    app, c, now = limited
    order_id = app.store.table("orders").list(lambda o: o["State"] not in (6, 8))[0]["BillBeeOrderId"]
    for _ in range(6):
        assert c.get(f"/orders/{order_id}").status_code == 200
        now[0] += 1.0
    seventh = c.get(f"/orders/{order_id}")
    assert seventh.status_code == 429 and 1 <= int(seventh.headers["Retry-After"]) <= 60
    assert c.post(f"/orders/CreateInvoice/{order_id}").status_code == 200
    now[0] += 1.0
    again = c.post(f"/orders/CreateInvoice/{order_id}")
    assert again.status_code == 429 and int(again.headers["Retry-After"]) > 250
    for _ in range(2):
        assert c.get("/events").status_code == 200
        now[0] += 1.0
    events = c.get("/events")
    assert events.status_code == 429 and int(events.headers["Retry-After"]) > 3000
    assert c.get("/events", params={"page": 2}).status_code == 200  # per page


def test_rate_limits_off_and_fault_bursts(client: httpx.Client, admin: httpx.Client) -> None:
    assert all(client.get("/orders/PatchableFields").status_code == 200 for _ in range(15))
    admin.put("/_sandbox/faults", json={"burst_429": 1, "retry_after": 2})
    burst = client.get("/layouts")
    assert burst.status_code == 429 and burst.headers["Retry-After"] == "2"
    assert "quota exceeded" in burst.json()
    assert client.get("/layouts").status_code == 200


# ---------------------------------------------------------------- changes and polling


def snapshot(app: SandboxApp) -> str:
    return json.dumps({name: table.list() for name, table in app.store.tables.items()}, sort_keys=True)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/orders/{id}/orderstate", {"NewStateId": 99}),
        ("PUT", "/orders/{id}/orderstate", {}),
        ("PATCH", "/orders/{id}", {"SellerComment": "ok", "BillBeeOrderId": 5}),
        ("PATCH", "/orders/{id}", {"ShippingCost": "free"}),
        ("POST", "/orders/{id}/tags", {"Tags": "not-a-list"}),
        ("POST", "/orders/{id}/shipment", {"ShippingProviderId": 1}),
        ("POST", "/orders", {"OrderNumber": "no-created-at"}),
        ("POST", "/orders", {"CreatedAt": "2024-05-01", "ApiAccountId": 42}),
        ("POST", "/products", {"SKU": "BB-1000"}),
        ("POST", "/products/updatestock", {"Sku": "BB-1000"}),
        ("POST", "/customers/{customer}/addresses", {"Id": 5, "City": "x"}),
        ("POST", "/webhooks", {"WebHookUri": "https://x.test", "Secret": "short"}),
        ("POST", "/webhooks", {"WebHookUri": "https://x.test", "Secret": "s" * 40, "Filters": ["nope"]}),
        ("POST", "/search", {"Term": ""}),
    ],
)
def test_bad_requests_change_nothing(client: httpx.Client, app: SandboxApp, method: str, path: str, body: Any) -> None:
    order = app.store.table("orders").list()[0]
    customer = app.store.table("customers").list()[0]
    before = snapshot(app)
    url = path.replace("{id}", str(order["BillBeeOrderId"])).replace("{customer}", str(customer["Id"]))
    response = client.request(method, url, json=body)
    assert response.status_code == 400, response.text
    payload = response.json()
    assert payload.get("ErrorCode") in (9, 10, 11) or "Message" in payload
    assert snapshot(app) == before


def test_invalid_json_body(client: httpx.Client, app: SandboxApp) -> None:
    order_id = app.store.table("orders").list()[0]["BillBeeOrderId"]
    response = client.put(
        f"/orders/{order_id}/orderstate", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400 and response.json()["ErrorCode"] == 11


def test_seeded_orders_are_seen_by_polling(client: httpx.Client, admin: httpx.Client) -> None:
    admin.put("/_sandbox/clock", json={"now": "2030-01-01T00:00:00Z", "frozen": True})
    assert orders(client, modifiedAtMin=BASE)["Data"] == []
    seeded = admin.post("/_sandbox/seed", json={"resource": "orders", "count": 3}).json()
    fresh = orders(client, modifiedAtMin=BASE)["Data"]
    assert [o["BillBeeOrderId"] for o in fresh] == seeded["ids"] == sorted(seeded["ids"])
    assert {o["LastModifiedAt"] for o in fresh} == {"2030-01-01T00:00:00+00:00"}
    # modifiedAtMin is inclusive: asking with the last seen timestamp returns the boundary records.
    assert len(orders(client, modifiedAtMin="2030-01-01T00:00:00Z")["Data"]) == 3
    old = orders(client, pageSize=1)["Data"][0]
    admin.put("/_sandbox/clock", json={"advance": 60})
    assert client.put(f"/orders/{old['BillBeeOrderId']}/orderstate", json={"NewStateId": 8}).status_code == 200
    admin.put("/_sandbox/clock", json={"advance": 60})
    client.post(f"/orders/{seeded['ids'][0]}/tags", json={"Tags": ["Neu"]})
    changed = orders(client, modifiedAtMin="2030-01-01T00:00:30Z")["Data"]
    assert [o["BillBeeOrderId"] for o in changed] == [old["BillBeeOrderId"], seeded["ids"][0]]
    assert changed[0]["LastModifiedAt"] == "2030-01-01T00:01:00+00:00" and changed[0]["State"] == 8
    assert changed[1]["LastModifiedAt"] == "2030-01-01T00:02:00+00:00" and changed[1]["Tags"] == ["Neu"]
    state_events = client.get("/events", params={"minDate": "2030-01-01", "typeId": 15}).json()["Data"]
    assert [e["OrderId"] for e in state_events] == [old["BillBeeOrderId"]]


def test_other_seedable_resources(client: httpx.Client, admin: httpx.Client) -> None:
    admin.put("/_sandbox/clock", json={"now": "2030-01-01T00:00:00Z", "frozen": True})
    checks: list[tuple[str, str, dict[str, Any]]] = [
        ("products", "/products", {"minCreatedAt": "2029-12-31"}),
        ("shipments", "/shipment/shipments", {"createdAtMin": "2029-12-31"}),
        ("events", "/events", {"minDate": "2029-12-31", "typeId": [0, 13, 15, 55]}),
    ]
    for resource, path, params in checks:
        before = client.get(path, params=params).json()["Paging"]["TotalRows"]
        ids = admin.post("/_sandbox/seed", json={"resource": resource, "count": 2}).json()["ids"]
        after = client.get(path, params=params).json()
        assert after["Paging"]["TotalRows"] == before + 2, resource
        assert [r.get("Id", r.get("BillbeeId")) for r in after["Data"][-2:]] == ids
    customers = admin.post("/_sandbox/seed", json={"resource": "customers", "count": 1}).json()["ids"]
    assert client.get(f"/customers/{customers[0]}").json()["Data"]["Id"] == customers[0]


def test_tags_semantics(client: httpx.Client, app: SandboxApp) -> None:
    order_id = app.store.table("orders").list()[0]["BillBeeOrderId"]
    client.put(f"/orders/{order_id}/tags", json={"Tags": ["A", "b"]})
    client.post(f"/orders/{order_id}/tags", json={"Tags": ["a", "B", "c"]})
    assert client.get(f"/orders/{order_id}").json()["Data"]["Tags"] == ["A", "b", "c"]


def test_invoice_document_and_download(client: httpx.Client, app: SandboxApp) -> None:
    order = app.store.table("orders").list(lambda o: o["InvoiceNumber"] is None and o["State"] not in (6, 8))[0]
    before = order["LastModifiedAt"]
    app.clock.advance(5)
    result = client.post(f"/orders/CreateInvoice/{order['BillBeeOrderId']}", params={"includeInvoicePdf": "true"})
    data = result.json()["Data"]
    assert data["InvoiceNumber"].startswith("RE-") and base64.b64decode(data["PDFData"]).startswith(b"%PDF")
    assert order["LastModifiedAt"] > before
    pdf = httpx.get(data["PdfDownloadUrl"])
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    invoices = client.get("/orders/invoices", params={"minInvoiceDate": BASE}).json()["Data"]
    assert [i["InvoiceNumber"] for i in invoices] == [data["InvoiceNumber"]]
    deleted = app.store.table("orders").list(lambda o: o["State"] == 6)
    if deleted:
        refused = client.post(f"/orders/CreateInvoice/{deleted[0]['BillBeeOrderId']}")
        assert refused.status_code == 400 and refused.json()["ErrorCode"] == 6


def test_stock_updates(client: httpx.Client, app: SandboxApp) -> None:
    product = app.store.table("products").list()[0]
    result = client.post("/products/updatestock", json={"Sku": product["SKU"], "NewQuantity": 42}).json()["Data"]
    assert result["CurrentStock"] == 42 and result["Message"].endswith("to 42")
    assert client.get(f"/products/{product['SKU']}", params={"lookupBy": "sku"}).json()["Data"]["StockCurrent"] == 42
    multiple = client.post(
        "/products/updatestockmultiple",
        json=[{"Sku": product["SKU"], "DeltaQuantity": -2}, {"Sku": "nope", "NewQuantity": 1}],
    ).json()
    assert multiple[0]["ErrorCode"] == 0 and multiple[0]["Data"]["CurrentStock"] == 40
    assert multiple[1]["ErrorCode"] == 11 and multiple[1]["Data"] is None


def test_webhook_lifecycle(client: httpx.Client) -> None:
    hook = {"WebHookUri": "https://hooks.example.com/x", "Secret": "k" * 32, "Filters": ["Order.Created"]}
    created = client.post("/webhooks", json=hook).json()
    assert created["Filters"] == ["order.created"] and created["IsPaused"] is False and len(created["Id"]) == 32
    assert client.get(f"/webhooks/{created['Id']}").json() == created
    updated = client.put(f"/webhooks/{created['Id']}", json={**hook, "IsPaused": True}).json()
    assert updated["IsPaused"] is True
    assert client.post("/webhooks", json={**hook, "Id": created["Id"]}).status_code == 409
    assert client.delete(f"/webhooks/{created['Id']}").status_code == 200
    missing = client.get(f"/webhooks/{created['Id']}")
    assert missing.status_code == 404 and missing.content == b""
    client.delete("/webhooks")
    assert client.get("/webhooks").json() == []


def test_sync_of_5000_orders_is_fast() -> None:
    app = load_sandbox("billbee", rate_limits=False, orders=5000, customers=200, products=100)
    with serve(app) as server, make_client(server) as c:
        started = time.perf_counter()
        seen: list[int] = []
        page = 1
        while True:
            body = c.get("/orders", params={"page": page, "pageSize": 250}).json()
            seen += [o["BillBeeOrderId"] for o in body["Data"]]
            if page >= body["Paging"]["TotalPages"]:
                break
            page += 1
        elapsed = time.perf_counter() - started
    assert len(seen) == 5000 and seen == sorted(set(seen))
    assert elapsed < 30, f"5,000 orders took {elapsed:.1f} s"  # generous: typically well under 2 s
