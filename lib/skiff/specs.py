"""The declarative vocabulary of HTTP behaviour: auth, rate limits, retry, pagination, envelope,
requests and polling.

These models are shared by ``component.json`` (where string values may be Jinja2 templates
such as ``"{{ cfg.apiKey }}"``) and by :mod:`skiff.http`, which receives them rendered.
Keeping them in one module means the component schema, the generator and the HTTP layer
cannot disagree about a key.
"""

from __future__ import annotations

import builtins
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

__all__ = [
    "EMIT_BEHAVIORS",
    "ApiKeyAuth",
    "AuthModel",
    "AuthSpec",
    "BasicAuth",
    "BearerAuth",
    "CursorPagination",
    "EmitBehavior",
    "EnvelopeSpec",
    "ErrorSpec",
    "FromIdPagination",
    "HttpSpec",
    "LinkPagination",
    "NextUrlPagination",
    "NoAuth",
    "OAuth2ClientCredentials",
    "OffsetPagination",
    "PagePagination",
    "PaginationSpec",
    "PollingSpec",
    "RateLimitSpec",
    "RequestSpec",
    "RetrySpec",
]

EmitBehavior = Literal["emitIndividually", "emitPage", "fetchAll"]
"""One message per record; one ``{"results": [...], "page": n}`` per page; one ``{"results": [...]}`` in all."""
EMIT_BEHAVIORS: tuple[EmitBehavior, ...] = get_args(EmitBehavior)


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# ---------------------------------------------------------------- auth


class AuthModel(_Spec):
    """Base of every auth type's model; ``type`` names the type in :data:`skiff.http.auth_types.AUTH_TYPES`."""

    type: str

    @classmethod
    def model_for_tag(cls, tag: str) -> builtins.type[AuthModel] | None:
        """The model of the auth type named ``tag`` (None: no such type is registered)."""
        from skiff.http.auth_types import AUTH_TYPES

        found = AUTH_TYPES.get(tag)
        return found.model if found is not None else None


class NoAuth(AuthModel):
    type: Literal["none"] = "none"


class BasicAuth(AuthModel):
    type: Literal["basic"] = "basic"
    username: str
    password: str


class ApiKeyAuth(AuthModel):
    """An API key or custom token in a header or the query string."""

    type: Literal["apiKey"] = "apiKey"
    in_: Literal["header", "query"] = Field("header", alias="in")
    name: str
    value: str


class BearerAuth(AuthModel):
    type: Literal["bearer"] = "bearer"
    token: str


class OAuth2ClientCredentials(AuthModel):
    """OAuth2 client credentials; the token is cached, refreshed before expiry and once on a 401."""

    type: Literal["oauth2"] = "oauth2"
    tokenUrl: str
    clientId: str
    clientSecret: str
    scope: str | None = None
    # "basic": client id/secret as HTTP Basic (RFC 6749 2.3.1, what most servers expect); "body": as form fields.
    clientAuth: Literal["basic", "body"] = "basic"
    # Refresh this many seconds before the token expires.
    refreshMargin: float = 30.0
    # A token response field giving the lifetime when ``expires_in`` is absent: seconds, or an
    # epoch timestamp when large; 0 or absent means unknown (the token is kept until a 401).
    expiresField: str | None = None


