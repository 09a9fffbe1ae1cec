"""An auth type is one module and its registration: ``skiff validate``, the published schema and the
HTTP layer all find it through ``skiff.http.auth_types.AUTH_TYPES``, with no change to their code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from skiff.component import resolve_component, validate_component
from skiff.component.validate import component_json_schema
from skiff.http.auth_types import AUTH_TYPES, AuthType, Put
from skiff.message import Message
from skiff.run import Data, Event, Executor
from skiff.specs import AuthModel
from tests.support import serve_asgi


class SignedAuth(AuthModel):
    """A key id and its secret, in two headers (a test-only auth type)."""

    type: Literal["testSigned"] = "testSigned"
    keyId: str
    secret: str


class SignedAuthType(AuthType):
    model = SignedAuth
    type: ClassVar[str] = "testSigned"

    def apply(self, spec: SignedAuth, put: Put) -> bool:
        put("header", "X-Key-Id", spec.keyId)
        put("header", "X-Key-Secret", spec.secret)
        return True

    def secrets(self, spec: SignedAuth) -> list[str]:
        return [spec.secret]

    def describe(self, entry: dict[str, Any]) -> str:
        return "a key id and its secret"


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(AUTH_TYPES, "testSigned", SignedAuthType())  # the registration: nothing else


def component(tmp_path: Path, entry: dict[str, Any], base_url: str = "https://api.example.com") -> Path:
    folder = tmp_path / "signed"
    folder.mkdir()
    data = {
        "title": "Signed",
        "credentials": {
            "fields": {
                "keyId": {"label": "Key id", "viewClass": "TextFieldView", "required": True},
                "secret": {"label": "Secret", "viewClass": "PasswordFieldView", "required": True},
            }
        },
        "http": {"baseUrl": base_url, "auth": [entry]},
        "actions": {"whoami": {"title": "Who am I", "request": {"method": "GET", "path": "/whoami"}}},
    }
    (folder / "component.json").write_text(json.dumps(data), encoding="utf-8")
    return folder


ENTRY = {"type": "testSigned", "keyId": "{{ cfg.keyId }}", "secret": "{{ cfg.secret }}"}


def lines(folder: Path) -> list[str]:
    return [str(p) for p in validate_component(folder)]


def test_a_registered_type_is_valid_and_in_the_published_schema(tmp_path: Path, registered: None) -> None:
    assert lines(component(tmp_path, ENTRY)) == []
    schema = component_json_schema()
    assert "SignedAuth" in schema["$defs"]
    assert schema["$defs"]["HttpSpec"]["properties"]["auth"]["anyOf"][0]["items"]["discriminator"]["mapping"][
        "testSigned"
    ] == ("#/$defs/SignedAuth")


def test_an_unregistered_type_is_one_line_naming_the_known_ones(tmp_path: Path) -> None:
    folder = component(tmp_path, ENTRY)
    assert lines(folder) == [
        f"{folder / 'component.json'}: /http/auth/0/type: unknown auth type 'testSigned'; "
        f"known: {', '.join(sorted(AUTH_TYPES))}"
    ]


@pytest.mark.parametrize(
    ("wrong", "line"),
    [
        ({"secrte": "{{ cfg.secret }}"}, "/http/auth/0/secrte: unknown key 'secrte' (did you mean 'secret'?)"),
        ({"secret": "s", "keyId": 5}, "/http/auth/0/keyId: Input should be a valid string"),
        ({"secret": "s", "keyId": "k", "scope": "x"}, "/http/auth/0/scope: unknown key 'scope'"),
    ],
)
def test_a_wrong_field_of_a_registered_type_is_one_line(
    tmp_path: Path, registered: None, wrong: dict[str, Any], line: str
) -> None:
    entry = {"type": "testSigned", **({"keyId": "k"} if "keyId" not in wrong else {}), **wrong}
    folder = component(tmp_path, entry)
    assert lines(folder) == [f"{folder / 'component.json'}: {line}"]


@pytest.fixture
def echo() -> Iterator[str]:
    async def whoami(request: Request) -> JSONResponse:
        return JSONResponse({"keyId": request.headers.get("x-key-id"), "signed": "x-key-secret" in request.headers})

    with serve_asgi(Starlette(routes=[Route("/whoami", whoami)])) as url:
        yield url


async def test_the_http_layer_sends_a_registered_type(tmp_path: Path, registered: None, echo: str) -> None:
    comp = resolve_component(str(component(tmp_path, ENTRY, echo)))
    bodies: list[Any] = []

    async def collect(event: Event) -> None:
        if isinstance(event, Data):
            bodies.append(event.message.body)

    async with Executor() as executor:
        cfg = {"keyId": "k-1", "secret": "s3cret-value"}
        result = await executor.run(comp, "whoami", cfg, Message(body={}), emit=collect)
    assert result.error is None and bodies == [{"keyId": "k-1", "signed": True}]
