"""Auth types behind one registry: a type is one module here plus one line in ``AUTH_TYPES``.

The HTTP layer builds its auth from them (:func:`skiff.http.auth.build_auth`), redaction asks
them for secrets, ``skiff validate`` checks that every type the component.json vocabulary
knows has one, and the OpenAPI generator turns security schemes into credentials with them.
"""

from __future__ import annotations

from .api_key import ApiKeyAuthType
from .base import AuthType, Put
from .basic import BasicAuthType, basic_header
from .bearer import BearerAuthType
from .none import NoneAuth
from .oauth2 import OAuth2AuthType

__all__ = ["AUTH_TYPES", "AuthType", "Put", "auth_type", "basic_header"]

AUTH_TYPES: dict[str, AuthType] = {
    t.type: t for t in (NoneAuth(), BasicAuthType(), ApiKeyAuthType(), BearerAuthType(), OAuth2AuthType())
}
"""Every auth type by its ``type`` (the spec model is in :mod:`skiff.specs`)."""


def auth_type(name: str) -> AuthType:
    found = AUTH_TYPES.get(name)
    if found is None:
        from skiff.errors import ConfigError

        raise ConfigError(f"http.auth: unknown auth type {name!r}; known: {', '.join(sorted(AUTH_TYPES))}")
    return found
