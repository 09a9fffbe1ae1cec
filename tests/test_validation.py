"""skiff.validation: the flat-schema fast path agrees with jsonschema, instance by instance."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from skiff.validation import _compile_flat, compile_schema

FLAT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "apiKey": {"type": "string"},
        "count": {"type": ["integer", "null"]},
        "ratio": {"type": "number"},
        "on": {"type": "boolean"},
        "tags": {"type": "array"},
        "extra": {},
        "nested": {"type": "object"},
    },
    "required": ["apiKey"],
}

INSTANCES: list[Any] = [
    {"apiKey": "k"},
    {"apiKey": "k", "count": None, "ratio": 1, "on": False, "tags": [], "extra": [1], "nested": {}},
    {"apiKey": "k", "count": 3, "ratio": 2.5, "unknown": object()},
    {},  # required missing
    {"apiKey": None},
    {"apiKey": "k", "count": True},  # a bool is not an integer
    {"apiKey": "k", "count": 1.0},  # an integer to JSON Schema: the reference decides
    {"apiKey": "k", "count": 1.5},
    {"apiKey": "k", "ratio": "1"},
    {"apiKey": "k", "ratio": False},
    {"apiKey": "k", "on": 1},
    {"apiKey": "k", "tags": {}},
    {"apiKey": "k", "nested": []},
    [],
    "k",
    None,
]


@pytest.mark.parametrize("instance", INSTANCES, ids=range(len(INSTANCES)))
def test_flat_schemas_agree_with_jsonschema(instance: Any) -> None:
    expected = jsonschema.Draft202012Validator(FLAT).is_valid(instance)
    assert compile_schema(FLAT).is_valid(instance) is expected
    fast = _compile_flat(FLAT)
    assert fast is not None
    if fast(instance):  # the fast path never accepts what the schema refuses
        assert expected


def test_only_flat_schemas_take_the_python_path() -> None:
    assert _compile_flat({"type": "object", "properties": {"a": {"type": "string", "minLength": 2}}}) is None
    assert _compile_flat({"type": "object", "additionalProperties": False}) is None
    assert _compile_flat({"type": "array"}) is None
    assert _compile_flat({"type": "object", "properties": {"a": {"type": "date"}}}) is None


def test_errors_still_come_from_the_reference_validator() -> None:
    errors = compile_schema(FLAT).errors({"count": "x"}, root="cfg")
    assert ("cfg", "'apiKey' is required") in errors


def test_check_schema_reports_a_pattern_python_cannot_compile() -> None:
    # The Rust meta-validator accepts ECMA-only syntax like \p{L}; jsonschema, which explains
    # record errors at run time, cannot compile it, so validate must still say so.
    from skiff.validation import check_schema

    assert check_schema({"type": "string", "pattern": r"\p{L}+"}) == (
        "not a valid JSON Schema at pattern: '\\\\p{L}+' is not a 'regex'"
    )
    assert check_schema({"patternProperties": {"[": {}}}) is not None
    assert check_schema({"type": "string", "pattern": "^[a-z]+$"}) is None
    assert check_schema({"properties": {"a": {"minimum": "x"}}}) == (
        "not a valid JSON Schema at properties.a.minimum: 'x' is not of type 'number'"
    )
