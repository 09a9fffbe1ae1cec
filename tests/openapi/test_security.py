"""Security schemes → credential fields and the http.auth list."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from skiff.openapi import render_component
from skiff.specs import HttpSpec
from skiff.templating import render
from tests.openapi.openapi_helpers import oas3, ok, swagger2

Spec = Callable[..., Path]
PATHS = {"/x": {"get": {"operationId": "x", "responses": ok()}}}


def component(path: Path) -> dict[str, Any]:
    return json.loads(render_component(path, name="t")["component.json"])  # type: ignore[arg-type,no-any-return]


def test_swagger2_api_key_and_basic_together(write_spec: Spec) -> None:
    spec = swagger2(
        PATHS,
        securityDefinitions={
            "key": {"type": "apiKey", "in": "header", "name": "X-Key"},
            "login": {"type": "basic"},
        },
        security=[{"key": [], "login": []}],
    )
    comp = component(write_spec(spec))
    assert list(comp["credentials"]["fields"]) == ["apiKey", "username", "password", "baseUrl"]
    assert comp["credentials"]["fields"]["apiKey"]["viewClass"] == "PasswordFieldView"
    rendered = HttpSpec.model_validate(render(comp["http"], {"cfg": {"apiKey": "k", "username": "u", "password": "p"}}))
    assert [a.model_dump(by_alias=True) for a in rendered.auth] == [  # type: ignore[union-attr]
        {"type": "apiKey", "in": "header", "name": "X-Key", "value": "k"},
        {"type": "basic", "username": "u", "password": "p"},
    ]


def test_api_key_in_query_and_bearer_alternatives_use_the_first(write_spec: Spec) -> None:
    spec = oas3(
        PATHS,
        components={
            "securitySchemes": {
                "q": {"type": "apiKey", "in": "query", "name": "api_key"},
                "jwt": {"type": "http", "scheme": "bearer"},
            }
        },
        security=[{}, {"q": []}, {"jwt": []}],  # {} = optional auth: skipped
    )
    comp = component(write_spec(spec))
    assert comp["http"]["auth"] == [{"type": "apiKey", "in": "query", "name": "api_key", "value": "{{ cfg.apiKey }}"}]
    assert "query parameter api_key" in comp["credentials"]["fields"]["apiKey"]["note"]


def test_bearer_and_two_api_keys_are_named_after_their_schemes(write_spec: Spec) -> None:
    spec = oas3(
        PATHS,
        components={
            "securitySchemes": {
                "appKey": {"type": "apiKey", "in": "header", "name": "X-App"},
                "userKey": {"type": "apiKey", "in": "header", "name": "X-User"},
                "jwt": {"type": "http", "scheme": "Bearer"},
            }
        },
        security=[{"appKey": [], "userKey": [], "jwt": []}],
    )
    comp = component(write_spec(spec))
    assert list(comp["credentials"]["fields"]) == ["appKeyApiKey", "userKeyApiKey", "token", "baseUrl"]
    assert comp["http"]["auth"][2] == {"type": "bearer", "token": "{{ cfg.token }}"}


def test_oauth2_client_credentials_with_a_relative_token_url(write_spec: Spec) -> None:
    spec = oas3(
        PATHS,
        components={
            "securitySchemes": {
                "oauth": {
                    "type": "oauth2",
                    "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": {"write": "", "read": ""}}},
                }
            }
        },
        security=[{"oauth": ["read"]}],
    )
    comp = component(write_spec(spec))
    assert comp["http"]["auth"] == [
        {
            "type": "oauth2",
            "tokenUrl": "https://api.example.com/oauth/token",
            "clientId": "{{ cfg.clientId }}",
            "clientSecret": "{{ cfg.clientSecret }}",
            "scope": "read write",
        }
    ]
    assert comp["credentials"]["fields"]["clientSecret"]["viewClass"] == "PasswordFieldView"


def test_unsupported_schemes_are_listed_not_guessed(write_spec: Spec) -> None:
    spec = oas3(
        PATHS,
        components={"securitySchemes": {"oidc": {"type": "openIdConnect", "openIdConnectUrl": "https://x"}}},
        security=[{"oidc": []}],
    )
    path = write_spec(spec)
    comp = component(path)
    assert "auth" not in comp["http"]
    assert list(comp["credentials"]["fields"]) == ["baseUrl"]
    readme = render_component(path, name="t")["README.md"]
    assert "oidc (security scheme type 'openIdConnect' is not supported)" in readme  # type: ignore[operator]


def test_operation_level_security_when_the_document_has_none(write_spec: Spec) -> None:
    op = {"responses": ok(), "security": [{"k": []}]}
    spec = swagger2(
        {"/a": {"get": op}, "/b": {"get": op}, "/c": {"get": {"responses": ok(), "security": [{"b": []}]}}},
        securityDefinitions={"k": {"type": "apiKey", "in": "header", "name": "K"}, "b": {"type": "basic"}},
    )
    comp = component(write_spec(spec))
    assert [a["type"] for a in comp["http"]["auth"]] == ["apiKey"]  # the most used requirement
