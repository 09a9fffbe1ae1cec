"""The HTTP layer every handler gets as ``ctx.http``.

Auth (API key, Basic, both, Bearer, OAuth2 client credentials), client-side rate limits,
retries with Retry-After and backoff, pagination, JSON/XML/binary bodies and one-line errors
that never contain a secret. Handlers never build auth headers, sleep or parse envelopes.
"""

from __future__ import annotations

from .auth import OAuth2ClientCredentialsAuth, StaticAuth, auth_secrets, build_auth
from .bodies import MISSING, get_path, has_path, parse_body, parse_xml, to_records, vendor_error
from .client import HttpClient, HttpStats, Response, ResponseType, TransientApiError
from .paging import Page, paginate
from .ratelimit import Limit, Permit, RateLimiter, limits_for, parse_rate_limit_headers
from .redact import Redactor, redact, redact_url
from .retry import RetryPolicy, parse_retry_after
from .shared_limits import shared_limiter
from .urls import check_url, endpoint_template, is_loopback, join_url

__all__ = [
    "MISSING",
    "HttpClient",
    "HttpStats",
    "Limit",
    "OAuth2ClientCredentialsAuth",
    "Page",
    "Permit",
    "RateLimiter",
    "Redactor",
    "Response",
    "ResponseType",
    "RetryPolicy",
    "StaticAuth",
    "TransientApiError",
    "auth_secrets",
    "build_auth",
    "check_url",
    "endpoint_template",
    "get_path",
    "has_path",
    "is_loopback",
    "join_url",
    "limits_for",
    "paginate",
    "parse_body",
    "parse_rate_limit_headers",
    "parse_retry_after",
    "parse_xml",
    "redact",
    "redact_url",
    "shared_limiter",
    "to_records",
    "vendor_error",
]
