"""Overlay merge rules and every overlay key the generator understands."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from skiff.errors import ConfigError
from skiff.openapi import deep_merge, render_component
from skiff.templating import render
from tests.openapi.openapi_helpers import oas3, ok

Spec = Callable[..., Path]

PAGE = {
    "type": "object",
    "properties": {
        "data": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"id": {"type": "integer"}, "updated": {"type": "string"}},
            },
        },
        "total": {"type": "integer"},
    },
}
SPEC = oas3(
    {
        "/api/items": {
            "get": {
                "operationId": "Items_List",
                "tags": ["Items"],
                "parameters": [
                    {"name": "page", "in": "query", "schema": {"type": "integer"}},
                    {"name": "size", "in": "query", "schema": {"type": "integer"}},
                    {"name": "since", "in": "query", "schema": {"type": "string"}},
                    {"name": "shop", "in": "query", "required": True, "schema": {"type": "integer"}},
                ],
                "responses": ok(PAGE),
            },
            "post": {
                "operationId": "Items_Create",
                "tags": ["Items"],
                "responses": ok({"type": "object", "properties": {"data": {"type": "object"}}}),
            },
        },
        "/api/items/{id}": {
            "delete": {
                "operationId": "Items_Delete",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": ok(),
            }
        },
    },
    servers=[{"url": "https://host.example.com"}],
)


def build(write_spec: Spec, overlay: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], str]:
    files = render_component(write_spec(SPEC), name="t", overlay=write_spec(overlay, "overlay.yaml"))
    comp = json.loads(files["component.json"])  # type: ignore[arg-type]
    schemas = {k[8:-5]: json.loads(v) for k, v in files.items() if k.startswith("schemas/")}  # type: ignore[arg-type]
    return comp, schemas, files["README.md"]  # type: ignore[return-value]


def test_deep_merge_rules() -> None:
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 1, "c": {"k": 1}}
    patch = {"a": {"y": [3], "z": 2}, "b": None, "c": {"$replace": True, "n": 2}, "d": {"e": None, "f": 1}}
    assert deep_merge(base, patch) == {"a": {"x": 1, "y": [3], "z": 2}, "c": {"n": 2}, "d": {"f": 1}}
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": 1, "c": {"k": 1}}  # untouched


def test_everything_an_overlay_can_set(write_spec: Spec, tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes(b"\x89PNG fake")
    overlay = {
        "title": "Items",
        "version": "2.0.0",
        "baseUrl": "https://host.example.com/api",
        "stripPathPrefix": "/api",
        "logo": "logo.png",
        "credentials": {"fields": {"baseUrl": {"label": "Server"}}},
        "http": {"envelope": {"dataPath": "data"}, "rateLimits": [{"requests": 5, "perSeconds": 1}]},
        "verifyCredentials": {"request": {"path": "/items", "query": {"size": 1}}},
        "selectModels": {"shops": {"request": {"path": "/shops"}, "valueField": "id", "labelField": "name"}},
        "paginationRules": [
            {
                "whenQuery": ["page", "size"],
                "pagination": {
                    "type": "page",
                    "sizeParam": "size",
                    "recordsPath": "data",
                    "totalPath": "total",
                },
            }
        ],
        "actions": {
            "Items_List": {
                "name": "listItems",
                "fields": {"shop": {"label": "Shop", "viewClass": "SelectView", "model": "shops"}},
                "metadata": {"out": {"properties": {"extra": {"type": "string"}}}},
                "idempotent": True,
            },
            "Items_Create": {"title": "Create one item", "request": {"headers": {"X-Mode": "strict"}}},
            "Items_Delete": {"exclude": True},
        },
        "triggers": {
            "updatedItems": {
                "operation": "Items_List",
                "title": "Updated items",
                "polling": {
                    "cursorField": "updated",
                    "cursorParam": "since",
                    "request": {"query": {"shop": "{{ cfg.shop }}"}},
                },
            }
        },
        "readme": {"intro": "Intro text ✓", "sections": "## Extra\n\nMore text."},
    }
    files = render_component(write_spec(SPEC), name="t", overlay=write_spec(overlay, "overlay.yaml"))
    assert files["logo.png"] == b"\x89PNG fake"
    comp, schemas, readme = build(write_spec, overlay)
    assert (comp["title"], comp["version"]) == ("Items", "2.0.0")
    assert comp["credentials"]["fields"]["baseUrl"]["label"] == "Server"
    assert comp["http"]["baseUrl"] == "{{ cfg.baseUrl or 'https://host.example.com/api' }}"
    assert comp["http"]["envelope"] == {"dataPath": "data"}
    assert comp["verifyCredentials"]["request"]["query"] == {"size": 1}
    assert list(comp["actions"]) == ["listItems", "itemsCreate"]  # renamed, excluded
    listing = comp["actions"]["listItems"]
    assert listing["request"]["path"] == "/items"  # prefix stripped
    assert listing["pagination"]["type"] == "page" and listing["idempotent"] is True
    # A configuration field named like a parameter is its default; it is no longer required.
    assert render(listing["request"]["query"], {"cfg": {"shop": 3}, "body": {}})["shop"] == 3
    assert render(listing["request"]["query"], {"cfg": {"shop": 3}, "body": {"shop": 4}})["shop"] == 4
    assert schemas["listItems.in"].get("required") is None
    # page and size stay inputs (a message with them reads that one page), out of the query.
    assert set(schemas["listItems.in"]["properties"]) == {"page", "size", "since", "shop", "emitBehavior", "maxPages"}
    assert set(listing["request"]["query"]) == {"since", "shop"}
    assert set(schemas["listItems.out"]["properties"]) == {"id", "updated", "extra"}  # one record + merge
    create = comp["actions"]["itemsCreate"]
    assert create["title"] == "Create one item"
    assert create["request"]["headers"] == {"X-Mode": "strict"}
    assert schemas["itemsCreate.out"] == {"type": "object"}  # unwrapped at the envelope's dataPath
    trig = comp["triggers"]["updatedItems"]
    assert trig["type"] == "polling" and trig["operationId"] == "Items_List"
    assert trig["polling"]["request"] == {
        "method": "GET",
        "path": "/items",
        "query": {"shop": "{{ cfg.shop }}"},
    }
    assert trig["polling"]["recordsPath"] == "data" and trig["polling"]["pagination"]["sizeParam"] == "size"
    assert trig["metadata"] == {"out": "./schemas/updatedItems.out.json"}
    assert set(schemas["updatedItems.out"]["properties"]) == {"id", "updated"}
    assert readme.startswith("# Items\n\nIntro text ✓\n")
    assert readme.rstrip().endswith("## Extra\n\nMore text.")
    assert "| `listItems` | `GET /items` (paged) |" in readme
    assert "| `updatedItems` | `GET /items` (paged) | timestamp: `updated` → `since` |" in readme


def test_per_action_pagination_overrides_the_rule(write_spec: Spec) -> None:
    rule = [{"whenQuery": ["page", "size"], "pagination": {"type": "page", "sizeParam": "size", "size": 10}}]
    comp, schemas, _ = build(write_spec, {"paginationRules": rule, "actions": {"Items_List": {"pagination": None}}})
    assert "pagination" not in comp["actions"]["itemsList"]
    assert "page" in schemas["itemsList.in"]["properties"]
    comp, _, _ = build(write_spec, {"paginationRules": rule, "actions": {"Items_List": {"pagination": {"size": 99}}}})
    assert comp["actions"]["itemsList"]["pagination"] == {"type": "page", "sizeParam": "size", "size": 99}


def test_replacing_a_schema(write_spec: Spec) -> None:
    _, schemas, _ = build(
        write_spec, {"actions": {"Items_Create": {"metadata": {"out": {"$replace": True, "type": "array"}}}}}
    )
    assert schemas["itemsCreate.out"] == {"type": "array"}
    comp, schemas, _ = build(write_spec, {"actions": {"Items_Create": {"metadata": {"in": "./schemas/custom.json"}}}})
    assert comp["actions"]["itemsCreate"]["metadata"]["in"] == "./schemas/custom.json"
    assert "itemsCreate.in" not in schemas


def test_nullable_outputs(write_spec: Spec) -> None:
    _, schemas, _ = build(write_spec, {"nullableOutputs": True})
    assert schemas["itemsList.out"]["properties"]["total"]["type"] == ["integer", "null"]
    assert schemas["itemsList.out"]["type"] == "object"


@pytest.mark.parametrize(
    ("overlay", "message"),
    [
        ({"titel": "x"}, "unknown key"),
        ({"actions": {"Nope": {"title": "x"}}}, "unknown operationId"),
        ({"actions": {"Items_List": {"tilte": "x"}}}, "unknown key"),
        ({"actions": {"Items_List": {"name": "bad-name"}}}, "does not match"),
        ({"actions": {"Items_List": {"name": "x"}, "Items_Create": {"name": "x"}}}, "used twice"),
        (
            {"actions": {"Items_List": {"name": "t"}}, "triggers": {"t": {"operation": "Items_List"}}},
            "already a trigger",
        ),
        ({"triggers": {"t": {"operation": "Missing"}}}, "unknown operationId"),
        (
            {"triggers": {"t": {"operation": "Items_List", "polling": {"cursorKind": "sometimes"}}}},
            "triggers.t.polling",
        ),
        ({"http": {"rateLimits": [{"requests": 0, "perSeconds": 1}]}}, "http: rateLimits.0.requests"),
        ({"actions": {"Items_List": {"pagination": {"type": "pages"}}}}, "pagination of Items_List"),
        ({"logo": "missing.png"}, "overlay logo"),
    ],
)
def test_overlay_mistakes_are_config_errors(write_spec: Spec, overlay: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build(write_spec, overlay)


def test_a_generated_name_never_takes_a_trigger_name(write_spec: Spec) -> None:
    comp, _, _ = build(
        write_spec, {"triggers": {"itemsList": {"title": "Poll", "polling": {"request": {"path": "/x"}}}}}
    )
    assert "itemsList" in comp["triggers"]
    assert "itemsList2" in comp["actions"]


def test_envelope_unwrapping_of_opaque_and_bare_responses(write_spec: Spec) -> None:
    spec = oas3(
        {
            "/opaque": {"get": {"operationId": "opaque", "responses": ok({"type": "object"})}},
            "/bare": {
                "get": {
                    "operationId": "bare",
                    "responses": ok({"type": "array", "items": {"type": "string"}}),
                }
            },
        }
    )
    overlay = write_spec({"http": {"envelope": {"dataPath": "Data"}}}, "overlay.yaml")
    files = render_component(write_spec(spec), name="t", overlay=overlay)
    opaque = json.loads(files["schemas/opaque.out.json"])  # type: ignore[arg-type]
    assert opaque == {"description": "The API's spec does not describe the data at Data."}
    bare = json.loads(files["schemas/bare.out.json"])  # type: ignore[arg-type]
    assert bare == {"type": "array", "items": {"type": "string"}}  # a bare list is not an envelope