class _ByRegistry:
    """Validates an auth entry with the model of the type it names, found in the registry at that
    moment (:mod:`skiff.http.auth_types`), so a new type is known everywhere once registered."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        from pydantic_core import core_schema

        def validate(value: Any) -> AuthModel:
            from skiff.http.auth_types import parse_entry  # the registry imports these models

            return parse_entry(value)

        return core_schema.no_info_plain_validator_function(validate)

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        from skiff.http.auth_types import entries_schema

        return handler(entries_schema())


AuthSpec = Annotated[AuthModel, _ByRegistry]
"""One ``auth`` entry: the model of the registered type its ``type`` names."""


# ---------------------------------------------------------------- rate limits and retries


class RateLimitSpec(_Spec):
    """At most ``requests`` in any window of ``perSeconds``, waited for *before* sending.

    ``scope``: ``credential`` counts every request made with one credential set;
    ``endpoint`` counts per method + path template (e.g. 2 req/s per endpoint).
    ``key`` names the credential parts the limit is keyed by (e.g. ``["apiKey"]`` for
    50/s per API key, ``["apiKey", "username"]`` for 10/s per key + user); empty
    means the whole credential set. ``endpoints`` and ``per`` narrow a limit to some endpoints
    and count it per request part (e.g. ``GET /orders/{id}`` 6 per order per minute).
    """

    requests: int = Field(gt=0)
    perSeconds: float = Field(gt=0)
    scope: Literal["credential", "endpoint"] = "credential"
    key: list[str] = Field(default_factory=list)
    name: str | None = None
    # Only requests to these endpoints ("GET /events", "GET /orders/{id}"; a {name} segment is an
    # id, methods and paths compare case-insensitively); empty: every request.
    endpoints: list[str] = Field(default_factory=list)
    # Separate windows per request part: "path" (the concrete path, e.g. one order) or
    # "query.<name>" (e.g. query.page: 2 calls per page per hour on GET /events).
    per: list[Annotated[str, Field(pattern=r"^(path|query\.[^.\s]+)$")]] = Field(default_factory=list)
    # Why the limit exists (the vendor's words), for the README and the message when it is reached.
    note: str | None = None


class RetrySpec(_Spec):
    maxAttempts: int = Field(5, ge=1)
    # Cap on the total time spent waiting between attempts, Retry-After included.
    maxWait: float = Field(120.0, ge=0)
    initialBackoff: float = Field(0.5, ge=0)
    maxBackoff: float = Field(30.0, ge=0)
    statuses: list[int] = Field(default_factory=lambda: [408, 429, 500, 502, 503, 504])


# ---------------------------------------------------------------- pagination


class _PaginationBase(_Spec):
    recordsPath: str | None = None  # dot path of the records in the raw response; None: the body
    maxPages: int = Field(10_000, ge=1)


class PagePagination(_PaginationBase):
    """page + page size; stops at total pages, total records, an empty or a short page."""

    type: Literal["page"] = "page"
    pageParam: str = "page"
    sizeParam: str = "pageSize"
    size: int = Field(50, ge=1)
    start: int = 1
    totalPagesPath: str | None = None  # e.g. Paging.TotalPages
    totalPath: str | None = None  # e.g. clients.@total (number of records)
    # Pages requested ahead while one is emitted (0: one request at a time); never past a known end.
    fetchAhead: int = Field(2, ge=0, le=16)


class OffsetPagination(_PaginationBase):
    """skip + take (an offset and a page size)."""

    type: Literal["offset"] = "offset"
    offsetParam: str = "skip"
    limitParam: str = "take"
    size: int = Field(100, ge=1)
    maxOffset: int | None = None  # the largest offset the API accepts (e.g. 1000)
    totalPath: str | None = None  # the number of records in the listing (order "any" checks it)
    fetchAhead: int = Field(2, ge=0, le=16)  # pages requested ahead (0: one request at a time)


class FromIdPagination(_PaginationBase):
    """A stable id cursor, inclusive of that id (``from``): the repeated record is dropped."""

    type: Literal["fromId"] = "fromId"
    param: str = "from"
    sizeParam: str = "take"
    size: int = Field(100, ge=1)
    idField: str = "Id"


class CursorPagination(_PaginationBase):
    """An opaque cursor returned in the body (e.g. ``startingAfterId`` → ``startingAfter``)."""

    type: Literal["cursor"] = "cursor"
    param: str = "startingAfter"
    sizeParam: str | None = "size"
    size: int = Field(100, ge=1)
    cursorPath: str = "startingAfterId"


class LinkPagination(_PaginationBase):
    """RFC 8288 ``Link`` headers: the page named ``rel`` (``next``) is fetched until none is named."""

    type: Literal["link"] = "link"
    rel: str = "next"
    sizeParam: str | None = None  # sent with the first request only (the links carry it on)
    size: int = Field(100, ge=1)


class NextUrlPagination(_PaginationBase):
    """The next page's URL in the body (``next``, ``links.next``, ``@odata.nextLink``)."""

    type: Literal["nextUrl"] = "nextUrl"
    nextPath: str = "next"
    sizeParam: str | None = None  # sent with the first request only
    size: int = Field(100, ge=1)


PaginationSpec = Annotated[
    PagePagination | OffsetPagination | FromIdPagination | CursorPagination | LinkPagination | NextUrlPagination,
    Field(discriminator="type"),
]


# ---------------------------------------------------------------- envelope and errors


class EnvelopeSpec(_Spec):
    """A response wrapper around the data (e.g. ``{Data, ErrorCode, ErrorMessage, Paging}``)."""

    dataPath: str | None = None  # unwrapped for single results; default records path for lists
    errorCodePath: str | None = None
    okCodes: list[Any] = Field(default_factory=lambda: [0, None])
    errorMessagePath: str | None = None


