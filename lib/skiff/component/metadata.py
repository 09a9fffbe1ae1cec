"""Metadata schemas in elastic.io's older style, upgraded to standard JSON Schema.

elastic.io's UI long accepted (and many public components still ship) draft-03 style schemas:
``"required": true`` on a property instead of a ``required`` list on its parent, sometimes as
the string ``"true"``, and numbers written as strings (``"maxLength": "20000"``). A validator
reading them as draft 2020-12 rejects the schema, so they are rewritten once, at load time.
"""

from __future__ import annotations

from typing import Any

__all__ = ["upgrade_schema"]

_TRUE = (True, "true")
_FALSE = (False, "false")
_NUMERIC = ("maxLength", "minLength", "maximum", "minimum", "maxItems", "minItems", "multipleOf")
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "definitions", "$defs")
_SUBSCHEMAS = ("items", "additionalProperties", "not", "if", "then", "else", "contains")


def upgrade_schema(schema: Any) -> Any:
    """A copy of ``schema`` in standard JSON Schema; a standard schema comes back unchanged."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "required" and (value in _TRUE or value in _FALSE):
            continue  # moved to the parent's list below (or meaningless at the root)
        if key in _NUMERIC and isinstance(value, str):
            out[key] = _number(value)
        elif key in _SUBSCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: upgrade_schema(sub) for name, sub in value.items()}
        elif key in _SUBSCHEMA_LISTS and isinstance(value, list):
            out[key] = [upgrade_schema(sub) for sub in value]
        elif key in _SUBSCHEMAS:
            out[key] = [upgrade_schema(s) for s in value] if isinstance(value, list) else upgrade_schema(value)
        else:
            out[key] = value
    props = schema.get("properties")
    if isinstance(props, dict):
        legacy = [name for name, sub in props.items() if isinstance(sub, dict) and sub.get("required") in _TRUE]
        if legacy:
            current = out.get("required")
            existing: list[Any] = current if isinstance(current, list) else []
            out["required"] = [*existing, *(n for n in legacy if n not in existing)]
    return out


def _number(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text  # left for the schema check to report
