"""Keep secrets out of log lines and error messages.

Every string the HTTP layer shows a user (a debug line, an error) passes through here, so a
verbose log can be shared without leaking an API key, a password or a token.

A secret is masked in every form a server or a library may echo it in: as typed,
percent-encoded (either case), JSON-escaped, and base64 (standard and URL-safe) at any byte
alignment, so it is also found inside a Basic header's ``base64(user:secret)`` or any other
base64 blob. Redact first, truncate after (:meth:`Redactor.clip`): a cut must never leave
half a secret behind.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

import httpx

__all__ = ["MASK", "SENSITIVE_PARAMS", "Redactor", "is_sensitive_name", "redact", "redact_url", "secret_text"]

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

# Names that mention a secret but hold something else: ``tokenUrl``, ``apiKeyHeader``.
_NOT_SECRET_SUFFIXES = ("url", "uri", "endpoint", "path", "type", "field", "param", "header", "name", "location")

# Shorter secrets would mask ordinary text ("1", "on"); nobody uses them as credentials.
_MIN_SECRET_LENGTH = 4
# A base64 fragment shorter than this is too likely to occur by chance in other base64 text.
_MIN_B64_FRAGMENT = 6


# Headers that carry credentials whatever their value looks like.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
# A name containing one of these is secret-looking (cfg fields, query parameters, headers).
SECRET_WORDS = ("token", "secret", "password", "passwd", "apikey", "api_key", "api-key", "signature", "session")


def is_sensitive_name(name: str) -> bool:
    """True for field, parameter or header names that carry credentials (``X-Api-Key``, ``token``).

    The one list of secret-looking names: cfg redaction, URL masking and the sandboxes' request
    logs all ask here.
    """
    lowered = name.lower()
    if lowered in SENSITIVE_PARAMS or lowered in SECRET_HEADERS:
        return True
    if lowered.replace("_", "").replace("-", "").endswith(_NOT_SECRET_SUFFIXES):
        return False
    return any(word in lowered for word in SECRET_WORDS)


def secret_text(value: object) -> str | None:
    """A secret as the text it is sent as: a number from YAML (``password: 12345678``) too."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return None


def _base64_fragments(data: bytes) -> set[str]:
    """The base64 characters that depend on ``data`` alone, at each of the three alignments."""
    out: set[str] = set()
    for shift in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\0" * shift + data + b"\0\0\0").decode("ascii")
            start = -(-8 * shift // 6)  # the first character made only of ``data``'s bits
            end = 8 * (shift + len(data)) // 6
            fragment = text[start:end]
            if len(fragment) >= _MIN_B64_FRAGMENT:
                out.add(fragment)
        whole = base64.b64encode(data).decode("ascii")
        out |= {whole, whole.rstrip("=")}
    return out


def _variants(secret: str) -> set[str]:
    out = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}
    out |= {re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), v) for v in list(out)}
    out.add(json.dumps(secret)[1:-1])
    out.add(json.dumps(secret, ensure_ascii=False)[1:-1])
    out |= _base64_fragments(secret.encode())
    return {v for v in out if len(v) >= _MIN_SECRET_LENGTH}


class Redactor:
    """Masks a fixed set of secrets; the forms are computed once, so masking is one regex pass."""

    __slots__ = ("_pattern", "secrets")

    def __init__(self, secrets: Iterable[object]) -> None:
        variants: set[str] = set()
        kept: list[str] = []
        for value in secrets:
            secret = secret_text(value)
            if secret and len(secret) >= _MIN_SECRET_LENGTH:
                kept.append(secret)
                variants |= _variants(secret)
        self.secrets = tuple(kept)
        # Longest first, so a secret that contains another is masked whole.
        ordered = sorted(variants, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(MASK, text)

    def clip(self, text: str, limit: int) -> str:
        """Redacted, then cut to ``limit`` characters (never the other way round)."""
        return self(text)[:limit]

    def url(self, url: str | httpx.URL) -> str:
        """A URL fit for a log line: user info replaced by ``***``, sensitive query values and secrets masked."""
        try:
            parsed = httpx.URL(str(url))
        except (httpx.InvalidURL, TypeError, ValueError):
            return self(str(url))
        if not parsed.userinfo and not parsed.query:
            return self(str(url))  # nothing to mask: as typed (httpx would rewrite sqlite:///a.db)
        if parsed.userinfo:
            # Neither user nor password, but a sign that credentials were given.
            parsed = parsed.copy_with(username=MASK, password=None)
        if parsed.query:
            items = [(k, MASK if is_sensitive_name(k) else v) for k, v in parsed.params.multi_items()]
            parsed = parsed.copy_with(params=items)
        # httpx percent-encodes the mask; show it as typed.
        return self(str(parsed).replace("%2A%2A%2A", MASK))


def redact(text: str, secrets: Iterable[object]) -> str:
    """``text`` with every known secret (and its encoded forms) replaced by ``***``."""
    return Redactor(secrets)(text)


def redact_url(url: str | httpx.URL, secrets: Iterable[object] = ()) -> str:
    """A URL fit for a log line or an error (API and store URLs alike): user info replaced by
    ``***``, sensitive query values and known secrets masked."""
    return Redactor(secrets).url(url)
