"""The Billomat component run through ``Executor.run`` against the Billomat sandbox.

Every action of ``component.json`` runs once (parametrised; a test fails when an action has no
body here), each trigger polls twice and once more after ``POST /_sandbox/seed``, and the
rate-limit, auth and input errors are checked end to end. Bodies pick their ids from the running
sandbox; actions that change a document's status get a fresh one so the order of tests does not
matter.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from skiff.clock import ManualClock
from skiff.component import Component, load_component
from skiff.errors import AuthError, InputError
from skiff.message import Message
from skiff.run import Event, Executor, RunResult
from skiff.sandbox import SandboxApp, SandboxServer, load_sandbox, serve
from tests.shared_files import shared_file

ROOT = Path(__file__).resolve().parents[3]
COMPONENT_DIR = ROOT / "components" / "billomat"
SPEC = json.loads((COMPONENT_DIR / "component.json").read_text(encoding="utf-8"))
ACTIONS = sorted(SPEC["actions"])
ACTIONS_IN_ORDER = list(SPEC["actions"])
TRIGGERS = sorted(SPEC["triggers"])
API_KEY = "sandbox-api-key"


@pytest.fixture(scope="module")
def component() -> Component:
    return load_component(COMPONENT_DIR)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[SandboxApp, SandboxServer]]:
    app = load_sandbox("billomat", seed=1)
    with serve(app) as server:
        yield app, server


@pytest.fixture(scope="module")
def cfg(sandbox: tuple[SandboxApp, SandboxServer]) -> dict[str, Any]:
    app, server = sandbox
    return {**app.default_credentials, "baseUrl": server.base_url}


@pytest.fixture(scope="module")
def api(sandbox: tuple[SandboxApp, SandboxServer]) -> Iterator[httpx.Client]:
    """Plain HTTP to the sandbox, for preparing records the way a Billomat user would."""
    headers = {"X-BillomatApiKey": API_KEY, "Accept": "application/json"}
    with httpx.Client(base_url=sandbox[1].base_url, headers=headers) as client:
        yield client


class Account:
    """Ids from the running sandbox, and fresh records for the actions that change or delete."""

    def __init__(self, app: SandboxApp, api: httpx.Client) -> None:
        self.app = app
        self.api = api

    def first(self, table: str, **equals: Any) -> dict[str, Any]:
        record = self.app.store.table(table).first(**equals)
        assert record is not None, f"no {table} record with {equals}"
        return dict(record)

    def client_id(self) -> int:
        """A client that has contacts (contacts are listed by client)."""
        return int(self.first("contacts")["client_id"])

    def fresh(self, resource: str) -> int:
        return int(self.app.seed_resource(resource, 1)[0]["id"])

    def fresh_client(self) -> int:
        """A client without documents (Billomat refuses to delete the others)."""
        return int(self.api.post("/clients", json={"client": {"name": "Löschmich GmbH"}}).json()["client"]["id"])

    def tag_id(self) -> int:
        body = {"client-tag": {"client_id": self.client_id(), "name": "to-delete"}}
        return int(self.api.post("/client-tags", json=body).json()["client-tag"]["id"])

    def item(self, kind: str) -> int:
        """A position of a fresh DRAFT document of ``kind`` (singular): editable."""
        doc_id = self.document(f"{kind}s")
        return int(self.first(f"{kind}-items", **{f"{kind}_id": doc_id})["id"])

    def comment(self, kind: str) -> int:
        body = {f"{kind}-comment": {f"{kind}_id": self.first(f"{kind}s")["id"], "comment": "to delete"}}
        return int(self.api.post(f"/{kind}-comments", json=body).json()[f"{kind}-comment"]["id"])

    def doc_tag(self, kind: str) -> int:
        body = {f"{kind}-tag": {f"{kind}_id": self.first(f"{kind}s")["id"], "name": "to-delete"}}
        return int(self.api.post(f"/{kind}-tags", json=body).json()[f"{kind}-tag"]["id"])

    def with_doc_tag(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """``body``, once a tag of ``kind`` exists (so the list has one whatever ran before)."""
        self.doc_tag(kind)
        return body

    def property_value(self) -> int:
        body = {"client-property-value": {"client_id": self.client_id(), "client_property_id": 2, "value": "x"}}
        return int(self.api.post("/client-property-values", json=body).json()["client-property-value"]["id"])

    def document(self, kind: str, *commands: str) -> int:
        """A fresh DRAFT document of ``kind`` (plural), taken through ``commands`` (complete, cancel, ...)."""
        doc_id = self.fresh(kind)
        for command in commands:
            response = self.api.put(f"/{kind}/{doc_id}/{command}")
            assert response.status_code == 200, response.text
        return doc_id


# The smallest PNG: the signature image of the upload actions.
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode()

ITEMS = [
    {"title": "Beratung", "unit": "Stunde", "quantity": 2, "unit_price": "95.00"},
    {"article_id": 1, "quantity": "1.5", "unit_price": 12.5, "tax_rate": 7},
]

# action name -> body builder
BODIES: dict[str, Callable[[Account], dict[str, Any]]] = {
    # ------------------------------------------------------------------ clients
    "listClients": lambda a: {"country_code": "DE", "order_by": "name ASC"},
    "getClient": lambda a: {"id": a.client_id()},
    "createClient": lambda a: {
        "name": "Test Company",
        "first_name": "Tara",
        "last_name": "Testarossa",
        "street": "Via Ticino 6",
        "city": "Turin",
        "country_code": "IT",
        "due_days": "30",
    },
    "updateClient": lambda a: {"id": str(a.client_id()), "street": "Via Ticino 1", "note": None},
    "deleteClient": lambda a: {"id": a.fresh_client()},
    # ------------------------------------------------------------------ contacts
    "listContacts": lambda a: {"last_name": "m"},
    "getContact": lambda a: {"id": a.first("contacts")["id"]},
    "createContact": lambda a: {
        "client_id": a.client_id(),
        "first_name": "Mustafa",
        "last_name": "Mustaman",
        "email": "mustafa@example.com",
    },
    "updateContact": lambda a: {"id": a.first("contacts")["id"], "street": "Thomas-Mann-Straße 7"},
    "deleteContact": lambda a: {"id": a.fresh("contacts")},
    # ------------------------------------------------------------------ properties and tags
    "listClientPropertyValues": lambda a: {"client_property_id": 1},
    "setClientPropertyValue": lambda a: {"client_id": a.client_id(), "client_property_id": "2", "value": "Handel"},
    "updateClientPropertyValue": lambda a: {"id": a.property_value(), "value": "Großhandel"},
    "deleteClientPropertyValue": lambda a: {"id": a.property_value()},
    "updateClientCustomfield": lambda a: {"id": a.client_id(), "customfield": "muster"},
    "listClientTags": lambda a: {"client_id": a.first("client-tags")["client_id"]},
    "createClientTag": lambda a: {"client_id": a.client_id(), "name": "skiff"},
    "deleteClientTag": lambda a: {"id": a.tag_id()},
    # ------------------------------------------------------------------ confirmations
    "listConfirmations": lambda a: {"status": "OPEN,CLEARED", "from": "2000-01-01"},
    "getConfirmation": lambda a: {"id": a.first("confirmations")["id"]},
    "createConfirmation": lambda a: {
        "client_id": a.client_id(),
        "date": "2024-02-01",
        "label": "Projekt 1",
        "items": ITEMS,
    },
    "updateConfirmation": lambda a: {"id": a.document("confirmations"), "label": "Projekt 2", "date": "2024-03-01"},
    "deleteConfirmation": lambda a: {"id": a.document("confirmations")},
    "completeConfirmation": lambda a: {"id": a.document("confirmations")},
    "getConfirmationPdf": lambda a: {"id": a.document("confirmations", "complete")},
    "emailConfirmation": lambda a: {
        "id": a.document("confirmations", "complete"),
        "to": "info@example.com",
        "cc": ["a@example.com", "b@example.com"],
        "subject": "Ihr Auftrag",
    },
    "cancelConfirmation": lambda a: {"id": a.document("confirmations", "complete")},
    "uncancelConfirmation": lambda a: {"id": a.document("confirmations", "complete", "cancel")},
    "clearConfirmation": lambda a: {"id": a.document("confirmations", "complete")},
    "unclearConfirmation": lambda a: {"id": a.document("confirmations", "complete", "clear")},
    # ------------------------------------------------------------------ invoices, offers, articles
    "mailConfirmation": lambda a: {"id": a.document("confirmations", "complete"), "color": True, "paper_weight": 80},
    "uploadConfirmationSignature": lambda a: {"id": a.document("confirmations", "complete"), "base64file": PNG},
    # ------------------------------------------------------------------ document positions, comments, tags
    **{
        name.replace("{D}", label): body
        for kind, label in (("confirmation", "Confirmation"), ("invoice", "Invoice"), ("offer", "Offer"))
        for name, body in {
            "list{D}Items": lambda a, k=kind: {f"{k}_id": a.first(f"{k}-items")[f"{k}_id"]},
            "get{D}Item": lambda a, k=kind: {"id": a.first(f"{k}-items")["id"]},
            "create{D}Item": lambda a, k=kind: {f"{k}_id": a.document(f"{k}s"), **ITEMS[0]},
            "update{D}Item": lambda a, k=kind: {"id": a.item(k), "quantity": "3", "title": "Geändert"},
            "delete{D}Item": lambda a, k=kind: {"id": a.item(k)},
            "list{D}Comments": lambda a, k=kind: {f"{k}_id": a.first(f"{k}-comments")[f"{k}_id"]},
            "create{D}Comment": lambda a, k=kind: {
                f"{k}_id": a.first(f"{k}s", status="OPEN")["id"],
                "comment": "Danke!",
            },
            "delete{D}Comment": lambda a, k=kind: {"id": a.comment(k)},
            "list{D}Tags": lambda a, k=kind: a.with_doc_tag(k, {}),
            "create{D}Tag": lambda a, k=kind: {f"{k}_id": a.first(f"{k}s")["id"], "name": "skiff"},
            "delete{D}Tag": lambda a, k=kind: {"id": a.doc_tag(k)},
        }.items()
    },
    "listInvoices": lambda a: {"status": "PAID", "maxPages": 1, "emitBehavior": "emitPage"},
    "getInvoice": lambda a: {"id": a.first("invoices")["id"]},
    "createInvoice": lambda a: {"client_id": a.client_id(), "due_days": 30, "items": ITEMS[:1]},
    "completeInvoice": lambda a: {"id": a.document("invoices"), "template_id": None},
    "getInvoicePdf": lambda a: {"id": a.document("invoices", "complete"), "output": "base64"},
    "uploadInvoiceSignature": lambda a: {"id": a.document("invoices", "complete"), "base64file": PNG},
    "listOffers": lambda a: {"emitBehavior": "fetchAll"},
    "getOffer": lambda a: {"id": a.first("offers")["id"]},
    "listArticles": lambda a: {"title": "a"},
    "getArticle": lambda a: {"id": a.first("articles")["id"]},
    "createArticle": lambda a: {"title": "Schraube M4", "sales_price": 0.12, "unit_id": 1},
}

# Billomat answers these with an empty body: the action emits {}.
NO_DATA = {
    name
    for name in ACTIONS
    if name.startswith(("delete", "complete", "email", "mail", "upload", "cancel", "uncancel", "clear", "unclear"))
}


def test_every_action_has_a_body() -> None:
    assert sorted(BODIES) == ACTIONS


async def run(
    component: Component,
    cfg: dict[str, Any],
    name: str,
    body: dict[str, Any] | None = None,
    *,
    snapshot: dict[str, Any] | None = None,
    executor: Executor | None = None,
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


def _records(component: Component, name: str, bodies: list[Any]) -> list[Any]:
    """The records in what a list action emitted (pages and fetchAll wrap them in ``results``)."""
    if component.function(name).model.pagination is None:
        return bodies
    out: list[Any] = []
    for body in bodies:
        out.extend(body["results"] if isinstance(body, dict) and "results" in body else [body])
    return out


@pytest.mark.parametrize("name", ACTIONS)
async def test_action(
    name: str,
    component: Component,
    cfg: dict[str, Any],
    sandbox: tuple[SandboxApp, SandboxServer],
    api: httpx.Client,
) -> None:
    body = BODIES[name](Account(sandbox[0], api))
    result, emitted = await run(component, cfg, name, body)
    assert result.error is None, f"{name}: {result.error!r}"
    assert result.data == len(emitted) >= 1
    bodies = [m.body for m in emitted]
    if name in NO_DATA:
        assert bodies == [{}]
        return
    validator = component.function(name).out_validator
    assert validator is not None
    for record in _records(component, name, bodies):
        assert record not in ({}, None), name
        assert validator.is_valid(record), (name, validator.errors(record, root="output", limit=3))


# ------------------------------------------------------------------ what the actions did


async def test_list_follows_pages_and_normalises_the_quirks(
    component: Component, cfg: dict[str, Any], sandbox: tuple[SandboxApp, SandboxServer]
) -> None:
    app = sandbox[0]
    app.seed_resource("articles", 600)
    total = len(app.store.table("articles"))
    result, emitted = await run(component, cfg, "listArticles", {"emitBehavior": "emitPage"})
    assert result.error is None
    pages = [m.body["results"] for m in emitted]
    assert [len(p) for p in pages[:2]] == [250, 250] and sum(map(len, pages)) == total
    # One match: Billomat sends an object, not a list; none: no item key at all.
    created, _ = await run(component, cfg, "createArticle", {"title": "Einzelstück Nr. 7"})
    assert created.error is None
    one, single = await run(component, cfg, "listArticles", {"title": "Einzelstück Nr. 7"})
    assert one.error is None and [m.body["title"] for m in single] == ["Einzelstück Nr. 7"]
    none, nothing = await run(component, cfg, "listArticles", {"title": "no such article"})
    assert none.error is None and nothing == []


async def test_create_wraps_the_body_and_items(
    component: Component, cfg: dict[str, Any], sandbox: tuple[SandboxApp, SandboxServer], api: httpx.Client
) -> None:
    client_id = Account(sandbox[0], api).client_id()
    body = {"client_id": client_id, "items": ITEMS, "note": None, "label": "Wrapped"}
    result, emitted = await run(component, cfg, "createConfirmation", body)
    assert result.error is None
    confirmation = emitted[0].body
    assert confirmation["status"] == "DRAFT" and confirmation["label"] == "Wrapped"
    assert confirmation["client_id"] == str(client_id)
    # 2 × 95.00 + 1.5 × 12.50 = 208.75 net
    assert float(confirmation["total_net"]) == pytest.approx(208.75)
    items = api.get("/confirmation-items", params={"confirmation_id": confirmation["id"]}).json()
    assert items["confirmation-items"]["@total"] == "2"


async def test_pdf_as_attachment(
    component: Component, cfg: dict[str, Any], sandbox: tuple[SandboxApp, SandboxServer], api: httpx.Client
) -> None:
    doc_id = Account(sandbox[0], api).document("invoices", "complete")
    result, emitted = await run(component, cfg, "getInvoicePdf", {"id": doc_id})
    assert result.error is None and len(emitted) == 1
    message = emitted[0]
    assert message.body["contentType"] == "application/pdf" and message.body["filename"].endswith(".pdf")
    attachment = message.attachments[message.body["filename"]]
    assert attachment.content is not None and attachment.content.startswith(b"%PDF")
    # The base64 variant carries the same file.
    result, emitted = await run(component, cfg, "getInvoicePdf", {"id": doc_id, "output": "base64"})
    assert base64.b64decode(emitted[0].body["base64file"]) == attachment.content


async def test_edit_outside_draft_is_refused(
    component: Component, cfg: dict[str, Any], sandbox: tuple[SandboxApp, SandboxServer], api: httpx.Client
) -> None:
    doc_id = Account(sandbox[0], api).document("confirmations", "complete")
    result, emitted = await run(component, cfg, "updateConfirmation", {"id": doc_id, "label": "x"})
    assert emitted == [] and result.error is not None
    assert result.error.one_line().startswith("error: ApiError: PUT /confirmations/")
    assert "not a draft" in str(result.error) and getattr(result.error, "status", None) == 400


# ------------------------------------------------------------------ credentials and select models


async def test_verify_credentials(component: Component, cfg: dict[str, Any]) -> None:
    async with Executor() as executor:
        assert await executor.verify(component, cfg) == {"verified": True}
        bad = await executor.verify(component, {**cfg, "apiKey": "wrong-key"})
    assert bad["verified"] is False and "401" in bad["reason"] and "wrong-key" not in bad["reason"]


async def test_select_client_properties(component: Component, cfg: dict[str, Any]) -> None:
    async with Executor() as executor:
        options = await executor.select(component, "setClientPropertyValue", "clientPropertyId", cfg)
    assert options == {"1": "Externe ID", "2": "Branche", "3": "Newsletter"}


async def test_property_from_the_field(
    component: Component, cfg: dict[str, Any], sandbox: tuple[SandboxApp, SandboxServer], api: httpx.Client
) -> None:
    client_id = Account(sandbox[0], api).client_id()
    body = {"client_id": client_id, "value": "1"}
    result, emitted = await run(component, {**cfg, "clientPropertyId": "3"}, "setClientPropertyValue", body)
    assert result.error is None
    assert (emitted[0].body["name"], emitted[0].body["value"]) == ("Newsletter", "1")


async def test_app_headers_are_sent(
    component: Component, cfg: dict[str, Any], sandbox: tuple[SandboxApp, SandboxServer]
) -> None:
    app = sandbox[0]
    app.log.clear()
    result, _ = await run(component, {**cfg, "appId": "my-app", "appSecret": "s3cret"}, "getArticle", {"id": 1})
    assert result.error is None
    headers = app.log.entries()[-1]["headers"]
    assert headers["x-appid"] == "my-app" and "x-appsecret" in headers
    assert headers["accept"] == "application/json"


# ------------------------------------------------------------------ errors


async def test_wrong_api_key_is_an_auth_error(component: Component, cfg: dict[str, Any]) -> None:
    result, emitted = await run(component, {**cfg, "apiKey": "not-the-key"}, "listClients")
    assert emitted == [] and isinstance(result.error, AuthError)
    assert result.exit_code == 3 and "not-the-key" not in result.error.one_line()
    assert "401" in str(result.error)


@pytest.mark.parametrize(
    ("name", "body", "field"),
    [
        ("createClient", {"name": 42}, "body.name"),
        ("createContact", {"first_name": "Ada"}, "client_id"),
        ("getClient", {"id": "1/../2"}, "body.id"),
        ("createConfirmation", {"client_id": 1, "items": [{"quantity": "viele"}]}, "body.items[0].quantity"),
        ("emailConfirmation", {"id": 1, "to": "a@example.com", "bcc": 7}, "body.bcc"),
        ("listClients", {"nmae": "typo"}, "nmae"),
    ],
)
async def test_bad_body_is_an_input_error(
    component: Component,
    cfg: dict[str, Any],
    sandbox: tuple[SandboxApp, SandboxServer],
    name: str,
    body: Any,
    field: str,
) -> None:
    app = sandbox[0]
    app.log.clear()
    result, emitted = await run(component, cfg, name, body)
    assert emitted == [] and isinstance(result.error, InputError)
    assert field in str(result.error) and str(result.error).startswith(name)
    assert app.log.entries() == []  # nothing was sent


# ------------------------------------------------------------------ triggers


SEEDED = {"Clients": "clients", "Contacts": "contacts", "Invoices": "invoices", "Confirmations": "confirmations"}


@pytest.mark.parametrize("name", TRIGGERS)
async def test_trigger(
    name: str, component: Component, cfg: dict[str, Any], sandbox: tuple[SandboxApp, SandboxServer]
) -> None:
    app, server = sandbox
    resource = next(v for k, v in SEEDED.items() if name.endswith(k))
    validator = component.function(name).out_validator
    assert validator is not None
    async with Executor() as executor:
        first, emitted = await run(component, cfg, name, executor=executor)
        assert first.error is None and first.snapshot
        ids = [int(m.body["id"]) for m in emitted]
        assert len(ids) == len(app.store.table(resource)) == len(set(ids))
        assert all(validator.is_valid(m.body) for m in emitted)
        assert len({m.id for m in emitted}) == len(emitted)  # deterministic, distinct message ids

        second, again = await run(component, cfg, name, snapshot=first.snapshot, executor=executor)
        assert second.error is None and again == []

        seeded = httpx.post(f"{server.url}/_sandbox/seed", json={"resource": resource, "count": 3})
        assert seeded.status_code < 300, seeded.text
        new_ids = sorted(int(r["id"]) for r in app.store.table(resource).list() if int(r["id"]) not in set(ids))
        third, fresh = await run(component, cfg, name, snapshot=second.snapshot, executor=executor)
        assert third.error is None
        assert [int(m.body["id"]) for m in fresh] == new_ids and len(new_ids) == 3

        fourth, none = await run(component, cfg, name, snapshot=third.snapshot, executor=executor)
        assert fourth.error is None and none == []


async def test_updated_trigger_sees_an_edit(
    component: Component, cfg: dict[str, Any], sandbox: tuple[SandboxApp, SandboxServer], api: httpx.Client
) -> None:
    app = sandbox[0]
    target = Account(app, api).client_id()
    async with Executor() as executor:
        updated, _ = await run(component, cfg, "updatedClients", executor=executor)
        new, _ = await run(component, cfg, "newClients", executor=executor)
        # Billomat's timestamps have whole seconds: the edit must fall into a later second than
        # the versions emitted so far to count as a new version.
        await asyncio.sleep(1.05)
        result, _ = await run(component, cfg, "updateClient", {"id": target, "note": "geändert"}, executor=executor)
        assert result.error is None
        updated2, changed = await run(component, cfg, "updatedClients", snapshot=updated.snapshot, executor=executor)
        new2, created = await run(component, cfg, "newClients", snapshot=new.snapshot, executor=executor)
    assert updated2.error is None and [int(m.body["id"]) for m in changed] == [target]
    assert changed[0].body["note"] == "geändert"
    assert new2.error is None and created == []  # an edit is not a new client


# ------------------------------------------------------------------ rate limit


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    """The time of the rate-limited sandbox's window and of the executors that call it: a
    window passes when the client waits for it, at once."""
    return ManualClock()  # starts on a window's first second


@pytest.fixture(scope="module")
def limited(clock: ManualClock) -> Iterator[tuple[SandboxApp, SandboxServer]]:
    """A sandbox whose account allows 3 requests per fixed 2-second window."""
    app = load_sandbox("billomat", seed=1, window_seconds=2, window_requests=3, now=clock.time)
    with serve(app) as server:
        yield app, server


def _exhaust(server: SandboxServer) -> None:
    """Use up the current window from outside the executor."""
    headers = {"X-BillomatApiKey": API_KEY, "Accept": "application/json"}
    with httpx.Client(base_url=server.base_url, headers=headers) as client:
        while client.get("/articles/1").status_code != 429:
            pass


async def test_429_is_absorbed(
    component: Component, limited: tuple[SandboxApp, SandboxServer], clock: ManualClock
) -> None:
    app, server = limited
    cfg = {**app.default_credentials, "baseUrl": server.base_url}
    _exhaust(server)
    async with Executor(clock=clock) as executor:
        result, emitted = await run(component, cfg, "getArticle", {"id": 1}, executor=executor)
        client = executor.client(component, cfg)
    assert result.error is None and len(emitted) == 1
    assert client is not None and client.stats.status_429 == 1  # waited for X-Rate-Limit-Reset, then retried
    assert clock.slept  # on the clock the sandbox's window reads


async def test_rate_limit_headers_are_followed(
    component: Component, limited: tuple[SandboxApp, SandboxServer], clock: ManualClock
) -> None:
    app, server = limited
    app.reset()  # a fresh count: 3 requests in this window
    cfg = {**app.default_credentials, "baseUrl": server.base_url}
    async with Executor(clock=clock) as executor:
        results = [await run(component, cfg, "getArticle", {"id": i}, executor=executor) for i in (1, 2, 3, 4, 5)]
        client = executor.client(component, cfg)
    assert all(r.error is None and len(e) == 1 for r, e in results)
    # After "X-Rate-Limit-Remaining: 0" the executor waited for the reset instead of drawing a 429.
    assert client is not None and client.stats.status_429 == 0 and client.stats.throttled_waits > 0


# ------------------------------------------------------------------ what the new actions did


async def test_set_client_property_value_updates_instead_of_adding_a_second(
    component: Component, cfg: dict[str, Any], sandbox: tuple[SandboxApp, SandboxServer], api: httpx.Client
) -> None:
    app = sandbox[0]
    client_id = Account(app, api).fresh("clients")
    for value in ("erst", "dann"):
        result, emitted = await run(
            component, cfg, "setClientPropertyValue", {"client_id": client_id, "client_property_id": 2, "value": value}
        )
        assert result.error is None and emitted[0].body["value"] == value
    values = app.store.table("client-property-values").list(client_id=client_id, client_property_id=2)
    assert [v["value"] for v in values] == ["dann"]  # one value, changed in place
    assert emitted[0].body["id"] == str(values[0]["id"])


async def test_client_list_filters_by_a_custom_property(
    component: Component, cfg: dict[str, Any], sandbox: tuple[SandboxApp, SandboxServer]
) -> None:
    app = sandbox[0]
    owners = {
        v["client_id"] for v in app.store.table("client-property-values").list(client_property_id=1, value="ext-1003")
    }
    assert owners and len(owners) < len(app.store.table("clients"))
    app.log.clear()
    result, emitted = await run(component, cfg, "listClients", {"properties": {"1": "ext-1003"}})
    assert result.error is None and {int(m.body["id"]) for m in emitted} == owners
    assert app.log.entries()[-1]["query"]["property1"] == "ext-1003"


async def test_contacts_are_listed_across_clients(
    component: Component, cfg: dict[str, Any], sandbox: tuple[SandboxApp, SandboxServer]
) -> None:
    app = sandbox[0]
    every, emitted = await run(component, cfg, "listContacts", {})
    assert every.error is None and len(emitted) == len(app.store.table("contacts"))
    assert len({m.body["client_id"] for m in emitted}) > 1
    wanted = emitted[0].body["last_name"]
    _, named = await run(component, cfg, "listContacts", {"last_name": wanted})
    assert named and all(wanted.lower() in m.body["last_name"].lower() for m in named)


async def test_positions_change_a_draft_only(
    component: Component, cfg: dict[str, Any], sandbox: tuple[SandboxApp, SandboxServer], api: httpx.Client
) -> None:
    account = Account(sandbox[0], api)
    doc_id = account.document("offers")
    before = float(account.first("offers", id=doc_id)["total_net"])
    result, emitted = await run(
        component, cfg, "createOfferItem", {"offer_id": doc_id, "quantity": 2, "unit_price": 10}
    )
    assert result.error is None and emitted[0].body["total_net"] == "20.0"
    assert float(account.first("offers", id=doc_id)["total_net"]) == pytest.approx(before + 20)
    done = account.document("invoices", "complete")
    refused, _ = await run(component, cfg, "createInvoiceItem", {"invoice_id": done, "title": "Nachtrag"})
    assert refused.error is not None and "not a draft" in str(refused.error)


async def test_history_and_signature(
    component: Component, cfg: dict[str, Any], sandbox: tuple[SandboxApp, SandboxServer], api: httpx.Client
) -> None:
    account = Account(sandbox[0], api)
    doc_id = account.document("confirmations", "complete")
    result, emitted = await run(component, cfg, "listConfirmationComments", {"confirmation_id": doc_id})
    assert result.error is None and [m.body["actionkey"] for m in emitted] == ["CREATE", "COMPLETE"]
    signed, _ = await run(component, cfg, "uploadConfirmationSignature", {"id": doc_id, "base64file": PNG})
    assert signed.error is None
    assert account.first("confirmations", id=doc_id)["_signature"].startswith(b"\x89PNG")
    draft = account.document("confirmations")
    refused, _ = await run(component, cfg, "uploadConfirmationSignature", {"id": draft, "base64file": PNG})
    assert refused.error is not None and "draft" in str(refused.error)


async def test_select_models_from_the_api(component: Component, cfg: dict[str, Any]) -> None:
    async with Executor() as executor:
        templates = await executor.select(component, "completeConfirmation", "templateId", cfg)
        mails = await executor.select(component, "emailConfirmation", "emailTemplateId", cfg)
        tags = await executor.select(component, "createClientTag", "tagName", cfg)
    assert templates["4"] == "Auftragsbestätigung Standard" and len(templates) == 4
    assert "Auftragsbestätigung versenden" in mails.values()
    assert set(tags) == set(tags.values()) and {"vip", "b2b"} & set(tags)


async def test_template_and_tag_fields_are_defaults(
    component: Component, cfg: dict[str, Any], sandbox: tuple[SandboxApp, SandboxServer], api: httpx.Client
) -> None:
    account = Account(sandbox[0], api)
    doc_id = account.document("confirmations")
    result, _ = await run(component, {**cfg, "templateId": "4"}, "completeConfirmation", {"id": doc_id})
    assert result.error is None and account.first("confirmations", id=doc_id)["template_id"] == 4
    client_id = account.client_id()
    tagged, emitted = await run(component, {**cfg, "tagName": "vip"}, "createClientTag", {"client_id": client_id})
    assert tagged.error is None and emitted[0].body["name"] == "vip"


# ------------------------------------------------------------------ the READMEs


def _readme_rows(text: str, header: str) -> list[list[str]]:
    section = text.split(header, 1)[1].split("\n\n", 1)[0]
    return [[c.strip() for c in line.strip("|").split(" | ")] for line in section.splitlines()[1:]]


def test_readme_lists_every_action_and_every_seed_item() -> None:
    readme = (COMPONENT_DIR / "README.md").read_text(encoding="utf-8")
    listed = [row[0].strip("`") for row in _readme_rows(readme, "| Action | Request | Title |\n|---|---|---|")]
    assert listed == ACTIONS_IN_ORDER
    seed_rows = _readme_rows(readme, "| Seed item | Request | Action |\n|---|---|---|")
    per_row = [[n for n in re.findall(r"`(\w+)`", row[2]) if n in SPEC["actions"]] for row in seed_rows]
    assert len(seed_rows) >= 30 and all(per_row), [r for r, names in zip(seed_rows, per_row, strict=True) if not names]
    named = {name for names in per_row for name in names}
    # Every request of the confirmations seed has its row.
    seed = shared_file("seeds/billomat-confirmations-api.de.txt").read_text(encoding="utf-8")
    documented = set(re.findall(r"^(GET|POST|PUT|DELETE) /api(/confirmations(?:/\{id\}(?:/\w+)?)?)", seed, re.M))
    requests = {tuple(row[1].strip("`").split(" ", 1)) for row in seed_rows if " /" in row[1]}
    assert documented and documented <= requests
    # The project README's Billomat row names every action of the seed table.
    row = next(
        line
        for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("| `billomat`")
    )
    items = {n for n in named if not re.search(r"(Item|Comment)s?$", n)}
    assert all(f"`{n}`" in row for n in items), sorted(n for n in items if f"`{n}`" not in row)
