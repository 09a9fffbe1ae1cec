"""The Billomat sandbox over HTTP: formats, list quirks, filters, rate limit, errors and lifecycles."""

from __future__ import annotations

import base64
import math
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import xmltodict

from skiff.sandbox import SandboxApp, SandboxServer, load_sandbox, serve

KEY = {"X-BillomatApiKey": "sandbox-api-key"}
JSON = {**KEY, "Accept": "application/json"}
LIMIT_MESSAGE = re.compile(r"^Maximum number of requests \((\d+) per (.+)\) reached\. Try again in (\d+) seconds\.$")


@pytest.fixture(scope="module")
def app() -> SandboxApp:
    return load_sandbox("billomat", seed=2)


@pytest.fixture(scope="module")
def server(app: SandboxApp) -> Iterator[SandboxServer]:
    with serve(app) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh(app: SandboxApp) -> None:
    app.reset()


@pytest.fixture()
def api(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, headers=JSON) as client:
        yield client


def records(body: dict[str, Any], plural: str, singular: str) -> list[dict[str, Any]]:
    """The list quirk undone: one record is an object, none has no key."""
    items = body[plural].get(singular, [])
    return items if isinstance(items, list) else [items]


def total(api: httpx.Client, plural: str, **params: Any) -> int:
    return int(api.get(f"/{plural}", params={"per_page": 1, **params}).json()[plural]["@total"])


# ------------------------------------------------------------------ formats


def test_xml_by_default(server: SandboxServer) -> None:
    response = httpx.get(server.base_url + "/clients", params={"per_page": 2}, headers=KEY)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert response.text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    doc = xmltodict.parse(response.text)["clients"]
    assert (doc["@type"], doc["@page"], doc["@per_page"]) == ("array", "1", "2")
    first = doc["client"][0]
    assert first["id"] == {"@type": "integer", "#text": "1"}
    assert first["created"]["@type"] == "datetime"


@pytest.mark.parametrize(
    ("headers", "params", "kind"),
    [
        ({"Accept": "application/json"}, {}, "json"),
        ({}, {"format": "json"}, "json"),
        ({"Accept": "application/json"}, {"format": "xml"}, "xml"),
        ({"Accept": "application/xml"}, {}, "xml"),
    ],
)
def test_negotiation(server: SandboxServer, headers: dict[str, str], params: dict[str, str], kind: str) -> None:
    response = httpx.get(server.base_url + "/clients/1", params=params, headers={**KEY, **headers})
    assert response.headers["content-type"].startswith(f"application/{kind}")
    if kind == "json":
        assert response.json()["client"]["id"] == "1"
    else:
        assert xmltodict.parse(response.text)["client"]["id"]["#text"] == "1"


def test_json_values_are_strings(api: httpx.Client) -> None:
    confirmation = api.get("/confirmations/2").json()["confirmation"]
    assert all(isinstance(v, str | dict) for v in confirmation.values())
    assert confirmation["id"] == "2" and re.fullmatch(r"\d+\.\d+", confirmation["total_gross"])
    assert confirmation["contact_id"] == ""  # empty values are empty strings
    assert confirmation["taxes"]["tax"]["rate"] == "19.0"  # one tax: an object, not a list
    client = api.get("/clients/1").json()["client"]
    assert client["archived"] in ("0", "1")  # booleans as 1/0


def test_list_envelope_quirks(api: httpx.Client) -> None:
    many = api.get("/clients", params={"per_page": 3}).json()["clients"]
    assert isinstance(many["client"], list) and len(many["client"]) == 3
    assert (many["@page"], many["@per_page"]) == ("1", "3") and many["@total"].isdigit()
    one = api.get("/clients", params={"per_page": 1}).json()["clients"]
    assert isinstance(one["client"], dict)
    empty = api.get("/clients", params={"name": "no such client"}).json()
    assert empty == {"clients": {"@page": "1", "@per_page": "100", "@total": "0"}}
    past_end = api.get("/clients", params={"page": 99}).json()["clients"]
    assert "client" not in past_end and past_end["@page"] == "99"


