"""Behaviour of the Plenigo sandbox: cursor paging, size clamping, time windows, errors, auth,
rate limits, seeding and change dates (what the connector's polling triggers rely on)."""

from __future__ import annotations

import base64
import math
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from skiff.sandbox import SandboxApp, SandboxServer, import_sandbox_module, load_sandbox, serve

MODULE = import_sandbox_module("plenigo")
TOKEN = {"X-plenigo-token": "sandbox-token"}
CUSTOMERS = 40


@pytest.fixture(scope="module")
def app() -> SandboxApp:
    return load_sandbox("plenigo", customers=CUSTOMERS, rate_limits=False)


@pytest.fixture(scope="module")
def server(app: SandboxApp) -> Iterator[SandboxServer]:
    with serve(app) as running:
        yield running


@pytest.fixture
def client(app: SandboxApp, server: SandboxServer) -> Iterator[httpx.Client]:
    app.reset()
    with httpx.Client(base_url=server.base_url, headers=TOKEN, timeout=10) as http:
        yield http


@pytest.fixture
def admin(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url + "/_sandbox", timeout=10) as http:
        yield http


def page_through(client: httpx.Client, path: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Follow startingAfterId until it is absent or a page is short, as the docs describe."""
    items: list[dict[str, Any]] = []
    requests = 0
    cursor = None
    while True:
        query = dict(params, **({"startingAfter": cursor} if cursor else {}))
        response = client.get(path, params=query)
        requests += 1
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        cursor = body.get("startingAfterId")
        if not cursor or len(body["items"]) < int(params.get("size", 5)):
            return items, requests
        assert requests < 1000, "pagination does not end"


# ---------------------------------------------------------------------------- paging


@pytest.mark.parametrize("size", [5, 7, 40, 100])
def test_pagination_through_all_customers_with_starting_after(client: httpx.Client, app: SandboxApp, size: int) -> None:
    items, requests = page_through(client, "/customers", size=size)
    ids = [int(c["customerId"]) for c in items]
    assert ids == sorted(ids) and len(ids) == len(set(ids)) == CUSTOMERS
    assert {str(i) for i in ids} == {c["customerId"] for c in app.store.tables["customers"]}
    # A full last page costs one more (empty) request; a short one ends the loop.
    assert requests == math.ceil(CUSTOMERS / size) + (CUSTOMERS % size == 0)


def test_page_cursors_and_sort_directions(client: httpx.Client) -> None:
    first = client.get("/invoices", params={"size": 10}).json()
    second = client.get("/invoices", params={"size": 10, "startingAfter": first["startingAfterId"]}).json()
    assert first["startingAfterId"] == str(first["items"][-1]["invoiceId"])
    assert first["endingBeforeId"] == str(first["items"][0]["invoiceId"])
    assert second["items"][0]["invoiceId"] > first["items"][-1]["invoiceId"]
    back = client.get("/invoices", params={"size": 10, "endingBefore": second["endingBeforeId"]}).json()
    assert back["items"] == first["items"]
    descending = client.get("/invoices", params={"size": 10, "sort": "DESC"}).json()["items"]
    ids = [i["invoiceId"] for i in descending]
    assert ids == sorted(ids, reverse=True)
    lower = client.get("/invoices", params={"size": 10, "sort": "DESC", "startingAfter": ids[-1]}).json()["items"]
    assert all(i["invoiceId"] < ids[-1] for i in lower) and lower
    # A cursor that is no longer an existing id still positions the page (ids are ordered).
    gap = client.get("/invoices", params={"size": 5, "startingAfter": ids[0] - 1}).json()["items"]
    assert [i["invoiceId"] for i in gap] == [ids[0]]


@pytest.mark.parametrize("size", ["0", "4", "101", "-3", "1000"])
def test_size_outside_5_to_100_silently_becomes_5(client: httpx.Client, size: str) -> None:
    response = client.get("/customers", params={"size": size})
    assert response.status_code == 200
    assert len(response.json()["items"]) == 5


def test_size_bounds_and_default(client: httpx.Client) -> None:
    assert len(client.get("/customers").json()["items"]) == 5
    assert len(client.get("/customers", params={"size": 5}).json()["items"]) == 5
    assert len(client.get("/invoices", params={"size": 100}).json()["items"]) == 100
    bad = client.get("/customers", params={"size": "ten"})
    assert bad.status_code == 400
    assert bad.json() == {
        "errorCode": 99006,
        "errorMessage": "Size parameter must be an integer value.",
        "validationErrors": [{"field": "size", "error": "numeric", "value": "ten"}],
    }


# ---------------------------------------------------------------------------- time windows


def test_time_window_filters_on_change_date_inclusively(client: httpx.Client, app: SandboxApp) -> None:
    rows = list(app.store.tables["orders"])
    stamps = sorted(r["changedDate"] for r in rows)
    start, end = stamps[len(stamps) // 4], stamps[3 * len(stamps) // 4]
    expected = sorted(r["orderId"] for r in rows if start <= r["changedDate"] <= end)
    items, _ = page_through(client, "/orders", size=100, startTime=start, endTime=end)
    assert [o["orderId"] for o in items] == expected
    assert all(start <= o["changedDate"] <= end for o in items)
    # Both bounds are inclusive: a window of one instant finds the record changed then.
    exact = client.get("/orders", params={"startTime": start, "endTime": start, "size": 100}).json()["items"]
    assert start in {o["changedDate"] for o in exact}


def test_time_window_accepts_offsets_and_rejects_non_rfc3339(client: httpx.Client, app: SandboxApp) -> None:
    first = min(r["changedDate"] for r in app.store.tables["customers"])
    moment = datetime.fromisoformat(first.replace("Z", "+00:00")).astimezone(UTC)
    in_berlin = moment.astimezone(datetime.now().astimezone().tzinfo).isoformat()
    same = client.get("/customers", params={"startTime": in_berlin, "size": 100}).json()["items"]
    assert first in {c["changedDate"] for c in same}
    for bad in ("2024-01-01", "2024-01-01T00:00:00", "yesterday", "2024-13-01T00:00:00Z"):
        response = client.get("/customers", params={"startTime": bad})
        assert response.status_code == 400, bad
        assert response.json()["errorCode"] == 99003
        assert response.json()["validationErrors"][0]["field"] == "startTime"


def test_invoice_window_can_use_the_invoice_date(client: httpx.Client, app: SandboxApp) -> None:
    rows = list(app.store.tables["invoices"])
    start = sorted(r["invoiceDate"] for r in rows)[-20]
    items, _ = page_through(client, "/invoices", size=100, startTime=start, filterByInvoiceDate="true")
    assert sorted(i["invoiceId"] for i in items) == sorted(r["invoiceId"] for r in rows if r["invoiceDate"] >= start)


def test_changed_since_polling_sees_new_and_updated_records_once(
    client: httpx.Client, admin: httpx.Client, app: SandboxApp
) -> None:
    """What a polling trigger does: startTime = the last change date seen, ascending ids, paging."""
    for resource in ("customers", "orders", "invoices", "subscriptions"):
        id_field = {
            "customers": "customerId",
            "orders": "orderId",
            "invoices": "invoiceId",
            "subscriptions": "subscriptionId",
        }[resource]
        everything, _ = page_through(client, f"/{resource}", size=100)
        cursor = max(r["changedDate"] for r in everything)
        seeded = admin.post("/seed", json={"resource": resource, "count": 3}).json()
        changed = admin.post("/seed", json={"resource": "changed" + resource.title(), "count": 2}).json()
        assert seeded["count"] == 3 and changed["count"] == 2
        fresh, _ = page_through(client, f"/{resource}", size=5, startTime=cursor)
        fresh_ids = [r[id_field] for r in fresh]
        # Records changed at exactly the cursor are included (inclusive), the rest are the new ones.
        newer = [r for r in fresh if r["changedDate"] > cursor]
        assert {str(r[id_field]) for r in newer} == {str(i) for i in seeded["ids"] + changed["ids"]}
        assert [int(i) for i in fresh_ids] == sorted(int(i) for i in fresh_ids)
        assert all(r["changedDate"] >= cursor for r in fresh)
        next_cursor = max(r["changedDate"] for r in fresh)
        again, _ = page_through(client, f"/{resource}", size=5, startTime=next_cursor)
        assert all(r["changedDate"] == next_cursor for r in again)


def test_api_updates_bump_the_change_date(client: httpx.Client, admin: httpx.Client) -> None:
    customer = client.get("/customers", params={"size": 5}).json()["items"][0]
    admin.put("/clock", json={"advance": 3600})
    updated = client.put(f"/customers/{customer['customerId']}", json={"firstName": "Greta"}).json()
    assert updated["firstName"] == "Greta"
    assert updated["changedDate"] > customer["changedDate"]
    assert updated["changedByType"] == "API"
    found = client.get("/customers", params={"startTime": updated["changedDate"]}).json()["items"]
    assert [c["customerId"] for c in found] == [customer["customerId"]]
    assert client.get(f"/customers/{customer['customerId']}").json()["createdDate"] == customer["createdDate"]


def test_seeded_records_are_dated_now(client: httpx.Client, admin: httpx.Client) -> None:
    admin.put("/clock", json={"frozen": True})  # freeze first: {"now", "frozen"} together drifts by microseconds
    admin.put("/clock", json={"now": "2031-02-03T04:05:06Z"})
    try:
        ids = admin.post("/seed", json={"resource": "customers", "count": 2}).json()["ids"]
        for customer_id in ids:
            record = client.get(f"/customers/{customer_id}").json()
            assert record["createdDate"] == record["changedDate"] == "2031-02-03T04:05:06.000000Z"
        health = admin.get("/health").json()
        assert {
            "customers",
            "orders",
            "invoices",
            "subscriptions",
            "addresses",
            "accessRights",
            "changedCustomers",
        } <= set(health["seedable"])
    finally:
        admin.put("/clock", json={"frozen": False})


# ---------------------------------------------------------------------------- errors and auth


def test_not_found_and_unknown_paths(client: httpx.Client) -> None:
    not_found = {"errorCode": 99404, "errorMessage": "Entity for given id does not exist."}
    for path in (
        "/customers/999999",
        "/orders/1",
        "/invoices/42",
        "/subscriptions/7",
        "/addresses/abc",
        "/products/offers/1",
        "/no/such/endpoint",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json() == not_found
    assert client.get("/products/offers/not-a-number").status_code == 400


def test_bad_requests_name_the_field_and_change_nothing(client: httpx.Client, app: SandboxApp) -> None:
    counts = app.store.counts()
    missing = client.post("/customers", json={"language": "de"})
    assert missing.status_code == 400
    assert missing.json()["validationErrors"] == [{"field": "email", "error": "required", "value": ""}]
    wrong = client.post("/customers", json={"email": "not-an-email", "language": "german"})
    assert {(e["field"], e["error"]) for e in wrong.json()["validationErrors"]} == {
        ("email", "email"),
        ("language", "max"),
    }
    assert (
        client.post("/customers", content=b"{broken", headers={"Content-Type": "application/json"}).json()["errorCode"]
        == 99002
    )
    assert client.post("/customers").json() == {"errorCode": 99001, "errorMessage": "Request body is missing."}
    taken = client.get("/customers").json()["items"][0]["email"]
    duplicate = client.post("/customers", json={"email": taken, "language": "de"})
    assert duplicate.status_code == 400
    assert duplicate.json()["validationErrors"][0]["error"] == "unique"
    bad_sort = client.get("/orders", params={"sort": "UP"})
    assert bad_sort.status_code == 400 and bad_sort.json()["validationErrors"][0]["field"] == "sort"
    bad_cursor = client.get("/orders", params={"startingAfter": "abc"})
    assert bad_cursor.status_code == 400 and bad_cursor.json()["errorCode"] == 99007
    assert app.store.counts() == counts


def test_create_then_read_back_and_208_for_a_repeat(client: httpx.Client) -> None:
    body = {
        "email": "jonas.lorenz@example.org",
        "language": "de",
        "firstName": "Jonas",
        "lastName": "Lorenz",
        "addresses": [
            {
                "type": "INVOICE",
                "street": "Holstenstraße",
                "streetNumber": "3",
                "postcode": "24103",
                "city": "Kiel",
                "country": "DE",
            }
        ],
    }
    created = client.post("/customers", json=body)
    assert created.status_code == 201
    customer = created.json()
    assert client.get(f"/customers/{customer['customerId']}").json() == customer
    addresses = client.get(f"/customers/{customer['customerId']}/addresses").json()["items"]
    assert addresses[0]["city"] == "Kiel" and addresses[0]["preferred"] is True
    again = client.post("/customers", json={**body, "customerId": customer["customerId"]})
    assert again.status_code == 208 and again.json()["customerId"] == customer["customerId"]


def test_missing_token_is_401_but_admin_is_open(server: SandboxServer) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        for headers in ({}, {"X-plenigo-token": "sandbox-token-2"}, {"Authorization": "Bearer sandbox-token"}):
            response = http.get("/api/v3.0/customers", headers=headers)
            assert response.status_code == 401
            assert response.json() == {"errorCode": 99015, "errorMessage": "Api token provided is not authorized."}
        assert http.get("/api/v3.0/nothing/here").status_code == 401
        assert http.get("/_sandbox/health").status_code == 200


# ---------------------------------------------------------------------------- rate limits and faults


def test_rate_limit_answers_99429_and_recovers_after_reset() -> None:
    app = load_sandbox("plenigo", customers=5, rate_limit=(4, 60.0))
    with serve(app) as running, httpx.Client(base_url=running.base_url, headers=TOKEN, timeout=10) as http:
        statuses = [http.get("/customers").status_code for _ in range(6)]
        assert statuses == [200, 200, 200, 200, 429, 429]
        limited = http.get("/orders")
        assert limited.json() == {
            "errorCode": 99429,
            "errorMessage": "The rate limit for this endpoint is reached. Please try again later.",
        }
        assert "retry-after" not in limited.headers  # plenigo documents none
        httpx.post(running.url + "/_sandbox/reset")
        assert http.get("/customers").status_code == 200
    assert app.options["rate_limit"] == [4, 60.0]


def test_retry_after_option_and_gdpr_export_limit() -> None:
    app = load_sandbox("plenigo", customers=5, retry_after=True, rate_limit=(2, 30.0))
    with serve(app) as running, httpx.Client(base_url=running.base_url, headers=TOKEN, timeout=10) as http:
        http.get("/customers")
        http.get("/customers")
        assert int(http.get("/customers").headers["Retry-After"]) >= 1
    gdpr_app = load_sandbox("plenigo", customers=5)
    customer_id = next(iter(gdpr_app.store.tables["customers"]))["customerId"]
    with serve(gdpr_app) as running, httpx.Client(base_url=running.base_url, headers=TOKEN, timeout=10) as http:
        answers = [http.get(f"/customers/{customer_id}/gdprExport") for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]  # three times every five seconds
        assert len(answers[0].json()["promiseId"]) == 27


def test_faults_use_plenigo_error_bodies(client: httpx.Client, admin: httpx.Client) -> None:
    admin.put("/faults", json={"burst_429": 1, "error_rate": 1.0, "error_statuses": [502]})
    try:
        first, second = client.get("/customers"), client.get("/customers")
        assert (first.status_code, first.json()["errorCode"]) == (429, 99429)
        assert (second.status_code, second.json()) == (502, {"errorCode": 99502, "errorMessage": "Bad Gateway."})
    finally:
        admin.put("/faults", json={})


# ---------------------------------------------------------------------------- data


def test_same_seed_same_data_other_seed_other_data() -> None:
    def snapshot(seed: int) -> list[Any]:
        app = load_sandbox("plenigo", seed=seed, customers=15)
        return [list(app.store.tables[name]) for name in ("customers", "orders", "invoices", "subscriptions")]

    assert repr(snapshot(3)) == repr(snapshot(3))
    assert repr(snapshot(3)) != repr(snapshot(4))


def test_records_are_consistent(client: httpx.Client, app: SandboxApp) -> None:
    ids = MODULE.sample_ids(app)
    customer_id = ids["customerId"]
    orders = client.get(f"/customers/{customer_id}/orders", params={"size": 100}).json()["items"]
    invoices = client.get(f"/customers/{customer_id}/invoices", params={"size": 100}).json()["items"]
    subscriptions = client.get(f"/customers/{customer_id}/subscriptions", params={"size": 100}).json()["items"]
    assert orders and invoices and subscriptions
    for order in orders:
        assert order["invoiceCustomerId"] == customer_id
        assert order["accumulatedPrice"] == round(sum(i["price"] * i["quantity"] for i in order["items"]), 2)
        by_order = client.get("/invoices", params={"orderId": order["orderId"]}).json()["items"]
        assert by_order and by_order[0]["items"][0]["plenigoOfferId"] == order["items"][0]["plenigoOfferId"]
    access = client.get(f"/accessRights/{customer_id}").json()
    granted = {i["accessRightUniqueId"] for i in access["items"]}
    for sub in subscriptions:
        assert client.get(f"/products/offers/{sub['plenigoOfferId']}").status_code == 200
        if sub["deliveryCustomerId"] == customer_id:
            assert sub["items"][0]["accessRightUniqueId"] in granted
    check = client.get(f"/accessRights/{customer_id}/hasAccess", params={"accessRightUniqueIds": ",".join(granted)})
    assert check.status_code == 200 and {i["accessRightUniqueId"] for i in check.json()["items"]} == granted


def test_subscription_lifecycle(client: httpx.Client, app: SandboxApp) -> None:
    ids = MODULE.sample_ids(app)
    path = f"/subscriptions/{ids['subscriptionId']}"
    dates = client.get(f"{path}/cancel/dates").json()["items"]
    assert len(dates) == 3 and dates == sorted(dates)
    cancelled = client.put(f"{path}/cancel/regular").json()
    assert cancelled["endDate"][:10] == dates[0] and cancelled["cancellationDate"]
    restored = client.put(f"{path}/cancel/undo").json()
    assert "endDate" not in restored and restored["status"] == "ACTIVE"
    ended = client.put(f"{path}/cancel/now").json()
    assert ended["status"] == "INACTIVE"
    refused = client.put(f"{path}/cancel/now")
    assert refused.status_code == 400 and refused.json()["errorCode"] == 40002
    access = client.get(
        f"/accessRights/{ended['deliveryCustomerId']}/hasAccess",
        params={"accessRightUniqueIds": ended["items"][0]["accessRightUniqueId"]},
    ).json()
    item_ids = {str(i["subscriptionItemId"]) for i in ended["items"]}
    assert not any(i["accessGranted"] for i in access["items"] if i["itemId"] in item_ids)


def test_documents_are_real_pdf_and_xml(client: httpx.Client, app: SandboxApp) -> None:
    ids = MODULE.sample_ids(app)
    pdf = base64.b64decode(client.get(f"/invoices/{ids['invoiceId']}/file").json()["pdf"])
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    assert base64.b64decode(client.get(f"/orders/{ids['orderId']}/file").json()["pdf"]).startswith(b"%PDF")
    xml = ET.fromstring(client.get(f"/invoices/{ids['invoiceId']}/xml").json()["xml"])
    assert xml.tag.endswith("Invoice")


def test_invoice_cancellation_creates_a_cancellation_invoice(client: httpx.Client, app: SandboxApp) -> None:
    ids = MODULE.sample_ids(app)
    before = datetime.now(UTC) - timedelta(seconds=5)
    assert client.put(f"/invoices/{ids['invoiceId']}/cancel").json() == {"success": True}
    original = client.get(f"/invoices/{ids['invoiceId']}").json()
    cancellation = client.get(f"/invoices/{original['cancellationInvoiceId']}").json()
    assert cancellation["type"] == "CANCELLATION" and cancellation["precursorId"] == ids["invoiceId"]
    assert datetime.fromisoformat(cancellation["createdDate"].replace("Z", "+00:00")) >= before
    listed = client.get("/invoices", params={"invoiceType": "CANCELLATION", "size": 100}).json()["items"]
    assert cancellation["invoiceId"] in {i["invoiceId"] for i in listed}