class ErrorSpec(_Spec):
    """Where a vendor puts the message and code in an error body (first path that exists wins)."""

    messagePaths: list[str] = Field(
        default_factory=lambda: ["ErrorMessage", "errorMessage", "message", "error", "errors.error"]
    )
    codePaths: list[str] = Field(default_factory=lambda: ["ErrorCode", "errorCode", "code"])
    # A list of per-field problems ({field, error}) appended to the message (e.g. validationErrors).
    detailsPath: str | None = None


# ---------------------------------------------------------------- component-level HTTP settings


class HttpSpec(_Spec):
    """The ``http`` block of component.json: how every request of the component is made."""

    baseUrl: str
    auth: list[AuthSpec] | str = Field(default_factory=list)  # str: a template yielding the list/object
    headers: dict[str, str] = Field(default_factory=dict)
    rateLimits: list[RateLimitSpec] | str = Field(default_factory=list)  # str: a template
    retry: RetrySpec = Field(default_factory=RetrySpec)
    envelope: EnvelopeSpec | None = None
    errors: ErrorSpec = Field(default_factory=ErrorSpec)
    accept: Literal["json", "xml"] = "json"  # the format asked for (some APIs answer XML unless asked)
    # Rails-style typed XML elements (``<id type="integer">5</id>``) become their text, so the
    # XML answer has the shape of the JSON one; other attributes (``@total``) stay.
    untypeXml: bool = False
    connectTimeout: float = 10.0
    timeout: float = 60.0  # between two bytes of a response
    # The whole request, body included (a server trickling a byte at a time cannot hold on).
    deadline: float = Field(default=300.0, gt=0)
    # A larger response is refused, not buffered (decoded size: a gzip bomb is cut off too).
    maxResponseBytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    # Connect to private networks (10/8, 172.16/12, 192.168/16, fc00::/7, 100.64/10); bool or a
    # template. Loopback is always allowed, link-local and cloud metadata never.
    allowPrivateNetworks: bool | str = False
    # Follow X-Rate-Limit-Remaining / X-Rate-Limit-Reset (epoch seconds) when the API sends them.
    followRateLimitHeaders: bool = True


# ---------------------------------------------------------------- declarative requests


class RequestSpec(_Spec):
    """A declarative request; string values are templates over ``cfg``, ``body``, ``msg``."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    path: str
    query: dict[str, Any] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any = None  # JSON body (templated); None: no body
    form: dict[str, Any] | None = None  # form-encoded body instead of JSON
    # binary: the response becomes an attachment; json/xml: override the component default.
    responseType: Literal["json", "xml", "binary", "auto"] = "auto"


class PollingSpec(_Spec):
    """A declarative polling trigger: which request, where the records are, and the cursor."""

    request: RequestSpec
    recordsPath: str | None = None
    cursorField: str | None = None  # the record's modification timestamp (or id for id cursors)
    idField: str = "id"
    cursorParam: str | None = None  # query parameter that receives the cursor value
    # Query parameter that receives the upper bound (inclusive, ISO 8601): endTime, and for
    # order "any" with page or offset paging the poll's start less clockSkew (see ``order``).
    untilParam: str | None = None
    cursorKind: Literal["timestamp", "id", "seen"] = "timestamp"
    versionField: str | None = None  # defaults to cursorField
    pagination: PaginationSpec | None = None
    # "ascending": the API sorts by the cursor across pages (records stream page by page);
    # "any": it does not (say it sorts by id, not by the modification time), so each poll reads
    # every page from the cursor before it moves the cursor (see ``resume``).
    order: Literal["ascending", "any"] = "ascending"
    # order "any": how far (seconds) the API's clock may lag ours; the cursor of a poll moves
    # at most to its start less this, so a change made while it pages is not skipped.
    clockSkew: float = Field(default=5.0, ge=0)
    # order "any": a poll that fails midway is continued by the next from the page after the
    # last one committed (skiff.polling.resume), where a paging position stays valid between
    # polls. "auto": fromId and cursor paging (keyset positions: what lies after a position
    # stays after it). "always": page and offset paging too; declare it only when the listing's
    # order is fixed and no record ever leaves it (sorted by id; no deletes, no filter that a
    # change can make a record fail), else a record shifted to an earlier page is skipped.
    # "never": a failed poll is read again from the start. link and nextUrl never resume (a
    # next URL may carry a session, an expiry or an echoed credential).
    resume: Literal["auto", "always", "never"] = "auto"