def test_paging(api: httpx.Client, app: SandboxApp) -> None:
    app.seed_resource("clients", 1100)
    count = len(app.store.table("clients"))
    assert api.get("/clients").json()["clients"]["@per_page"] == "100"  # default
    capped = api.get("/clients", params={"per_page": 5000}).json()["clients"]
    assert capped["@per_page"] == "1000" and len(capped["client"]) == 1000  # max 1000
    second = api.get("/clients", params={"per_page": 1000, "page": 2}).json()["clients"]
    assert len(second["client"]) == count - 1000 and capped["@total"] == str(count)
    ids = [c["id"] for c in capped["client"] + second["client"]]
    assert ids == [str(i) for i in range(1, count + 1)]
    assert api.get("/clients", params={"page": "x"}).status_code == 400


def test_order_by(api: httpx.Client) -> None:
    asc = [c["name"].lower() for c in records(api.get("/clients?order_by=name+ASC").json(), "clients", "client")]
    assert asc == sorted(asc)
    desc = api.get("/clients", params={"order_by": "name DESC,id ASC"}).json()
    names = [c["name"].lower() for c in records(desc, "clients", "client")]
    assert names == sorted(names, reverse=True)
    numbers = records(api.get("/invoices", params={"order_by": "total_gross DESC"}).json(), "invoices", "invoice")
    totals = [float(i["total_gross"]) for i in numbers]
    assert totals == sorted(totals, reverse=True)
    bad = api.get("/clients", params={"order_by": "nope ASC"})
    assert bad.status_code == 400 and bad.json() == {"errors": {"error": "Invalid order_by: nope ASC"}}


# ------------------------------------------------------------------ auth, rate limit, errors


def test_auth(server: SandboxServer) -> None:
    missing = httpx.get(server.base_url + "/clients", headers={"Accept": "application/json"})
    assert missing.status_code == 401 and missing.json() == {"errors": {"error": "Unauthorized"}}
    assert "X-Rate-Limit-Remaining" in missing.headers
    wrong = httpx.get(server.base_url + "/clients", headers={"X-BillomatApiKey": "nope"})
    assert wrong.status_code == 401 and "<error>Unauthorized</error>" in wrong.text
    by_query = httpx.get(server.base_url + "/clients", params={"api_key": "sandbox-api-key", "format": "json"})
    assert by_query.status_code == 200


def test_rate_limit_headers_on_every_response(api: httpx.Client, app: SandboxApp) -> None:
    responses = [
        api.get("/clients"),
        api.get("/clients/999999"),
        api.post("/clients", json={"client": {"name": "X"}}),
        api.delete("/clients"),
        api.get("/nothing"),
    ]
    assert [r.status_code for r in responses] == [200, 404, 201, 405, 404]
    remaining = [int(r.headers["X-Rate-Limit-Remaining"]) for r in responses]
    resets = {int(r.headers["X-Rate-Limit-Reset"]) for r in responses}
    if len(resets) == 1:  # unless a 15-minute boundary passed mid-test
        assert remaining == list(range(remaining[0], remaining[0] - 5, -1))
    reset = max(resets)
    assert reset % 900 == 0 and 0 < reset - time.time() <= 900


def test_429_after_the_window_is_used_up() -> None:
    app = load_sandbox("billomat", window_requests=5, window_seconds=3600)
    with serve(app) as server, httpx.Client(base_url=server.base_url, headers=JSON) as api:
        statuses = [api.get("/clients", params={"per_page": 1}).status_code for _ in range(5)]
        assert statuses == [200] * 5
        limited = api.get("/clients")
        assert limited.status_code == 429
        assert limited.headers["X-Rate-Limit-Remaining"] == "0"
        reset = int(limited.headers["X-Rate-Limit-Reset"])
        assert reset % 3600 == 0
        match = LIMIT_MESSAGE.match(limited.json()["errors"]["error"])
        assert match and match.group(1, 2) == ("5", "60 minutes")
        assert abs(int(match.group(3)) - (reset - time.time())) < 5
        xml = api.get("/clients", headers={"Accept": "application/xml"})
        assert xml.status_code == 429 and "<error>Maximum number of requests" in xml.text


