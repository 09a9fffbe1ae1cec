"""skiff.http.auth against a real server: static credentials and OAuth2 client credentials."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from skiff.clock import ManualClock
from skiff.errors import AuthError, ConfigError
from skiff.http import HttpClient, build_auth
from skiff.specs import ApiKeyAuth, BasicAuth, BearerAuth, HttpSpec, OAuth2ClientCredentials, RetrySpec

if TYPE_CHECKING:
    from conftest import LiveServer

CLIENT_ID = "billwerk-client-id"
CLIENT_SECRET = "billwerk-client-s3cret-value"


class TokenServer:
    """An OAuth2 token endpoint (Billwerk style) and an API that accepts its live tokens."""

    def __init__(
        self, *, expires_in: float | None = 3600, expires_zero: bool = False, expires: float | None = None
    ) -> None:
        self.expires_in = expires_in
        self.expires_zero = expires_zero
        self.expires = expires  # a lifetime in a field of the vendor's own name
        self.issued: list[str] = []
        self.valid: set[str] = set()
        self.token_delay = 0.0
        self.issue_invalid = False  # tokens the API then refuses (revoked permissions)

    def routes(self) -> list[Route]:
        return [
            Route("/oauth/token", self.token, methods=["POST"]),
            Route("/api/v1/me", self.me),
        ]

    async def token(self, request: Request) -> JSONResponse:
        # Parsed by hand: starlette's form parsing needs python-multipart.
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        else:
            client_id, secret = str(form.get("client_id")), str(form.get("client_secret"))
        if form.get("grant_type") != "client_credentials" or (client_id, secret) != (
            CLIENT_ID,
            CLIENT_SECRET,
        ):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        await asyncio.sleep(self.token_delay)
        token = f"token-{len(self.issued) + 1}-abcdefgh"
        self.issued.append(token)
        if not self.issue_invalid:
            self.valid.add(token)
        body: dict[str, Any] = {"access_token": token, "token_type": "bearer"}
        if self.expires_zero:
            body["expires"] = 0
        elif self.expires is not None:
            body["expires"] = self.expires
        elif self.expires_in is not None:
            body["expires_in"] = self.expires_in
        return JSONResponse(body)

    async def me(self, request: Request) -> JSONResponse:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.valid:
            return JSONResponse({"Message": "Unauthorized"}, status_code=401)
        return JSONResponse({"token": token})


def oauth_spec(server: LiveServer, **kw: Any) -> HttpSpec:
    oauth = OAuth2ClientCredentials(
        tokenUrl=server.url + "/oauth/token",
        clientId=CLIENT_ID,
        clientSecret=kw.pop("secret", CLIENT_SECRET),
        **kw,
    )
    return HttpSpec(baseUrl=server.url + "/api/v1", auth=[oauth], retry=RetrySpec(maxAttempts=1))


# ---------------------------------------------------------------- static credentials


async def test_api_key_and_basic_together(live: Callable[..., LiveServer]) -> None:
    async def me(request: Request) -> JSONResponse:
        return JSONResponse({"key": request.headers.get("x-billbee-api-key"), "auth": request.headers["authorization"]})

    server = live([Route("/me", me)])
    auth = [
        ApiKeyAuth(**{"in": "header", "name": "X-Billbee-Api-Key", "value": "the-key"}),
        BasicAuth(username="user", password="pw"),
    ]
    async with HttpClient(HttpSpec(baseUrl=server.url, auth=auth)) as client:
        got = await client.get("/me")
    assert got == {"key": "the-key", "auth": "Basic " + base64.b64encode(b"user:pw").decode()}


async def test_api_key_in_query_and_bearer(live: Callable[..., LiveServer]) -> None:
    async def me(request: Request) -> JSONResponse:
        return JSONResponse({"query": dict(request.query_params), "auth": request.headers.get("authorization")})

    server = live([Route("/me", me)])
    auth = [ApiKeyAuth(**{"in": "query", "name": "api_key", "value": "k1"}), BearerAuth(token="t1")]
    async with HttpClient(HttpSpec(baseUrl=server.url, auth=auth)) as client:
        got = await client.get("/me", params={"page": 2})
    assert got == {"query": {"page": "2", "api_key": "k1"}, "auth": "Bearer t1"}


def test_conflicting_auth_is_config_error() -> None:
    with pytest.raises(ConfigError, match="Authorization"):
        build_auth([BasicAuth(username="a", password="b"), BearerAuth(token="t")])


# ---------------------------------------------------------------- OAuth2


async def test_token_cached(live: Callable[..., LiveServer]) -> None:
    tokens = TokenServer()
    server = live(tokens.routes())
    async with HttpClient(oauth_spec(server)) as client:
        for _ in range(3):
            assert (await client.get("/me"))["token"] == "token-1-abcdefgh"
    assert server.count("/oauth/token") == 1
    # Another client with the same credentials shares the cached token.
    async with HttpClient(oauth_spec(server)) as other:
        await other.get("/me")
    assert server.count("/oauth/token") == 1


async def test_token_refreshed_before_expiry(live: Callable[..., LiveServer]) -> None:
    tokens = TokenServer(expires_in=2)
    server = live(tokens.routes())
    clock = ManualClock()
    async with HttpClient(oauth_spec(server, refreshMargin=1), clock=clock) as client:
        assert (await client.get("/me"))["token"] == "token-1-abcdefgh"
        assert (await client.get("/me"))["token"] == "token-1-abcdefgh"
        clock.advance(1.1)  # inside the refresh margin, before the token expires
        assert (await client.get("/me"))["token"] == "token-2-abcdefgh"
    assert server.count("/oauth/token") == 2
    assert server.count("/api/v1/me") == 3  # no request was refused on the way


@pytest.mark.parametrize("declared", [True, False])
async def test_a_vendor_lifetime_field_counts_only_when_declared(
    live: Callable[..., LiveServer], declared: bool
) -> None:
    """``expires`` instead of ``expires_in`` is one vendor's habit: read only where a component declares it."""
    tokens = TokenServer(expires=60)
    server = live(tokens.routes())
    clock = ManualClock()
    spec = oauth_spec(server, refreshMargin=0, expiresField="expires" if declared else None)
    async with HttpClient(spec, clock=clock) as client:
        await client.get("/me")
        clock.advance(61)
        await client.get("/me")
    # Declared: refreshed after its 60 s; not declared: the lifetime is unknown, the token kept.
    assert server.count("/oauth/token") == (2 if declared else 1)


