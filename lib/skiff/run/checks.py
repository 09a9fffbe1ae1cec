"""The checks before a call: cfg against the credential and function fields, body against the in-schema."""

from __future__ import annotations

from typing import Any

from ..component import Component, Function
from ..component.models import FieldModel
from ..errors import ConfigError, InputError
from ..http.redact import redact
from ..message import Message
from ..validation import SchemaValidator, compile_schema

__all__ = ["CfgChecker", "cfg_schema", "check_input"]


def _json_type(f: FieldModel) -> Any:
    if f.type:
        return f.type
    if f.viewClass == "CheckBoxView":
        return "boolean"
    if f.viewClass == "NumberFieldView":
        return "number"
    if f.viewClass == "MultiSelectView":
        return "array"
    if f.viewClass in ("CodeFieldView", "JSONataView"):
        return None
    return "string"


def cfg_schema(component: Component, function: Function | None) -> dict[str, Any]:
    """The JSON Schema a cfg must match: credential fields plus the function's fields."""
    fields = dict(component.model.credentials.fields)
    if function is not None:
        fields.update(function.fields)
    props: dict[str, Any] = {}
    required: list[str] = []
    for name, f in fields.items():
        t = _json_type(f)
        props[name] = {"type": [t, "null"] if not f.required else t} if t else {}
        if f.required:
            required.append(name)
    return {"type": "object", "properties": props, "required": required}


class CfgChecker:
    """Checks cfgs; the validator of each (component, function) is built once (this runs per message)."""

    def __init__(self) -> None:
        self._validators: dict[tuple[str, str], SchemaValidator] = {}

    def check(
        self, component: Component, function: Function | None, cfg: Any, *, secrets: list[str] | None = None
    ) -> dict[str, Any]:
        if not isinstance(cfg, dict):
            raise ConfigError("cfg must be a JSON object")
        key = (str(component.path), function.name if function else "")
        validator = self._validators.get(key)
        if validator is None:
            validator = self._validators[key] = compile_schema(cfg_schema(component, function))
        if validator.is_valid(cfg):
            return cfg
        errors = validator.errors(cfg, root="cfg", limit=1)
        if errors:
            path, message = errors[0]
            raise ConfigError(f"{path}: {redact(message, secrets) if secrets else message}")
        return cfg


def check_input(function: Function, msg: Message) -> None:
    """An InputError naming the field when the body does not match the in-schema."""
    validator = function.in_validator
    if validator is None or validator.is_valid(msg.body):
        return
    errors = validator.errors(msg.body, root="body", limit=1)
    if errors:
        path, message = errors[0]
        raise InputError(f"{function.name}: {path}: {message}")
