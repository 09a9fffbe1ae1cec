"""``apiKey``: a key or custom token in a header or the query string."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from skiff.specs import ApiKeyAuth

from .base import AuthType, Put, field

__all__ = ["ApiKeyAuthType"]


class ApiKeyAuthType(AuthType):
    type: ClassVar[str] = "apiKey"
    model = ApiKeyAuth

    def apply(self, spec: ApiKeyAuth, put: Put) -> bool:
        put(spec.in_, spec.name, spec.value)
        return True

    def secrets(self, spec: ApiKeyAuth) -> list[str]:
        return [spec.value]

    def describe(self, entry: dict[str, Any]) -> str:
        return f"API key in {entry.get('in', 'header')} `{entry.get('name')}`"

    def generate(
        self, scheme: Any, name: Callable[[str], str], order: int, base: str | None
    ) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
        key = name("apiKey")
        where = "header" if scheme.location == "header" else "query parameter"
        fields = {key: field("API key", "PasswordFieldView", order, note=f"Sent as {where} {scheme.param_name}.")}
        entry = {"type": "apiKey", "in": scheme.location, "name": scheme.param_name, "value": f"{{{{ cfg.{key} }}}}"}
        return fields, entry
