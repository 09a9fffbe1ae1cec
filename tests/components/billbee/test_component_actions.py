"""Every action of the Billbee component, run through ``Executor.run`` against the Billbee sandbox.

One test per action name in ``component.json``; each builds a valid input body from the action's
in-schema and ids that exist in the sandbox (a fresh record where the action deletes or changes
something another test reads), and asserts the call succeeds and every emitted body matches the
out-schema. The sandbox's rate limits are off here for speed, except in one test that switches
them on and checks that the client-side limiter keeps the server from answering 429.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from skiff.clock import ManualClock
from skiff.component import Component, load_component
from skiff.message import Message
from skiff.run import Event, Executor, RunResult
from skiff.sandbox import SandboxApp, SandboxServer, load_sandbox, serve
from skiff.validation import compile_schema

ROOT = Path(__file__).resolve().parents[3]
COMPONENT_DIR = ROOT / "components" / "billbee"
ACTIONS = sorted(json.loads((COMPONENT_DIR / "component.json").read_text(encoding="utf-8"))["actions"])

DHL, DHL_PAKET = 100000000022240, 100000000288647
INVOICE_LAYOUT = 100000000132968


@pytest.fixture(scope="module")
def component() -> Component:
    return load_component(COMPONENT_DIR)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[SandboxApp, SandboxServer]]:
    app = load_sandbox("billbee", seed=1, rate_limits=False)
    with serve(app) as server:
        yield app, server


@pytest.fixture(scope="module")
def cfg(sandbox: tuple[SandboxApp, SandboxServer]) -> dict[str, Any]:
    app, server = sandbox
    return {**app.default_credentials, "baseUrl": server.base_url}


class Account:
    """Ids read from (and fresh records put into) the running sandbox, for building bodies."""

    def __init__(self, app: SandboxApp) -> None:
        self.app = app
        self.data: Any = app.options["billbee"].data

    def order(self, *, usable: bool = True) -> dict[str, Any]:
        """An order that is neither deleted nor cancelled (documents, shipments need one)."""
        for order in self.data.orders.list():
            if not usable or order["State"] not in (6, 8):
                return dict(order)
        raise AssertionError("no usable order in the sandbox")

    def fresh_order(self) -> dict[str, Any]:
        return dict(self.app.seed_resource("orders", 1)[0])

    def customer(self) -> dict[str, Any]:
        """A customer with at least one order and one address."""
        with_orders = {(o["Customer"] or {}).get("Id") for o in self.data.orders.list()}
        for customer in self.data.customers.list():
            if customer["Id"] in with_orders and self.data.addresses.first(CustomerId=customer["Id"]):
                return dict(customer)
        raise AssertionError("no customer with orders and addresses")

    def address_id(self) -> int:
        return int(self.data.addresses.first(CustomerId=self.customer()["Id"])["Id"])

    def product(self) -> dict[str, Any]:
        for product in self.data.products.list():
            if product["Images"] and product["SKU"]:
                return dict(product)
        raise AssertionError("no product with images")

    def fresh_product(self) -> dict[str, Any]:
        return dict(self.app.seed_resource("products", 1)[0])

    def fresh_image(self) -> tuple[int, int]:
        """(product id, image id) of a new image on a fresh product (for the delete actions)."""
        product = self.data.products.get(self.fresh_product()["Id"])
        image = self.data.add_image(product, f"https://img.example.com/{uuid.uuid4().hex}.jpg")
        return int(product["Id"]), int(image["Id"])

    def webhook_id(self) -> str:
        webhook_id = uuid.uuid4().hex
        self.data.webhooks.insert(
            {
                "Secret": "s" * 32,
                "Filters": ["order.created"],
                "Headers": {},
                "Properties": {},
                "Id": webhook_id,
                "WebHookUri": "https://hooks.example.com/skiff",
                "Description": "test hook",
                "IsPaused": False,
            }
        )
        return webhook_id

    def custom_field_id(self) -> int:
        return int(self.data.custom_fields.list()[0]["Id"])


def _address(customer_id: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "AddressType": 1,
        "FirstName": "Ada",
        "LastName": "Lovelace",
        "Street": "Hauptstraße",
        "Housenumber": "1",
        "Zip": "10115",
        "City": "Berlin",
        "CountryCode": "DE",
        "Email": "ada@example.com",
    }
    if customer_id is not None:
        body["CustomerId"] = customer_id
    return body


def _texts(text: str) -> list[dict[str, str]]:
    return [{"Text": text, "LanguageCode": "de"}]


def _unique() -> str:
    return uuid.uuid4().hex[:10]


def _new_order() -> dict[str, Any]:
    return {
        "CreatedAt": "2024-02-01T10:00:00Z",
        "Currency": "EUR",
        "TotalCost": 23.8,
        "ShippingCost": 4.9,
        "State": 1,
        "InvoiceAddress": {
            "FirstName": "Ada",
            "LastName": "Lovelace",
            "Street": "Hauptstraße",
            "HouseNumber": "1",
            "Zip": "10115",
            "City": "Berlin",
            "CountryISO2": "DE",
        },
        "OrderItems": [
            {"Quantity": 2, "TotalPrice": 18.9, "TaxAmount": 3.02, "Product": {"Title": "Seife", "SKU": "SEIFE-1"}}
        ],
        "Tags": ["skiff"],
    }


def _new_product() -> dict[str, Any]:
    return {
        "Title": _texts("Testprodukt"),
        "SKU": f"SKIFF-{_unique()}",
        "VatIndex": 1,
        "Price": 9.99,
        "Vat1Rate": 19.0,
        "Vat2Rate": 7.0,
        "Type": 1,
        "IsDigital": False,
        "IsCustomizable": False,
        "StockDesired": 10.0,
    }


# action name -> body builder; builders may create the records they change or delete.
BODIES: dict[str, Callable[[Account], dict[str, Any]]] = {
    # ------------------------------------------------------------------ reference data
    "cloudStorageApiGetList": lambda a: {},
    "layoutApiGetList": lambda a: {},
    "enumApiGetPaymentTypes": lambda a: {},
    "enumApiGetShippingCarriers": lambda a: {},
    "enumApiGetAccountSyncState": lambda a: {},
    "enumApiGetShopAccountType": lambda a: {},
    "enumApiGetShipmentTypes": lambda a: {},
    "enumApiGetOrderStates": lambda a: {},
    "shopAccountQueryShopAccounts": lambda a: {},
    "automaticProvisioningTermsInfo": lambda a: {},
    "automaticProvisioningCreateAccount": lambda a: {
        "body": {"EMail": f"new-{_unique()}@example.com", "AcceptTerms": True, "Password": "pw-123456"}
    },
    # ------------------------------------------------------------------ customers and addresses
    "customerAddressesGetAll": lambda a: {"maxPages": 1},
    "customerAddressesCreate": lambda a: {"body": _address(a.customer()["Id"])},
    "customerAddressesGetOne": lambda a: {"id": a.address_id()},
    "customerAddressesUpdate": lambda a: {"id": a.address_id(), "body": _address()},
    "customerGetAll": lambda a: {"maxPages": 1},
    "customerCreate": lambda a: {
        "body": {"Name": "Ada Lovelace", "Email": f"ada-{_unique()}@example.com", "Type": 0, "Address": _address()}
    },
    "customerGetOne": lambda a: {"id": a.customer()["Id"]},
    "customerUpdate": lambda a: {"id": a.customer()["Id"], "body": {"Id": a.customer()["Id"], "Tel1": "+49 30 1234"}},
    "customerGetCustomerOrders": lambda a: {"id": a.customer()["Id"]},
    "customerGetCustomerAddresses": lambda a: {"id": a.customer()["Id"]},
    "customerAddCustomerAddress": lambda a: {"id": a.customer()["Id"], "body": _address()},
    "customerGetCustomerAddress": lambda a: {"id": a.address_id()},
    "customerUpdateAddress": lambda a: {"id": a.address_id(), "body": _address()},
    "customerPatchAddress": lambda a: {"id": a.address_id(), "body": {"City": "Hamburg"}},
    # ------------------------------------------------------------------ events
    "eventApiGetList": lambda a: {"maxPages": 1, "typeId": [0, 13]},
    # ------------------------------------------------------------------ orders
    "orderApiGetList": lambda a: {"maxPages": 1, "orderStateId": [1, 2, 3]},
    "orderApiPostNewOrder": lambda a: {"shopId": 100000000092375, "body": _new_order()},
    "orderApiTagsUpdate": lambda a: {"id": a.order()["BillBeeOrderId"], "body": {"Tags": ["skiff", "test"]}},
    "orderApiTagsCreate": lambda a: {"id": a.order()["BillBeeOrderId"], "body": {"Tags": ["more"]}},
    "orderApiGet": lambda a: {"id": a.order()["BillBeeOrderId"]},
    "orderApiPatchOrder": lambda a: {"id": a.order()["BillBeeOrderId"], "body": {"SellerComment": "via skiff"}},
    "orderApiGetByExtRef": lambda a: {"extRef": a.order()["OrderNumber"]},
    "orderApiUpdateState": lambda a: {"id": a.fresh_order()["BillBeeOrderId"], "body": {"NewStateId": 3}},
    "orderApiAddShipment": lambda a: {
        "id": a.order()["BillBeeOrderId"],
        "body": {"ShippingId": f"0034{_unique()}", "ShippingProviderId": DHL, "CarrierId": 1, "Comment": "t"},
    },
    "orderApiGetInvoiceList": lambda a: {"maxPages": 1, "includePositions": True},
    "orderApiFind": lambda a: {
        "id": a.order()["Id"],
        "partner": (a.order()["Seller"] or {}).get("Platform") or "manual",
    },
    "orderApiCreateDeliveryNote": lambda a: {"id": a.fresh_order()["BillBeeOrderId"], "includePdf": True},
    "orderApiCreateInvoice": lambda a: {
        "id": a.fresh_order()["BillBeeOrderId"],
        "includeInvoicePdf": True,
        "templateId": INVOICE_LAYOUT,
        "sendToCloudId": 1,
    },
    "orderApiGetPatchableFields": lambda a: {},
    "orderApiSendMessage": lambda a: {
        "id": a.order()["BillBeeOrderId"],
        "body": {"SendMode": 0, "Subject": _texts("Ihre Bestellung"), "Body": _texts("Danke!")},
    },
    "orderApiTriggerEvent": lambda a: {
        "id": a.order()["BillBeeOrderId"],
        "body": {"Name": "skiff-test", "DelayInMinutes": 0},
    },
    "orderApiParsePlaceholders": lambda a: {
        "id": a.order()["BillBeeOrderId"],
        "body": {"TextToParse": "Bestellung [OrderNumber]", "IsHtml": False, "Trim": True},
    },
    "orderApiMessage": lambda a: {
        "id": a.order()["BillBeeOrderId"],
        "body": {"Text": "Hallo", "SenderName": "skiff"},
    },
    "searchSearch": lambda a: {"body": {"Term": a.order()["OrderNumber"], "Type": ["order", "customer"]}},
    # ------------------------------------------------------------------ products and stock
    "articleGetStocks": lambda a: {},
    "articleUpdateStock": lambda a: {
        "body": {"BillbeeId": a.product()["Id"], "StockId": 266, "NewQuantity": 12.0, "Reason": "count"}
    },
    "articleGetReservedAmount": lambda a: {"id": str(a.product()["Id"]), "stockId": 266},
    "articleUpdateStockMultiple": lambda a: {
        "body": [
            {"BillbeeId": a.product()["Id"], "NewQuantity": 5.0, "Reason": "count"},
            {"Sku": a.product()["SKU"], "DeltaQuantity": 1.0, "Reason": "count"},
        ]
    },
    "articleUpdateStockCode": lambda a: {"body": {"BillbeeId": a.product()["Id"], "StockId": 266, "StockCode": "A-1"}},
    "articleGetArticle": lambda a: {"id": a.product()["SKU"], "lookupBy": "sku"},
    "articleDeleteArticle": lambda a: {"id": a.fresh_product()["Id"]},
    "articlePatchArticle": lambda a: {"id": a.product()["Id"], "body": {"StockDesired": 20.0, "Manufacturer": "ACME"}},
    "articleGetList": lambda a: {"maxPages": 1},
    "articleCreateArticle": lambda a: {"body": _new_product()},
    "articleGetCustomFields": lambda a: {},
    "articleGetCustomField": lambda a: {"id": a.custom_field_id()},
    "articleGetPatchableFields": lambda a: {},
    "articleGetCategory": lambda a: {},
    "articleGetImages": lambda a: {"productId": a.product()["Id"]},
    "articlePutImages": lambda a: {
        "productId": a.fresh_product()["Id"],
        "replace": False,
        "body": [{"Url": "https://img.example.com/a.jpg", "IsDefault": True, "Position": 1}],
    },
    "articleGetImageFromProduct": lambda a: {
        "productId": a.product()["Id"],
        "imageId": a.product()["Images"][0]["Id"],
    },
    "articlePutImage": lambda a: {
        "productId": a.fresh_product()["Id"],
        "imageId": 0,
        "body": {"Url": "https://img.example.com/b.jpg", "IsDefault": False, "Position": 2},
    },
    "articleDeleteImageFromProduct": lambda a: dict(zip(("productId", "imageId"), a.fresh_image(), strict=True)),
    "articleGetImage": lambda a: {"imageId": a.product()["Images"][0]["Id"]},
    "articleDeleteImage": lambda a: {"imageId": a.fresh_image()[1]},
    "articleDeleteImages": lambda a: {"body": [a.fresh_image()[1], a.fresh_image()[1]]},
    # ------------------------------------------------------------------ shipments
    "shipmentPostShipment": lambda a: {
        "body": {
            "ProviderName": "DHL",
            "ProductCode": "V01PAK;01",
            "ReceiverAddress": {
                "FirstName": "Ada",
                "LastName": "Lovelace",
                "Street": "Hauptstraße",
                "Housenumber": "1",
                "Zip": "10115",
                "City": "Berlin",
                "CountryCode": "DE",
            },
            "WeightInGram": 1200,
            "OrderSum": 23.8,
        }
    },
    "shipmentGetShippingproviders": lambda a: {},
    "shipmentShipWithLabel": lambda a: {
        "body": {
            "OrderId": a.fresh_order()["BillBeeOrderId"],
            "ProviderId": DHL,
            "ProductId": DHL_PAKET,
            "ChangeStateToSend": True,
            "WeightInGram": 900,
        }
    },
    "shipmentGetShippingCarrier": lambda a: {},
    "shipmentGetPing": lambda a: {},
    "shipmentGetList": lambda a: {"maxPages": 1},
    # ------------------------------------------------------------------ webhooks
    "webHookManagementGet": lambda a: {},
    "webHookManagementPost": lambda a: {
        "body": {
            "Secret": "x" * 40,
            "WebHookUri": "https://hooks.example.com/new",
            "Filters": ["order.created", "order.shipped"],
            "Description": "created by a test",
            "IsPaused": True,
        }
    },
    "webHookManagementDeleteAll": lambda a: {},
    "webHookManagementLookup": lambda a: {"id": a.webhook_id()},
    "webHookManagementPut": lambda a: {
        "id": a.webhook_id(),
        "body": {"Secret": "y" * 32, "WebHookUri": "https://hooks.example.com/changed", "Filters": ["*"]},
    },
    "webHookManagementDelete": lambda a: {"id": a.webhook_id()},
    "webHookManagementGetFilters": lambda a: {},
}


# Billbee answers these with no data (envelope Data null, or an empty 200): they emit {}.
NO_DATA = {
    "articleDeleteArticle",
    "articleDeleteImage",
    "articleDeleteImageFromProduct",
    "articleUpdateStockCode",
    "orderApiAddShipment",
    "orderApiMessage",
    "orderApiSendMessage",
    "orderApiTagsCreate",
    "orderApiTagsUpdate",
    "orderApiTriggerEvent",
    "orderApiUpdateState",
    "shipmentGetPing",
    "webHookManagementDelete",
    "webHookManagementDeleteAll",
}


def test_every_action_has_a_body() -> None:
    assert sorted(BODIES) == ACTIONS
    assert set(ACTIONS) >= NO_DATA


def _item_validator(component: Component, name: str) -> Any:
    function = component.function(name)
    schema = function.out_schema
    if function.model.pagination is not None and isinstance(schema, dict) and schema.get("type") == "array":
        return compile_schema(schema["items"], component.path)
    return function.out_validator


async def run_action(
    component: Component, cfg: dict[str, Any], name: str, body: dict[str, Any], executor: Executor | None = None
) -> tuple[RunResult, list[Any]]:
    emitted: list[Any] = []

    async def sink(event: Event) -> None:
        if event.kind == "data":
            emitted.append(event.payload.body)

    own = executor is None
    executor = executor or Executor()
    try:
        result = await executor.run(component, name, cfg, Message(body=body), emit=sink)
    finally:
        if own:
            await executor.aclose()
    return result, emitted


@pytest.mark.parametrize("name", ACTIONS)
async def test_action(
    name: str, component: Component, cfg: dict[str, Any], sandbox: tuple[SandboxApp, SandboxServer]
) -> None:
    body = BODIES[name](Account(sandbox[0]))
    result, emitted = await run_action(component, cfg, name, body)
    assert result.error is None, f"{name}: {result.error!r}"
    assert result.data == len(emitted) >= 1
    if name not in NO_DATA:  # an empty body where the API sent data means the data was lost
        assert all(item not in ({}, None) for item in emitted), (name, emitted)
    validator = _item_validator(component, name)
    if validator is not None:
        for item in emitted:
            assert validator.is_valid(item), (name, validator.errors(item, root="output", limit=3))


async def test_actions_with_rate_limits_on(
    component: Component, cfg: dict[str, Any], sandbox: tuple[SandboxApp, SandboxServer]
) -> None:
    """With the sandbox's real throttles on, a burst of calls waits client-side instead of drawing 429s."""
    app, server = sandbox
    billbee = app.options["billbee"]
    account = Account(app)
    # Two endpoints called five times each plus six others: over 10/s per user and 2/s per endpoint.
    calls: list[tuple[str, dict[str, Any]]] = [(n, {}) for n in ["enumApiGetOrderStates", "shipmentGetPing"] * 5]
    calls += [
        (n, BODIES[n](account))
        for n in (
            "orderApiGet",
            "customerGetOne",
            "articleGetArticle",
            "layoutApiGetList",
            "articleGetStocks",
            "webHookManagementGet",
        )
    ]
    # The sandbox's windows and the executor's run on one ManualClock: the server judges the
    # client's pace on the client's time, and the waits take no real time.
    clock = ManualClock()
    with httpx.Client(base_url=server.url, timeout=10) as admin:
        admin.delete("/_sandbox/requests").raise_for_status()
        for window in app.limiters:
            window.reset()
            window.now = clock.monotonic
        billbee.set_rate_limits(True)
        try:
            async with Executor(clock=clock) as executor:
                results = await asyncio.gather(
                    *(run_action(component, cfg, name, body, executor) for name, body in calls)
                )
                client = executor.client(component, cfg)
                assert client is not None
                stats = client.stats
        finally:
            billbee.set_rate_limits(False)
            for window in app.limiters:
                window.reset()
                window.now = time.monotonic
        log = admin.get("/_sandbox/requests").json()["requests"]
    assert [r.error for r, _ in results] == [None] * len(calls)
    statuses = [entry["status"] for entry in log]
    assert len(statuses) == len(calls)
    assert 429 not in statuses
    assert stats.status_429 == 0
    assert stats.throttled_waits > 0 and clock.slept  # the client-side limiter did the waiting
