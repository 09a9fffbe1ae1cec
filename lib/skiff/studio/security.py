"""Who may talk to the studio: a one-time token, a session cookie, CSRF and Host checks.

Like Jupyter, ``skiff studio`` prints a URL with a random token made at start. Opening it sets
an HttpOnly, SameSite=Strict session cookie and redirects to the bare URL (the token leaves the
address bar). Every request needs that cookie (or ``Authorization: token <token>`` for scripts).
A state-changing request (POST, PUT, PATCH, DELETE) also needs the ``X-Skiff-CSRF`` header,
which a page from another site cannot set without a CORS preflight the studio never grants, and
an ``Origin``, when sent, that is the studio's own. The ``Host`` header must name a loopback
host, so a DNS-rebinding page cannot reach the studio under a name of its own.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["CSRF_HEADER", "Guard", "new_token"]

CSRF_HEADER = "x-skiff-csrf"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})


def new_token() -> str:
    return secrets.token_hex(24)


class Guard:
    """ASGI middleware that admits only the holder of the token (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, token: str, allowed_hosts: frozenset[str] = _LOOPBACK_NAMES) -> None:
        self.app = app
        self.token = token
        self.allowed_hosts = allowed_hosts
        # Derived values: the cookie and the CSRF token never reveal the token itself.
        self.session = _derive(token, "session")
        self.csrf = _derive(token, "csrf")

    def cookie_name(self, scope: Scope) -> str:
        server = scope.get("server") or ("", 0)
        return f"skiff-studio-{server[1]}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        if _hostname(host) not in self.allowed_hosts:
            await _deny(
                scope, receive, send, 403, f"host {host!r} is not allowed: open the studio on a loopback address"
            )
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = (query.get("token") or [""])[0]
        if given and scope["method"] == "GET":
            if not hmac.compare_digest(given, self.token):
                await _deny(scope, receive, send, 403, "wrong token: use the URL that `skiff studio` printed")
                return
            # Exchange the token for the cookie, and drop it from the address bar.
            response = RedirectResponse(scope.get("path", "/") or "/", status_code=303)
            response.set_cookie(self.cookie_name(scope), self.session, httponly=True, samesite="strict", path="/")
            await response(scope, receive, send)
            return
        if not self._authenticated(scope, headers):
            await _deny(
                scope, receive, send, 401, "not signed in: open the URL with the token that `skiff studio` printed"
            )
            return
        if scope["method"] not in _SAFE_METHODS:
            if not hmac.compare_digest(headers.get(CSRF_HEADER, ""), self.csrf) and not self._bearer(headers):
                await _deny(scope, receive, send, 403, f"missing or wrong {CSRF_HEADER} header")
                return
            origin = headers.get("origin")
            if origin is not None and _hostname(origin.split("://", 1)[-1]) not in self.allowed_hosts:
                await _deny(scope, receive, send, 403, f"cross-site request from {origin} refused")
                return
        await self.app(scope, receive, send)

    def _bearer(self, headers: dict[str, str]) -> bool:
        value = headers.get("authorization", "")
        scheme, _, given = value.partition(" ")
        return scheme.lower() == "token" and hmac.compare_digest(given.strip(), self.token)

    def _authenticated(self, scope: Scope, headers: dict[str, str]) -> bool:
        if self._bearer(headers):
            return True
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed Cookie header is simply not a session
            return False
        morsel = cookie.get(self.cookie_name(scope))
        return morsel is not None and hmac.compare_digest(morsel.value, self.session)


def _derive(token: str, purpose: str) -> str:
    return hmac.new(token.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def _hostname(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if ":" in host else host


async def _deny(scope: Scope, receive: Receive, send: Send, status: int, text: str) -> None:
    response: Response = PlainTextResponse(text + "\n", status_code=status)
    await response(scope, receive, send)
