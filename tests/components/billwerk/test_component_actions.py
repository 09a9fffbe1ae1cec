"""The Billwerk component through ``Executor.run`` against the Billwerk sandbox.

Every action runs at least once (parametrised from component.json, with ids that exist in the
sandbox, or fresh records where the action ends, deletes or converts something); every trigger
polls twice (nothing new the second time) and once more after ``POST /_sandbox/seed`` (only the
new records). Then the OAuth2 token dying mid-run (sandbox clock), a wrong secret, bad bodies and
vendor errors. One sandbox for the module, rate limits off except where a test turns on a 429 burst.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from skiff.component import Component, load_component
from skiff.errors import ApiError, AuthError, InputError
from skiff.message import Message
from skiff.run import Event, Executor, RunResult
from skiff.sandbox import SandboxApp, SandboxServer, load_sandbox, serve

ROOT = Path(__file__).resolve().parents[3]
COMPONENT_DIR = ROOT / "components" / "billwerk"
SPEC = json.loads((COMPONENT_DIR / "component.json").read_text(encoding="utf-8"))
ACTIONS = sorted(SPEC["actions"])
TRIGGERS = sorted(SPEC["triggers"])

# The functions of Billwerk's JavaScript client (npm ``billwerk``): each is an action of the same name.
JS_FUNCTIONS = [
    "createOrder",
    "commitOrder",
    "approveOrder",
    "declineOrder",
    "getCustomers",
    "createCustomer",
    "getCustomer",
    "putCustomer",
    "patchCustomer",
    "deleteCustomer",
    "getCustomerContracts",
    "getContracts",
    "getContract",
    "getContractUsage",
    "postContractUsage",
    "deleteContractUsage",
    "getContractComponentSubscriptions",
    "createContractComponentSubscription",
    "getContractSubscriptions",
    "getContractSelfServiceToken",
    "getContractCancellationPreview",
    "endContract",
    "createContractRatedItem",
    "getSubscriptions",
    "getInvoices",
    "getInvoiceById",
    "getInvoiceDownloadLink",
    "getInvoiceDrafts",
    "getInvoiceDraft",
    "sendInvoiceDraft",
    "getPlanGroups",
    "getPlanGroup",
    "getPlans",
    "getPlan",
    "getPlanVariants",
    "getPlanVariant",
    "getWebhooks",
    "createWebhook",
    "deleteWebhook",
]

Sandbox = tuple[SandboxApp, SandboxServer]


@pytest.fixture(scope="module")
def component() -> Component:
    return load_component(COMPONENT_DIR)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    app = load_sandbox("billwerk", seed=1, rate_limits=False)
    with serve(app) as server:
        yield app, server


@pytest.fixture(scope="module")
def cfg(sandbox: Sandbox) -> dict[str, Any]:
    app, server = sandbox
    return {**app.default_credentials, "baseUrl": server.url}


@pytest.fixture
def admin(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox[1].url, timeout=10) as client:
        yield client


def _hex_id() -> str:
    return uuid.uuid4().hex[:24]


class Account:
    """Ids read from (and fresh records put into) the running sandbox, for building bodies."""

    def __init__(self, app: SandboxApp) -> None:
        self.app = app

    def table(self, name: str, id_field: str = "Id") -> Any:
        return self.app.store.table(name, id_field=id_field)

    def first(self, name: str) -> dict[str, Any]:
        return dict(self.table(name).list()[0])

    def fresh(self, resource: str) -> dict[str, Any]:
        """A new record via the sandbox's seeder: contracts are running, orders InProgress."""
        return dict(self.app.seed_resource(resource, 1)[0])

    def customer_with_contracts(self) -> str:
        return str(self.first("contracts")["CustomerId"])

    def contract_with_usage(self) -> str:
        return str(self.first("usage")["ContractId"])

    def component(self, kind: str = "Metered") -> str:
        return str(next(c["Id"] for c in self.table("components").list() if c["Type"] == kind))

    def variant(self) -> str:
        """A plan variant without a trial, so an order has a total and its commit bills."""
        return str(next(v["Id"] for v in self.table("planvariants").list() if not v.get("TrialPeriod")))

    def fresh_usage(self) -> tuple[str, str]:
        contract = self.fresh("contracts")["Id"]
        usage = self.table("usage").insert(
            {
                "Id": _hex_id(),
                "ContractId": contract,
                "TransferredAt": "2024-01-01T00:00:00Z",
                "ComponentId": self.component(),
                "Quantity": 3.0,
                "Key": "",
                "DueDate": "2024-01-01T00:00:00Z",
                "_billed": False,
            }
        )
        return contract, str(usage["Id"])

    def fresh_component_contract(self) -> str:
        """A contract with one booked component (seeded contracts have none)."""
        contract = self.fresh("contracts")
        self.table("componentsubscriptions").insert(
            {
                "Id": _hex_id(),
                "ContractId": contract["Id"],
                "CustomerId": contract["CustomerId"],
                "ComponentId": self.component("Quantity"),
                "Quantity": 1,
                "StartDate": contract["StartDate"],
            }
        )
        return str(contract["Id"])

    def fresh_draft(self) -> str:
        draft = self.first("invoicedrafts")
        draft["Id"] = _hex_id()
        return str(self.table("invoicedrafts").insert(draft)["Id"])

    def fresh_webhook(self) -> str:
        hook = {"Id": _hex_id(), "Url": "https://hooks.example.com/x", "Events": ["CustomerCreated"]}
        return str(self.table("webhooks").insert(hook)["Id"])


