"""PyPI ``billomapy`` 2.5.3 against the Billomat sandbox.

billomapy pins ``requests==2.20.0`` and imports ``tornado``; requests that old does not fit the
project venv, so the client and its pinned dependencies are installed with pip into a cache
directory outside the repository and driven in a subprocess by a small script (never vendored).
What it sends, from its source: ``Accept`` and ``Content-Type: application/json``,
``X-BillomatApiKey``/``X-AppId``/``X-AppSecret`` headers, bodies as ``json.dumps(dict)`` (``null``
for cancel & co.), ``per_page=1000`` when iterating pages, and it reads ``@total``/``@per_page`` as
strings to decide whether to fetch the next page.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from skiff.sandbox import SandboxApp, SandboxServer, load_sandbox, serve

PIP_PACKAGES = [
    "billomapy==2.5.3",
    "requests==2.20.0",
    "urllib3==1.24.3",
    "chardet==3.0.4",
    "idna==2.7",
    "certifi==2024.8.30",
    "tornado==4.2",
]
PIP_DIR = Path(os.environ.get("SKIFF_TEST_PIP_DIR", Path.home() / ".cache" / "skiff-test-pip")) / "billomapy-2.5.3"

DRIVER = r"""
import json
import sys

import requests
from billomapy import Billomapy
from billomapy.resources import (
    CLIENT, CLIENT_PROPERTIES, CLIENT_PROPERTY, CLIENTS, CONFIRMATION, CONFIRMATION_ITEM, CONFIRMATION_ITEMS,
    CONFIRMATIONS, CONTACT, CONTACTS, EMAIL_TEMPLATE, EMAIL_TEMPLATES, TEMPLATE, TEMPLATES, UPLOAD_SIGNATURE,
)

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgAAAAAgABVKJPXQAAAABJRU5ErkJggg=="

api_url, scenario = sys.argv[1], sys.argv[2]


class Client(Billomapy):
    def rate_limit_exceeded(self, response):
        # billomapy's documented hook: overwrite it to handle 429.
        return {"limited": response.json(), "remaining": response.headers.get("X-Rate-Limit-Remaining"),
                "reset": response.headers.get("X-Rate-Limit-Reset")}


api = Client("sandbox", "sandbox-api-key", "app-id", "app-secret")
api.api_url = api_url  # the documented way to point billomapy somewhere else


def attempt(fn, *args):
    try:
        value = fn(*args)
    except requests.HTTPError as exc:
        return {"ok": False, "status": exc.response.status_code, "body": exc.response.json()}
    if isinstance(value, requests.Response):  # billomapy returns the response when the body is not JSON
        return {"ok": True, "status": value.status_code, "text": value.text}
    return {"ok": True, "value": value}


def clients():
    out = {}
    out["page1"] = api.get_clients_per_page(per_page=10, page=1)
    out["page3"] = api.get_clients_per_page(per_page=10, page=3)
    pages = api.get_all_clients()
    out["all_pages"] = len(pages)
    out["all"] = [c["id"] for c in Billomapy.resolve_response_data(CLIENTS, CLIENT, pages)]
    out["filtered"] = Billomapy.resolve_response_data(
        CLIENTS, CLIENT, api.get_all_clients(params={"country_code": "AT"}))
    last = out["page1"]["clients"]["@total"]  # client_number filters by "contains": KD1 would match KD10...
    out["one"] = api.get_clients_per_page(params={"client_number": "KD" + last})
    out["none"] = api.get_all_clients(params={"name": "no such client"})
    created = api.create_client({"client": {
        "name": "Test Company", "first_name": "Tara", "last_name": "Testarossa", "street": "Via Ticino 6",
        "city": "Turin", "country_code": "IT"}})
    out["created"] = created
    cid = created["client"]["id"]
    out["got"] = api.get_client(cid)
    out["updated"] = api.update_client(cid, {"client": {"street": "Via Ticino 1"}})
    out["bad_update"] = attempt(api.update_client, cid, {"client": {"email": "not-an-email"}})
    out["after_bad_update"] = api.get_client(cid)
    out["deleted"] = attempt(api.delete_client, cid)
    out["gone"] = attempt(api.get_client, cid)
    return out


