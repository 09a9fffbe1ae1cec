"""Both real specs generate completely, validly and deterministically."""

from __future__ import annotations

import json
import re
from functools import cache

import pytest
from jsonschema import Draft7Validator, Draft202012Validator

from skiff.openapi import render_component
from tests.shared_files import shared_file

BILLBEE_SPEC = shared_file("specs/billbee.v1.swagger.yaml")
PLENIGO_SPEC = shared_file("specs/plenigo.v3.openapi.json")

NAME = re.compile(r"^[A-Za-z]\w*$")


@cache
def rendered(spec: str) -> dict[str, str | bytes]:
    path = {"billbee": BILLBEE_SPEC, "plenigo": PLENIGO_SPEC}[spec]
    return render_component(path, name=spec)


@pytest.mark.parametrize(("spec", "count"), [("billbee", 80), ("plenigo", 314)])
def test_one_action_per_operation_with_unique_valid_names(spec: str, count: int) -> None:
    component = json.loads(rendered(spec)["component.json"])
    actions = component["actions"]
    assert len(actions) == count
    assert all(NAME.match(name) for name in actions)
    op_ids = [a["operationId"] for a in actions.values()]
    assert len(set(op_ids)) == count  # every operation exactly once
    for name, action in actions.items():
        assert action["metadata"] == {"in": f"./schemas/{name}.in.json", "out": f"./schemas/{name}.out.json"}
        assert action["request"]["method"] in {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"}


@pytest.mark.parametrize("spec", ["billbee", "plenigo"])
def test_every_schema_is_valid_draft7_and_2020_12(spec: str) -> None:
    files = rendered(spec)
    texts = {k: v for k, v in files.items() if k.startswith("schemas/")}
    assert len(texts) == 2 * len(json.loads(files["component.json"])["actions"])
    for text in set(texts.values()):  # many operations share a response: check each text once
        assert isinstance(text, str)
        schema = json.loads(text)
        Draft7Validator.check_schema(schema)
        Draft202012Validator.check_schema(schema)
        assert '"$ref"' not in text  # self-contained


def test_names_follow_the_operation_ids() -> None:
    actions = json.loads(rendered("billbee")["component.json"])["actions"]
    assert actions["orderApiGetList"]["operationId"] == "OrderApi_GetList"
    assert actions["cloudStorageApiGetList"]["operationId"] == "CloudStorageApi_GetList"
    plenigo = json.loads(rendered("plenigo")["component.json"])["actions"]
    assert plenigo["searchCustomers"]["operationId"] == "searchCustomers"


def test_utf8_is_written_as_is() -> None:
    files = rendered("plenigo")
    text = "".join(v for v in files.values() if isinstance(v, str))
    assert "customer’s" in text
    assert "\\u2019" not in text


def test_rendering_twice_gives_identical_bytes() -> None:
    for spec, path in (("billbee", BILLBEE_SPEC), ("plenigo", PLENIGO_SPEC)):
        assert render_component(path, name=spec) == rendered(spec)


def test_billbee_requests_and_base_url_from_the_spec_alone() -> None:
    component = json.loads(rendered("billbee")["component.json"])
    assert component["http"]["baseUrl"] == "{{ cfg.baseUrl or 'https://app.billbee.io' }}"
    find = component["actions"]["orderApiFind"]["request"]
    assert find["path"] == (
        "/api/v1/orders/find/{{ body.id | urlencode | replace('/', '%2F') }}"
        "/{{ body.partner | urlencode | replace('/', '%2F') }}"
    )
    get_list = component["actions"]["orderApiGetList"]["request"]
    assert get_list["query"]["shopId"] == "{{ body.shopId }}"  # collectionFormat multi: a native list
    new_order = component["actions"]["orderApiPostNewOrder"]
    assert new_order["request"]["body"] == "{{ body.body }}"
    schema = json.loads(rendered("billbee")["schemas/orderApiPostNewOrder.in.json"])
    assert set(schema["properties"]) == {"shopId", "body"}
    assert schema["required"] == ["body"]


def test_plenigo_recursion_is_cut_with_a_description() -> None:
    files = rendered("plenigo")
    cut = [k for k, v in files.items() if isinstance(v, str) and "recursive reference cut" in v]
    assert cut  # the spec has cycles; generation still finished
    sample = files[cut[0]]
    assert isinstance(sample, str)
    assert '"type": "object"' in sample
