"""Where requests may go: base URL joining and the https rule.

Credentials travel with every request, so plain ``http://`` is allowed only to this machine
(the sandboxes); anything else must use https.
"""

from __future__ import annotations

import ipaddress
import re

import httpx

from skiff.errors import ConfigError

from .redact import redact_url

__all__ = ["base_prefix", "check_url", "endpoint_template", "is_loopback", "join_url", "same_origin"]


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost (with or without a trailing dot)."""
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str | httpx.URL, *, what: str = "URL") -> httpx.URL:
    """The URL parsed, or ConfigError when it is malformed or plain http to a remote host.

    The message shows the URL without user info or secret query values.
    """
    try:
        parsed = httpx.URL(str(url))
    except (httpx.InvalidURL, TypeError, ValueError):
        raise ConfigError(f"{what} {redact_url(str(url))!s} is not a valid URL") from None
    shown = redact_url(parsed)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigError(f"{what} {shown} must be an absolute https URL")
    if parsed.scheme == "http" and not is_loopback(parsed.host):
        raise ConfigError(f"{what} {shown} must use https (plain http only to localhost)")
    return parsed


def same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


def base_prefix(base: httpx.URL) -> str:
    """The base URL as the string paths are appended to (no query, no trailing slash)."""
    return str(base.copy_with(query=None, fragment=None)).rstrip("/")


def join_url(base: httpx.URL, path: str, *, prefix: str | None = None) -> httpx.URL:
    """``base`` + ``path``; an absolute ``path`` must be on the same origin as ``base``.

    ``https://api.example.com/api/v1`` + ``/orders`` is ``.../api/v1/orders`` (the base path is
    kept, unlike RFC 3986 joining, because every vendor documents paths that way).
    ``prefix`` is :func:`base_prefix` of ``base``, if the caller has it already (URL handling
    costs tens of microseconds a time).
    """
    if "://" in path.split("?", 1)[0]:
        target = check_url(path)
        if not same_origin(target, base):
            raise ConfigError(
                f"URL {redact_url(target)} is not on the base URL's host {base.host}; "
                "absolute URLs must stay on the same host"
            )
        return target
    if prefix is None:
        prefix = base_prefix(base)
    if not path:
        return httpx.URL(prefix)
    return httpx.URL(prefix + "/" + path.lstrip("/"))


_ID_SEGMENT = re.compile(
    r"^(\d+|[0-9a-fA-F]{24}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
)


def endpoint_template(method: str, path: str) -> str:
    """``"GET /orders/{id}"`` for ``GET /orders/123?x=1``: the key of per-endpoint rate limits.

    Numeric, 24-hex (MongoDB object ids) and UUID segments count as ids, so ``/orders/1`` and
    ``/orders/2`` share one limit as the vendors count them.
    """
    path = path.split("?", 1)[0]
    if "://" in path:
        path = httpx.URL(path).path
    segments = ["{id}" if _ID_SEGMENT.match(s) else s for s in path.split("/")]
    return f"{method.upper()} {'/'.join(segments)}"