def contacts():
    out = {}
    client = api.create_client({"client": {"name": "Kontakt GmbH"}})["client"]
    made = []
    for last in ("Mustaman", "Meyer", "Schulz"):
        made.append(api.create_contact_of_client({"contact": {
            "client_id": client["id"], "first_name": "Mustafa", "last_name": last, "street": "Musterstr. 1",
            "city": "Mutterstadt", "email": "mustafa@example.com"}}))
    out["created"] = made
    out["all"] = Billomapy.resolve_response_data(
        CONTACTS, CONTACT, api.get_all_contacts_of_client(client["id"]))
    cid = made[0]["contact"]["id"]
    out["updated"] = api.update_contact_of_client(cid, {"contact": {"street": "Thomas-Mann-Straße 7"}})
    out["got"] = api.get_contact_of_client(cid)
    out["deleted"] = attempt(api.delete_contact_of_client, cid)
    out["left"] = Billomapy.resolve_response_data(
        CONTACTS, CONTACT, api.get_all_contacts_of_client(client["id"]))
    out["bad"] = attempt(api.create_contact_of_client, {"contact": {"client_id": 999999, "last_name": "X"}})
    return out


def confirmations():
    out = {}
    client_id = api.get_clients_per_page(per_page=1)["clients"]["client"]["id"]
    created = api.create_confirmation({"confirmation": {
        "client_id": client_id, "date": "2009-11-17",
        "confirmation-items": {"confirmation-item": [
            {"unit": "Stück", "unit_price": 1.23, "quantity": 1.5, "title": "Muster"},
            {"unit": "Stück", "unit_price": "1.23", "quantity": "5", "title": "Muster 2"},
        ]},
    }})
    out["created"] = created
    cid = created["confirmation"]["id"]
    out["items"] = Billomapy.resolve_response_data(
        CONFIRMATION_ITEMS, CONFIRMATION_ITEM, api.get_all_items_of_confirmation(cid))
    out["updated"] = api.update_confirmation(
        cid, {"confirmation": {"date": "2009-10-13", "label": "Projekt 123"}})
    out["drafts"] = Billomapy.resolve_response_data(
        "confirmations", CONFIRMATION, api.get_all_confirmations(params={"status": "DRAFT"}))
    out["complete"] = attempt(api.complete_confirmation, cid, {"complete": {"template_id": 123}})
    out["edit_completed"] = attempt(api.update_confirmation, cid, {"confirmation": {"label": "nope"}})
    out["pdf"] = api.confirmation_pdf(cid)
    out["email"] = attempt(api.send_confirmation_email, cid, {"email": {
        "from": "info@billomat.com", "recipients": {"to": ["info@billomat.com", "a@example.com"]},
        "subject": "Bestätigung des Auftrags"}})
    out["email_bad"] = attempt(api.send_confirmation_email, cid, {"email": {"subject": "no recipients"}})
    out["cancel"] = attempt(api.cancel_confirmation, cid)
    out["after_cancel"] = api.get_confirmation(cid)["confirmation"]["status"]
    out["cancel_again"] = attempt(api.cancel_confirmation, cid)
    out["uncancel"] = attempt(api.uncancel_confirmation, cid)
    out["clear"] = attempt(api.mark_confirmation_as_clear, cid)
    out["after_clear"] = api.get_confirmation(cid)["confirmation"]["status"]
    out["unclear"] = attempt(api.mark_confirmation_as_unclear, cid)
    out["after_unclear"] = api.get_confirmation(cid)["confirmation"]["status"]
    out["deleted"] = attempt(api.delete_confirmation, cid)
    out["gone"] = attempt(api.get_confirmation, cid)
    return out


def subresources():
    # Positions, comments and tags of a confirmation, an invoice and an offer, the billomapy way.
    out = {}
    client_id = api.get_clients_per_page(per_page=1)["clients"]["client"]["id"]
    for kind in ("confirmation", "invoice", "offer"):
        fn = lambda verb, what="": getattr(api, verb.format(kind=kind, what=what))
        doc = fn("create_{kind}")({kind: {"client_id": client_id}})[kind]
        got = {}
        item = fn("create_{kind}_item")({kind + "-item": {kind + "_id": doc["id"], "title": "Muster",
                                                       "quantity": "2", "unit_price": "10"}})[kind + "-item"]
        got["item"] = item
        got["item_get"] = fn("get_{kind}_item")(item["id"])
        got["item_update"] = fn("update_{kind}_item")(item["id"], {kind + "-item": {"quantity": 3}})
        got["items"] = fn("get_all_items_of_{kind}")(doc["id"])
        got["doc_total"] = getattr(api, "get_" + kind)(doc["id"])[kind]["total_net"]
        got["item_delete"] = attempt(fn("delete_{kind}_item"), item["id"])
        comment = fn("create_{kind}_comment")({kind + "-comment": {kind + "_id": doc["id"], "comment": "Hallo"}})
        got["comment"] = comment
        got["comment_get"] = fn("get_{kind}_comment")(comment[kind + "-comment"]["id"])
        got["comments"] = fn("get_all_comments_of_{kind}")(doc["id"])
        got["comment_delete"] = attempt(fn("delete_{kind}_comment"), comment[kind + "-comment"]["id"])
        tag = fn("create_{kind}_tag")({kind + "-tag": {kind + "_id": doc["id"], "name": "eilig"}})
        got["tag"] = tag
        got["tags"] = fn("get_all_tags_of_{kind}")(doc["id"])
        got["tag_delete"] = attempt(fn("delete_{kind}_tag"), tag[kind + "-tag"]["id"])
        got["tags_after"] = fn("get_all_tags_of_{kind}")(doc["id"])
        out[kind] = got
    return out


