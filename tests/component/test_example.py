"""skiff.component.example: the ``--body`` that ``skiff describe`` suggests."""

from __future__ import annotations

from typing import Any

import pytest

from skiff.component import find_components, load_component
from skiff.component.example import example_value
from skiff.validation import compile_schema


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "string", "examples": ["x"]}, "x"),
        ({"type": "integer", "default": 7}, 7),
        ({"enum": [None, "open", "closed"]}, "open"),
        ({"type": "string", "format": "date-time"}, "2024-01-31T12:00:00Z"),
        ({"type": "string", "pattern": "^[0-9a-fA-F]{24}$"}, "0123456789abcdef01234567"),
        ({"type": "string", "minLength": 6}, "textxx"),
        ({"type": ["integer", "null"], "minimum": 5}, 5),
        ({"type": "array", "items": {"type": "boolean"}}, [True]),
        (
            {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}, "x": {"type": "string"}}},
            {"id": 1},
        ),
        (
            {"type": "object", "anyOf": [{"required": ["name"]}], "properties": {"name": {"type": "string"}}},
            {"name": "text"},
        ),
        (
            {"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}}, {"required": ["a"]}]},
            {"a": "text"},
        ),
        ({"oneOf": [{"type": "null"}, {"type": "number"}]}, 1),
    ],
)
def test_example_values(schema: dict[str, Any], expected: Any) -> None:
    assert example_value(schema) == expected


def test_recursive_schemas_end() -> None:
    node: dict[str, Any] = {"type": "object", "required": ["child"], "properties": {}}
    node["properties"]["child"] = node
    value = example_value(node)
    depth = 0
    while isinstance(value, dict):
        value, depth = value["child"], depth + 1
    assert depth < 10


# Where the in-schema needs what no generic example can know (one of several constraints).
KNOWN_MISSES = {("plenigo", "createWbzAddress"), ("plenigo", "startloginIdentifierRegistration")}


def test_examples_pass_the_in_schemas_of_the_committed_components() -> None:
    failing = set()
    checked = 0
    for name, path in find_components().items():
        component = load_component(path, name=name)
        for fn in [*component.actions.values(), *component.triggers.values()]:
            if not fn.in_schema:
                continue
            checked += 1
            if not compile_schema(fn.in_schema, component.path).is_valid(example_value(fn.in_schema)):
                failing.add((name, fn.name))
    assert checked > 400
    assert failing <= KNOWN_MISSES, failing - KNOWN_MISSES
