"""``HttpClient``: the one way a handler talks to an API.

One client per credential set, wrapping one ``httpx.AsyncClient`` (connections are reused).
Each request: wait for the rate limits, send with auth, retry what may be retried, parse the
body (JSON, XML, binary), unwrap the envelope, and turn a failure into one clear SkiffError
that never contains a secret.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import ssl
import time
import weakref
from collections.abc import AsyncGenerator, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from types import TracebackType
from typing import Any, Final, Literal

import httpx

from skiff.clock import SYSTEM_CLOCK, Clock
from skiff.errors import ApiError, AuthError, ConfigError, RateLimited, SkiffError, TransientError
from skiff.message import Attachment
from skiff.specs import HttpSpec, PaginationSpec, RequestSpec

from .auth import OAuth2ClientCredentialsAuth, auth_secrets, build_auth
from .bodies import MISSING, BodyKind, body_kind, get_path, parse_body, vendor_error
from .guard import GuardedBackend, GuardedTransport
from .paging import Page, paginate
from .ratelimit import NOTICE_AFTER, Limit, RateLimiter, limits_for, parse_rate_limit_headers, waits_log
from .rawjson import parse_skipping_records
from .redact import Redactor, redact_url
from .retry import CONNECT_ERRORS, RetryEvent, RetryPolicy
from .tls import shared_ssl_context
from .urls import base_prefix, check_url, endpoint_template, join_url

__all__ = ["HttpClient", "HttpStats", "LogRedactor", "Response", "ResponseType", "TransientApiError", "live_redactor"]

ResponseType = Literal["auto", "json", "xml", "binary"]

_ACCEPT = {
    "json": "application/json",
    "xml": "application/xml",
    "binary": "*/*",
}


# Clients alive now: their secrets are masked in httpx's own log lines too.
_LIVE_CLIENTS: weakref.WeakSet[HttpClient] = weakref.WeakSet()


@functools.lru_cache(maxsize=8)
def _redactor_for(secrets: tuple[str, ...]) -> Redactor:
    return Redactor(secrets)


def live_redactor() -> Redactor:
    """Masks the secrets of every client alive now (OAuth2 tokens included)."""
    return _redactor_for(tuple(sorted({s for client in list(_LIVE_CLIENTS) for s in client.secrets})))


class LogRedactor(logging.Filter):
    """Masks the live clients' secrets in a log record, message and arguments alike.

    httpx logs every request URL at INFO and httpcore, at DEBUG, the raw request and response
    headers (a server echoing ``Authorization`` included); both are formatted here, so turning
    on verbose logging never leaks a credential. The CLI puts one on its log handler too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        redactor = live_redactor()
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(redactor.url(a) if isinstance(a, httpx.URL) else a for a in record.args)
        if record.args:
            try:
                text = record.getMessage()
            except (TypeError, ValueError):
                text = str(record.msg)
            record.msg, record.args = redactor(text), None
        elif isinstance(record.msg, str):
            record.msg = redactor(record.msg)
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = redactor(logging.Formatter().formatException(record.exc_info))
        return True


_LOGGERS = ("httpx", "httpcore", "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy")


def _install_log_redactor() -> None:
    # A logger's filters see only the records logged on that very logger: one per logger.
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, LogRedactor) for f in logger.filters):
            logger.addFilter(LogRedactor())


_install_log_redactor()


progress = waits_log
"""What a call waits for (rate limits, retries, Retry-After, rebounds), one line each: the CLI shows these on stderr."""

DEFAULT_TOTAL_TIMEOUT: Final = 120.0
"""Seconds one request may take with all its attempts and waits, unless the caller says otherwise."""


class _OutOfTime(Exception):
    """The call's total timeout ran out before another attempt could begin."""


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 10 else f"{value:.1f} s"


def _append(err: SkiffError, note: str) -> None:
    err.message = f"{err.message} ({note})"
    err.args = (err.message,)


class DeadlineExceeded(httpx.ReadTimeout):
    """The whole request (body included) outlived ``http.deadline``; retried like a read timeout."""

    per_request = True  # False: the call's total timeout cut it