def signature_and_letter():
    out = {}
    client_id = api.get_clients_per_page(per_page=1)["clients"]["client"]["id"]
    invoice = api.create_invoice({"invoice": {"client_id": client_id}})["invoice"]
    out["draft"] = attempt(api.upload_invoice_signature, invoice["id"], {"signature": {"base64file": PNG}})
    api.complete_invoice(invoice["id"], {"complete": {}})
    out["invoice"] = attempt(api.upload_invoice_signature, invoice["id"], {"signature": {"base64file": PNG}})
    hello = {"signature": {"base64file": "aGFsbG8="}}  # "hallo": base64, but no image
    out["not_an_image"] = attempt(api.upload_invoice_signature, invoice["id"], hello)
    confirmation = api.create_confirmation({"confirmation": {"client_id": client_id}})["confirmation"]
    api.complete_confirmation(confirmation["id"], {"complete": {}})
    # billomapy has no confirmation signature or letter call: its generic request helpers send them.
    out["confirmation"] = attempt(api._create_put_request, CONFIRMATIONS, confirmation["id"], UPLOAD_SIGNATURE,
                                  {"signature": {"base64file": PNG}})
    out["letter"] = attempt(api._create_post_request, CONFIRMATIONS,
                            {"mail": {"color": 0, "duplex": 1, "paper_weight": 90}}, confirmation["id"], "mail")
    out["letter_bad"] = attempt(api._create_post_request, CONFIRMATIONS, {"mail": {"paper_weight": 120}},
                                confirmation["id"], "mail")
    return out


def clients_extra():
    out = {}
    out["templates"] = Billomapy.resolve_response_data(TEMPLATES, TEMPLATE, api.get_all_templates())
    out["email_templates"] = Billomapy.resolve_response_data(
        EMAIL_TEMPLATES, EMAIL_TEMPLATE, api.get_email_templates(params={"type": "CONFIRMATION"}))
    values = Billomapy.resolve_response_data(CLIENT_PROPERTIES, CLIENT_PROPERTY, api.get_all_client_properties())
    first = values[0]
    out["by_property"] = Billomapy.resolve_response_data(CLIENTS, CLIENT, api.get_all_clients(
        params={"property" + first["client_property_id"]: first["value"]}))
    out["first_value"] = first
    out["value_update"] = api._create_put_request(CLIENT_PROPERTIES, first["id"], None,
                                                  {"client-property-value": {"value": "neu"}})
    out["value_delete"] = attempt(api._create_delete_request, CLIENT_PROPERTIES, first["id"])
    out["value_gone"] = attempt(api.get_client_property, first["id"])
    out["customfield"] = api._create_put_request(CLIENTS, first["client_id"], "customfield",
                                                 {"client": {"customfield": "muster"}})
    out["by_customfield"] = api.get_clients_per_page(params={"customfield": "muster"})
    # The seed lists contacts across clients, filtered by name (billomapy asks per client only).
    out["contacts_by_name"] = Billomapy.resolve_response_data(
        CONTACTS, CONTACT, [api._get_resource_per_page(resource=CONTACTS, params={"last_name": "m"})])
    return out


def ratelimit():
    return [api.get_client(1) for _ in range(4)]