async def test_refreshed_once_on_401(live: Callable[..., LiveServer]) -> None:
    tokens = TokenServer(expires_zero=True)  # Billwerk: unknown expiry, refresh on 401 only
    server = live(tokens.routes())
    async with HttpClient(oauth_spec(server)) as client:
        await client.get("/me")
        tokens.valid.clear()  # the server revokes every token
        assert (await client.get("/me"))["token"] == "token-2-abcdefgh"
        assert server.count("/oauth/token") == 2
        # A token that is refused even fresh: exactly one refresh, then AuthError.
        tokens.valid.clear()
        tokens.issue_invalid = True
        with pytest.raises(AuthError) as info:
            await client.get("/me")
        assert info.value.status == 401
    assert server.count("/oauth/token") == 3


async def test_ten_concurrent_calls_one_token_request(live: Callable[..., LiveServer]) -> None:
    tokens = TokenServer(expires_in=0.4)
    tokens.token_delay = 0.1  # a slow token endpoint widens the race
    server = live(tokens.routes())
    clock = ManualClock()
    async with HttpClient(oauth_spec(server, refreshMargin=0), clock=clock) as client:
        await client.get("/me")
        clock.advance(0.5)  # the token has expired
        results = await asyncio.gather(*(client.get("/me") for _ in range(10)))
    assert {r["token"] for r in results} == {"token-2-abcdefgh"}
    assert server.count("/oauth/token") == 2


async def test_concurrent_401s_refresh_once(live: Callable[..., LiveServer]) -> None:
    tokens = TokenServer(expires_zero=True)
    server = live(tokens.routes())
    async with HttpClient(oauth_spec(server)) as client:
        await client.get("/me")
        tokens.valid.clear()
        results = await asyncio.gather(*(client.get("/me") for _ in range(10)))
    assert {r["token"] for r in results} == {"token-2-abcdefgh"}
    assert server.count("/oauth/token") == 2


async def test_client_secret_in_body(live: Callable[..., LiveServer]) -> None:
    tokens = TokenServer()
    server = live(tokens.routes())
    async with HttpClient(oauth_spec(server, clientAuth="body")) as client:
        assert (await client.get("/me"))["token"] == "token-1-abcdefgh"
    assert "authorization" not in server.of("/oauth/token")[0].headers


async def test_wrong_client_secret_is_auth_error_without_secret(
    live: Callable[..., LiveServer], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = TokenServer()
    server = live(tokens.routes())
    wrong = "wrong-secret-123456789"
    async with HttpClient(oauth_spec(server, secret=wrong)) as client:
        with pytest.raises(AuthError) as info:
            await client.get("/me")
    text = str(info.value)
    assert text.startswith(f"OAuth2 token request to {server.url}/oauth/token failed: 401")
    assert "invalid_client" in text
    assert wrong not in text and wrong not in caplog.text
    assert server.count("/api/v1/me") == 0


async def test_token_never_logged(live: Callable[..., LiveServer], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = TokenServer()
    server = live(tokens.routes())
    async with HttpClient(oauth_spec(server)) as client:
        await client.get("/me")
    assert "GET " in caplog.text
    for secret in (
        CLIENT_SECRET,
        "token-1-abcdefgh",
        base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode(),
    ):
        assert secret not in caplog.text


def test_every_registered_auth_type_brings_the_model_of_its_entry() -> None:
    """A new auth type is one module in skiff.http.auth_types (its class and model) plus its registration."""
    import typing

    from skiff.http.auth_types import AUTH_TYPES
    from skiff.specs import AuthModel

    for name, kind in AUTH_TYPES.items():
        assert kind.type == name and issubclass(kind.model, AuthModel)
        assert typing.get_args(kind.model.model_fields["type"].annotation) == (name,)
    entry = {"type": "apiKey", "in": "query", "name": "api_key"}
    assert AUTH_TYPES["apiKey"].describe(entry) == "API key in query `api_key`"