def test_window_resets() -> None:
    app = load_sandbox("billomat", window_requests=2, window_seconds=1)
    with serve(app) as server, httpx.Client(base_url=server.base_url, headers=JSON) as api:
        seen_429 = None
        for _ in range(10):
            response = api.get("/articles", params={"per_page": 1})
            if response.status_code == 429:
                seen_429 = response
                break
        assert seen_429 is not None
        time.sleep(max(0.0, int(seen_429.headers["X-Rate-Limit-Reset"]) - time.time()) + 0.05)
        after = api.get("/articles", params={"per_page": 1})
        assert after.status_code == 200 and int(after.headers["X-Rate-Limit-Remaining"]) == 1


def test_fault_429_uses_documented_body(api: httpx.Client, app: SandboxApp) -> None:
    app.faults.burst_429 = 1
    limited = api.get("/clients")
    assert limited.status_code == 429 and LIMIT_MESSAGE.match(limited.json()["errors"]["error"])
    assert limited.headers["X-Rate-Limit-Remaining"] == "0"


@pytest.mark.parametrize(
    ("content", "content_type", "message"),
    [
        (b'{"client": {"name": ', "application/json", "Invalid JSON"),
        (b"<client><name>x</client>", "application/xml", "Invalid XML"),
        (b'{"name": "no root"}', "application/json", "expected the element <client>"),
        (b'{"client": {"name": "x", "email": "nope"}}', "application/json", "Invalid email address: nope"),
        (b'{"client": {"name": "x", "country_code": "Germany"}}', "application/json", "Invalid country code"),
        (b'{"client": {"name": "x", "due_days": "soon"}}', "application/json", "Invalid value for due_days"),
        (
            b'{"client": {"name": "x", "net_gross": "BOTH"}}',
            "application/json",
            "Invalid value for net_gross",
        ),
        (b'{"client": {"street": "only"}}', "application/json", "name"),
        (b"", "application/json", "Missing request body"),
    ],
)
def test_bad_requests_change_nothing(
    api: httpx.Client, app: SandboxApp, content: bytes, content_type: str, message: str
) -> None:
    before = app.store.counts()
    response = api.post("/clients", content=content, headers={"Content-Type": content_type})
    assert response.status_code == 400
    assert message in response.json()["errors"]["error"]
    assert app.store.counts() == before


def test_errors_in_xml(server: SandboxServer) -> None:
    response = httpx.get(server.base_url + "/confirmations/424242", headers=KEY)
    assert response.status_code == 404
    assert xmltodict.parse(response.text) == {"errors": {"error": "Confirmation not found"}}


# ------------------------------------------------------------------ clients, contacts, properties, tags


