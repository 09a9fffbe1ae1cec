"""Authentication as httpx auth flows, built from the ``auth`` list of an HttpSpec.

Static credentials (API key, Basic, Bearer, and API key + Basic together, as some APIs want) are
applied to every request. OAuth2 client credentials fetch a token once, share it among
concurrent requests, refresh it before it expires and once on a 401.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import weakref
from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from skiff.clock import SYSTEM_CLOCK, Clock
from skiff.errors import AuthError, ConfigError, TransientError
from skiff.specs import AuthSpec, OAuth2ClientCredentials

from .auth_types import auth_type, basic_header
from .bodies import vendor_error
from .redact import Redactor, redact_url
from .urls import check_url

__all__ = ["OAuth2ClientCredentialsAuth", "StaticAuth", "auth_secrets", "build_auth"]


class StaticAuth(httpx.Auth):
    """Fixed headers and query parameters added to every request."""

    def __init__(self, headers: dict[str, str] | None = None, params: dict[str, str] | None = None) -> None:
        self.headers = dict(headers or {})
        self.params = dict(params or {})

    def apply(self, request: httpx.Request) -> None:
        for name, value in self.headers.items():
            request.headers[name] = value
        if self.params:
            request.url = request.url.copy_merge_params(self.params)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.apply(request)
        yield request


@dataclass
class _TokenState:
    """One cached token, shared by every client with the same OAuth2 credentials."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    token: str | None = None
    # Monotonic time after which the token is refreshed; None: unknown expiry (refresh on 401).
    refresh_at: float | None = None


# Per event loop, because an asyncio.Lock must not be shared across loops.
_STATES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, ...], _TokenState]] = (
    weakref.WeakKeyDictionary()
)


