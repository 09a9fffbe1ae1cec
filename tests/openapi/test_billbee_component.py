"""components/billbee: exactly what the generator makes from the spec and the overlay.

The regeneration test needs Billbee's spec from ../shared; the other tests read the committed
folder (which that test proves equal to a fresh generation), so they run on a fresh clone too.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from pydantic import TypeAdapter

from skiff.openapi import render_component
from skiff.specs import ApiKeyAuth, BasicAuth, HttpSpec, PagePagination, PaginationSpec, PollingSpec
from skiff.templating import render
from tests.openapi.openapi_helpers import BILLBEE_DIR
from tests.shared_files import shared_file

OVERLAY = BILLBEE_DIR / "overlay.yaml"


@cache
def component() -> dict[str, Any]:
    return json.loads((BILLBEE_DIR / "component.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def schema(name: str) -> dict[str, Any]:
    return json.loads((BILLBEE_DIR / "schemas" / f"{name}.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_regenerating_changes_no_file() -> None:
    spec = shared_file("specs/billbee.v1.swagger.yaml")
    files = render_component(spec, name="billbee", overlay=OVERLAY)
    for rel, content in files.items():
        on_disk = (BILLBEE_DIR / rel).read_bytes()
        expected = content if isinstance(content, bytes) else content.encode("utf-8")
        assert on_disk == expected, f"{rel} differs: regenerate components/billbee"
    generated = {rel for rel in files if rel.startswith("schemas/")}
    present = {f"schemas/{p.name}" for p in (BILLBEE_DIR / "schemas").glob("*.json")}
    assert present == generated  # no stale schema files


def test_folder_shape() -> None:
    for name in ("component.json", "README.md", "overlay.yaml", "logo.png"):
        assert (BILLBEE_DIR / name).is_file(), name
    for name in ("actions", "triggers", "schemas"):
        assert (BILLBEE_DIR / name).is_dir(), name
    assert (BILLBEE_DIR / "logo.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_credentials_and_http() -> None:
    comp = component()
    fields = comp["credentials"]["fields"]
    assert list(fields) == ["apiKey", "username", "password", "baseUrl"]
    assert fields["baseUrl"]["default"] == "https://api.billbee.io/api/v1"
    assert fields["password"]["viewClass"] == "PasswordFieldView"
    http = comp["http"]
    HttpSpec.model_validate(http)
    rendered = HttpSpec.model_validate(render(http, {"cfg": {"apiKey": "K", "username": "u", "password": "p"}}))
    assert rendered.baseUrl == "https://api.billbee.io/api/v1"
    assert isinstance(rendered.auth, list)
    api_key, basic = (next(a for a in rendered.auth if isinstance(a, kind)) for kind in (ApiKeyAuth, BasicAuth))
    assert (api_key.in_, api_key.name, api_key.value) == ("header", "X-Billbee-Api-Key", "K")
    assert (basic.username, basic.password) == ("u", "p")
    limits = {
        (lim.scope, tuple(lim.key)): lim.requests / lim.perSeconds for lim in rendered.rateLimits if not lim.endpoints
    }
    # Billbee's documented limits exactly: the limiter's completion stamps keep them (0 x 429).
    assert limits[("credential", ("apiKey",))] == 50
    assert limits[("credential", ("apiKey", "username"))] == 10
    assert limits[("endpoint", ("apiKey", "username"))] == 2
    assert rendered.envelope is not None
    assert (rendered.envelope.dataPath, rendered.envelope.errorCodePath) == ("Data", "ErrorCode")
    assert rendered.envelope.errorMessagePath == "ErrorMessage"
    assert comp["verifyCredentials"]["request"]["path"] == "/orders"


def test_paths_are_relative_to_the_base_url() -> None:
    for action in component()["actions"].values():
        assert not action["request"]["path"].startswith("/api/v1")


def test_list_actions_page_through_everything() -> None:
    adapter = TypeAdapter(PaginationSpec)
    paged = {name: a for name, a in component()["actions"].items() if "pagination" in a}
    assert {
        "orderApiGetList",
        "articleGetList",
        "customerGetAll",
        "shipmentGetList",
        "eventApiGetList",
    } <= set(paged)
    assert len(paged) == 11
    for name, action in paged.items():
        spec = adapter.validate_python(action["pagination"])
        assert isinstance(spec, PagePagination)
        assert (spec.size, spec.recordsPath, spec.totalPagesPath) == (250, "Data", "Paging.TotalPages")
        props = schema(f"{name}.in")["properties"]
        assert "emitBehavior" in props and "maxPages" in props
        # page/pageSize are inputs (they ask for one page), never templated into the query.
        assert props["page"]["type"] == props["pageSize"]["type"] == "integer"
        assert "page" not in props.get("required", []) and "page" not in action["request"].get("query", {})
    record = schema("orderApiGetList.out")
    assert "BillBeeOrderId" in record["properties"]  # one order, unwrapped from Data
    assert record["properties"]["ShippedAt"]["type"] == ["string", "null"]  # nullableOutputs


def test_triggers() -> None:
    triggers = component()["triggers"]
    assert set(triggers) == {
        "newOrders",
        "updatedOrders",
        "newProducts",
        "newShipments",
        "newEvents",
        "newCustomers",
    }
    expected = {
        "newOrders": ("id", "minimumBillBeeOrderId", "BillBeeOrderId"),
        "updatedOrders": ("timestamp", "modifiedAtMin", "LastModifiedAt"),
        "newProducts": ("id", "minimumBillBeeArticleId", "Id"),
        "newShipments": ("id", "minimumShipmentId", "BillbeeId"),
        "newEvents": ("timestamp", "minDate", "Created"),
        "newCustomers": ("id", None, "Id"),
    }
    for name, trigger in triggers.items():
        assert trigger["type"] == "polling"
        polling = PollingSpec.model_validate(trigger["polling"])
        assert (polling.cursorKind, polling.cursorParam, polling.cursorField) == expected[name]
        assert polling.pagination is not None
        out = schema(f"{name}.out")
        assert polling.cursorField in out["properties"], name
        assert polling.idField in out["properties"], name
    assert triggers["updatedOrders"]["polling"]["idField"] == "BillBeeOrderId"


def test_select_models_feed_fields() -> None:
    comp = component()
    models = comp["selectModels"]
    assert set(models) == {"orderStates", "paymentTypes", "shops", "cloudStorages"}
    used = set()
    for kind in ("actions", "triggers"):
        for fn in comp[kind].values():
            for field in (fn.get("fields") or {}).values():
                if field.get("model"):
                    assert field["model"] in models
                    used.add(field["model"])
    assert used == set(models)


def test_configuration_fields_are_defaults_the_message_overrides() -> None:
    actions = component()["actions"]
    query = actions["orderApiGetList"]["request"]["query"]
    assert render(query, {"cfg": {"shopId": ["7"]}, "body": {}})["shopId"] == ["7"]
    assert render(query, {"cfg": {"shopId": ["7"]}, "body": {"shopId": [1]}})["shopId"] == [1]
    state = actions["orderApiUpdateState"]["request"]
    assert render(state, {"cfg": {"newStateId": "4"}, "body": {"id": 9}})["body"] == {"NewStateId": 4}
    given = {"cfg": {"newStateId": "4"}, "body": {"id": 9, "body": {"NewStateId": 3}}}
    assert render(state, given)["body"] == {"NewStateId": 3}
    assert render(state, {"cfg": {}, "body": {"id": 9, "body": {"NewStateId": 3}}})["body"] == {"NewStateId": 3}
    assert "body" not in schema("orderApiUpdateState.in").get("required", [])


def test_readme_maps_every_flowground_action() -> None:
    seed = shared_file("seeds/billbee-flowground-connector-README.md")
    readme = (BILLBEE_DIR / "README.md").read_text(encoding="utf-8")
    seed_titles = re.findall(r"^### (.+)$", seed.read_text(encoding="utf-8").split("## Actions")[1], re.M)
    assert len(seed_titles) == 66
    rows = re.findall(r"^\| (\d+) \| .+ \| `(\w+)` \| `(\w+)` \|$", readme, re.M)
    assert [int(r[0]) for r in rows] == list(range(1, 67))
    actions = component()["actions"]
    for _, operation_id, action in rows:
        assert actions[action]["operationId"] == operation_id
    assert len({r[1] for r in rows}) == 66
    for tag in ("Orders", "Products", "Customers", "Webhooks"):
        assert f"### {tag} (" in readme


def test_the_lead_validator_accepts_the_folder() -> None:
    from skiff.component.validate import validate_component

    assert validate_component(BILLBEE_DIR) == []
