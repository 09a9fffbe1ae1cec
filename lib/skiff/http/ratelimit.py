"""Client-side rate limiting: wait *before* sending, so the API never has to answer 429.

Built on the ``limits`` library's async moving-window strategy. Memory storage by default
(one process); ``RateLimiter(storage_uri="redis://...")`` shares the windows among workers.
A request keeps its place from before it is sent until a window after its response: the
server counts arrivals, and those happen anywhere in between.
Several limits apply to one request at once (Billbee: 2/s per endpoint, 10/s per key + user,
50/s per key); they are taken together or not at all, under one lock per process, so a
request never holds a slot of one limit while it waits for another.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import inspect
import logging
import math
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from skiff.errors import RateLimited
from skiff.specs import RateLimitSpec

__all__ = [
    "NOTICE_AFTER",
    "Limit",
    "Permit",
    "RateLimiter",
    "endpoint_key",
    "limits_for",
    "parse_rate_limit_headers",
    "waits_log",
]


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``requests`` in any ``per_seconds`` window for the requests sharing ``key``."""

    requests: int
    per_seconds: float
    key: tuple[str, ...]
    name: str = ""

    def describe(self) -> str:
        """``'per order' (6 per 60 s)``: how a wait names the limit."""
        return f"{self.name!r} ({self.requests} per {_period(self.per_seconds)})"


def _period(seconds: float) -> str:
    for unit, size in (("h", 3600.0), ("min", 60.0)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


@functools.cache
def _window_cls() -> Any:
    """The ``limits`` item class, built on first use: ``limits`` costs ~20 ms to import, and
    most calls of a component without declared limits never need it."""
    from limits import RateLimitItemPerSecond

    class _Window(RateLimitItemPerSecond):
        """A moving window whose length may be fractional (``limits`` counts whole seconds).

        With memory storage the exact window plus a safety margin is used; other storages need
        an integer expiry (Redis ``EXPIRE``), so the window is rounded up there: stricter, never
        looser.
        """

        __slots__ = ("window",)  # the limits metaclass makes every item class slotted

        def __init__(self, limit: Limit, window: float) -> None:
            super().__init__(limit.requests, max(1, math.ceil(window)), namespace="skiff")
            self.window = window

        def get_expiry(self) -> int:
            return self.window  # type: ignore[return-value]  # float is fine for memory storage

    return _Window


# Waits a person should hear about (``skiff poll`` shows them): a second or more, not the
# half-second spacing of a 2 requests/s limit.
NOTICE_AFTER = 1.0
waits_log = logging.getLogger("skiff.http.waits")


def _wait_notice(blocking: Limit | None, delay: float | None) -> str:
    which = f"rate limit {blocking.describe()}" if blocking else "rate limit (the API's reset time)"
    how_long = "until a request in flight completes" if delay is None else f"{delay:.1f} s"
    return f"waiting {how_long} for the {which}"


def _digest(*parts: str) -> str:
    # Keys end up in Redis: never store a credential in the clear.
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:20]


@functools.lru_cache(maxsize=512)
def endpoint_key(endpoint: str) -> str:
    """A declared endpoint (``GET /orders/{id}``) as :func:`~skiff.http.urls.endpoint_template`
    writes a request's, lower-cased: every ``{name}`` segment is an id."""
    method, _, path = endpoint.strip().partition(" ")
    segments = ["{id}" if s.startswith("{") and s.endswith("}") else s for s in path.strip().split("/")]
    return f"{method.upper()} {'/'.join(segments)}".lower()


def _request_part(part: str, path: str, query: Mapping[str, Any]) -> str:
    if part == "path":
        return path.split("?", 1)[0].lower()
    value = query.get(part.removeprefix("query."))
    return "" if value is None else str(value)


def limits_for(
    specs: Sequence[RateLimitSpec],
    *,
    credential_key: str,
    endpoint: str,
    credentials: Mapping[str, str] | None = None,
    request: tuple[str, str, Mapping[str, Any]] | None = None,
) -> list[Limit]:
    """The concrete limits one request is subject to.

    ``scope=credential`` limits are keyed by the credential set (or, when ``key`` names parts
    and ``credentials`` has them, by just those parts, so Billbee's 50/s per API key is shared
    by every user of that key); ``scope=endpoint`` adds the endpoint. ``request`` is the
    request's ``(endpoint template, path, query)``: a limit with ``endpoints`` applies only to
    those, and ``per`` adds the named request parts to the key.
    """
    out: list[Limit] = []
    for index, spec in enumerate(specs):
        if spec.endpoints or spec.per:
            if request is None:
                continue
            template, path, query = request
            if spec.endpoints and template.lower() not in {endpoint_key(e) for e in spec.endpoints}:
                continue
        name = spec.name or f"limit{index}"
        if spec.key and credentials is not None and all(k in credentials for k in spec.key):
            identity = _digest(*(f"{k}={credentials[k]}" for k in spec.key))
        else:
            identity = _digest(credential_key)
        key: tuple[str, ...] = (name, identity) if spec.scope == "credential" else (name, identity, endpoint)
        if spec.per and request is not None:
            key += (_digest(*(f"{p}={_request_part(p, path, query)}" for p in spec.per)),)
        out.append(Limit(spec.requests, spec.perSeconds, key, name))
    return out