def _person() -> dict[str, Any]:
    return {
        "FirstName": "Ada",
        "LastName": "Lovelace",
        "EmailAddress": f"ada-{uuid.uuid4().hex[:8]}@example.com",
        "CustomerType": "Consumer",
        "Address": {
            "Street": "Hauptstraße",
            "HouseNumber": "1",
            "PostalCode": "10115",
            "City": "Berlin",
            "Country": "DE",
        },
    }


# action name -> body builder; builders create the records an action changes, ends or deletes.
BODIES: dict[str, Callable[[Account], dict[str, Any]]] = {
    # orders
    "createOrder": lambda a: {
        "body": {"CustomerId": a.fresh("customers")["Id"], "Cart": {"PlanVariantId": a.variant()}}
    },
    "commitOrder": lambda a: {"orderId": a.fresh("orders")["Id"], "body": {}},
    "approveOrder": lambda a: {"orderId": a.fresh("orders")["Id"]},
    "declineOrder": lambda a: {"orderId": a.fresh("orders")["Id"]},
    # customers
    "getCustomers": lambda a: {"maxPages": 1, "search": "example"},
    "createCustomer": lambda a: {"body": _person()},
    "getCustomer": lambda a: {"customerId": a.first("customers")["Id"]},
    "putCustomer": lambda a: {"customerId": a.fresh("customers")["Id"], "body": _person()},
    "patchCustomer": lambda a: {"customerId": a.fresh("customers")["Id"], "body": {"CompanyName": "Lovelace Ltd"}},
    "deleteCustomer": lambda a: {"customerId": a.fresh("customers")["Id"]},
    "getCustomerContracts": lambda a: {"customerId": a.customer_with_contracts()},
    # contracts
    "getContracts": lambda a: {"emitBehavior": "emitPage"},
    "getContract": lambda a: {"contractId": a.first("contracts")["Id"]},
    "getContractUsage": lambda a: {"contractId": a.contract_with_usage()},
    "postContractUsage": lambda a: {
        "contractId": a.fresh("contracts")["Id"],
        "body": {"ComponentId": a.component(), "Quantity": 42, "Memo": "skiff"},
    },
    "deleteContractUsage": lambda a: dict(zip(("contractId", "usageId"), a.fresh_usage(), strict=True)),
    "getContractComponentSubscriptions": lambda a: {"contractId": a.fresh_component_contract()},
    "createContractComponentSubscription": lambda a: {
        "contractId": a.fresh("contracts")["Id"],
        "body": {"ComponentId": a.component("Quantity"), "Quantity": 2},
    },
    "getContractSubscriptions": lambda a: {"contractId": a.first("contracts")["Id"]},
    "getContractSelfServiceToken": lambda a: {"contractId": a.first("contracts")["Id"]},
    "getContractCancellationPreview": lambda a: {"contractId": a.fresh("contracts")["Id"]},
    "endContract": lambda a: {"contractId": a.fresh("contracts")["Id"], "body": {"EndDate": "2099-01-01T00:00:00Z"}},
    "createContractRatedItem": lambda a: {
        "contractId": a.fresh("contracts")["Id"],
        "body": {"Description": "Setup fee", "Quantity": 1, "PricePerUnit": 49.0, "TaxPolicyId": "standard"},
    },
    # subscriptions and invoices
    "getSubscriptions": lambda a: {"emitBehavior": "fetchAll"},
    "getInvoices": lambda a: {"dateFrom": "2000-01-01T00:00:00Z"},
    "getInvoiceById": lambda a: {"invoiceId": a.first("invoices")["Id"]},
    "getInvoiceDownloadLink": lambda a: {"invoiceId": a.first("invoices")["Id"]},
    "downloadInvoice": lambda a: {"invoiceId": a.first("invoices")["Id"]},
    "getInvoiceDrafts": lambda a: {},
    "getInvoiceDraft": lambda a: {"invoiceDraftId": a.first("invoicedrafts")["Id"]},
    "sendInvoiceDraft": lambda a: {"invoiceDraftId": a.fresh_draft()},
    # catalog
    "getPlanGroups": lambda a: {},
    "getPlanGroup": lambda a: {"planGroupId": a.first("plangroups")["Id"]},
    "getPlans": lambda a: {},
    "getPlan": lambda a: {"planId": a.first("plans")["Id"]},
    "getPlanVariants": lambda a: {},
    "getPlanVariant": lambda a: {"planVariantId": a.variant()},
    # webhooks
    "getWebhooks": lambda a: {},
    "createWebhook": lambda a: {"body": {"Url": "https://hooks.example.com/billwerk", "Events": ["ContractCreated"]}},
    "deleteWebhook": lambda a: {"webhookId": a.fresh_webhook()},
}


