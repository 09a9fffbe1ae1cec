"""$ref inlining, bounded recursion and the OpenAPI → JSON Schema keyword translation."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft7Validator, Draft202012Validator

from skiff.openapi.schema import SchemaConverter, allow_null, nullable_properties, walk_path


def converter(defs: dict[str, Any], max_depth: int = 8) -> SchemaConverter:
    doc = {"components": {"schemas": defs}}

    def resolve(ref: str) -> Any:
        node: Any = doc
        for part in ref[2:].split("/"):
            node = node[part]
        return node

    return SchemaConverter(resolve, max_depth=max_depth)


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def valid(schema: dict[str, Any]) -> None:
    Draft7Validator.check_schema(schema)
    Draft202012Validator.check_schema(schema)


def test_a_cycle_is_cut_to_an_open_schema_with_a_description() -> None:
    conv = converter(
        {
            "Node": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "children": {"type": "array", "items": ref("Node")},
                },
            }
        }
    )
    out = conv.convert(ref("Node"))
    cut = out["properties"]["children"]["items"]
    assert "type" not in cut  # a cut accepts anything: the cut type may be a string enum
    assert "Node" in cut["description"] and "cycle" in cut["description"]
    assert conv.cuts == 1
    valid(out)


def test_mutual_recursion_is_cut_where_it_repeats() -> None:
    conv = converter(
        {
            "A": {"type": "object", "properties": {"b": ref("B")}},
            "B": {"type": "object", "properties": {"a": ref("A")}},
        }
    )
    out = conv.convert(ref("A"))
    assert out["properties"]["b"]["properties"]["a"]["description"].startswith("A: recursive reference cut")


def test_a_leaf_reference_past_the_limit_is_still_inlined() -> None:
    defs = {"A": {"type": "object", "properties": {"kind": ref("Kind")}}, "Kind": {"type": "string", "enum": ["x"]}}
    out = converter(defs, max_depth=1).convert(ref("A"))
    assert out["properties"]["kind"] == {"type": "string", "enum": ["x"]}


def test_deep_chains_are_cut_at_the_depth_limit() -> None:
    defs = {f"L{i}": {"type": "object", "properties": {"next": ref(f"L{i + 1}")}} for i in range(10)}
    defs["L10"] = {"type": "string"}
    out = converter(defs, max_depth=3).convert(ref("L0"))
    node = out
    for _ in range(3):
        node = node["properties"]["next"]
    assert "type" not in node and "nesting limit of 3" in node["description"]
    # Without a limit the whole chain is inlined.
    deep = converter(defs, max_depth=20).convert(ref("L0"))
    for _ in range(10):
        deep = deep["properties"]["next"]
    assert deep == {"type": "string"}


def test_shared_refs_are_inlined_everywhere_and_results_are_independent_copies() -> None:
    conv = converter(
        {
            "Money": {"type": "number"},
            "Price": {"type": "object", "properties": {"net": ref("Money"), "gross": ref("Money")}},
        }
    )
    out = conv.convert(ref("Price"))
    assert out["properties"]["net"] == out["properties"]["gross"] == {"type": "number"}


def test_sibling_keywords_of_a_ref_refine_it() -> None:
    conv = converter({"Address": {"type": "object", "description": "an address"}})
    out = conv.convert(
        {"type": "object", "properties": {"billing": {**ref("Address"), "description": "billing address"}}}
    )
    assert out["properties"]["billing"] == {"type": "object", "description": "billing address"}


def test_openapi_keywords_are_translated() -> None:
    conv = converter({})
    out = conv.convert(
        {
            "type": "object",
            "x-internal": True,
            "xml": {"name": "x"},
            "example": {"a": 1},
            "discriminator": {"propertyName": "kind"},
            "properties": {
                "n": {"type": "integer", "minimum": 0, "exclusiveMinimum": True},
                "s": {"type": "string", "nullable": True, "enum": ["a", "b"]},
                "f": {"type": "file"},
                "x-looking-property": {"type": "string"},
                "r": {"type": "string", "required": True},
            },
        }
    )
    assert set(out) == {"type", "properties"}
    props = out["properties"]
    assert props["n"] == {"type": "integer", "exclusiveMinimum": 0}
    assert props["s"] == {"type": ["string", "null"], "enum": ["a", "b", None]}
    assert props["f"] == {"type": "string", "format": "binary"}
    assert "x-looking-property" in props  # property names are not extensions
    assert props["r"] == {"type": "string"}
    valid(out)


def test_allow_null_and_nullable_properties() -> None:
    assert allow_null({"type": "string"}) == {"type": ["string", "null"]}
    assert allow_null({"allOf": [{"type": "object"}]}) == {"anyOf": [{"allOf": [{"type": "object"}]}, {"type": "null"}]}
    assert allow_null({"description": "anything"}) == {"description": "anything"}
    schema = {
        "type": "object",
        "properties": {"a": {"type": "array", "items": {"type": "object", "properties": {"b": {"type": "integer"}}}}},
    }
    out = nullable_properties(schema)
    assert out["type"] == "object"  # the record itself stays an object
    assert out["properties"]["a"]["type"] == ["array", "null"]
    assert out["properties"]["a"]["items"]["properties"]["b"]["type"] == ["integer", "null"]
    assert schema["properties"]["a"]["type"] == "array"  # input untouched


def test_walk_path() -> None:
    schema = {"type": "object", "properties": {"Paging": {"properties": {"TotalPages": {"type": "integer"}}}}}
    assert walk_path(schema, "Paging.TotalPages") == {"type": "integer"}
    assert walk_path(schema, "Data") is None
    assert walk_path({"allOf": [schema]}, "Paging") == schema["properties"]["Paging"]
