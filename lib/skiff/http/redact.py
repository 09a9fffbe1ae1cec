"""Keep secrets out of log lines and error messages.

Every string the HTTP layer shows a user (a debug line, an error) passes through here, so a
verbose log can be shared without leaking an API key, a password or a token.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

import httpx

__all__ = ["MASK", "SENSITIVE_PARAMS", "Redactor", "is_sensitive_name", "redact", "redact_url"]

MASK = "***"

# Query parameter names whose value is masked even when the secret itself is not known.
SENSITIVE_PARAMS = frozenset(
    {
        "access_token",
        "api_key",
        "apikey",
        "api-key",
        "auth",
        "client_secret",
        "key",
        "password",
        "passwd",
        "refresh_token",
        "secret",
        "sig",
        "signature",
        "token",
    }
)

# Shorter secrets would mask ordinary text ("1", "on"); nobody uses them as credentials.
_MIN_SECRET_LENGTH = 4


def is_sensitive_name(name: str) -> bool:
    """True for parameter or header names that carry credentials (``X-Api-Key``, ``token``)."""
    lowered = name.lower()
    if lowered in SENSITIVE_PARAMS:
        return True
    return any(word in lowered for word in ("token", "secret", "password", "apikey", "api_key", "api-key"))


def _variants(secret: str) -> set[str]:
    # A secret may appear percent-encoded in a URL or inside a Basic header.
    out = {secret, quote(secret, safe=""), quote_plus(secret)}
    out.add(base64.b64encode(secret.encode()).decode())
    return {v for v in out if len(v) >= _MIN_SECRET_LENGTH}


class Redactor:
    """Masks a fixed set of secrets; the encodings are computed once, so masking is cheap."""

    __slots__ = ("_variants",)

    def __init__(self, secrets: Iterable[str | None]) -> None:
        variants: set[str] = set()
        for secret in secrets:
            if secret and len(secret) >= _MIN_SECRET_LENGTH:
                variants |= _variants(secret)
        # Longest first, so a secret that contains another is masked whole.
        self._variants = sorted(variants, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self._variants:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def url(self, url: str | httpx.URL) -> str:
        """A URL fit for a log line: no user info, sensitive query values masked, secrets masked."""
        try:
            parsed = httpx.URL(str(url))
        except (httpx.InvalidURL, TypeError, ValueError):
            return self(str(url))
        if parsed.userinfo:
            parsed = parsed.copy_with(username=None, password=None)
        if parsed.query:
            items = [(k, MASK if is_sensitive_name(k) else v) for k, v in parsed.params.multi_items()]
            parsed = parsed.copy_with(params=items)
        # httpx percent-encodes the mask; show it as typed.
        return self(str(parsed).replace("%2A%2A%2A", MASK))


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every known secret (and its URL/base64 encodings) replaced by ``***``."""
    return Redactor(secrets)(text)


def redact_url(url: str | httpx.URL, secrets: Iterable[str | None] = ()) -> str:
    """A URL fit for a log line: no user info, sensitive query values masked, secrets masked."""
    return Redactor(secrets).url(url)
