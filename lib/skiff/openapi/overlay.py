"""The overlay: hand refinements kept next to a generated component and merged on every run.

An overlay is a YAML or JSON mapping. Merging rules (:func:`deep_merge`): mappings merge key by
key, any other value (lists included) replaces, ``null`` deletes the key, and a mapping that
holds ``$replace: true`` replaces instead of merging. Unknown keys are errors: a typo in an
overlay would otherwise silently change nothing.

Top-level keys:

``title``, ``description``, ``version``, ``docsUrl``
    Component metadata (default: the spec's ``info``).
``baseUrl``
    Default of the ``baseUrl`` credential (default: servers[0], or scheme://host + basePath).
``stripPathPrefix``
    Removed from the front of every path (e.g. ``/api/v1`` when it belongs in the base URL).
``maxRefDepth``
    Nesting limit for inlined ``$ref`` (default 8).
``nullableOutputs``
    ``true``: every property of the output schemas also accepts null (for Swagger 2 APIs
    that send null for unset fields).
``credentials``, ``http``, ``verifyCredentials``, ``selectModels``
    Merged into the generated component.json keys of the same name.
``paginationRules``
    ``[{whenQuery: [page, pageSize], pagination: {...}}]``: the first rule whose query
    parameters all exist on a GET operation gives it ``pagination``.
``actions``
    Keyed by **operationId**: any component.json function key (merged into the generated
    action; ``metadata.in``/``metadata.out`` merge into the generated schemas), plus
    ``name`` (rename) and ``exclude: true``.
``triggers``
    Keyed by trigger name: ``operation`` (an operationId whose request, pagination and record
    schema the polling trigger starts from) plus any function key (``polling`` merges into
    the generated PollingSpec).
``readme``
    ``{intro: markdown, sections: markdown, specPath: text}``: text before the generated lists
    and after them; ``specPath`` is the spec path shown in the regeneration command.
``logo``
    A PNG path relative to the overlay file, copied to ``logo.png``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .spec import read_document

__all__ = [
    "ACTION_KEYS",
    "OVERLAY_KEYS",
    "TRIGGER_KEYS",
    "deep_merge",
    "load_overlay",
    "validate_overlay",
]

OVERLAY_KEYS = frozenset(
    {
        "title",
        "description",
        "version",
        "docsUrl",
        "baseUrl",
        "stripPathPrefix",
        "maxRefDepth",
        "nullableOutputs",
        "credentials",
        "http",
        "verifyCredentials",
        "selectModels",
        "paginationRules",
        "actions",
        "triggers",
        "readme",
        "logo",
    }
)
# The function keys of component.json (elastic.io's and skiff's).
_FUNCTION_KEYS = frozenset(
    {
        "title",
        "description",
        "main",
        "fields",
        "metadata",
        "dynamicMetadata",
        "help",
        "deprecated",
        "request",
        "pagination",
        "recordsPath",
        "emitBehavior",
        "idempotent",
        "polling",
        "tags",
        "rateLimitEndpoint",
    }
)
ACTION_KEYS = _FUNCTION_KEYS | {"name", "exclude"}
TRIGGER_KEYS = _FUNCTION_KEYS | {"operation", "type", "operationId"}
_README_KEYS = frozenset({"intro", "sections", "specPath"})


def deep_merge(base: Any, patch: Any) -> Any:
    """``patch`` over ``base``; neither is modified."""
    if isinstance(patch, dict) and isinstance(base, dict) and not patch.get("$replace"):
        out = dict(base)
        for key, value in patch.items():
            if value is None:
                out.pop(key, None)
            elif key in out:
                out[key] = deep_merge(out[key], value)
            else:
                out[key] = _strip(value)
        return out
    return _strip(patch)


def _strip(value: Any) -> Any:
    """A patch value used as is: drop ``$replace`` markers and null keys, copy it."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k != "$replace" and v is not None}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return copy.copy(value)


def _check_keys(where: str, value: Any, allowed: frozenset[str]) -> None:
    if not isinstance(value, dict):
        raise ConfigError(f"overlay {where} must be a mapping")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ConfigError(f"overlay {where}: unknown key(s) {', '.join(map(repr, unknown))}")


def validate_overlay(data: dict[str, Any]) -> dict[str, Any]:
    _check_keys("top level", data, OVERLAY_KEYS)
    for op_id, spec in (data.get("actions") or {}).items():
        _check_keys(f"actions.{op_id}", spec, ACTION_KEYS)
    for name, spec in (data.get("triggers") or {}).items():
        _check_keys(f"triggers.{name}", spec, TRIGGER_KEYS)
    if "readme" in data:
        _check_keys("readme", data["readme"], _README_KEYS)
    rules = data.get("paginationRules") or []
    if not isinstance(rules, list):
        raise ConfigError("overlay paginationRules must be a list")
    for i, rule in enumerate(rules):
        _check_keys(f"paginationRules[{i}]", rule, frozenset({"whenQuery", "pagination", "methods"}))
    return data


def load_overlay(path: Path | None) -> dict[str, Any]:
    """Read and check an overlay file; ``None`` gives an empty overlay."""
    if path is None:
        return {}
    return validate_overlay(read_document(path))
