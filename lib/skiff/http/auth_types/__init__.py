"""Auth types behind one registry: a type is one module here plus one line in ``AUTH_TYPES``.

Each type brings the model of its entry (``AuthType.model``). An ``auth`` entry of component.json
is checked by the model of the type it names (:func:`parse_entry`, behind
:data:`skiff.specs.AuthSpec`), so ``skiff validate``, the published schema and the HTTP layer know
a type once it is registered. The HTTP layer builds its auth from them
(:func:`skiff.http.auth.build_auth`), redaction asks them for secrets, and the OpenAPI generator
turns security schemes into credentials with them.
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter, ValidationError
from pydantic_core import CoreSchema, InitErrorDetails, PydanticCustomError

from skiff.specs import AuthModel

from .api_key import ApiKeyAuthType
from .base import AuthType, Put
from .basic import BasicAuthType, basic_header
from .bearer import BearerAuthType
from .none import NoneAuth
from .oauth2 import OAuth2AuthType

__all__ = [
    "AUTH_TYPES",
    "AuthType",
    "Put",
    "auth_type",
    "basic_header",
    "entries_schema",
    "parse_entry",
    "unknown_type",
]

AUTH_TYPES: dict[str, AuthType] = {
    t.type: t for t in (NoneAuth(), BasicAuthType(), ApiKeyAuthType(), BearerAuthType(), OAuth2AuthType())
}
"""Every auth type by its ``type`` (each with the model of its entry)."""


def unknown_type(name: str) -> str:
    """What to say about an auth type nobody registered."""
    known = sorted(AUTH_TYPES)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown auth type {name!r}{hint}; known: {', '.join(known)}"


def auth_type(name: str) -> AuthType:
    found = AUTH_TYPES.get(name)
    if found is None:
        from skiff.errors import ConfigError

        raise ConfigError(f"http.auth: {unknown_type(name)}")
    return found


@lru_cache(maxsize=8)
def _entries(models: tuple[type[AuthModel], ...]) -> TypeAdapter[Any]:
    # One discriminated union of the registered models: errors point into the entry (auth/0/value).
    union: Any = Union[models]  # noqa: UP007  (built from a tuple at run time)
    return TypeAdapter(Annotated[union, Field(discriminator="type")])


def _registered() -> TypeAdapter[Any]:
    return _entries(tuple(t.model for t in AUTH_TYPES.values()))


def parse_entry(value: Any) -> AuthModel:
    """An auth entry as the model of the type it names; a pydantic ValidationError located in it."""
    if isinstance(value, AuthModel):
        return value
    if isinstance(value, dict):
        name = value.get("type")
        if name is None:
            raise _error("missing", "Field required", value)
        if isinstance(name, str) and name not in AUTH_TYPES:
            raise _error("auth_type", unknown_type(name), name)
    entry: AuthModel = _registered().validate_python(value)
    return entry


def entries_schema() -> CoreSchema:
    """The core schema of an entry of any registered type (the published JSON Schema's ``oneOf``)."""
    return _registered().core_schema


def _error(kind: str, message: str, value: Any) -> ValidationError:
    details: InitErrorDetails = {
        "type": kind if kind == "missing" else PydanticCustomError(kind, message),
        "loc": ("type",),
        "input": value,
    }
    return ValidationError.from_exception_data("auth entry", [details])
