"""``basic``: HTTP Basic, user name and password."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, ClassVar

from skiff.specs import BasicAuth

from .base import AuthType, Put, field

__all__ = ["BasicAuthType", "basic_header"]


def basic_header(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


class BasicAuthType(AuthType):
    type: ClassVar[str] = "basic"
    model = BasicAuth

    def apply(self, spec: BasicAuth, put: Put) -> bool:
        put("header", "Authorization", basic_header(spec.username, spec.password))
        return True

    def secrets(self, spec: BasicAuth) -> list[str]:
        return [spec.password, f"{spec.username}:{spec.password}"]

    def describe(self, entry: dict[str, Any]) -> str:
        return "HTTP Basic (user name and password)"

    def generate(
        self, scheme: Any, name: Callable[[str], str], order: int, base: str | None
    ) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
        user, password = name("username"), name("password")
        fields = {
            user: field("User name", "TextFieldView", order),
            password: field("Password", "PasswordFieldView", order + 1),
        }
        return fields, {"type": "basic", "username": f"{{{{ cfg.{user} }}}}", "password": f"{{{{ cfg.{password} }}}}"}