def parse_rate_limit_headers(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Epoch time until which no request should be sent, from ``X-Rate-Limit-Remaining: 0``.

    ``X-Rate-Limit-Reset`` is epoch seconds (Billomat); a small number is read as seconds from
    now (the ``RateLimit-Reset`` draft). ``None`` when requests may go on.
    """
    now = time.time() if now is None else now
    lowered = {k.lower(): v for k, v in headers.items()}
    for prefix in ("x-rate-limit-", "x-ratelimit-", "ratelimit-"):
        remaining = lowered.get(prefix + "remaining")
        if remaining is None:
            continue
        try:
            if float(remaining) > 0:
                return None
            reset = float(lowered.get(prefix + "reset", ""))
        except ValueError:
            return None
        return reset if reset > 1e9 else now + reset
    return None


class Permit:
    """A request's place in its limits, from before it is sent until its response is in.

    ``release()`` (also ``async with``) records the completion in every window; call it when
    the response (or the failure) is in.
    """

    __slots__ = ("_done", "_limiter", "_limits", "waited")

    def __init__(self, limiter: RateLimiter, limits: Sequence[Limit], waited: float) -> None:
        self._limiter = limiter
        self._limits = limits
        self._done = not limits
        self.waited = waited

    async def release(self) -> None:
        if self._done:
            return
        self._done = True
        await self._limiter._release(self._limits)

    async def __aenter__(self) -> Permit:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.release()


class RateLimiter:
    """Waits until a request may be sent under all its limits; the server never sees more.

    The server counts *arrivals*, which happen somewhere between our send and the response.
    So a request holds its place from before it is sent until ``window`` seconds after its
    response arrived: in flight it is counted in-process, then as an entry in the limits
    moving window stamped at completion. However slow the network (a TLS handshake on the
    first request, say), N+1 arrivals can then never fall into one window.

    With shared storage (``redis://``) each send is also recorded in a window of sends, so
    workers see each other's requests as they go out, not only as they complete.
    ``margin`` widens every window a little (10 ms: timer granularity; the completion stamps
    already cover latency and queueing at the server, and skew between clocks moves no
    interval), so a sync runs at the declared rate's edge. One RateLimiter may
    serve many HttpClients (e.g. several steps with one credential).
    """

    def __init__(
        self,
        storage_uri: str = "memory://",
        *,
        margin: float = 0.01,
        notice_after: float = NOTICE_AFTER,
    ) -> None:
        self.notice_after = notice_after  # waits at least this long are logged to ``waits_log``
        uri = storage_uri if storage_uri.startswith("async+") else f"async+{storage_uri}"
        options: dict[str, str] = {}
        if uri.startswith(("async+redis://", "async+rediss://")):
            options["implementation"] = "redispy"  # redis-py is installed, coredis is not
        self._uri = uri
        self._options = options
        self._storage: Any = None
        self._strategy: Any = None
        self._local = uri.startswith("async+memory")
        self._redis_url = uri.removeprefix("async+") if uri.startswith(("async+redis://", "async+rediss://")) else None
        self.margin = margin
        self._holds: dict[str, float] = {}
        self._in_flight: dict[tuple[str, ...], int] = {}
        self._lines: dict[tuple[tuple[str, ...], ...], deque[object]] = {}  # waiters, in order
        self._items: dict[Limit, Any] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()
        self._changed = asyncio.Event()

    @property
    def storage(self) -> Any:
        if self._storage is None:
            from limits.storage import storage_from_string

            self._storage = storage_from_string(self._uri, **self._options)
        return self._storage

    @property
    def strategy(self) -> Any:
        if self._strategy is None:
            if self._redis_url is not None:
                # Exact fractional windows (limits' own Redis window rounds up to whole seconds).
                from .redis_windows import RedisWindows

                self._strategy = RedisWindows(self._redis_url)
            else:
                from limits.aio.strategies import MovingWindowRateLimiter

                self._strategy = MovingWindowRateLimiter(self.storage)
        return self._strategy

    def _bind(self) -> None:
        # asyncio primitives belong to one loop; a limiter reused by a later asyncio.run()
        # gets fresh ones (nothing can be in flight across loops).
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop = loop
            self._lock = asyncio.Lock()
            self._changed = asyncio.Event()
            self._in_flight.clear()
            self._lines.clear()

    def _item(self, limit: Limit) -> Any:
        item = self._items.get(limit)
        if item is None:
            # Other shared storages need whole seconds; completion stamps already cover latency.
            exact = self._local or self._redis_url is not None
            window = limit.per_seconds + self.margin if exact else float(math.ceil(limit.per_seconds))
            if len(self._items) >= 4096:
                self._items.clear()
            item = self._items[limit] = _window_cls()(limit, window)
        return item

    def hold(self, key: str, until: float) -> None:
        """Send nothing under ``key`` before epoch time ``until`` (X-Rate-Limit-Reset)."""
        if until > self._holds.get(key, 0.0):
            self._holds[key] = until

    async def _try(self, limits: Sequence[Limit], hold_key: str | None) -> tuple[float | None, Limit | None]:
        """(0, None) after taking a place in every limit; else seconds to wait (None: until a
        release) and the limit that is furthest from a free place (None: a hold)."""
        now = time.time()  # the clock the limits library uses
        if hold_key is not None:
            until = self._holds.get(hold_key)
            if until is not None:
                if until > now:
                    return until - now + self.margin, None
                del self._holds[hold_key]
        delay: float | None = 0.0
        longest = 0.0
        blocking: Limit | None = None
        for limit in limits:
            item = self._item(limit)
            stats = await self.strategy.get_window_stats(item, "done", *limit.key)
            recent = limit.requests - stats.remaining
            flying = self._in_flight.get(limit.key, 0)
            wait: float | None = 0.0
            if recent + flying >= limit.requests:
                # Wait for the oldest completion to leave the window; if only requests in
                # flight block (None), for one of them to complete.
                wait = stats.reset_time - now if recent > 0 else None
            elif not self._local and not await self.strategy.test(item, "sent", *limit.key):
                sent = await self.strategy.get_window_stats(item, "sent", *limit.key)
                wait = sent.reset_time - now
            if wait is None or wait > 0:
                if wait is not None and wait > longest:
                    longest, blocking = wait, limit
                elif blocking is None:
                    blocking = limit
                delay = None if delay is None or wait is None else max(delay, wait)
        if delay is None or delay > 0:
            return delay, blocking
        if not self._local:
            for limit in limits:
                if not await self.strategy.hit(self._item(limit), "sent", *limit.key):
                    return self.margin or 0.01, None  # another worker won the place: look again soon
        for limit in limits:
            self._in_flight[limit.key] = self._in_flight.get(limit.key, 0) + 1
        return 0.0, None

    async def _release(self, limits: Sequence[Limit]) -> None:
        try:
            async with self._lock:
                for limit in limits:
                    await self.strategy.hit(self._item(limit), "done", *limit.key)
        finally:
            # Even when cancelled: a request that never leaves the flight count blocks forever.
            for limit in limits:
                left = self._in_flight.get(limit.key, 0) - 1
                if left > 0:
                    self._in_flight[limit.key] = left
                else:
                    self._in_flight.pop(limit.key, None)
            self._changed.set()
            self._changed = asyncio.Event()

    async def acquire(
        self, limits: Iterable[Limit], *, hold_key: str | None = None, max_wait: float | None = None
    ) -> Permit:
        """Wait for a place in every limit (and past any hold), taken together or not at all.

        Returns the Permit to release when the response is in (``permit.waited``: seconds
        waited). Raises RateLimited when the wait would exceed ``max_wait``: better to
        rebound the message than to block a worker for many minutes.
        """
        limits = list(limits)
        if not limits and (hold_key is None or hold_key not in self._holds):
            return Permit(self, limits, 0.0)
        self._bind()
        # First come, first served among requests under the same limits: pages fetched ahead
        # are sent in their order, and no waiter is overtaken forever.
        line = self._lines.setdefault(tuple(limit.key for limit in limits), deque())
        ticket = object()
        line.append(ticket)
        started = time.monotonic()
        waited = 0.0
        told = False
        try:
            while True:
                changed = self._changed
                delay: float | None = None  # behind another request: until it has its place
                blocking = None
                if line[0] is ticket:
                    async with self._lock:
                        delay, blocking = await self._try(limits, hold_key)
                    if delay is not None and delay <= 0:
                        return Permit(self, limits, waited)
                waited = time.monotonic() - started
                if delay is not None and max_wait is not None and waited + delay > max_wait:
                    which = f"rate limit {blocking.describe()}" if blocking else "rate limit (the API's reset time)"
                    raise RateLimited(
                        f"{which}: the next slot is {delay:.1f} s away, over the {max_wait:g} s wait budget",
                        retry_after=delay,
                    )
                if not told and delay is not None and delay >= self.notice_after:
                    told = True  # once per request: a quiet poll is then not taken for a hung one
                    waits_log.info("%s", _wait_notice(blocking, delay))
                # Wake at the computed time, or earlier when a request completes or goes out.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), timeout=None if delay is None else max(delay, 0.001))
                waited = time.monotonic() - started
        finally:
            line.remove(ticket)
            if not line:
                self._lines.pop(tuple(limit.key for limit in limits), None)
            self._changed.set()  # the next in line may go now
            self._changed = asyncio.Event()

    async def reset(self) -> None:
        """Forget every window and hold (tests, sandbox resets)."""
        self._holds.clear()
        result = self.storage.reset()
        if inspect.isawaitable(result):
            await result