class TransientApiError(TransientError, ApiError):
    """A retryable status (5xx, 408) that outlived the retry budget.

    Both a TransientError (a rebound may help) and an ApiError (it carries status, code,
    method and url); its kind is TransientError.
    """


@dataclass(slots=True)
class HttpStats:
    """What the demo prints: requests sent (token requests included), retries, 429s, throttling."""

    requests: int = 0
    retries: int = 0
    throttled_waits: float = 0.0  # seconds waited for the rate limiter
    status_429: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Response:
    """A finished response: ``data`` is the parsed, envelope-unwrapped body (None for binary).

    ``raw`` is the parsed body before unwrapping (pagination reads its paging fields there).
    ``url`` has secrets masked (an API key in the query string), as handlers may log it.
    """

    status: int
    headers: httpx.Headers
    data: Any
    content: bytes
    content_type: str
    url: str
    raw: Any = None
    # The URL as sent (secrets and all): relative next-page links resolve against it. Never shown.
    request_url: str = field(default="", repr=False)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def attachment(self) -> Attachment:
        """The body as a message attachment (a PDF, an image, any binary download)."""
        ctype = self.content_type.split(";", 1)[0].strip() or "application/octet-stream"
        return Attachment(content_type=ctype, size=len(self.content), content=self.content)


@dataclass(slots=True)
class _Call:
    """One logical request, as errors and the log describe it (computed only when needed)."""

    method: str
    path: str
    url: httpx.URL
    idempotent: bool
    response_type: ResponseType
    redactor: Redactor | None = None

    @property
    def where(self) -> str:
        """``GET /orders``: the start of every error message (no query string, no secret)."""
        shown = self.path.split("?", 1)[0] if "://" not in self.path else self.url.path
        text = f"{self.method} {shown or '/'}"
        return self.redactor(text) if self.redactor else text

    @property
    def shown_url(self) -> str:
        """The URL with secrets masked (ApiError.url)."""
        return self.redactor.url(self.url) if self.redactor else redact_url(self.url)


def _ssl_context() -> ssl.SSLContext:
    """One TLS context per process, its CA bundle loaded at the first handshake (skiff.http.tls)."""
    return shared_ssl_context()