def test_create_client_json_and_xml(api: httpx.Client) -> None:
    body = {
        "client": {
            "name": "Test Company",
            "first_name": "Tara",
            "last_name": "Testarossa",
            "street": "Via Ticino 6",
            "city": "Turin",
            "country_code": "it",
        }
    }
    created = api.post("/clients", json=body)
    assert created.status_code == 201
    client = created.json()["client"]
    assert client["country_code"] == "IT" and client["created"] == client["updated"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", client["created"])
    xml = '<client><name>XML GmbH</name><due_days type="integer">30</due_days><archived>0</archived></client>'
    from_xml = api.post("/clients", content=xml, headers={"Content-Type": "application/xml"})
    assert from_xml.status_code == 201 and from_xml.json()["client"]["due_days"] == "30"
    updated = api.put(f"/clients/{client['id']}", json={"client": {"street": "Via Ticino 1"}}).json()["client"]
    assert updated["street"] == "Via Ticino 1" and updated["name"] == "Test Company"
    assert updated["updated"] >= client["updated"]


def test_client_filters(api: httpx.Client) -> None:
    client = api.post(
        "/clients",
        json={
            "client": {
                "name": "Zebra Filter GmbH",
                "email": "zebra@example.com",
                "first_name": "Zora",
                "last_name": "Zett",
                "note": "Sonderfall",
                "country_code": "LU",
            }
        },
    ).json()["client"]
    cid = client["id"]
    for params in (
        {"name": "zebra filter"},
        {"email": "ZEBRA@"},
        {"first_name": "zora"},
        {"last_name": "zett"},
        {"country_code": "lu"},
        {"note": "sonderfall"},
        {"client_number": client["client_number"]},
    ):
        found = records(api.get("/clients", params=params).json(), "clients", "client")
        assert cid in [c["id"] for c in found], params
    api.post("/client-tags", json={"client-tag": {"client_id": cid, "name": "zebra-tag"}})
    assert [c["id"] for c in records(api.get("/clients?tags=zebra-tag").json(), "clients", "client")] == [cid]
    prop = records(api.get("/client-properties").json(), "client-properties", "client-property")[0]
    value = api.post(
        "/client-property-values",
        json={"client-property-value": {"client_id": cid, "client_property_id": prop["id"], "value": "ext-1237"}},
    )
    assert value.status_code == 201 and value.json()["client-property-value"]["name"] == prop["name"]
    found = records(api.get("/clients", params={f"property{prop['id']}": "ext-1237"}).json(), "clients", "client")
    assert [c["id"] for c in found] == [cid]
    invoice = records(api.get("/invoices", params={"per_page": 1}).json(), "invoices", "invoice")[0]
    owners = records(api.get("/clients", params={"invoice_id": invoice["id"]}).json(), "clients", "client")
    assert [c["id"] for c in owners] == [invoice["client_id"]]


def test_customfield(api: httpx.Client) -> None:
    put = api.put("/clients/3/customfield", json={"client": {"customfield": "muster"}})
    assert put.status_code == 200 and put.json() == {"client": {"customfield": "muster"}}
    assert api.get("/clients/3/customfield").json() == {"client": {"customfield": "muster"}}
    assert api.get("/clients/3").json()["client"]["customfield"] == "muster"
    found = records(api.get("/clients", params={"customfield": "muster"}).json(), "clients", "client")
    assert [c["id"] for c in found] == ["3"]


def test_contacts(api: httpx.Client) -> None:
    client = api.post("/clients", json={"client": {"name": "Kontakt AG"}}).json()["client"]
    contact = api.post(
        "/contacts",
        json={"contact": {"client_id": client["id"], "first_name": "Mustafa", "last_name": "Mustaman"}},
    ).json()["contact"]
    listed = records(api.get("/contacts", params={"client_id": client["id"]}).json(), "contacts", "contact")
    assert [c["id"] for c in listed] == [contact["id"]]
    by_name = records(api.get("/contacts", params={"last_name": "mustaman"}).json(), "contacts", "contact")
    assert contact["id"] in [c["id"] for c in by_name]
    assert api.post("/contacts", json={"contact": {"last_name": "Orphan"}}).status_code == 400
    unknown = api.post("/contacts", json={"contact": {"client_id": 999999, "last_name": "X"}})
    assert unknown.status_code == 400 and unknown.json()["errors"]["error"] == "Client with id 999999 not found"
    assert api.delete(f"/contacts/{contact['id']}").status_code == 200
    assert api.get(f"/contacts/{contact['id']}").status_code == 404


def test_client_delete_rules(api: httpx.Client) -> None:
    owner = records(api.get("/invoices", params={"per_page": 1}).json(), "invoices", "invoice")[0]["client_id"]
    refused = api.delete(f"/clients/{owner}")
    assert refused.status_code == 400 and "documents" in refused.json()["errors"]["error"]
    client = api.post("/clients", json={"client": {"name": "Weg GmbH"}}).json()["client"]
    api.post("/contacts", json={"contact": {"client_id": client["id"], "last_name": "Mit"}})
    tag = api.post("/client-tags", json={"client-tag": {"client_id": client["id"], "name": "x"}}).json()
    tag_url = f"/client-tags/{tag['client-tag']['id']}"
    assert api.put(tag_url, json={"client-tag": {"name": "y"}}).status_code == 405  # tags cannot be edited
    assert api.delete(f"/clients/{client['id']}").status_code == 200
    assert total(api, "contacts", client_id=client["id"]) == 0
    assert api.get(tag_url).status_code == 404  # went with the client


def test_articles(api: httpx.Client) -> None:
    created = api.post(
        "/articles",
        json={"article": {"title": "Beratung Spezial", "sales_price": "95.5", "currency_code": "EUR"}},
    )
    assert created.status_code == 201
    article = created.json()["article"]
    assert article["article_number"] == f"ART{article['number']}" and article["sales_price"] == "95.5"
    found = records(api.get("/articles", params={"title": "spezial"}).json(), "articles", "article")
    assert [a["id"] for a in found] == [article["id"]]
    assert api.post("/articles", json={"article": {"description": "no title"}}).status_code == 400
    assert api.delete(f"/articles/{article['id']}").status_code == 200


# ------------------------------------------------------------------ confirmations and other documents


def new_confirmation(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    body = {
        "confirmation": {
            "client_id": 5,
            "date": "2009-11-17",
            **fields,
            "confirmation-items": {
                "confirmation-item": [
                    {"unit": "Stück", "unit_price": "100", "quantity": "2", "title": "Muster"},
                    {
                        "unit": "Stück",
                        "unit_price": "50",
                        "quantity": "1",
                        "title": "Muster 2",
                        "tax_rate": "7",
                        "tax_name": "MwSt reduziert",
                    },
                ]
            },
        }
    }
    response = api.post("/confirmations", json=body)
    assert response.status_code == 201, response.text
    confirmation: dict[str, Any] = response.json()["confirmation"]
    return confirmation


def test_confirmation_totals_and_items(api: httpx.Client, app: SandboxApp) -> None:
    confirmation = new_confirmation(api, reduction="10%")
    app.clock.advance(5)  # timestamps have whole seconds
    assert confirmation["status"] == "DRAFT" and confirmation["confirmation_number"] == f"AB{confirmation['number']}"
    assert confirmation["total_net_unreduced"] == "250.0" and confirmation["total_net"] == "225.0"
    taxes = {t["rate"]: t["amount"] for t in confirmation["taxes"]["tax"]}
    assert taxes == {"7.0": "3.15", "19.0": "34.2"}
    assert confirmation["total_gross"] == "262.35"
    assert "Deutschland" in confirmation["address"] or confirmation["address"]
    items = records(
        api.get("/confirmation-items", params={"confirmation_id": confirmation["id"]}).json(),
        "confirmation-items",
        "confirmation-item",
    )
    assert [i["title"] for i in items] == ["Muster", "Muster 2"] and items[0]["total_net"] == "200.0"
    added = api.post(
        "/confirmation-items",
        json={
            "confirmation-item": {
                "confirmation_id": confirmation["id"],
                "unit_price": "10",
                "quantity": "1",
                "title": "Extra",
            }
        },
    )
    assert added.status_code == 201
    after = api.get(f"/confirmations/{confirmation['id']}").json()["confirmation"]
    assert after["total_net_unreduced"] == "260.0"
    assert after["updated"] > confirmation["updated"]  # item changes update the document


def test_confirmation_create_in_xml(server: SandboxServer) -> None:
    xml = """<confirmation><client_id>5</client_id><date>2009-11-17</date><confirmation-items>
      <confirmation-item><unit>Stück</unit><unit_price>1.23</unit_price><quantity>1.5</quantity>
      <title>Muster</title></confirmation-item></confirmation-items></confirmation>"""
    response = httpx.post(
        server.base_url + "/confirmations",
        content=xml.encode(),
        headers={**KEY, "Content-Type": "application/xml"},
    )
    assert response.status_code == 201
    doc = xmltodict.parse(response.text)["confirmation"]
    assert doc["status"] == "DRAFT" and doc["total_net"]["#text"] == "1.84"
    assert doc["taxes"]["tax"]["rate"]["#text"] == "19.0"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"client_id": None}, "Missing required field: client_id"),
        ({"client_id": 999999}, "Client with id 999999 not found"),
        ({"date": "17.11.2009"}, "Invalid value for date"),
        ({"contact_id": 1, "client_id": 2}, "does not belong to client"),
        ({"reduction": "lots"}, "Invalid reduction"),
        (
            {"confirmation-items": {"confirmation-item": {"unit_price": "cheap"}}},
            "Invalid value for unit_price",
        ),
    ],
)
def test_confirmation_create_errors(api: httpx.Client, app: SandboxApp, fields: dict[str, Any], message: str) -> None:
    before = app.store.counts()
    body = {"confirmation": {"client_id": 5, **fields}}
    if body["confirmation"]["client_id"] is None:
        del body["confirmation"]["client_id"]
    if fields.get("contact_id"):
        other = next(c for c in app.store.table("contacts") if c["client_id"] != 2)
        body["confirmation"]["contact_id"] = other["id"]
    response = api.post("/confirmations", json=body)
    assert response.status_code == 400
    assert message in response.json()["errors"]["error"]
    assert app.store.counts() == before