async def run(
    component: Component,
    cfg: dict[str, Any],
    name: str,
    body: dict[str, Any] | None = None,
    *,
    executor: Executor | None = None,
    snapshot: dict[str, Any] | None = None,
) -> tuple[RunResult, list[Message]]:
    emitted: list[Message] = []

    async def sink(event: Event) -> None:
        if event.kind == "data":
            emitted.append(event.payload)

    own = executor is None
    executor = executor or Executor()
    try:
        result = await executor.run(component, name, cfg, Message(body=body or {}), snapshot=snapshot, emit=sink)
    finally:
        if own:
            await executor.aclose()
    return result, emitted


def requests_log(admin: httpx.Client) -> list[dict[str, Any]]:
    return list(admin.get("/_sandbox/requests").json()["requests"])


# ---------------------------------------------------------------- the action list


def test_every_js_client_function_is_an_action() -> None:
    assert len(JS_FUNCTIONS) == len(set(JS_FUNCTIONS)) == 39
    assert set(JS_FUNCTIONS) <= set(ACTIONS)
    assert sorted(BODIES) == ACTIONS


@pytest.mark.parametrize("name", ACTIONS)
async def test_action(name: str, component: Component, cfg: dict[str, Any], sandbox: Sandbox) -> None:
    # The executor checks every emitted body against the out-schema: an error here includes that.
    result, emitted = await run(component, cfg, name, BODIES[name](Account(sandbox[0])))
    assert result.error is None, f"{name}: {result.error!r}"
    assert result.data == len(emitted) >= 1


# ---------------------------------------------------------------- behaviour worth pinning


async def test_create_commit_order_books_a_contract(
    component: Component, cfg: dict[str, Any], sandbox: Sandbox
) -> None:
    account = Account(sandbox[0])
    variant = account.variant()
    customer = account.fresh("customers")["Id"]
    async with Executor() as executor:
        created, orders = await run(
            component,
            cfg,
            "createOrder",
            {"body": {"CustomerId": customer, "Cart": {"PlanVariantId": variant}}},
            executor=executor,
        )
        assert created.error is None and orders[0].body["Status"] == "InProgress"
        committed, contracts = await run(
            component, cfg, "commitOrder", {"orderId": orders[0].body["Id"]}, executor=executor
        )
        assert committed.error is None
        assert contracts[0].body["CustomerId"] == customer and contracts[0].body["PlanVariantId"] == variant
        again, _ = await run(component, cfg, "commitOrder", {"orderId": orders[0].body["Id"]}, executor=executor)
    # A second commit is refused with Billwerk's own message, in one line.
    assert isinstance(again.error, ApiError) and again.error.status == 400
    assert "Completed" in again.error.one_line() and "\n" not in again.error.one_line()


