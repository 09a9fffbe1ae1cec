"""Secrets in every derived form stay out of errors and debug logs (issue 11, item 2)."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any
from urllib.parse import quote

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from skiff.errors import ApiError, AuthError
from skiff.http import HttpClient, Redactor, redact
from skiff.http.redact import is_sensitive_name
from skiff.specs import BasicAuth, HttpSpec, OAuth2ClientCredentials, RetrySpec

CLIENT_ID = "skiff-client-id"
SECRET = "Zq8VeryS3cretValue+77x/w"


def _forms(secret: str, user: str = CLIENT_ID) -> list[str]:
    """What a hostile server may echo: the secret as typed, encoded, and inside Basic."""
    pair = f"{user}:{secret}".encode()
    return [
        secret,
        quote(secret, safe=""),
        base64.b64encode(pair).decode(),
        base64.b64encode(secret.encode()).decode(),
        json.dumps(secret)[1:-1],
    ]


def _leaks(text: str, secret: str = SECRET) -> list[str]:
    pair = f"{CLIENT_ID}:{secret}".encode()
    found = [f for f in _forms(secret) if f in text]
    # Any 8 characters of the secret, or of base64(id:secret) past the id, is a leak too.
    b64 = base64.b64encode(pair).decode()
    found += [b64[i : i + 8] for i in range(len(CLIENT_ID) * 4 // 3 + 2, len(b64) - 8) if b64[i : i + 8] in text]
    found += [secret[i : i + 8] for i in range(len(secret) - 8) if secret[i : i + 8] in text]
    return found


def test_every_derived_form_is_masked() -> None:
    text = " | ".join(_forms(SECRET)) + " | " + base64.urlsafe_b64encode(f"x{SECRET}y".encode()).decode()
    out = redact(text, [SECRET])
    assert _leaks(out) == []
    assert out.count("***") >= 5


def test_a_numeric_secret_is_masked_and_non_secrets_are_not() -> None:
    assert redact("pin 73918264 sent", [73918264]) == "pin *** sent"
    assert not is_sensitive_name("tokenUrl") and not is_sensitive_name("apiKeyHeader")
    assert is_sensitive_name("clientSecret") and is_sensitive_name("X-Api-Key") and is_sensitive_name("token")


def test_redaction_happens_before_truncation() -> None:
    text = "x" * 290 + SECRET + " tail"
    clipped = Redactor([SECRET]).clip(text, 300)
    assert SECRET[:8] not in clipped and clipped.endswith("*** tail")


class _Echo:
    """A token endpoint and an API that echo the request's Authorization header back."""

    def __init__(self) -> None:
        self.routes = [
            Route("/oauth/token", self.token, methods=["POST"]),
            Route("/api/echo", self.echo, methods=["GET"]),
        ]

    async def token(self, request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        form = (await request.body()).decode()
        return JSONResponse(
            {"error": "invalid_client", "error_description": f"rejected {auth} with {form}"},
            status_code=401,
        )

    async def echo(self, request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        padding = "p" * 290  # the secret straddles the 300-character cut of the error line
        return JSONResponse(
            {"message": padding + auth + " " + auth.split(" ")[-1]},
            status_code=400,
            headers={"X-Echo": auth},
        )


@pytest.mark.parametrize("client_auth", ["basic", "body"])
async def test_oauth2_token_error_shows_no_credential(live: Any, client_auth: str) -> None:
    server = live(_Echo().routes)
    oauth = OAuth2ClientCredentials(
        tokenUrl=server.url + "/oauth/token", clientId=CLIENT_ID, clientSecret=SECRET, clientAuth=client_auth
    )
    spec = HttpSpec(baseUrl=server.url + "/api", auth=[oauth], retry=RetrySpec(maxAttempts=1))
    async with HttpClient(spec) as client:
        with pytest.raises(AuthError) as caught:
            await client.get("/echo")
    line = str(caught.value)
    assert "rejected" in line and "/oauth/token" in line  # the tokenUrl is not a secret
    assert _leaks(line) == []


async def test_api_error_and_debug_logs_show_no_credential(live: Any, caplog: pytest.LogCaptureFixture) -> None:
    server = live(_Echo().routes)
    spec = HttpSpec(
        baseUrl=server.url + "/api",
        auth=[BasicAuth(username=CLIENT_ID, password=SECRET)],
        retry=RetrySpec(maxAttempts=1),
    )
    caplog.set_level(logging.DEBUG)
    async with HttpClient(spec, logger=logging.getLogger("skiff.http")) as client:
        with pytest.raises(ApiError) as caught:
            await client.get("/echo")
    assert "ppp" in str(caught.value)
    assert _leaks(str(caught.value)) == []
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "receive_response_headers" in logged  # httpcore's header dump was captured
    assert _leaks(logged) == []