def test_confirmation_lifecycle(api: httpx.Client, app: SandboxApp) -> None:
    cid = new_confirmation(api)["id"]
    url = f"/confirmations/{cid}"
    assert (
        api.put(url, json={"confirmation": {"label": "Projekt 123"}}).json()["confirmation"]["label"] == "Projekt 123"
    )
    assert api.get(f"{url}/pdf").status_code == 404  # no PDF for a draft
    assert api.post(f"{url}/email", json={"email": {"recipients": {"to": "a@example.com"}}}).status_code == 400
    for command in ("cancel", "clear", "unclear", "uncancel"):
        assert api.put(f"{url}/{command}").status_code == 400, command

    assert api.put(f"{url}/complete", json={"complete": {"template_id": 123}}).status_code == 200
    confirmation = api.get(url).json()["confirmation"]
    assert confirmation["status"] == "OPEN" and confirmation["template_id"] == "123"
    assert api.put(f"{url}/complete").status_code == 400
    edit = api.put(url, json={"confirmation": {"label": "zu spät"}})
    assert edit.status_code == 400 and "not a draft" in edit.json()["errors"]["error"]
    item = records(
        api.get("/confirmation-items", params={"confirmation_id": cid}).json(),
        "confirmation-items",
        "confirmation-item",
    )[0]
    assert api.put(f"/confirmation-items/{item['id']}", json={"confirmation-item": {"quantity": 9}}).status_code == 400
    assert api.delete(f"/confirmation-items/{item['id']}").status_code == 400

    pdf = api.get(f"{url}/pdf").json()["pdf"]
    raw = base64.b64decode(pdf["base64file"])
    assert raw.startswith(b"%PDF-1.4") and pdf["filesize"] == str(len(raw)) and pdf["confirmation_id"] == cid
    direct = api.get(f"{url}/pdf", params={"format": "pdf"})
    assert direct.headers["content-type"] == "application/pdf" and direct.content == raw
    pdf_xml = xmltodict.parse(api.get(f"{url}/pdf", headers={"Accept": "application/xml"}).text)["pdf"]
    assert base64.b64decode(pdf_xml["base64file"]) == raw

    email = {
        "email": {
            "from": "info@billomat.com",
            "recipients": {"to": "info@billomat.com", "cc": "mail@example.com"},
            "subject": "Bestätigung des Auftrags",
            "filename": "Auftragsbestätigung",
        }
    }
    assert api.post(f"{url}/email", json=email).status_code == 200
    bad_email = {"email": {"recipients": {"to": "not-an-address"}}}
    assert api.post(f"{url}/email", json=bad_email).status_code == 400
    assert api.post(f"{url}/email", json={"email": {"subject": "x"}}).status_code == 400
    xml_mail = "<mail><color>0</color><duplex>1</duplex><paper_weight>90</paper_weight></mail>"
    assert api.post(f"{url}/mail", content=xml_mail, headers={"Content-Type": "application/xml"}).status_code == 200
    assert api.post(f"{url}/mail", json={"mail": {"paper_weight": 70}}).status_code == 400
    outbox = app.store.table("outbox").list()
    assert [(m["channel"], m["document"]) for m in outbox] == [("email", url[1:]), ("letter", url[1:])]

    steps = [
        ("clear", "CLEARED"),
        ("unclear", "OPEN"),
        ("cancel", "CANCELED"),
        ("uncancel", "OPEN"),
        ("clear", "CLEARED"),
        ("cancel", "CANCELED"),
        ("uncancel", "CLEARED"),
    ]
    for command, status in steps:
        assert api.put(f"{url}/{command}").status_code == 200, command
        assert api.get(url).json()["confirmation"]["status"] == status, command
    assert api.put(f"{url}/win").status_code == 404  # offers only

    assert api.delete(url).status_code == 200
    assert api.get(url).status_code == 404
    assert total(api, "confirmation-items", confirmation_id=cid) == 0