async def test_create_order_takes_the_plan_variant_setting(
    component: Component, cfg: dict[str, Any], sandbox: Sandbox
) -> None:
    account = Account(sandbox[0])
    variants = [v["Id"] for v in account.table("planvariants").list()]
    customer = account.fresh("customers")["Id"]
    chosen = {**cfg, "planVariantId": variants[1]}
    async with Executor() as executor:
        options = await executor.select(component, "createOrder", "planVariantId", cfg)
        assert set(options) == set(variants)
        _, from_setting = await run(
            component, chosen, "createOrder", {"body": {"CustomerId": customer}}, executor=executor
        )
        _, from_message = await run(
            component,
            chosen,
            "createOrder",
            {"body": {"CustomerId": customer, "Cart": {"PlanVariantId": variants[0], "Quantity": 2}}},
            executor=executor,
        )
    assert from_setting[0].body["PlanVariantId"] == variants[1]
    assert from_message[0].body["PlanVariantId"] == variants[0]


async def test_from_id_pages_and_resumes(component: Component, cfg: dict[str, Any], sandbox: Sandbox) -> None:
    ids = sorted(c["Id"] for c in Account(sandbox[0]).table("customers").list())
    _, everything = await run(component, cfg, "getCustomers")
    assert [m.body["Id"] for m in everything] == ids
    # fromId is inclusive: the sync resumes at that record.
    _, resumed = await run(component, cfg, "getCustomers", {"fromId": ids[10]})
    assert [m.body["Id"] for m in resumed] == ids[10:]
    _, page = await run(component, cfg, "getCustomers", {"emitBehavior": "fetchAll"})
    assert len(page) == 1 and [r["Id"] for r in page[0].body["results"]] == ids


async def test_invoice_pdf_is_an_attachment(component: Component, cfg: dict[str, Any], sandbox: Sandbox) -> None:
    invoice = Account(sandbox[0]).first("invoices")
    result, emitted = await run(component, cfg, "downloadInvoice", {"invoiceId": invoice["Id"]})
    assert result.error is None
    (attachment,) = emitted[0].attachments.values()
    assert attachment.content_type == "application/pdf" and (attachment.content or b"").startswith(b"%PDF")
    assert emitted[0].body["invoiceId"] == invoice["Id"] and emitted[0].body["size"] == attachment.size


async def test_verify_credentials(component: Component, cfg: dict[str, Any]) -> None:
    async with Executor() as executor:
        assert await executor.verify(component, cfg) == {"verified": True}


async def test_legal_entity_header_only_when_set(
    component: Component, cfg: dict[str, Any], admin: httpx.Client
) -> None:
    admin.delete("/_sandbox/requests")
    entity = "5e0f00000000000000000001"
    async with Executor() as executor:
        await run(component, cfg, "getPlanGroups", executor=executor)
        await run(component, {**cfg, "legalEntityId": entity}, "getPlanGroups", executor=executor)
    calls = [r for r in requests_log(admin) if r["path"].lower().endswith("/plangroups")]
    assert [r["headers"].get("x-selected-legal-entity-id") for r in calls] == [None, entity]


# ---------------------------------------------------------------- triggers


SEED = {"newCustomers": "customers", "newContracts": "contracts", "newOrders": "orders", "newInvoices": "invoices"}


@pytest.mark.parametrize("name", TRIGGERS)
async def test_trigger_emits_only_new_records(
    name: str, component: Component, cfg: dict[str, Any], sandbox: Sandbox, admin: httpx.Client
) -> None:
    table = SEED[name]
    existing = sorted(r["Id"] for r in Account(sandbox[0]).table(table).list())
    # A small page size makes the first poll page through `from`; the repeated record is dropped.
    small = {**cfg, "pageSize": 7}
    async with Executor() as executor:
        first, emitted = await run(component, small, name, executor=executor)
        assert first.error is None
        assert [m.body["Id"] for m in emitted] == existing
        again, repeated = await run(component, small, name, executor=executor, snapshot=first.snapshot)
        assert again.error is None and repeated == []
        added = admin.post("/_sandbox/seed", json={"resource": table, "count": 2}).json()["ids"]
        third, fresh = await run(component, small, name, executor=executor, snapshot=again.snapshot)
    assert third.error is None
    assert [m.body["Id"] for m in fresh] == sorted(added)
    # Deterministic message ids: a re-emit after a crash could be dropped downstream.
    assert len({m.id for m in emitted + fresh}) == len(emitted) + len(fresh)


