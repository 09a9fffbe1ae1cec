"""An example value for a JSON Schema: what ``skiff describe`` shows as a ``--body`` to start from.

Deterministic and small: the schema's own ``examples``/``example``/``default``/``const``/first
``enum`` value where it has one, else a placeholder of the right type and format. Objects get
their required properties (or, when none are required, their first few), so the example passes
the function's in-schema whenever the schema's own examples do.
"""

from __future__ import annotations

from typing import Any

__all__ = ["example_value"]

_FORMATS = {
    "date-time": "2024-01-31T12:00:00Z",
    "date": "2024-01-31",
    "time": "12:00:00",
    "email": "user@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
}
_STRINGS = ("text", "1", "0123456789abcdef01234567", "https://example.com/", "DE", "A1")
_OPTIONAL_SHOWN = 3  # properties shown when an object requires none
_MAX_DEPTH = 6  # recursive schemas end here


def example_value(schema: Any, _depth: int = 0) -> Any:
    """A plausible value for ``schema`` (a JSON Schema dict); ``None`` when nothing better fits."""
    if not isinstance(schema, dict) or _depth > _MAX_DEPTH:
        return None
    for key in ("examples", "x-examples"):
        if isinstance(schema.get(key), list) and schema[key]:
            return schema[key][0]
    for key in ("example", "default", "const"):
        if key in schema:
            return schema[key]
    enum = [v for v in schema.get("enum") or [] if v is not None]
    if enum:
        return enum[0]
    if isinstance(schema.get("allOf"), list):
        return example_value(_merge_all_of(schema), _depth + 1)
    typed = "type" in schema or "properties" in schema
    for key in ("oneOf", "anyOf"):
        options = [o for o in schema.get(key) or [] if isinstance(o, dict) and o.get("type") != "null"]
        if options and not typed:
            return example_value(options[0], _depth + 1)
        if options and options[0].get("required"):  # ``anyOf: [{required: [name]}, ...]`` on an object
            schema = {**schema, "required": [*schema.get("required", []), *options[0]["required"]]}
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else None
    if kind == "object":
        props = schema.get("properties") or {}
        required = [n for n in schema.get("required") or [] if n in props]
        if required:
            return {name: example_value(props[name], _depth + 1) for name in required}
        shown = {name: example_value(sub, _depth + 1) for name, sub in props.items()}
        return dict(list({k: v for k, v in shown.items() if v is not None}.items())[:_OPTIONAL_SHOWN])
    if kind == "array":
        item = example_value(schema.get("items"), _depth + 1)
        return [] if item is None else [item]
    if kind == "string":
        return _string(schema)
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if kind == "number":
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return True
    return None


def _string(schema: dict[str, Any]) -> str:
    """The format's example, else the first candidate that fits ``pattern`` and the length bounds."""
    import re

    formatted = _FORMATS.get(str(schema.get("format")))
    if formatted is not None:
        return formatted
    low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
    pattern = schema.get("pattern")
    for candidate in _STRINGS:
        if len(candidate) < low:
            candidate = candidate + "x" * (low - len(candidate))
        if high is not None and len(candidate) > int(high):
            candidate = candidate[: int(high)]
        try:
            if pattern is None or re.search(str(pattern), candidate):
                return candidate
        except re.error:
            return candidate
    return "text"


def _merge_all_of(schema: dict[str, Any]) -> dict[str, Any]:
    """``allOf`` parts folded into one schema: properties and required lists united."""
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    for part in schema["allOf"]:
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("allOf"), list):
            part = _merge_all_of(part)
        for key, value in part.items():
            if key == "properties" and isinstance(value, dict):
                merged["properties"] = {**merged.get("properties", {}), **value}
            elif key == "required" and isinstance(value, list):
                merged["required"] = [*merged.get("required", []), *value]
            else:
                merged.setdefault(key, value)
    return merged