print(json.dumps(globals()[scenario]()))
"""


@pytest.fixture(scope="session")
def billomapy_path() -> Path:
    """billomapy and its pinned dependencies, installed once into the cache dir (outside the repo)."""
    marker = PIP_DIR / ".installed"
    if not marker.exists() or marker.read_text() != " ".join(PIP_PACKAGES):
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--upgrade",
            "--target",
            str(PIP_DIR),
            *PIP_PACKAGES,
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            pytest.fail(f"pip install {' '.join(PIP_PACKAGES)} failed:\n{result.stderr[-2000:]}")
        marker.write_text(" ".join(PIP_PACKAGES))
    return PIP_DIR


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("billomapy-driver") / "driver.py"
    path.write_text(DRIVER)
    return path


@pytest.fixture(scope="module")
def app() -> SandboxApp:
    return load_sandbox("billomat", seed=5)


@pytest.fixture(scope="module")
def server(app: SandboxApp) -> Iterator[SandboxServer]:
    with serve(app) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh(app: SandboxApp) -> None:
    app.reset()


def run(path: Path, driver: Path, server: SandboxServer, scenario: str) -> Any:
    result = subprocess.run(
        [sys.executable, str(driver), server.base_url + "/", scenario],
        env={**os.environ, "PYTHONPATH": str(path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def test_clients(billomapy_path: Path, driver: Path, server: SandboxServer, app: SandboxApp) -> None:
    app.seed_resource("clients", 1005)  # more than billomapy's per_page=1000: two pages
    total = len(app.store.table("clients"))
    app.log.clear()
    out = run(billomapy_path, driver, server, "clients")

    page1 = out["page1"]["clients"]
    assert (page1["@page"], page1["@per_page"], page1["@total"]) == ("1", "10", str(total))
    assert [c["id"] for c in page1["client"]] == [str(i) for i in range(1, 11)]
    assert [c["id"] for c in out["page3"]["clients"]["client"]] == [str(i) for i in range(21, 31)]
    assert out["all_pages"] == 2
    assert out["all"] == [str(i) for i in range(1, total + 1)]
    assert out["filtered"] and all(c["country_code"] == "AT" for c in out["filtered"])
    one = out["one"]["clients"]
    assert one["@total"] == "1" and isinstance(one["client"], dict)  # a single result is an object
    assert out["none"] == []  # @total "0": billomapy collects nothing

    created = out["created"]["client"]
    assert created["name"] == "Test Company" and created["country_code"] == "IT"
    assert created["client_number"] == f"KD{created['number']}"
    assert created["archived"] == "0" and created["id"].isdigit()  # JSON scalars are strings
    assert out["got"] == out["created"]
    assert out["updated"]["client"]["street"] == "Via Ticino 1"
    assert out["bad_update"]["status"] == 400
    assert out["bad_update"]["body"] == {"errors": {"error": "Invalid email address: not-an-email"}}
    assert out["after_bad_update"] == out["updated"]
    assert out["deleted"] == {"ok": True, "status": 200, "text": ""}
    assert out["gone"] == {"ok": False, "status": 404, "body": {"errors": {"error": "Client not found"}}}

    api_calls = [e for e in app.log.entries() if e["path"].startswith("/api/")]
    assert all(e["headers"]["x-billomatapikey"] == "***" for e in api_calls)
    assert {"per_page": "1000", "page": "2"} in [e["query"] for e in api_calls]


def test_contacts(billomapy_path: Path, driver: Path, server: SandboxServer) -> None:
    out = run(billomapy_path, driver, server, "contacts")
    client_id = out["created"][0]["contact"]["client_id"]
    assert [c["last_name"] for c in out["all"]] == ["Mustaman", "Meyer", "Schulz"]
    assert all(c["client_id"] == client_id for c in out["all"])
    assert out["updated"]["contact"]["street"] == "Thomas-Mann-Straße 7"
    assert out["got"] == out["updated"]
    assert out["deleted"]["status"] == 200
    assert [c["last_name"] for c in out["left"]] == ["Meyer", "Schulz"]
    assert out["bad"]["status"] == 400 and "not found" in out["bad"]["body"]["errors"]["error"]


def test_confirmation_lifecycle(billomapy_path: Path, driver: Path, server: SandboxServer) -> None:
    out = run(billomapy_path, driver, server, "confirmations")
    created = out["created"]["confirmation"]
    assert created["status"] == "DRAFT" and created["confirmation_number"].startswith("AB")
    # 1.5 × 1.23 + 5 × 1.23 = 7.995 net, 19 % MwSt (the default tax)
    assert created["total_net"] == "8.0" and created["taxes"]["tax"]["rate"] == "19.0"
    assert [i["title"] for i in out["items"]] == ["Muster", "Muster 2"]
    assert out["updated"]["confirmation"]["date"] == "2009-10-13"
    assert created["id"] in [c["id"] for c in out["drafts"]]
    assert out["complete"] == {"ok": True, "status": 200, "text": ""}
    assert out["edit_completed"]["status"] == 400
    pdf = out["pdf"]["pdf"]
    assert pdf["confirmation_id"] == created["id"] and pdf["mimetype"] == "application/pdf"
    import base64

    assert base64.b64decode(pdf["base64file"]).startswith(b"%PDF") and pdf["filesize"].isdigit()
    assert out["email"]["ok"] is True
    assert out["email_bad"]["status"] == 400
    assert out["cancel"]["ok"] is True and out["after_cancel"] == "CANCELED"
    assert out["cancel_again"]["status"] == 400
    assert out["uncancel"]["ok"] is True
    assert out["clear"]["ok"] is True and out["after_clear"] == "CLEARED"
    assert out["unclear"]["ok"] is True and out["after_unclear"] == "OPEN"
    assert out["deleted"]["status"] == 200 and out["gone"]["status"] == 404


def test_rate_limit_hook(billomapy_path: Path, driver: Path) -> None:
    limited_app = load_sandbox("billomat", window_requests=2, window_seconds=3600)
    with serve(limited_app) as limited:
        out = run(billomapy_path, driver, limited, "ratelimit")
    assert [("client" in r) for r in out] == [True, True, False, False]
    hit = out[2]
    assert hit["remaining"] == "0" and int(hit["reset"]) % 3600 == 0
    assert hit["limited"]["errors"]["error"].startswith("Maximum number of requests (2 per 60 minutes) reached.")


def test_document_positions_comments_and_tags(billomapy_path: Path, driver: Path, server: SandboxServer) -> None:
    out = run(billomapy_path, driver, server, "subresources")
    for kind in ("confirmation", "invoice", "offer"):
        got = out[kind]
        item = got["item"]
        assert item["title"] == "Muster" and item["total_net"] == "20.0", kind
        assert got["item_get"][f"{kind}-item"] == item
        assert got["item_update"][f"{kind}-item"]["quantity"] == "3.0"
        items = got["items"][0][f"{kind}-items"]
        assert items["@total"] == "1" and isinstance(items[f"{kind}-item"], dict)  # one position: an object
        assert got["doc_total"] == "30.0"  # the document's totals follow its positions
        assert got["item_delete"] == {"ok": True, "status": 200, "text": ""}
        comment = got["comment"][f"{kind}-comment"]
        assert (comment["comment"], comment["actionkey"]) == ("Hallo", "COMMENT")
        assert got["comment_get"] == got["comment"]
        history = got["comments"][0][f"{kind}-comments"][f"{kind}-comment"]
        assert [c["actionkey"] for c in history] == ["CREATE", "COMMENT"]
        assert got["comment_delete"]["status"] == 200
        assert got["tag"][f"{kind}-tag"]["name"] == "eilig"
        assert got["tags"][0][f"{kind}-tags"][f"{kind}-tag"]["name"] == "eilig"
        assert got["tag_delete"]["status"] == 200 and got["tags_after"] == []


def test_signatures_and_letters(billomapy_path: Path, driver: Path, server: SandboxServer, app: SandboxApp) -> None:
    out = run(billomapy_path, driver, server, "signature_and_letter")
    assert out["draft"]["status"] == 400 and "draft" in out["draft"]["body"]["errors"]["error"]
    assert out["invoice"] == {"ok": True, "status": 200, "text": ""}
    assert out["not_an_image"]["status"] == 400
    assert out["confirmation"] == {"ok": True, "status": 200, "text": ""}
    assert out["letter"] == {"ok": True, "status": 200, "text": ""}
    assert out["letter_bad"]["status"] == 400
    letters = app.store.table("outbox").list(channel="letter")
    assert len(letters) == 1 and letters[0]["document"].startswith("confirmations/")


def test_templates_property_values_and_customfield(billomapy_path: Path, driver: Path, server: SandboxServer) -> None:
    out = run(billomapy_path, driver, server, "clients_extra")
    assert {t["type"] for t in out["templates"]} == {"INVOICE", "OFFER", "CONFIRMATION"}
    assert [t["type"] for t in out["email_templates"]] == ["CONFIRMATION"]
    first = out["first_value"]
    assert [c["id"] for c in out["by_property"]] == [first["client_id"]]
    assert out["value_update"]["client-property-value"]["value"] == "neu"
    assert out["value_delete"]["status"] == 200 and out["value_gone"]["status"] == 404
    assert out["customfield"] == {"client": {"customfield": "muster"}}
    assert out["by_customfield"]["clients"]["client"]["id"] == first["client_id"]
    contacts = out["contacts_by_name"]
    assert len({c["client_id"] for c in contacts}) > 1 and all("m" in c["last_name"].lower() for c in contacts)
