"""The Billwerk sandbox over HTTP: OAuth, paging, shapes (from specs/fixtures/billwerk), rules and errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from skiff.sandbox import SandboxApp, SandboxServer, load_sandbox, serve

CLIENT = ("sandbox-client", "sandbox-secret")

# Top-level keys of the fixtures in specs/fixtures/billwerk/*.json (copied here: the tests must not
# depend on files outside the repository). The sandbox may add keys, never drop these.
FIXTURE_KEYS: dict[str, set[str]] = {
    "bearer_token": {"access_token", "expires", "token_type"},
    "customer": {
        "Address",
        "CompanyName",
        "CreatedAt",
        "CustomerName",
        "CustomerType",
        "DefaultBearerMedium",
        "EmailAddress",
        "ExternalCustomerId",
        "FirstName",
        "Id",
        "Language",
        "LastName",
        "Locale",
        "VatId",
    },
    "contract": {
        "Balance",
        "BilledUntil",
        "Currency",
        "CurrentPhase",
        "CustomerId",
        "CustomerName",
        "EscalationSuspended",
        "Id",
        "LastBillingDate",
        "LifecycleStatus",
        "NextBillingDate",
        "PaymentBearer",
        "PaymentProvider",
        "Phases",
        "PlanGroupId",
        "PlanId",
        "PlanVariantId",
        "RecurringPaymentsPaused",
        "StartDate",
    },  # + EndDate once an end is set
    "order": {
        "Id",
        "PlanVariantId",
        "AllowWithoutPaymentData",
        "ComponentSubscriptions",
        "DiscountSubscriptions",
        "Currency",
        "Total",
        "TotalVat",
        "TotalGross",
        "IsTrial",
        "Status",
        "CustomerId",
        "ContractId",
    },
    "create_order_response": {
        "Id",
        "AllowWithoutPaymentData",
        "ComponentSubscriptions",
        "Total",
        "TotalVat",
        "IsTrial",
        "CustomerId",
        "ContractId",
    },
    "invoice": {
        "Id",
        "InvoiceNumber",
        "CustomerId",
        "SentAt",
        "DueDate",
        "RecipientName",
        "RecipientSubName",
        "RecipientAddress",
        "Currency",
        "TotalNet",
        "TotalVat",
        "TotalGross",
        "IsInvoice",
    },
    "contract_cancellation_preview_response": {
        "ContractAfter",
        "EndDate",
        "Invoice",
        "NextPossibleCancellationDate",
    },
    "contract_termination_response": {"ContractAfter", "EndDate", "Invoice"},
    "termination_invoice": {
        "ContractId",
        "CustomerId",
        "ItemList",
        "RecipientAddress",
        "RecipientName",
        "RecipientSubName",
        "ReverseCharge",
        "TotalGross",
        "TotalNet",
        "TotalVat",
        "VatDescriptors",
    },
    "contract_metered_usage_response": {
        "Id",
        "ContractId",
        "TransferredAt",
        "ComponentId",
        "Quantity",
        "Key",
        "DueDate",
    },
    "self_service_token": {"Expiry", "Token", "Purpose", "Url"},
    "rated_items": {
        "id",
        "line_item_id",
        "description",
        "quantity",
        "price_per_unit",
        "tax_policy_id",
        "period_start",
        "period_end",
    },
    "contract_changes": {
        "id",
        "type",
        "timestamp",
        "orderId",
        "contractId",
        "changeDate",
        "newPlanVariantId",
        "newPlanId",
    },
    "payment_transaction": {
        "Amount",
        "ContractId",
        "Currency",
        "CustomerId",
        "CustomerName",
        "Id",
        "PaymentProvider",
        "PaymentProviderRole",
        "Preauth",
        "ProviderTransactionId",
        "Status",
        "StatusHistory",
        "StatusTimestamp",
        "Trigger",
    },
}


@pytest.fixture(scope="module")
def app() -> SandboxApp:
    return load_sandbox("billwerk", seed=3, token_ttl=600)


@pytest.fixture(scope="module")
def server(app: SandboxApp) -> Iterator[SandboxServer]:
    with serve(app) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh(app: SandboxApp) -> None:
    app.reset()


def get_token(server: SandboxServer, auth: tuple[str, str] | None = CLIENT, **form: str) -> httpx.Response:
    data = {"grant_type": "client_credentials", **form}
    return httpx.post(server.url + "/oauth/token", data=data, auth=auth)


@pytest.fixture()
def api(server: SandboxServer) -> Iterator[httpx.Client]:
    token = get_token(server).json()["access_token"]
    with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, list)  # lists are bare arrays
    return [r["Id"] for r in body]


def a_variant(api: httpx.Client, *, trial: bool = False) -> dict[str, Any]:
    return next(v for v in api.get("/PlanVariants").json() if bool(v.get("TrialPeriod")) == trial)


def new_contract(api: httpx.Client) -> dict[str, Any]:
    customer = api.post("/Customers", json={"FirstName": "Test", "LastName": "Kunde"}).json()
    order = api.post("/Orders", json={"CustomerId": customer["Id"], "Cart": {"PlanVariantId": a_variant(api)["Id"]}})
    contract: dict[str, Any] = api.post(f"/Orders/{order.json()['Id']}/Commit", json={}).json()
    return contract


# ------------------------------------------------------------------ OAuth


def test_token_shape_and_use(server: SandboxServer) -> None:
    response = get_token(server)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == FIXTURE_KEYS["bearer_token"]
    assert body["token_type"] == "bearer" and body["expires"] == 0
    listed = httpx.get(server.base_url + "/Customers", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert listed.status_code == 200


def test_token_with_form_credentials(server: SandboxServer) -> None:
    response = get_token(server, None, client_id=CLIENT[0], client_secret=CLIENT[1])
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("auth", "form", "status", "error"),
    [
        (("sandbox-client", "wrong"), {}, 401, "invalid_client"),
        (("someone", "sandbox-secret"), {}, 401, "invalid_client"),
        (CLIENT, {"grant_type": "password"}, 400, "unsupported_grant_type"),
    ],
)
def test_token_errors(
    server: SandboxServer, auth: tuple[str, str], form: dict[str, str], status: int, error: str
) -> None:
    response = get_token(server, auth, **form)
    assert response.status_code == status
    assert response.json() == {"error": error}


def test_bearer_required(server: SandboxServer) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic c2FuZGJveA=="}):
        response = httpx.get(server.base_url + "/Customers", headers=headers)
        assert response.status_code == 401
        assert response.json() == {"Message": "Authorization has been denied for this request."}


def test_token_expires_after_ttl(server: SandboxServer, app: SandboxApp, api: httpx.Client) -> None:
    assert api.get("/Customers", params={"take": 1}).status_code == 200
    app.clock.advance(601)  # token_ttl=600 seconds of sandbox time
    assert api.get("/Customers", params={"take": 1}).status_code == 401
    fresh_token = get_token(server).json()["access_token"]
    again = api.get("/Customers", params={"take": 1}, headers={"Authorization": f"Bearer {fresh_token}"})
    assert again.status_code == 200


# ------------------------------------------------------------------ paths and paging


def test_paths_are_case_insensitive(server: SandboxServer, api: httpx.Client) -> None:
    first = ids(api.get("/customers", params={"take": 3}))
    assert ids(api.get("/CUSTOMERS/", params={"take": 3})) == first
    assert ids(httpx.get(server.url + "/API/V1/Customers", params={"take": 3}, headers=api.headers)) == first
    assert api.get(f"/Customers/{first[0].upper()}").json()["Id"] == first[0]
    contract = api.get("/contracts", params={"take": 1}).json()[0]
    assert api.get(f"/CONTRACTS/{contract['Id']}/usage").status_code == 200


def test_skip_take_and_from(app: SandboxApp, api: httpx.Client) -> None:
    app.seed_resource("customers", 1600 - len(app.store.table("customers")))
    everything = ids(api.get("/Customers", params={"take": 500}))
    assert len(everything) == 500 and everything == sorted(everything)
    assert len(ids(api.get("/Customers"))) == 100  # default take
    assert len(ids(api.get("/Customers", params={"take": 5000}))) == 500  # take capped at 500
    page = ids(api.get("/Customers", params={"skip": 10, "take": 5}))
    assert page == everything[10:15]
    # skip is capped at 1000
    assert ids(api.get("/Customers", params={"skip": 1500, "take": 3})) == ids(
        api.get("/Customers", params={"skip": 1000, "take": 3})
    )
    # from=<Id> is inclusive and stable: walk everything with it
    walked: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"take": 500}
        if cursor:
            params["from"] = cursor
        chunk = ids(api.get("/Customers", params=params))
        if cursor:
            assert chunk[0] == cursor
            chunk = chunk[1:]
        walked += chunk
        if not chunk:
            break
        cursor = chunk[-1]
    assert len(walked) == 1600 and len(set(walked)) == 1600 and walked == sorted(walked)


@pytest.mark.parametrize("params", [{"take": "x"}, {"skip": "-1"}, {"from": "not-an-id"}, {"take": "-5"}])
def test_bad_paging_params(api: httpx.Client, params: dict[str, str]) -> None:
    response = api.get("/Customers", params=params)
    assert response.status_code == 400
    assert "Message" in response.json()


def test_date_windows(api: httpx.Client) -> None:
    invoices = api.get("/Invoices", params={"take": 500}).json()
    dates = sorted(i["DocumentDate"] for i in invoices)
    low, high = dates[len(dates) // 4], dates[3 * len(dates) // 4]
    window = api.get("/Invoices", params={"take": 500, "dateFrom": low, "dateTo": high}).json()
    assert window and all(low <= i["DocumentDate"] <= high for i in window)
    assert len(window) == sum(1 for d in dates if low <= d <= high)
    orders = api.get("/Orders", params={"take": 500, "dateFrom": high}).json()
    assert all(o["CreatedAt"] >= high for o in orders)
    assert api.get("/Orders", params={"dateFrom": "yesterday"}).status_code == 400


def test_unknown_route_and_method(api: httpx.Client) -> None:
    missing = api.get("/Nope")
    assert missing.status_code == 404 and "No HTTP resource" in missing.json()["Message"]
    wrong = api.delete("/Customers")
    assert wrong.status_code == 405
    assert wrong.json() == {"Message": "The requested resource does not support http method 'DELETE'."}
    assert api.get("/Customers/0123456789abcdef01234567").status_code == 404


# ------------------------------------------------------------------ customers


def test_customer_crud_and_shape(api: httpx.Client, app: SandboxApp) -> None:
    seeded = api.get("/Customers", params={"take": 1}).json()[0]
    assert FIXTURE_KEYS["customer"] <= set(seeded)
    created = api.post(
        "/Customers",
        json={
            "CompanyName": "Example Company",
            "EmailAddress": "jane@example.com",
            "Address": {"City": "Example City", "Country": "DE"},
        },
    )
    assert created.status_code == 201
    customer = created.json()
    assert FIXTURE_KEYS["customer"] <= set(customer)
    assert len(customer["Id"]) == 24 and customer["CreatedAt"].endswith("Z")
    assert customer["CustomerName"] == "Example Company"
    cid = customer["Id"]
    patched = api.patch(f"/Customers/{cid}", json={"FirstName": "Jane"}).json()
    assert patched["FirstName"] == "Jane" and patched["EmailAddress"] == "jane@example.com"
    replaced = api.put(f"/Customers/{cid}", json={"LastName": "Doe"}).json()
    assert (
        replaced["LastName"] == "Doe"
        and replaced["EmailAddress"] == ""
        and replaced["CreatedAt"] == customer["CreatedAt"]
    )
    assert api.delete(f"/Customers/{cid}").status_code == 204
    assert api.get(f"/Customers/{cid}").status_code == 404
    with_contract = api.get("/Contracts", params={"take": 1}).json()[0]["CustomerId"]
    refused = api.delete(f"/Customers/{with_contract}")
    assert refused.status_code == 400 and "contracts" in refused.json()["Message"]


def test_customer_errors_change_nothing(api: httpx.Client, app: SandboxApp) -> None:
    before = len(app.store.table("customers"))
    bad_json = api.post("/Customers", content=b'{"FirstName": ', headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400 and bad_json.json()["Message"].startswith("The request body is not valid JSON")
    invalid = api.post("/Customers", json={"EmailAddress": "nope", "Address": "Main St"})
    assert invalid.status_code == 422
    body = invalid.json()
    assert body["Message"] == "The request is invalid."
    assert {"EmailAddress", "Address", "CompanyName"} <= set(body["ModelState"])
    assert api.post("/Customers", json=["not", "an", "object"]).status_code == 422
    cid = api.get("/Customers", params={"take": 1}).json()[0]["Id"]
    original = api.get(f"/Customers/{cid}").json()
    assert api.patch(f"/Customers/{cid}", json={"EmailAddress": "broken", "FirstName": "X"}).status_code == 422
    assert api.get(f"/Customers/{cid}").json() == original
    assert len(app.store.table("customers")) == before


def test_customer_search(api: httpx.Client) -> None:
    customer = api.post("/Customers", json={"CompanyName": "Zebra Unique", "ExternalCustomerId": "zz-1"}).json()
    assert ids(api.get("/Customers", params={"search": "zebra uni"})) == [customer["Id"]]
    assert ids(api.get("/Customers", params={"externalId": "zz-1"})) == [customer["Id"]]


# ------------------------------------------------------------------ orders and contracts


def test_order_lifecycle(api: httpx.Client, app: SandboxApp) -> None:
    customer = api.get("/Customers", params={"take": 1}).json()[0]
    variant = a_variant(api)
    created = api.post("/Orders", json={"CustomerId": customer["Id"], "Cart": {"PlanVariantId": variant["Id"]}})
    assert created.status_code == 201
    order = created.json()
    assert FIXTURE_KEYS["create_order_response"] <= set(order) and FIXTURE_KEYS["order"] <= set(order)
    assert order["Status"] == "InProgress" and order["Total"] == variant["RecurringFee"]
    assert api.get(f"/Contracts/{order['ContractId']}").status_code == 404  # not before the commit
    committed = api.post(f"/Orders/{order['Id']}/Commit", json={})
    assert committed.status_code == 200
    contract = committed.json()
    assert FIXTURE_KEYS["contract"] <= set(contract)
    assert contract["Id"] == order["ContractId"] and contract["LifecycleStatus"] == "Active"
    assert contract["PlanVariantId"] == variant["Id"] and contract["CustomerId"] == customer["Id"]
    assert api.get(f"/Orders/{order['Id']}").json()["Status"] == "Completed"
    again = api.post(f"/Orders/{order['Id']}/commit")
    assert again.status_code == 400
    changes = api.get(f"/Contracts/{contract['Id']}/Changes").json()
    assert [c["type"] for c in changes] == ["Signup"] and FIXTURE_KEYS["contract_changes"] <= set(changes[0])
    invoices = [i for i in api.get("/Invoices", params={"take": 500}).json() if i["ContractId"] == contract["Id"]]
    assert len(invoices) == 1 and invoices[0]["TotalNet"] == f"{variant['RecurringFee']:.2f}"

    # an upgrade order on the same contract adds a phase
    other = next(v for v in api.get("/PlanVariants").json() if v["Id"] != variant["Id"] and not v.get("TrialPeriod"))
    upgrade = api.post("/Orders", json={"ContractId": contract["Id"], "Cart": {"PlanVariantId": other["Id"]}}).json()
    changed = api.post(f"/Orders/{upgrade['Id']}/commit", json={}).json()
    assert changed["Id"] == contract["Id"] and changed["PlanVariantId"] == other["Id"]
    assert len(changed["Phases"]) == len(contract["Phases"]) + 1


def test_signup_with_new_customer_and_trial(api: httpx.Client) -> None:
    trial = a_variant(api, trial=True)
    order = api.post(
        "/Orders", json={"Customer": {"CompanyName": "Trial GmbH"}, "Cart": {"PlanVariantId": trial["Id"]}}
    ).json()
    assert order["IsTrial"] is True and order["Total"] == 0
    assert api.get(f"/Customers/{order['CustomerId']}").json()["CompanyName"] == "Trial GmbH"
    contract = api.post(f"/Orders/{order['Id']}/commit").json()
    assert contract["LifecycleStatus"] == "InTrial" and contract["CurrentPhase"]["Type"] == "Trial"


def test_approve_and_decline(api: httpx.Client) -> None:
    customer = api.get("/Customers", params={"take": 1}).json()[0]
    cart = {"PlanVariantId": a_variant(api)["Id"]}
    first = api.post("/Orders", json={"CustomerId": customer["Id"], "Cart": cart}).json()
    approved = api.post(f"/Orders/{first['Id']}/approve").json()
    assert approved["Status"] == "Completed"
    assert api.get(f"/Contracts/{first['ContractId']}").json()["LifecycleStatus"] == "Active"
    second = api.post("/Orders", json={"CustomerId": customer["Id"], "Cart": cart}).json()
    assert api.post(f"/Orders/{second['Id']}/decline").json()["Status"] == "Declined"
    assert api.post(f"/Orders/{second['Id']}/commit").status_code == 400
    assert api.get(f"/Contracts/{second['ContractId']}").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"CustomerId": "CUSTOMER"}, "Cart"),
        (
            {"CustomerId": "CUSTOMER", "Cart": {"PlanVariantId": "0123456789abcdef01234567"}},
            "Cart.PlanVariantId",
        ),
        ({"CustomerId": "0123456789abcdef01234567", "Cart": {"PlanVariantId": "VARIANT"}}, "CustomerId"),
        ({"Cart": {"PlanVariantId": "VARIANT"}}, "CustomerId"),
        (
            {
                "CustomerId": "CUSTOMER",
                "Cart": {"PlanVariantId": "VARIANT", "ComponentSubscriptions": [{"ComponentId": "x"}]},
            },
            "Cart.ComponentSubscriptions[0].ComponentId",
        ),
        (
            {"Customer": {"EmailAddress": "bad"}, "Cart": {"PlanVariantId": "VARIANT"}},
            "Customer.EmailAddress",
        ),
    ],
)
def test_invalid_orders_are_422_and_change_nothing(
    api: httpx.Client, app: SandboxApp, body: dict[str, Any], field: str
) -> None:
    values = {
        "CUSTOMER": api.get("/Customers", params={"take": 1}).json()[0]["Id"],
        "VARIANT": a_variant(api)["Id"],
    }
    counts = app.store.counts()
    response = api.post("/Orders", json=fill(body, values))
    assert response.status_code == 422
    assert field in response.json()["ModelState"]
    assert app.store.counts() == counts


def fill(value: Any, values: dict[str, str]) -> Any:
    """``value`` with the placeholder strings replaced (ids only known once the sandbox runs)."""
    if isinstance(value, dict):
        return {k: fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, values) for v in value]
    return values.get(value, value) if isinstance(value, str) else value


def test_contract_usage_and_components(api: httpx.Client) -> None:
    contract = new_contract(api)
    component = next(c for c in api.get("/Components").json() if c["Type"] == "Metered")
    posted = api.post(
        f"/Contracts/{contract['Id']}/Usage",
        json={"ComponentId": component["Id"], "Quantity": 5, "Memo": "api calls"},
    )
    assert posted.status_code == 201
    usage = posted.json()
    assert FIXTURE_KEYS["contract_metered_usage_response"] <= set(usage)
    assert ids(api.get(f"/Contracts/{contract['Id']}/Usage")) == [usage["Id"]]
    bad = api.post(f"/Contracts/{contract['Id']}/Usage", json={"ComponentId": "nope", "Quantity": -1})
    assert bad.status_code == 422 and {"ComponentId", "Quantity"} <= set(bad.json()["ModelState"])
    assert api.delete(f"/Contracts/{contract['Id']}/Usage/{usage['Id']}").status_code == 204
    assert api.get(f"/Contracts/{contract['Id']}/Usage").json() == []
    assert api.delete(f"/Contracts/{contract['Id']}/Usage/{usage['Id']}").status_code == 404

    sub = api.post(
        f"/Contracts/{contract['Id']}/ComponentSubscriptions",
        json={"ComponentId": component["Id"], "Quantity": 3},
    )
    assert sub.status_code == 201 and sub.json()["Quantity"] == 3
    subs = api.get(f"/Contracts/{contract['Id']}/Subscriptions").json()
    assert [s["Type"] for s in subs] == ["PlanVariant", "Component"]
    token = api.get(f"/Contracts/{contract['Id']}/SelfServiceToken").json()
    assert set(token) == FIXTURE_KEYS["self_service_token"] and token["Purpose"] == "CustomerPortal"


def test_cancellation_preview_and_end(api: httpx.Client, app: SandboxApp, server: SandboxServer) -> None:
    contract = new_contract(api)
    preview = api.get(f"/Contracts/{contract['Id']}/CancellationPreview").json()
    assert set(preview) == FIXTURE_KEYS["contract_cancellation_preview_response"]
    assert FIXTURE_KEYS["termination_invoice"] <= set(preview["Invoice"])
    assert preview["EndDate"] == contract["NextBillingDate"] == preview["NextPossibleCancellationDate"]
    assert api.get(f"/Contracts/{contract['Id']}").json().get("EndDate") is None  # a preview changes nothing

    missing = api.post(f"/Contracts/{contract['Id']}/End", json={})
    assert missing.status_code == 422 and "EndDate" in missing.json()["ModelState"]
    end = preview["EndDate"]
    ended = api.post(f"/Contracts/{contract['Id']}/end", json={"EndDate": end})
    assert ended.status_code == 200
    body = ended.json()
    assert set(body) == FIXTURE_KEYS["contract_termination_response"]
    assert body["ContractAfter"]["EndDate"] == end and body["ContractAfter"]["LifecycleStatus"] == "Active"
    assert body["ContractAfter"]["Phases"][-1] == {"StartDate": end, "Type": "Inactive"}
    app.clock.advance(400 * 86400)  # the end date passes
    # The token outlived token_ttl too: log in again, as a client does after a 401.
    api.headers["Authorization"] = f"Bearer {get_token(server).json()['access_token']}"
    assert api.get(f"/Contracts/{contract['Id']}").json()["LifecycleStatus"] == "Ended"
    assert api.post(f"/Contracts/{contract['Id']}/End", json={"EndDate": end}).status_code == 400


def test_rated_items(api: httpx.Client) -> None:
    contract = new_contract(api)
    # specs/fixtures/billwerk/create_rated_item.json
    body = {
        "Description": "the description",
        "PeriodEnd": "2014-09-19T08:18:51.907Z",
        "PeriodStart": "2014-09-19T08:18:51.907Z",
        "PricePerUnit": 123.45,
        "Quantity": 2,
        "TaxPolicyId": "tax-policy-id",
    }
    created = api.post(f"/Contracts/{contract['Id']}/RatedItems", json=body)
    assert created.status_code == 201
    item = created.json()
    assert set(item) == FIXTURE_KEYS["rated_items"]
    assert item["price_per_unit"] == 123.45 and item["quantity"] == 2
    assert api.get(f"/Contracts/{contract['Id']}/RatedItems").json() == [item]
    invalid = api.post(f"/Contracts/{contract['Id']}/RatedItems", json={"Quantity": "two"})
    assert invalid.status_code == 422
    assert {"Description", "Quantity", "PricePerUnit", "TaxPolicyId"} <= set(invalid.json()["ModelState"])


# ------------------------------------------------------------------ invoices, drafts, webhooks, payments


def test_invoices_and_download(api: httpx.Client, app: SandboxApp) -> None:
    invoice = api.get("/Invoices", params={"take": 1}).json()[0]
    assert FIXTURE_KEYS["invoice"] <= set(invoice)
    assert isinstance(invoice["TotalGross"], str) and invoice["IsInvoice"] in ("True", "False")
    assert api.get(f"/Invoices/{invoice['Id']}").json() == invoice
    link = api.post(f"/Invoices/{invoice['Id']}/downloadLink").json()
    assert set(link) == {"Url"}
    pdf = httpx.get(link["Url"])  # the token in the URL is the authorization
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and pdf.content.rstrip().endswith(b"%%EOF")
    app.clock.advance(11 * 60)
    assert httpx.get(link["Url"]).status_code == 404


def test_invoice_drafts(api: httpx.Client) -> None:
    drafts = api.get("/InvoiceDrafts").json()
    assert drafts and {"Id", "ContractId", "CustomerId", "ItemList", "TotalNet"} <= set(drafts[0])
    sent = api.post(f"/InvoiceDrafts/{drafts[0]['Id']}/send")
    assert sent.status_code == 200
    invoice = sent.json()
    assert FIXTURE_KEYS["invoice"] <= set(invoice) and invoice["ContractId"] == drafts[0]["ContractId"]
    assert api.get(f"/InvoiceDrafts/{drafts[0]['Id']}").status_code == 404
    assert api.get(f"/Invoices/{invoice['Id']}").status_code == 200


def test_webhooks(api: httpx.Client, app: SandboxApp) -> None:
    before = ids(api.get("/webhooks"))
    created = api.post("/webhooks", json={"Url": "https://example.com/hook", "Events": ["CustomerCreated"]})
    assert created.status_code == 201
    hook = created.json()
    assert ids(api.get("/Webhooks")) == [*before, hook["Id"]]
    invalid = api.post("/webhooks", json={"Url": "ftp://x", "Events": ["NoSuchEvent"]})
    assert invalid.status_code == 422 and {"Url", "Events"} <= set(invalid.json()["ModelState"])
    assert ids(api.get("/webhooks")) == [*before, hook["Id"]]
    assert api.delete(f"/webhooks/{hook['Id']}").status_code == 204
    assert api.delete(f"/webhooks/{hook['Id']}").status_code == 404


def test_catalog_and_payments(api: httpx.Client) -> None:
    plans = api.get("/Plans").json()
    groups = {g["Id"] for g in api.get("/PlanGroups").json()}
    assert plans and all(p["PlanGroupId"] in groups for p in plans)
    variants = api.get("/PlanVariants").json()
    assert all(v["PlanId"] in {p["Id"] for p in plans} for v in variants)
    assert api.get(f"/PlanGroups/{plans[0]['PlanGroupId']}").status_code == 200
    payment = api.get("/PaymentTransactions", params={"take": 1}).json()[0]
    assert FIXTURE_KEYS["payment_transaction"] <= set(payment)
    subscription = api.get("/Subscriptions", params={"take": 2}).json()
    assert len(subscription) == 2 and {"Contract", "Customer"} <= set(subscription[0])


# ------------------------------------------------------------------ limits, faults, admin


def test_rate_limit_429() -> None:
    app = load_sandbox("billwerk", window_requests=5, window_seconds=60)
    with serve(app) as server:
        token = get_token(server).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        statuses = [httpx.get(server.base_url + "/Plans", headers=headers).status_code for _ in range(5)]
        assert statuses == [200] * 5
        limited = httpx.get(server.base_url + "/Plans", headers=headers)
        assert limited.status_code == 429
        assert limited.json()["Message"].startswith("API rate limit exceeded")
        assert int(limited.headers["Retry-After"]) >= 1
        assert limited.headers["X-RateLimit-Remaining"] == "0" and limited.headers["X-RateLimit-Limit"] == "5"
        assert get_token(server).status_code == 200  # the token endpoint is not limited


def test_fault_429_uses_vendor_body(app: SandboxApp, api: httpx.Client) -> None:
    app.faults.burst_429 = 1
    limited = api.get("/Plans")
    assert limited.status_code == 429 and "Message" in limited.json() and "Retry-After" in limited.headers
    assert api.get("/Plans").status_code == 200


def test_admin_seed(server: SandboxServer, api: httpx.Client) -> None:
    before = len(api.get("/Contracts", params={"take": 500}).json())
    seeded = httpx.post(server.url + "/_sandbox/seed", json={"resource": "contracts", "count": 3}).json()
    assert seeded["count"] == 3
    after = api.get("/Contracts", params={"take": 500}).json()
    assert len(after) == before + 3
    assert [c["Id"] for c in after[-3:]] == seeded["ids"]  # new records sort last (ObjectId time first)
