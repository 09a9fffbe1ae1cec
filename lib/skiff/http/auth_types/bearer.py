"""``bearer``: ``Authorization: Bearer <token>``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from skiff.specs import BearerAuth

from .base import AuthType, Put, field

__all__ = ["BearerAuthType"]


class BearerAuthType(AuthType):
    type: ClassVar[str] = "bearer"
    model = BearerAuth

    def apply(self, spec: BearerAuth, put: Put) -> bool:
        put("header", "Authorization", f"Bearer {spec.token}")
        return True

    def secrets(self, spec: BearerAuth) -> list[str]:
        return [spec.token]

    def describe(self, entry: dict[str, Any]) -> str:
        return "Bearer token"

    def generate(
        self, scheme: Any, name: Callable[[str], str], order: int, base: str | None
    ) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
        key = name("token")
        return {key: field("Bearer token", "PasswordFieldView", order)}, {
            "type": "bearer",
            "token": f"{{{{ cfg.{key} }}}}",
        }
