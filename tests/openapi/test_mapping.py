"""Operations → actions: names, in-schemas, request templates, out-schemas."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from skiff.errors import ConfigError
from skiff.openapi import render_component
from skiff.openapi.naming import access, action_name, camel
from skiff.templating import render
from tests.openapi.openapi_helpers import oas3, ok, swagger2

Spec = Callable[..., Path]


def generate(path: Path, overlay: Path | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    files = render_component(path, name="t", overlay=overlay)
    comp = json.loads(files["component.json"])  # type: ignore[arg-type]
    schemas = {k[len("schemas/") : -len(".json")]: json.loads(v) for k, v in files.items() if k.startswith("schemas/")}  # type: ignore[arg-type]
    return comp, schemas


def test_camel_case_names() -> None:
    assert camel("OrderApi_GetList") == "orderApiGetList"
    assert camel("searchCustomers") == "searchCustomers"
    assert camel("API_get-all") == "apiGetAll"
    assert camel("2fa_verify") == "op2faVerify"
    assert action_name(None, "GET", "/orders/{id}/tags") == "getOrdersByIdTags"
    assert access("body", "id") == "body.id"
    assert access("body", "X-Request-Id") == "body['X-Request-Id']"
    assert access("body", "items") == "body['items']"  # a dict method name would shadow the key
    assert access("cfg", "none") == "cfg['none']"


def test_duplicate_and_missing_operation_ids(write_spec: Spec) -> None:
    spec = oas3(
        {
            "/a": {"get": {"operationId": "list_things", "responses": ok()}},
            "/b": {"get": {"operationId": "listThings", "responses": ok()}},
            "/c/{cId}": {"delete": {"responses": ok()}},
        }
    )
    comp, _ = generate(write_spec(spec))
    assert list(comp["actions"]) == ["listThings", "listThings2", "deleteCByCId"]
    assert comp["actions"]["listThings2"]["operationId"] == "listThings"
    assert "operationId" not in comp["actions"]["deleteCByCId"]


def test_in_schema_and_request_templates(write_spec: Spec) -> None:
    spec = oas3(
        {
            "/orders/{orderId}/items/{n}": {
                "parameters": [{"name": "orderId", "in": "path", "required": True, "schema": {"type": "string"}}],
                "put": {
                    "operationId": "putItem",
                    "summary": "Replace an item. Needs the full item.",
                    "description": "Long text.",
                    "parameters": [
                        {"name": "n", "in": "path", "required": True, "schema": {"type": "integer"}},
                        {
                            "name": "tags",
                            "in": "query",
                            "explode": False,
                            "schema": {"type": "array", "items": {"type": "string"}},
                        },
                        {
                            "name": "ids",
                            "in": "query",
                            "schema": {"type": "array", "items": {"type": "integer"}},
                        },
                        {"name": "X-Request-Id", "in": "header", "schema": {"type": "string"}},
                        {"name": "Accept", "in": "header", "schema": {"type": "string"}},
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"type": "object", "properties": {"qty": {"type": "integer"}}}
                            }
                        },
                    },
                    "responses": {
                        "201": {
                            "description": "created",
                            "content": {
                                "application/json": {
                                    "schema": {"type": "object", "properties": {"id": {"type": "string"}}}
                                }
                            },
                        }
                    },
                },
            }
        }
    )
    comp, schemas = generate(write_spec(spec))
    action = comp["actions"]["putItem"]
    assert action["title"] == "Replace an item"
    assert action["description"] == "Needs the full item.\n\nLong text."
    request = action["request"]
    assert request["method"] == "PUT"
    in_schema = schemas["putItem.in"]
    assert list(in_schema["properties"]) == ["orderId", "n", "tags", "ids", "X-Request-Id", "body"]
    assert in_schema["required"] == ["orderId", "n", "body"]
    assert schemas["putItem.out"] == {"type": "object", "properties": {"id": {"type": "string"}}}
    body = {
        "orderId": "A/1 x",
        "n": 3,
        "tags": ["a", "b"],
        "ids": [1, 2],
        "X-Request-Id": "r1",
        "body": {"qty": 2},
    }
    out = render(request, {"cfg": {}, "body": body})
    assert out["path"] == "/orders/A%2F1%20x/items/3"
    assert out["query"] == {"tags": "a,b", "ids": [1, 2]}  # explode=false joins, explode=true repeats
    assert out["headers"] == {"X-Request-Id": "r1"}
    assert out["body"] == {"qty": 2}
    missing = render(request, {"cfg": {}, "body": {"orderId": "1", "n": 1}})
    assert missing["query"] == {"tags": None, "ids": None}  # None: the executor leaves them out
    assert missing["body"] is None


def test_swagger2_body_form_and_collection_formats(write_spec: Spec) -> None:
    spec = swagger2(
        {
            "/things": {
                "post": {
                    "operationId": "createThing",
                    "parameters": [
                        {"name": "body", "in": "query", "type": "string"},
                        {
                            "name": "payload",
                            "in": "body",
                            "required": True,
                            "schema": {"$ref": "#/definitions/Thing"},
                        },
                        {"name": "ids", "in": "query", "type": "array", "items": {"type": "integer"}},
                        {
                            "name": "pipes",
                            "in": "query",
                            "type": "array",
                            "collectionFormat": "pipes",
                            "items": {"type": "string"},
                        },
                    ],
                    "responses": {"200": {"description": "OK", "schema": {"$ref": "#/definitions/Thing"}}},
                }
            },
            "/upload": {
                "post": {
                    "operationId": "upload",
                    "consumes": ["application/x-www-form-urlencoded"],
                    "parameters": [
                        {"name": "name", "in": "formData", "type": "string", "required": True},
                        {"name": "size", "in": "formData", "type": "integer"},
                    ],
                    "responses": {"200": {"description": "OK", "schema": {"type": "file"}}},
                }
            },
        },
        definitions={"Thing": {"type": "object", "properties": {"name": {"type": "string"}}}},
    )
    comp, schemas = generate(write_spec(spec, "spec.yaml"))
    assert comp["http"]["baseUrl"] == "{{ cfg.baseUrl or 'https://api.example.com/v2' }}"
    create = comp["actions"]["createThing"]
    # A parameter is called "body", so the request body becomes "requestBody".
    assert create["request"]["body"] == "{{ body.requestBody }}"
    assert schemas["createThing.in"]["required"] == ["requestBody"]
    out = render(
        create["request"],
        {"cfg": {}, "body": {"ids": [1, 2], "pipes": ["a", "b"], "requestBody": {"name": "x"}}},
    )
    assert out["query"] == {"body": None, "ids": "1,2", "pipes": "a|b"}  # Swagger's default is csv
    upload = comp["actions"]["upload"]
    assert upload["request"]["form"] == {"name": "{{ body.body.name }}", "size": "{{ body.body.size }}"}
    assert upload["request"]["responseType"] == "binary"
    assert schemas["upload.in"]["properties"]["body"]["required"] == ["name"]


def test_servers_variables_and_yaml_dates(write_spec: Spec) -> None:
    spec = oas3(
        {"/x": {"get": {"operationId": "x", "responses": ok({"type": "string", "default": "2019-01-01"})}}},
        servers=[{"url": "https://{region}.example.com/api", "variables": {"region": {"default": "eu"}}}],
    )
    comp, schemas = generate(write_spec(spec, "spec.yaml"))
    assert comp["credentials"]["fields"]["baseUrl"]["default"] == "https://eu.example.com/api"
    assert schemas["x.out"] == {"type": "string", "default": "2019-01-01"}  # a string, not a date


def test_relative_server_makes_the_base_url_required(write_spec: Spec) -> None:
    comp, _ = generate(write_spec(oas3({"/x": {"get": {"responses": ok()}}}, servers=[{"url": "/api"}])))
    assert comp["credentials"]["fields"]["baseUrl"]["required"] is True
    assert comp["http"]["baseUrl"] == "{{ cfg.baseUrl }}"


def test_no_response_body_and_binary_response(write_spec: Spec) -> None:
    spec = oas3(
        {
            "/x": {"delete": {"operationId": "del", "responses": {"204": {"description": "gone"}}}},
            "/pdf": {
                "get": {
                    "operationId": "pdf",
                    "responses": {"200": {"description": "a pdf", "content": {"application/pdf": {}}}},
                }
            },
        }
    )
    comp, schemas = generate(write_spec(spec))
    assert "without a body" in schemas["del.out"]["description"]
    assert comp["actions"]["pdf"]["request"]["responseType"] == "binary"
    assert "attachment" in schemas["pdf.out"]["description"]


def test_bad_input_is_a_config_error(write_spec: Spec, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"not a Swagger 2\.0 or OpenAPI 3"):
        render_component(write_spec({"info": {}}), name="t")
    with pytest.raises(ConfigError, match="cannot read"):
        render_component(tmp_path / "missing.json", name="t")
    broken = tmp_path / "broken.yaml"
    broken.write_text("a: [", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid YAML at line 1, column"):
        render_component(broken, name="t")