def test_confirmation_filters(api: httpx.Client) -> None:
    cid = new_confirmation(api, label="Filterprojekt", intro="Hallo Welt", note="Bitte beachten")["id"]
    api.post("/confirmation-tags", json={"confirmation-tag": {"confirmation_id": cid, "name": "eilig"}})
    article_id = records(api.get("/articles", params={"per_page": 1}).json(), "articles", "article")[0]["id"]
    api.post(
        "/confirmation-items",
        json={
            "confirmation-item": {
                "confirmation_id": cid,
                "article_id": article_id,
                "unit_price": 1,
                "quantity": 1,
            }
        },
    )
    number = api.get(f"/confirmations/{cid}").json()["confirmation"]["confirmation_number"]
    for params in (
        {"label": "filterprojekt"},
        {"intro": "welt"},
        {"note": "beachten"},
        {"tags": "eilig"},
        {"client_id": 5},
        {"confirmation_number": number.lower()},
        {"article_id": article_id},
        {"status": "OPEN,DRAFT"},
        {"from": "2009-11-17", "to": "2009-11-17"},
    ):
        found = records(api.get("/confirmations", params=params).json(), "confirmations", "confirmation")
        assert cid in [c["id"] for c in found], params
    assert total(api, "confirmations", status="CLEARED", label="filterprojekt") == 0
    seeded = records(api.get("/confirmations", params={"status": "CANCELED"}).json(), "confirmations", "confirmation")
    assert seeded and all(c["status"] == "CANCELED" for c in seeded)
    assert api.get("/confirmations", params={"from": "17.11.2009"}).status_code == 400


