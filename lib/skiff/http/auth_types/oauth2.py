"""``oauth2``: client credentials; the token flow itself is :class:`skiff.http.auth.OAuth2ClientCredentialsAuth`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from skiff.specs import OAuth2ClientCredentials

from .base import AuthType, Put, field

__all__ = ["OAuth2AuthType"]


class OAuth2AuthType(AuthType):
    type: ClassVar[str] = "oauth2"
    model = OAuth2ClientCredentials

    def apply(self, spec: OAuth2ClientCredentials, put: Put) -> bool:
        return False  # a token flow: built by the HTTP layer

    def secrets(self, spec: OAuth2ClientCredentials) -> list[str]:
        return [spec.clientSecret, f"{spec.clientId}:{spec.clientSecret}"]

    def describe(self, entry: dict[str, Any]) -> str:
        return f"OAuth2 client credentials (token URL `{entry.get('tokenUrl')}`)"

    def generate(
        self, scheme: Any, name: Callable[[str], str], order: int, base: str | None
    ) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
        cid, secret = name("clientId"), name("clientSecret")
        fields = {
            cid: field("Client ID", "TextFieldView", order),
            secret: field("Client secret", "PasswordFieldView", order + 1),
        }
        token_url = scheme.token_url or ""
        if token_url.startswith("/") and base:
            origin = "/".join(base.split("/")[:3])
            token_url = origin + token_url
        entry: dict[str, Any] = {
            "type": "oauth2",
            "tokenUrl": token_url,
            "clientId": f"{{{{ cfg.{cid} }}}}",
            "clientSecret": f"{{{{ cfg.{secret} }}}}",
        }
        if scheme.scopes:
            entry["scope"] = " ".join(scheme.scopes)
        return fields, entry
