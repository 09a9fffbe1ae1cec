"""The checks before a call: cfg against the credential and function fields, body against the in-schema."""

from __future__ import annotations

import difflib
import re
from typing import Any, Literal

from ..component import Component, Function
from ..component.models import FieldModel
from ..errors import ConfigError, InputError
from ..http.redact import is_sensitive_name, redact
from ..message import Message
from ..validation import SchemaValidator, compile_schema
from .clients import _SECRET_VIEWS

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
    """Checks cfgs; the validator of each (component, function) is built once (this runs per message).

    ``unknown="error"``: a key that no credential or function field declares is an error with a
    did-you-mean (a ``baseURL`` typo would otherwise send the credentials to the default host).
    A secret's value is never quoted in an error, whatever its type.
    """

    def __init__(self, *, unknown: Literal["error", "ignore"] = "error") -> None:
        self._validators: dict[tuple[str, str], SchemaValidator] = {}
        self.unknown = unknown

    def check(
        self, component: Component, function: Function | None, cfg: Any, *, secrets: list[str] | None = None
    ) -> dict[str, Any]:
        if not isinstance(cfg, dict):
            raise ConfigError("cfg must be a JSON object")
        key = (str(component.path), function.name if function else "")
        validator = self._validators.get(key)
        if validator is None:
            validator = self._validators[key] = compile_schema(cfg_schema(component, function))
        if self.unknown == "error":
            _check_keys(component, function, cfg)
        if validator.is_valid(cfg):
            return cfg
        errors = validator.errors(cfg, root="cfg", limit=1)
        if errors:
            path, message = errors[0]
            if _names_a_secret(component, path):
                # jsonschema's message quotes the value; a secret's value is never shown, whatever its type.
                message = f"{_expected(component, function, path)} (the value is secret: not shown)"
            raise ConfigError(f"{path}: {redact(message, secrets) if secrets else message}")
        return cfg


def _check_keys(component: Component, function: Function | None, cfg: dict[str, Any]) -> None:
    """Every cfg key must be a credential field or a field of the function: did-you-mean otherwise."""
    known = component.model.credentials.fields.keys() | (function.fields.keys() if function else set())
    if function is not None and function.kind == "trigger":
        from ..polling.options import CFG_OPTIONS

        known |= CFG_OPTIONS
    for name in cfg:
        if name in known or str(name).startswith("_"):  # "_account" and the like: the platform's
            continue
        by_case = [k for k in known if k.lower() == str(name).lower()]
        hint = by_case or difflib.get_close_matches(str(name), sorted(known), n=1)
        where = f"{component.name}.{function.name}" if function else component.name
        raise ConfigError(
            f"cfg.{name}: unknown field of {where}"
            + (f" (did you mean {hint[0]!r}?)" if hint else f"; known: {', '.join(sorted(known)) or 'none'}")
        )


def _path_names(path: str) -> list[str]:
    """``cfg.auth.token`` → ``["auth", "token"]``; ``cfg.list[2].key`` → ``["list", "key"]``."""
    return [part for part in re.split(r"[.\[\]]", path.removeprefix("cfg")) if part and not part.isdigit()]


def _names_a_secret(component: Component, path: str) -> bool:
    names = _path_names(path)
    if not names:
        return False
    top = component.model.credentials.fields.get(names[0])
    return (top is not None and top.viewClass in _SECRET_VIEWS) or any(is_sensitive_name(n) for n in names)


def _expected(component: Component, function: Function | None, path: str) -> str:
    names = _path_names(path)
    fields = {**component.model.credentials.fields, **(function.fields if function else {})}
    field_model = fields.get(names[0]) if len(names) == 1 else None
    kind = _json_type(field_model) if field_model is not None else None
    if not isinstance(kind, str):
        return "has a value the field does not take"
    return f"expected {'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def check_input(function: Function, msg: Message) -> None:
    """An InputError naming the field when the body does not match the in-schema."""
    validator = function.in_validator
    if validator is None or validator.is_valid(msg.body):
        return
    errors = validator.errors(msg.body, root="body", limit=1)
    if errors:
        path, message = errors[0]
        raise InputError(f"{function.name}: {path}: {message}")