def test_invoices_and_offers(api: httpx.Client) -> None:
    paid = records(api.get("/invoices", params={"status": "PAID"}).json(), "invoices", "invoice")
    assert paid and all(i["open_amount"] == "0.0" for i in paid)
    refused = api.delete(f"/invoices/{paid[0]['id']}")
    assert refused.status_code == 400 and "cannot be deleted" in refused.json()["errors"]["error"]
    invoice = api.post(
        "/invoices",
        json={
            "invoice": {
                "client_id": 3,
                "date": "2024-05-01",
                "due_days": 30,
                "invoice-items": {"invoice-item": {"title": "Beratung", "quantity": 2, "unit_price": 95}},
            }
        },
    )
    body = invoice.json()["invoice"]
    assert body["invoice_number"].startswith("RE") and body["due_date"] == "2024-05-31"
    assert body["open_amount"] == body["total_gross"] == "226.1"
    iid = body["id"]
    assert api.put(f"/invoices/{iid}/clear").status_code == 404  # not an invoice method
    assert api.put(f"/invoices/{iid}/complete").status_code == 200
    assert api.put(f"/invoices/{iid}/cancel").status_code == 200
    assert api.put(f"/invoices/{iid}/uncancel").status_code == 200
    assert api.get(f"/invoices/{iid}").json()["invoice"]["status"] == "OPEN"

    offer = api.post("/offers", json={"offer": {"client_id": 3, "offer-items": {"offer-item": {"unit_price": 1}}}})
    oid = offer.json()["offer"]["id"]
    assert api.put(f"/offers/{oid}/win").status_code == 400  # drafts cannot be won
    assert api.put(f"/offers/{oid}/complete").status_code == 200
    assert api.put(f"/offers/{oid}/win").status_code == 200
    assert api.put(f"/offers/{oid}/lose").status_code == 400
    assert api.put(f"/offers/{oid}/clear").status_code == 200
    assert api.get(f"/offers/{oid}").json()["offer"]["status"] == "CLEARED"


def test_admin_seed_and_reset(server: SandboxServer, api: httpx.Client, app: SandboxApp) -> None:
    before = total(api, "confirmations")
    seeded = httpx.post(server.url + "/_sandbox/seed", json={"resource": "confirmations", "count": 3}).json()
    assert seeded["count"] == 3
    assert total(api, "confirmations") == before + 3
    newest = api.get(f"/confirmations/{seeded['ids'][-1]}").json()["confirmation"]
    assert newest["status"] == "DRAFT"
    assert math.isclose(
        float(newest["total_net"]),
        sum(
            float(i["total_net"])
            for i in records(
                api.get("/confirmation-items", params={"confirmation_id": newest["id"]}).json(),
                "confirmation-items",
                "confirmation-item",
            )
        ),
        abs_tol=0.01,
    )
    httpx.post(server.url + "/_sandbox/reset")
    assert total(api, "confirmations") == before
    again = load_sandbox("billomat", seed=2)  # same seed, same data (timestamps follow the clock)

    def data(sandbox: SandboxApp) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if k not in ("created", "updated")} for r in sandbox.store.table("clients")]

    assert data(again) == data(app)