class OAuth2ClientCredentialsAuth(httpx.Auth):
    """OAuth2 client credentials (RFC 6749 4.4) with a cached, shared token.

    The token request is yielded through the flow, so it uses the client's own transport.
    Concurrent requests that find no valid token wait on one lock: exactly one token
    request is made. On a 401 the token is refreshed once (unless a concurrent request already
    did) and the request repeated; a second 401 is returned to the caller.
    """

    def __init__(
        self,
        spec: OAuth2ClientCredentials,
        *,
        static: StaticAuth | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.spec = spec
        self.wall_clock = wall_clock
        self.token_url = check_url(spec.tokenUrl, what="OAuth2 tokenUrl")
        self.static = static
        self.clock = clock
        secret_hash = hashlib.sha256(spec.clientSecret.encode()).hexdigest()[:16]
        # The secret's hash is part of the key: a wrong secret must not reuse a good token.
        self._key = (str(self.token_url), spec.clientId, secret_hash, spec.scope or "", spec.clientAuth)
        self.token_requests = 0

    # ------------------------------------------------------------------ token state

    def _state(self) -> _TokenState:
        loop = asyncio.get_running_loop()
        states = _STATES.setdefault(loop, {})
        state = states.get(self._key)
        if state is None:
            state = states[self._key] = _TokenState()
        return state

    @property
    def current_token(self) -> str | None:
        """The cached token, for redaction (never logged)."""
        try:
            return self._state().token
        except RuntimeError:  # no running loop
            return None

    def _valid(self, state: _TokenState) -> str | None:
        if state.token is None:
            return None
        if state.refresh_at is not None and self.clock() >= state.refresh_at:
            return None
        return state.token

    def _token_request(self) -> httpx.Request:
        form = {"grant_type": "client_credentials"}
        if self.spec.scope:
            form["scope"] = self.spec.scope
        headers = {"Accept": "application/json"}
        if self.spec.clientAuth == "basic":
            headers["Authorization"] = basic_header(self.spec.clientId, self.spec.clientSecret)
        else:
            form["client_id"] = self.spec.clientId
            form["client_secret"] = self.spec.clientSecret
        return httpx.Request("POST", self.token_url, data=form, headers=headers)

    async def _store(self, state: _TokenState, response: httpx.Response) -> str:
        await response.aread()
        shown = redact_url(self.token_url)
        redactor = Redactor(auth_secrets([self.spec]))
        body: Any = None
        try:
            body = json.loads(response.content) if response.content else None
        except ValueError:
            body = None
        status = response.status_code
        if status >= 400:
            message, _ = vendor_error(body, extra_message_paths=["error_description", "error"])
            reason = f"{status} {response.reason_phrase}".strip()
            text = f"OAuth2 token request to {shown} failed: {reason}"
            if message:
                text += f": {redactor.clip(message, 300)}"
            if status >= 500 or status in (408, 429):
                raise TransientError(text)
            raise AuthError(text, status=status)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise AuthError(f"OAuth2 token response from {shown} has no access_token", status=status)
        state.token = token
        state.refresh_at = self._refresh_at(body)
        self.token_requests += 1
        return token

    def _refresh_at(self, body: dict[str, Any]) -> float | None:
        expires_in = body.get("expires_in")
        if expires_in is None and self.spec.expiresField:
            # The component's own lifetime field: seconds, or an epoch timestamp when large.
            expires = body.get(self.spec.expiresField)
            if isinstance(expires, (int, float)) and not isinstance(expires, bool) and expires > 0:
                expires_in = expires - self.wall_clock() if expires > 1e9 else expires
        try:
            seconds = float(expires_in) if expires_in is not None else 0.0
        except (TypeError, ValueError):
            seconds = 0.0
        if seconds <= 0:
            return None
        # A short-lived token is still used for half its life rather than refreshed every call.
        margin = min(self.spec.refreshMargin, seconds / 2)
        return self.clock() + seconds - margin

    # ------------------------------------------------------------------ flows

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("OAuth2ClientCredentialsAuth works with httpx.AsyncClient only")
        yield request  # pragma: no cover  (makes this a generator)

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if self.static is not None:
            self.static.apply(request)
        state = self._state()
        token = self._valid(state)
        if token is None:
            async with state.lock:
                token = self._valid(state)
                if token is None:
                    token = await self._store(state, (yield self._token_request()))
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401:
            return
        async with state.lock:
            # Refresh only if no concurrent request has replaced the rejected token yet.
            if state.token is None or state.token == token:
                state.token = None
                token = await self._store(state, (yield self._token_request()))
            else:
                token = state.token
        request.headers["Authorization"] = f"Bearer {token}"
        yield request


def build_auth(specs: Sequence[AuthSpec], *, clock: Clock = SYSTEM_CLOCK) -> httpx.Auth | None:
    """One httpx auth applying every spec (each through its type in :mod:`skiff.http.auth_types`);
    ConfigError when two of them claim the same header."""
    headers: dict[str, str] = {}
    params: dict[str, str] = {}
    flows: list[AuthSpec] = []

    def put(where: str, name: str, value: str) -> None:
        target = headers if where == "header" else params
        if name.lower() in (k.lower() for k in target):
            raise ConfigError(f"http.auth: two auth entries set {where} {name!r}")
        target[name] = value

    for spec in specs:
        if not auth_type(spec.type).apply(spec, put):
            flows.append(spec)
    static = StaticAuth(headers, params) if headers or params else None
    if not flows:
        return static
    if len(flows) > 1:
        raise ConfigError(f"http.auth: only one token flow is supported, got {len(flows)}")
    flow = flows[0]
    if not isinstance(flow, OAuth2ClientCredentials):  # pragma: no cover  (oauth2 is the one flow)
        raise ConfigError(f"http.auth: {flow.type!r} has no token flow")
    if any(k.lower() == "authorization" for k in headers):
        raise ConfigError("http.auth: oauth2 and another entry both set the Authorization header")
    return OAuth2ClientCredentialsAuth(flow, static=static, clock=clock.monotonic, wall_clock=clock.time)


def auth_secrets(specs: Sequence[AuthSpec]) -> list[str]:
    """Every secret value in the specs (API keys, passwords, tokens, client secrets)."""
    return [s for spec in specs for s in auth_type(spec.type).secrets(spec) if s]
