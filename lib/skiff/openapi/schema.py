"""OpenAPI schema objects → self-contained JSON Schema (valid for Draft 7 and 2020-12).

Every ``$ref`` is inlined, so a schema file works where no resolver runs (elastic.io's UI
reads ``metadata`` as plain JSON Schema). Recursion is bounded: a reference already being
expanded (a cycle) or nested deeper than ``max_depth`` references becomes
``{"type": "object", "description": "... cut ..."}``.

OpenAPI-only keywords are translated or dropped: ``nullable`` becomes a ``"null"`` type,
Swagger's boolean ``exclusiveMinimum``/``exclusiveMaximum`` become numbers, ``type: file``
becomes a binary string; ``xml``, ``discriminator``, ``example(s)``, ``externalDocs`` and
``x-*`` extensions go (they describe documents, not values, and would bloat every file).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["SchemaConverter", "allow_null", "nullable_properties", "walk_path"]

_DROP = {
    "xml",
    "discriminator",
    "example",
    "examples",
    "externalDocs",
    "nullable",
    "$schema",
    "$id",
    "$anchor",
    "$dynamicAnchor",
    "$comment",
    "$defs",
    "definitions",
    "collectionFormat",
    "allowEmptyValue",
}
_SCHEMA_MAPS = ("properties", "patternProperties", "dependentSchemas")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_ONE = (
    "not",
    "additionalProperties",
    "additionalItems",
    "contains",
    "propertyNames",
    "if",
    "then",
    "else",
    "unevaluatedProperties",
    "unevaluatedItems",
)
_TYPES = {"string", "number", "integer", "boolean", "object", "array", "null"}


class SchemaConverter:
    """Converts schemas of one document; caches expansions that did not hit a cut."""

    def __init__(self, resolve: Callable[[str], Any], *, max_depth: int = 8) -> None:
        self._resolve = resolve
        self.max_depth = max_depth
        self._cache: dict[tuple[str, int], dict[str, Any]] = {}
        self.cuts = 0  # how many references were cut (for the generator's summary)

    def convert(self, schema: Any) -> dict[str, Any]:
        result, _ = self._node(schema, ())
        return result if isinstance(result, dict) else {}

    # Returns (converted, cut_happened) so clean subtrees can be cached.
    def _node(self, node: Any, stack: tuple[str, ...]) -> tuple[Any, bool]:
        if isinstance(node, bool):
            return node, False
        if not isinstance(node, dict):
            return {}, False
        if "$ref" in node and isinstance(node["$ref"], str):
            return self._ref(node, stack)
        out: dict[str, Any] = {}
        cut = False
        for key, value in node.items():
            if key in _DROP or key.startswith("x-"):
                continue
            if key in _SCHEMA_MAPS and isinstance(value, dict):
                mapped: dict[str, Any] = {}
                for name, sub in value.items():
                    mapped[str(name)], c = self._node(sub, stack)
                    cut |= c
                out[key] = mapped
            elif key in _SCHEMA_LISTS and isinstance(value, list):
                items = []
                for sub in value:
                    conv, c = self._node(sub, stack)
                    items.append(conv)
                    cut |= c
                out[key] = items
            elif key == "items":
                if isinstance(value, list):  # tuple form (Draft 4-7): keep 2020-12 valid
                    items = []
                    for sub in value:
                        conv, c = self._node(sub, stack)
                        items.append(conv)
                        cut |= c
                    out["prefixItems"] = items
                else:
                    out[key], c = self._node(value, stack)
                    cut |= c
            elif key in _SCHEMA_ONE:
                out[key], c = self._node(value, stack)
                cut |= c
            elif key == "required":
                if isinstance(value, list) and value:
                    out[key] = [str(v) for v in value]
            elif key == "type":
                out[key] = _type(value)
            elif key in ("exclusiveMinimum", "exclusiveMaximum"):
                bound = "minimum" if key == "exclusiveMinimum" else "maximum"
                if isinstance(value, bool):
                    if value and isinstance(node.get(bound), int | float):
                        out[key] = node[bound]
                elif isinstance(value, int | float):
                    out[key] = value
            elif key in ("minimum", "maximum") and node.get("exclusive" + key.title()) is True:
                continue  # became exclusiveMinimum/Maximum above
            else:
                out[key] = value
        if out.get("type") == "file":
            out["type"] = "string"
            out["format"] = "binary"
        if node.get("nullable") is True:
            out = allow_null(out)
        return out, cut

    def _ref(self, node: dict[str, Any], stack: tuple[str, ...]) -> tuple[Any, bool]:
        ref: str = node["$ref"]
        remaining = self.max_depth - len(stack)
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        if ref not in stack and remaining <= 0:
            try:
                leaf = self._resolve(ref)
            except Exception:
                leaf = None
            if leaf is not None and "$ref" not in json.dumps(leaf):
                return self._node(leaf, (*stack, ref))  # a leaf (an enum, a scalar): inlining costs nothing
        if ref in stack or remaining <= 0:
            self.cuts += 1
            why = "a cycle" if ref in stack else f"the nesting limit of {self.max_depth} references"
            # A cut describes nothing, so it accepts anything: claiming "object" would reject
            # the real responses where the cut type is a string enum.
            cut_schema: dict[str, Any] = {"description": f"{_short(ref)}: recursive reference cut at {why}"}
            return cut_schema, True
        key = (ref, remaining)
        cached = self._cache.get(key)
        if cached is not None:
            target: Any = cached
            cut = False
        else:
            try:
                raw = self._resolve(ref)
            except Exception as exc:  # an unresolvable ref must not stop a 300-operation spec
                self.cuts += 1
                return {"description": f"unresolved reference {ref}: {exc}"}, False
            target, cut = self._node(raw, (*stack, ref))
            if not cut and isinstance(target, dict):
                self._cache[key] = target
        if siblings and isinstance(target, dict):
            extra, c = self._node(siblings, stack)
            # OpenAPI 3.1 and common practice: sibling keywords (description) refine the target.
            return {**target, **extra}, cut or c
        return target, cut


def _short(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _type(value: Any) -> Any:
    if isinstance(value, list):
        return [v for v in value if v in _TYPES] or value
    return value


def allow_null(schema: dict[str, Any]) -> dict[str, Any]:
    """Let ``schema`` also accept null (its type gains ``"null"``; an enum gains ``None``)."""
    if "type" not in schema:
        if any(k in schema for k in ("allOf", "anyOf", "oneOf", "$ref")):
            return {"anyOf": [schema, {"type": "null"}]}
        return schema  # no type: null already passes
    out = dict(schema)
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    if "null" not in types:
        out["type"] = [*types, "null"]
    if isinstance(schema.get("enum"), list) and None not in schema["enum"]:
        out["enum"] = [*schema["enum"], None]
    return out


def nullable_properties(schema: Any) -> Any:
    """Every property (at any depth) and array item may also be null.

    Swagger 2 cannot say "nullable", yet .NET-generated APIs send ``null`` for
    any unset field; an output schema that rejects null would reject real responses.
    """
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    props = schema.get("properties")
    if isinstance(props, dict):
        out["properties"] = {name: allow_null(nullable_properties(sub)) for name, sub in props.items()}
    if isinstance(schema.get("items"), dict):
        out["items"] = allow_null(nullable_properties(schema["items"]))
    if isinstance(schema.get("additionalProperties"), dict):
        out["additionalProperties"] = allow_null(nullable_properties(schema["additionalProperties"]))
    for key in _SCHEMA_LISTS:
        if isinstance(schema.get(key), list):
            out[key] = [nullable_properties(s) for s in schema[key]]
    return out


def walk_path(schema: dict[str, Any], dotted: str) -> dict[str, Any] | None:
    """The sub-schema at a dot path of ``properties`` (``Paging.TotalPages``), or None."""
    node: Any = schema
    for part in dotted.split("."):
        if not isinstance(node, dict):
            return None
        props = node.get("properties")
        if isinstance(props, dict) and part in props:
            node = props[part]
            continue
        found = None
        for key in ("allOf", "anyOf", "oneOf"):
            for sub in node.get(key) or []:
                if isinstance(sub, dict) and part in (sub.get("properties") or {}):
                    found = sub["properties"][part]
                    break
            if found is not None:
                break
        if found is None:
            return None
        node = found
    return node if isinstance(node, dict) else None