class HttpClient:
    """HTTP for one credential set: auth, rate limits, retries, bodies, errors, pagination.

    ``spec`` is rendered (no templates left). ``credential_key`` identifies the credential set
    for rate limits shared through ``limiter``; ``credentials`` (optional) are the named parts
    that RateLimitSpec.key refers to. ``secrets`` are extra strings to keep out of logs/errors.
    """

    def __init__(
        self,
        spec: HttpSpec,
        *,
        credential_key: str = "",
        limiter: RateLimiter | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        logger: logging.Logger | None = None,
        secrets: Iterable[str] = (),
        credentials: Mapping[str, str] | None = None,
        clock: Clock = SYSTEM_CLOCK,
        total_timeout: float = DEFAULT_TOTAL_TIMEOUT,
    ) -> None:
        if isinstance(spec.auth, str) or isinstance(spec.rateLimits, str):
            raise ConfigError("http.auth and http.rateLimits must be rendered to lists before the client is built")
        self.spec = spec
        # Named by their place when unnamed, so the two groups below never share a window.
        named = [
            lim if lim.name else lim.model_copy(update={"name": f"limit{i}"}) for i, lim in enumerate(spec.rateLimits)
        ]
        self._rate_limits = [lim for lim in named if not (lim.endpoints or lim.per)]
        self._request_limits = [lim for lim in named if lim.endpoints or lim.per]
        self.base_url = check_url(spec.baseUrl, what="http.baseUrl")
        self._prefix = base_prefix(self.base_url)
        self.credential_key = credential_key
        self.credentials = dict(credentials) if credentials is not None else None
        if limiter is not None and limiter.clock is not clock:
            # Windows and waits on one time: a limiter on the real clock would sleep in a test.
            raise ValueError("the rate limiter must run on the client's clock (RateLimiter(clock=...))")
        self.limiter = limiter if limiter is not None else RateLimiter(clock=clock)
        self.logger = logger or logging.getLogger("skiff.http")
        self.stats = HttpStats()
        self.clock = clock
        self.total_timeout = total_timeout
        self.retry = RetryPolicy(spec.retry, sleep=clock.sleep, rng=clock.random, wall=clock.time)
        self._auth = build_auth(spec.auth, clock=clock)
        self._secrets = [*auth_secrets(spec.auth), *(s for s in secrets if s)]
        self._redactor = Redactor(self._secrets)
        self._redactor_token: str | None = None
        # Per-endpoint limits, computed once (hashing keys on every request adds up).
        self._limits_cache: dict[str, list[Limit]] = {}
        digest = hashlib.sha256(credential_key.encode()).hexdigest()[:20]
        # X-Rate-Limit headers describe the account at this host: hold per host + credential.
        self._hold_key = f"{self.base_url.host}:{self.base_url.port or ''}:{digest}"
        _LIVE_CLIENTS.add(self)
        self._client = httpx.AsyncClient(
            auth=self._auth,
            headers=spec.headers,
            timeout=httpx.Timeout(spec.timeout, connect=spec.connectTimeout),
            transport=transport if transport is not None else self._guarded_transport(),
            verify=_ssl_context(),
            follow_redirects=False,  # a redirect to another host would carry API key headers along
            # No proxy from HTTP(S)_PROXY/ALL_PROXY: a proxy connects to the target itself, past the
            # address guard (httpx ignores them beside an explicit transport too; this says so).
            trust_env=False,
            event_hooks={"request": [self._on_request], "response": [self._on_response]},
        )

    def _guarded_transport(self) -> GuardedTransport:
        allow = self.spec.allowPrivateNetworks
        if isinstance(allow, str):
            allow = allow.strip().lower() in ("1", "true", "yes", "on")
        return GuardedTransport(ssl_context=_ssl_context(), backend=GuardedBackend(allow_private=allow))

    # ------------------------------------------------------------------ lifecycle

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ redaction and logging

    @property
    def secrets(self) -> list[str]:
        """Every secret this client knows, the current OAuth2 token included."""
        out = list(self._secrets)
        if isinstance(self._auth, OAuth2ClientCredentialsAuth) and self._auth.current_token:
            out.append(self._auth.current_token)
        return out

    @property
    def redactor(self) -> Redactor:
        """Masks this client's secrets; rebuilt when the OAuth2 token changes."""
        if isinstance(self._auth, OAuth2ClientCredentialsAuth):
            token = self._auth.current_token
            if token != self._redactor_token:
                self._redactor = Redactor([*self._secrets, token])
                self._redactor_token = token
        return self._redactor

    def redact(self, text: str) -> str:
        return self.redactor(text)

    def _limits(
        self, method: str, path: str, endpoint: str | None, query: Mapping[str, Any] | None = None
    ) -> list[Limit]:
        if not self._rate_limits and not self._request_limits:
            return []
        endpoint = endpoint or endpoint_template(method, path)
        limits = self._limits_cache.get(endpoint)
        if limits is None:
            if len(self._limits_cache) >= 1024:  # ids the template did not recognise
                self._limits_cache.clear()
            limits = self._limits_cache[endpoint] = limits_for(
                self._rate_limits,
                credential_key=self.credential_key,
                endpoint=endpoint,
                credentials=self.credentials,
            )
        if self._request_limits:
            # Limits of some endpoints, counted per order or page: keyed by this very request.
            request = (endpoint_template(method, path), path, query or {})
            limits = limits + limits_for(
                self._request_limits,
                credential_key=self.credential_key,
                endpoint=endpoint,
                credentials=self.credentials,
                request=request,
            )
        return limits

    async def _on_request(self, request: httpx.Request) -> None:
        self.stats.requests += 1
        request.extensions["skiff_t0"] = time.perf_counter()

    async def _on_response(self, response: httpx.Response) -> None:
        if response.status_code == 429:
            self.stats.status_429 += 1
        if self.logger.isEnabledFor(logging.DEBUG):
            request = response.request
            t0 = request.extensions.get("skiff_t0")
            ms = (time.perf_counter() - t0) * 1000 if isinstance(t0, float) else 0.0
            # Method, URL (secrets masked) and status only: never headers, bodies or tokens.
            self.logger.debug(
                "%s %s -> %d (%.0f ms)",
                request.method,
                self.redactor.url(request.url),
                response.status_code,
                ms,
            )

    def _on_retry(self, call: _Call, event: RetryEvent) -> None:
        self.stats.retries += 1
        if event.wait >= NOTICE_AFTER:
            # At normal verbosity: "429 from /orders: waiting 30 s (Retry-After), attempt 2 of 5".
            what = str(event.status) if event.status is not None else event.reason
            why = "Retry-After" if event.retry_after else "backoff"
            progress.info(
                "%s from %s: waiting %s (%s), attempt %d of %d",
                what,
                call.where.split(" ", 1)[-1],
                _seconds(event.wait),
                why,
                event.attempt + 1,
                self.spec.retry.maxAttempts,
            )
        self.logger.debug(
            "%s: %s, retrying in %.2f s (attempt %d of %d)",
            call.where,
            event.reason,
            event.wait,
            event.attempt + 1,
            self.spec.retry.maxAttempts,
        )

    # ------------------------------------------------------------------ requests

    def _headers(self, response_type: ResponseType, headers: Mapping[str, str] | None) -> dict[str, str]:
        kind = response_type if response_type != "auto" else self.spec.accept
        out = {"Accept": _ACCEPT[kind]}
        # Component headers (set on the httpx client) may override Accept; the caller's always win.
        if any(k.lower() == "accept" for k in self.spec.headers):
            out = {}
        out.update(headers or {})
        return out

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        endpoint: str | None = None,
        response_type: ResponseType | str = "auto",
        raw_records: str | None = None,
    ) -> Response:
        """Send one request (with retries) and return the parsed response, or raise a SkiffError.

        ``raw_records``: the records path of a JSON list whose items only get written out; they
        stay JSON text (a :class:`~skiff.http.rawjson.RawRecords`, see there).
        """
        method = method.upper()
        if response_type not in ("auto", "json", "xml", "binary"):
            raise ConfigError(f"response type {response_type!r} is not one of auto, json, xml, binary")
        rtype: ResponseType = response_type
        url = join_url(self.base_url, path, prefix=self._prefix)
        safe = RetryPolicy.is_idempotent(method, idempotent)
        call = _Call(method, path, url, safe, rtype)
        call.redactor = self.redactor
        query = {k: v for k, v in (params or {}).items() if v is not None}
        send_headers = self._headers(rtype, headers)
        limits = self._limits(method, path, endpoint, query)
        hold_key = self._hold_key if self.spec.followRateLimitHeaders else None
        started = self.clock.monotonic()
        attempts = 0

        def time_left() -> float:
            return self.total_timeout - (self.clock.monotonic() - started)

        async def attempt() -> httpx.Response:
            nonlocal attempts
            attempts += 1
            left = time_left()
            if left <= 0:
                raise _OutOfTime
            # In flight at most until the request's deadline (+1 s for the answer's release):
            # windows shared through Redis forget it then, should this process die.
            permit = await self.limiter.acquire(
                limits,
                hold_key=hold_key,
                max_wait=min(self.spec.retry.maxWait, left),
                lease=min(self.spec.deadline, left) + 1.0,
            )
            self.stats.throttled_waits += permit.waited
            request = self._client.build_request(
                method,
                url,
                params=query or None,
                json=json,
                data=data,
                content=content,
                headers=send_headers,
            )
            try:
                # One deadline for the whole exchange, body included: the read timeout alone
                # lets a server that trickles a byte every few seconds hold a request forever.
                limit = min(self.spec.deadline, max(time_left(), 0.001))
                async with asyncio.timeout(limit):
                    response = await self._client.send(request, stream=True)
                    # The server answers: it has counted the request's arrival, so the place's
                    # window runs from now, not from the end of a long body.
                    await permit.release()
                    try:
                        response = await self._read_body(call, response)
                    finally:
                        await response.aclose()
            except TimeoutError:
                per_request = limit >= self.spec.deadline
                if per_request:
                    cut = DeadlineExceeded(f"no complete response within {limit:g} s")
                else:
                    cut = DeadlineExceeded(f"no answer within the call's {self.total_timeout:g} s timeout")
                cut.per_request = per_request
                raise cut from None
            finally:
                await permit.release()  # no answer (or its release was cut short): now
            if hold_key is not None:
                until = parse_rate_limit_headers(response.headers, now=self.clock.time())
                if until is not None:
                    self.limiter.hold(hold_key, until)
            return response

        try:
            try:
                response = await self.retry.run(
                    attempt,
                    method=method,
                    idempotent=idempotent,
                    on_retry=lambda event: self._on_retry(call, event),
                    time_left=time_left,
                )
            except _OutOfTime:
                raise TransientError(
                    f"{call.where}: no answer within the call's {self.total_timeout:g} s timeout"
                ) from None
            except httpx.HTTPError as exc:
                raise self._transport_error(call, exc) from None
            return self._finish(call, response, raw_records)
        except SkiffError as err:
            if attempts > 1 or time_left() <= 0:
                # The real cost of giving up, not only the last attempt's story.
                tried = f"{attempts} attempt{'s' if attempts != 1 else ''}"
                _append(err, f"gave up after {tried} in {_seconds(self.clock.monotonic() - started)}")
            raise

    async def _read_body(self, call: _Call, response: httpx.Response) -> httpx.Response:
        """The response with its body read, refused beyond ``maxResponseBytes`` (decoded)."""
        cap = self.spec.maxResponseBytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise self._too_large(call, response, f"declares {int(declared):,} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > cap:
                raise self._too_large(call, response, "is longer")
            chunks.append(chunk)
        headers = response.headers.copy()
        # The body is decoded now: drop what described the encoded one.
        for name in ("content-encoding", "content-length", "transfer-encoding"):
            headers.pop(name, None)
        return httpx.Response(
            response.status_code,
            headers=headers,
            content=b"".join(chunks),
            request=response.request,
            extensions=response.extensions,
        )

    def _too_large(self, call: _Call, response: httpx.Response, how: str) -> ApiError:
        return ApiError(
            f"{call.where}: the response {how} than the limit of {self.spec.maxResponseBytes:,} bytes "
            "(http.maxResponseBytes); not read",
            status=response.status_code,
            method=call.method,
            url=call.shown_url,
        )

    def _transport_error(self, call: _Call, exc: httpx.HTTPError) -> SkiffError:
        detail = self.redactor.clip(" ".join(str(exc).split()), 200)
        if isinstance(exc, DeadlineExceeded):
            # Cut by http.deadline (one exchange) or by the call's total timeout, whichever came first.
            text = f"{call.where}: {exc}" + (" (http.deadline)" if exc.per_request else "")
            if not call.idempotent:
                text += "; not retried because the server may have processed it"
            return TransientError(text)
        if isinstance(exc, CONNECT_ERRORS):
            text = f"{call.where}: cannot connect to {call.url.host}"
        elif isinstance(exc, httpx.ReadTimeout):
            text = f"{call.where}: no response within {self.spec.timeout:g} s"
            if not call.idempotent:
                text += "; not retried because the server may have processed it"
            detail = ""
        elif isinstance(exc, httpx.TransportError):
            text = f"{call.where}: {type(exc).__name__}"
            if not call.idempotent:
                text += " (not retried because the server may have processed it)"
        else:
            return ConfigError(f"{call.where}: {type(exc).__name__}: {detail}")
        return TransientError(f"{text}: {detail}" if detail else text)

    # ------------------------------------------------------------------ responses

    def _expected(self, call: _Call) -> str:
        kind = call.response_type if call.response_type != "auto" else self.spec.accept
        return "XML" if kind == "xml" else "JSON"

    def _finish(self, call: _Call, response: httpx.Response, raw_records: str | None = None) -> Response:
        status = response.status_code
        ctype = response.headers.get("content-type", "")
        content = response.content
        if status >= 300:
            raise self._status_error(call, response)
        raw = self._parse(call, status, ctype, content, raw_records)
        data = raw
        envelope = self.spec.envelope
        if envelope is not None and isinstance(raw, dict):
            if envelope.errorCodePath:
                code = get_path(raw, envelope.errorCodePath)
                if code not in envelope.okCodes:
                    message = get_path(raw, envelope.errorMessagePath) if envelope.errorMessagePath else None
                    text = f"{call.where}: {message or 'the API reported an error'} (code {code})"
                    raise ApiError(
                        self.redactor.clip(text, 500),
                        status=status,
                        code=code,
                        method=call.method,
                        url=call.shown_url,
                    )
            if envelope.dataPath:
                # Unwrap only an envelope: some endpoints of an enveloped API answer bare JSON
                # (often its webhook or helper endpoints) and must pass through whole.
                found = get_path(raw, envelope.dataPath, MISSING)
                if found is not MISSING:
                    data = found
        return Response(
            status=status,
            headers=response.headers,
            data=data,
            content=content,
            content_type=ctype,
            url=self.redactor.url(response.url) if response.url.query else str(response.url),
            raw=raw,
            request_url=str(response.url),
        )

    def _parse(self, call: _Call, status: int, ctype: str, content: bytes, raw_records: str | None = None) -> Any:
        if call.response_type == "binary":
            return None
        detected = body_kind(ctype, content)
        kind: BodyKind
        if detected in ("empty", "html"):
            kind = detected
        elif call.response_type in ("json", "xml"):
            kind = call.response_type
        else:
            kind = detected
        if raw_records is not None and kind == "json":
            parsed = parse_skipping_records(content, raw_records)
            if parsed is not None:
                return parsed
        if kind == "html":
            raise ApiError(
                f"{call.where} answered HTML (status {status}), not {self._expected(call)}",
                status=status,
                method=call.method,
                url=call.shown_url,
            )
        try:
            return parse_body(content, kind, untype_xml=self.spec.untypeXml)
        except ValueError as exc:
            deep = " (nested too deeply)" if "too deeply" in str(exc) else ""
            raise ApiError(
                f"{call.where}: the response (status {status}) is not valid {kind.upper()}{deep}",
                status=status,
                method=call.method,
                url=call.shown_url,
            ) from None

    def _status_error(self, call: _Call, response: httpx.Response) -> SkiffError:
        status = response.status_code
        ctype = response.headers.get("content-type", "")
        content = response.content
        kind = body_kind(ctype, content)
        reason = response.reason_phrase or httpx.codes.get_reason_phrase(status)
        head = f"{call.where}: {status} {reason}".rstrip()
        message: str | None = None
        code: Any = None
        if kind == "html":
            head = f"{call.where} answered HTML (status {status}), not {self._expected(call)}"
        else:
            body: Any = None
            try:
                body = (
                    parse_body(content, kind, untype_xml=self.spec.untypeXml)
                    if kind in ("json", "xml", "text")
                    else None
                )
            except ValueError:
                body = content.decode("utf-8", errors="replace")
            envelope = self.spec.envelope
            message_paths = [envelope.errorMessagePath] if envelope and envelope.errorMessagePath else None
            code_paths = [envelope.errorCodePath] if envelope and envelope.errorCodePath else None
            message, code = vendor_error(
                body, self.spec.errors, extra_message_paths=message_paths, extra_code_paths=code_paths
            )
        text = head
        if message:
            text += f": {self.redactor.clip(message, 300)}"
        if code is not None:
            text += f" (code {code})"
        text = self.redact(text)
        if status in (401, 403):
            return AuthError(text, status=status)
        if status == 429:
            return RateLimited(text, retry_after=self.retry.retry_after(response))
        if 300 <= status < 400:
            text += " (redirects are not followed)"
        if status in self.retry.statuses or status >= 500:
            return TransientApiError(text, status=status, code=code, method=call.method, url=call.shown_url)
        return ApiError(text, status=status, code=code, method=call.method, url=call.shown_url)

    # ------------------------------------------------------------------ shortcuts

    async def get(self, path: str, **kw: Any) -> Any:
        return (await self.request("GET", path, **kw)).data

    async def post(self, path: str, **kw: Any) -> Any:
        return (await self.request("POST", path, **kw)).data

    async def put(self, path: str, **kw: Any) -> Any:
        return (await self.request("PUT", path, **kw)).data

    async def patch(self, path: str, **kw: Any) -> Any:
        return (await self.request("PATCH", path, **kw)).data

    async def delete(self, path: str, **kw: Any) -> Any:
        return (await self.request("DELETE", path, **kw)).data

    # ------------------------------------------------------------------ pagination

    async def send(
        self,
        request: RequestSpec,
        *,
        query: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
        endpoint: str | None = None,
        raw_records: str | None = None,
    ) -> Response:
        """Send a whole declarative request (query, headers, JSON or form body, response type).

        ``query`` adds parameters (a page number, a cursor) to the request's own;
        ``raw_records`` see :meth:`request`.
        """
        params = {**request.query, **query} if query else request.query
        return await self.request(
            request.method,
            request.path,
            # None, not {}: an empty mapping still makes httpx re-parse the URL and merge headers.
            params=params or None,
            json=request.body,
            data=request.form or None,
            headers=request.headers or None,
            idempotent=idempotent,
            endpoint=endpoint,
            response_type=request.responseType,
            raw_records=raw_records,
        )

    def pages(
        self,
        request: RequestSpec,
        pagination: PaginationSpec,
        *,
        idempotent: bool | None = None,
        endpoint: str | None = None,
        start: Mapping[str, Any] | None = None,
        raw_records: bool = False,
    ) -> AsyncGenerator[Page, None]:
        """The pages of a list endpoint as they arrive (see skiff.http.pagination).

        Every page request is ``request`` whole (headers, body, form) plus the paging parameters:
        a paged request sends exactly what the unpaged one sends. ``raw_records``: the caller
        only writes the records out; where the paging reads nothing inside them, a page's
        records may come as JSON text (:class:`~skiff.http.rawjson.RawRecords`).
        """
        endpoint = endpoint or endpoint_template(request.method, request.path)
        raw_at = self._raw_records_path(pagination) if raw_records else None

        async def fetch(query: dict[str, Any], url: str | None = None) -> Response:
            if url is not None:  # a next link: the URL carries its query; headers and body still go
                request_at = request.model_copy(update={"path": url, "query": {}})
                return await self.send(request_at, idempotent=idempotent, endpoint=endpoint, raw_records=raw_at)
            return await self.send(request, query=query, idempotent=idempotent, endpoint=endpoint, raw_records=raw_at)

        where = _Call(request.method, request.path, join_url(self.base_url, request.path), True, "auto", self.redactor)
        # Only reads are sent ahead: a POST search may have effects.
        ahead = None if request.method.upper() in ("GET", "HEAD") else 0
        return paginate(
            fetch, pagination, params=None, start=start, where=where.where, logger=self.logger, fetch_ahead=ahead
        )

    def _raw_records_path(self, pagination: PaginationSpec) -> str | None:
        """Where a page's records may stay JSON text: the records path, when the paging style
        reads nothing but their number and no path of the spec or the envelope points into them."""
        if pagination.type not in ("page", "offset"):  # fromId reads the last record's id
            return None
        envelope = self.spec.envelope
        path = pagination.recordsPath or (envelope.dataPath if envelope is not None else None) or ""
        others = [getattr(pagination, name, None) for name in ("totalPagesPath", "totalPath")]
        if envelope is not None:
            others += [envelope.errorCodePath, envelope.errorMessagePath, envelope.dataPath]
        for other in others:
            if not other or other == path:
                continue
            if not path or other.startswith(path + "."):
                return None
        return path