async def test_trigger_start_id(component: Component, cfg: dict[str, Any], sandbox: Sandbox) -> None:
    ids = sorted(r["Id"] for r in Account(sandbox[0]).table("customers").list())
    result, emitted = await run(component, {**cfg, "startId": ids[-3]}, "newCustomers")
    assert result.error is None and [m.body["Id"] for m in emitted] == ids[-3:]


# ---------------------------------------------------------------- auth and errors


async def test_token_expiry_mid_run_refreshes_once(
    component: Component, cfg: dict[str, Any], admin: httpx.Client
) -> None:
    """Billwerk says ``"expires": 0``: the client learns of expiry from a 401 and refreshes once."""
    async with Executor() as executor:
        ok, _ = await run(component, cfg, "getPlanGroups", executor=executor)
        assert ok.error is None
        admin.delete("/_sandbox/requests")
        admin.put("/_sandbox/clock", json={"advance": 2 * 3600}).raise_for_status()  # past the token's life
        results = await asyncio.gather(
            *(run(component, cfg, name, executor=executor) for name in ("getPlanGroups", "getPlans", "getWebhooks"))
        )
    assert [r.error for r, _ in results] == [None, None, None]
    log = requests_log(admin)
    assert [r["path"] for r in log].count("/oauth/token") == 1
    assert sorted(r["status"] for r in log if r["path"] != "/oauth/token") == [200, 200, 200, 401, 401, 401]


async def test_wrong_secret_is_one_auth_error_line(component: Component, cfg: dict[str, Any]) -> None:
    secret = "wrong-secret-" + uuid.uuid4().hex
    bad = {**cfg, "clientSecret": secret}
    result, emitted = await run(component, bad, "getCustomers")
    assert isinstance(result.error, AuthError) and emitted == []
    line = result.error.one_line()
    assert line.startswith("error: AuthError: ") and "401" in line
    assert "\n" not in line and secret not in line
    async with Executor() as executor:
        verdict = await executor.verify(component, bad)
    assert verdict["verified"] is False and secret not in verdict["reason"]


@pytest.mark.parametrize(
    ("name", "body", "field"),
    [
        ("createCustomer", {"body": {"FirstName": "Ada", "EmailAddress": 42}}, "body.body.EmailAddress"),
        ("createCustomer", {"body": {"FirstName": "Ada", "EmailAddress": "no-at-sign"}}, "body.body.EmailAddress"),
        (
            "postContractUsage",
            {"contractId": "5e0f00000000000000000001", "body": {"ComponentId": "5e0f00000000000000000002"}},
            "Quantity",
        ),
        ("getCustomer", {"customerId": "../Webhooks"}, "body.customerId"),
        ("createWebhook", {"body": {"Url": "ftp://x", "Events": ["ContractCreated"]}}, "body.body.Url"),
        ("getCustomers", {"emitBehavior": "everything"}, "body.emitBehavior"),
    ],
)
async def test_bad_body_is_an_input_error_naming_the_field(
    name: str, body: dict[str, Any], field: str, component: Component, cfg: dict[str, Any], admin: httpx.Client
) -> None:
    admin.delete("/_sandbox/requests")
    result, emitted = await run(component, cfg, name, body)
    assert isinstance(result.error, InputError), result.error
    assert field in str(result.error) and emitted == []
    assert requests_log(admin) == []  # refused before any request


async def test_vendor_errors_carry_billwerk_messages(component: Component, cfg: dict[str, Any]) -> None:
    missing, _ = await run(component, cfg, "getCustomer", {"customerId": "0" * 24})
    assert isinstance(missing.error, ApiError) and missing.error.status == 404
    assert "not found" in str(missing.error)
    refused, _ = await run(component, cfg, "createOrder", {"body": {"CustomerId": "0" * 24, "Cart": {}}})
    assert isinstance(refused.error, ApiError) and refused.error.status == 422


async def test_429_burst_is_retried(component: Component, cfg: dict[str, Any], admin: httpx.Client) -> None:
    admin.put("/_sandbox/faults", json={"burst_429": 1, "retry_after": 0.05, "paths": "/api/v1/"}).raise_for_status()
    try:
        result, emitted = await run(component, cfg, "getPlanGroups")
    finally:
        admin.put("/_sandbox/faults", json={}).raise_for_status()
    assert result.error is None and emitted
