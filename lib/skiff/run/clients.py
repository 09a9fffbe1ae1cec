"""HTTP clients per credential set: the component's ``http`` block rendered over a cfg, pooled.

One :class:`~skiff.http.HttpClient` per credential set (connections, OAuth2 tokens and rate
limit windows are shared by every call made with it), one rate limiter for the whole pool.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ..clock import SYSTEM_CLOCK, Clock
from ..component import Component
from ..errors import ConfigError
from ..http import HttpClient, HttpStats, RateLimiter
from ..http.client import DEFAULT_TOTAL_TIMEOUT
from ..http.redact import is_sensitive_name, secret_text
from ..specs import AuthSpec, HttpSpec, RateLimitSpec
from ..templating import render

__all__ = ["ClientPool", "credential_key", "http_spec", "secrets_of"]

_AUTH_LIST = TypeAdapter(list[AuthSpec])
_LIMIT_LIST = TypeAdapter(list[RateLimitSpec])
_SECRET_VIEWS = {"PasswordFieldView"}


def secrets_of(component: Component, cfg: Mapping[str, Any]) -> list[str]:
    """The cfg values that must never appear in a log line, an error or an emitted message."""
    fields = dict(component.model.credentials.fields)
    out: list[str] = []

    def walk(name: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(k, v)
        elif (text := secret_text(value)) is not None and text:
            # A number from YAML (``password: 12345678``) is as secret as a string.
            field_model = fields.get(name)
            if is_sensitive_name(name) or (field_model is not None and field_model.viewClass in _SECRET_VIEWS):
                out.append(text)

    for key, value in cfg.items():
        walk(key, value)
    return out


def credential_key(component: Component, cfg: Mapping[str, Any]) -> str:
    """A stable, non-reversible key for one credential set (rate limits and client pooling)."""
    names = sorted(component.model.credentials.fields) or sorted(cfg)
    raw = "\x1f".join(f"{n}={cfg.get(n)!r}" for n in names)
    return hashlib.sha256(f"{component.name}\x1f{raw}".encode()).hexdigest()[:24]


def _key_parts(cfg: Mapping[str, Any]) -> dict[str, str]:
    return {k: hashlib.sha256(repr(v).encode()).hexdigest()[:16] for k, v in cfg.items() if v is not None}


def http_spec(component: Component, cfg: Mapping[str, Any]) -> HttpSpec | None:
    """The component's ``http`` block rendered over ``cfg`` (None: the component has none)."""
    spec = component.http
    if spec is None:
        return None
    where = f"{component.name}: http"
    raw = spec.model_dump(by_alias=True, exclude_none=True)
    rendered = render(raw, {"cfg": cfg}, where=where)
    # A header that renders to nothing (an optional cfg field) is not sent at all.
    rendered["headers"] = {k: v for k, v in (rendered.get("headers") or {}).items() if v not in (None, "")}
    try:
        if isinstance(rendered.get("auth"), dict):
            rendered["auth"] = [rendered["auth"]]
        if isinstance(rendered.get("auth"), list):
            rendered["auth"] = _AUTH_LIST.validate_python(rendered["auth"])
        if isinstance(rendered.get("rateLimits"), list):
            rendered["rateLimits"] = _LIMIT_LIST.validate_python(rendered["rateLimits"])
        out = HttpSpec.model_validate(rendered)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith(("list[", "tagged-union")))
        raise ConfigError(f"cfg gives an invalid http setting {loc}: {err['msg']}", where=component.name) from None
    if not isinstance(out.baseUrl, str) or not out.baseUrl:
        raise ConfigError("cfg gives no base URL", where=component.name)
    return out


class ClientPool:
    """The HTTP clients of one executor, one per credential set, sharing one rate limiter."""

    def __init__(
        self,
        *,
        limiter: RateLimiter | None = None,
        transport: Any = None,
        clock: Clock = SYSTEM_CLOCK,
        timeout: float = DEFAULT_TOTAL_TIMEOUT,
    ) -> None:
        # One limiter for every client: limits keyed by API key span users.
        if limiter is None:
            # SKIFF_RATE_LIMITS=redis://... (what --rate-limits sets): windows shared with every
            # process on that Redis.
            limiter = RateLimiter(os.environ.get("SKIFF_RATE_LIMITS") or "memory://", clock=clock)
        self.limiter = limiter
        self._transport = transport
        self.clock = clock
        self.timeout = timeout
        self._clients: dict[str, HttpClient] = {}

    def client(self, component: Component, cfg: Mapping[str, Any]) -> HttpClient | None:
        key = credential_key(component, cfg)
        client = self._clients.get(key)
        if client is not None:
            return client
        spec = http_spec(component, cfg)
        if spec is None:
            return None
        client = HttpClient(
            spec,
            credential_key=key,
            credentials=_key_parts(cfg),
            limiter=self.limiter,
            transport=self._transport,
            secrets=secrets_of(component, cfg),
            clock=self.clock,
            total_timeout=self.timeout,
        )
        self._clients[key] = client
        return client

    def stats(self) -> list[HttpStats]:
        """Requests, retries, 429s and limiter waits of every pooled client."""
        return [client.stats for client in self._clients.values()]

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
        await self.limiter.aclose()  # its Redis connection, if any (opened again when used)
