"""Client-side rate limiting: wait *before* sending, so the API never has to answer 429.

Moving windows in memory (one process, ``memory_windows``, on the runtime's clock) by
default; ``RateLimiter(storage_uri="redis://...")`` shares them among processes
(``redis_windows``, on Redis's clock). A request keeps its place from before it is sent
until a window after its response: the server counts arrivals, and those happen anywhere in
between. Several limits may apply to one request at once (say 2/s per endpoint, 10/s per
key + user, 50/s per key); they are taken together or not at all, so a request never holds a
slot of one limit while it waits for another.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import itertools
import logging
import os
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from skiff.clock import SYSTEM_CLOCK, Clock
from skiff.errors import RateLimited
from skiff.specs import RateLimitSpec

from .memory_windows import MemoryWindows, Verdict

__all__ = [
    "DEFAULT_LEASE",
    "NOTICE_AFTER",
    "Limit",
    "Permit",
    "RateLimiter",
    "Windows",
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
    and ``credentials`` has them, by just those parts, so a limit per API key is shared
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

    ``X-Rate-Limit-Reset`` is epoch seconds (the common reading); a small number is read as seconds from
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

    __slots__ = ("_done", "_limiter", "_limits", "_token", "waited")

    def __init__(self, limiter: RateLimiter, limits: Sequence[Limit], token: str, waited: float) -> None:
        self._limiter = limiter
        self._limits = limits
        self._token = token
        self._done = not limits
        self.waited = waited

    async def release(self) -> None:
        if self._done:
            return
        self._done = True
        await self._limiter._release(self._limits, self._token)

    async def __aenter__(self) -> Permit:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.release()


class Windows(Protocol):
    """Where the windows live: this process (``MemoryWindows``) or Redis (``RedisWindows``)."""

    shared: bool  # other processes take places too: poll for them, they send no signal

    async def take(self, limits: Sequence[Limit], token: str, lease: float) -> Verdict: ...

    async def give_back(self, limits: Sequence[Limit], token: str) -> None: ...

    def new_loop(self) -> None: ...  # a later asyncio.run(): nothing of the last one is in flight

    async def reset(self) -> None: ...

    async def aclose(self) -> None: ...


# How long a request may stay in flight before shared windows forget it (its process may have
# died): the HTTP client passes the request's own deadline; this is for other callers.
DEFAULT_LEASE = 300.0
# How often a request blocked only by other processes' requests in flight looks again.
SHARED_POLL = 0.01

_tokens = itertools.count()


class RateLimiter:
    """Waits until a request may be sent under all its limits; the server never sees more.

    The server counts *arrivals*, which happen somewhere between our send and the response.
    So a request holds its place from before it is sent until ``window`` seconds after its
    response arrived: in flight it is counted as such, then as an answer time in the moving
    window. However slow the network (a TLS handshake on the first request, say), N+1
    arrivals can then never fall into one window. With ``redis://`` storage the requests in
    flight and the answers are recorded in Redis, so every process sees every other's.

    ``clock`` is the runtime's (``Executor(clock=...)`` passes its own): windows in memory and
    every wait use it, so a test passes a ManualClock and no rate window takes real time.
    Windows on Redis use Redis's time (one source for every process) and pass in real time.
    ``margin`` widens every window a little (10 ms: timer granularity; the answer times
    already cover latency and queueing at the server), so a sync runs at the declared rate's
    edge. One RateLimiter may serve many HttpClients (e.g. several steps with one credential).
    """

    def __init__(
        self,
        storage_uri: str = "memory://",
        *,
        margin: float = 0.01,
        notice_after: float = NOTICE_AFTER,
        clock: Clock = SYSTEM_CLOCK,
        key_prefix: str = "skiff:rl:",
    ) -> None:
        self.notice_after = notice_after  # waits at least this long are logged to ``waits_log``
        self.margin = margin
        self.clock = clock
        uri = storage_uri.removeprefix("async+")
        self.windows: Windows
        if uri.startswith(("redis://", "rediss://")):
            from .redis_windows import RedisWindows

            self.windows = RedisWindows(uri, margin=margin, prefix=key_prefix)
        elif uri.startswith("memory://"):
            self.windows = MemoryWindows(clock, margin=margin)
        else:
            raise ValueError(f"rate-limit storage {storage_uri!r}: expected memory:// or redis://")
        self._holds: dict[str, float] = {}
        self._lines: dict[tuple[tuple[str, ...], ...], deque[object]] = {}  # waiters, in order
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()
        self._changed = asyncio.Event()
        self._process = f"{os.getpid()}:{id(self):x}"  # permit tokens unique among processes

    def _bind(self) -> None:
        # asyncio primitives belong to one loop; a limiter reused by a later asyncio.run()
        # gets fresh ones (nothing can be in flight across loops).
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop = loop
            self._lock = asyncio.Lock()
            self._changed = asyncio.Event()
            self._lines.clear()
            self.windows.new_loop()

    def _signal(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def hold(self, key: str, until: float) -> None:
        """Send nothing under ``key`` before epoch time ``until`` (X-Rate-Limit-Reset)."""
        if until > self._holds.get(key, 0.0):
            self._holds[key] = until

    async def _try(
        self, limits: Sequence[Limit], hold_key: str | None, token: str, lease: float
    ) -> tuple[float | None, Limit | None, bool]:
        """(0, None, _) after taking a place in every limit; else seconds to wait (None: until
        a request in flight is answered), the limit that blocks longest (None: a hold) and
        whether the wait is on the clock (holds, memory) or in real time (Redis)."""
        if hold_key is not None:
            until = self._holds.get(hold_key)
            if until is not None:
                now = self.clock.time()
                if until > now:
                    return until - now + self.margin, None, True
                del self._holds[hold_key]
        if not limits:
            return 0.0, None, True
        delay, index = await self.windows.take(limits, token, lease)
        return delay, None if index is None else limits[index], not self.windows.shared

    async def _release(self, limits: Sequence[Limit], token: str) -> None:
        try:
            if self.windows.shared:
                # Shielded: a cancelled caller must still give its place back (on Redis it
                # would otherwise count as in flight until its lease ends).
                await asyncio.shield(self.windows.give_back(limits, token))
            else:
                await self.windows.give_back(limits, token)  # never suspends: cannot be cut short
        finally:
            self._signal()  # even when cancelled: the next in line looks again

    async def acquire(
        self,
        limits: Iterable[Limit],
        *,
        hold_key: str | None = None,
        max_wait: float | None = None,
        lease: float = DEFAULT_LEASE,
    ) -> Permit:
        """Wait for a place in every limit (and past any hold), taken together or not at all.

        Returns the Permit to release when the response is in (``permit.waited``: seconds
        waited). Raises RateLimited when the wait would exceed ``max_wait``: better to
        rebound the message than to block a worker for many minutes. ``lease``: how long the
        request may be in flight at most (its deadline); shared windows forget it after that,
        so a process killed mid-request cannot block the others for ever.
        """
        limits = list(limits)
        if not limits and (hold_key is None or hold_key not in self._holds):
            return Permit(self, limits, "", 0.0)
        self._bind()
        token = f"{self._process}:{next(_tokens)}"
        # First come, first served among requests under the same limits: pages fetched ahead
        # are sent in their order, and no waiter is overtaken forever.
        line_key = tuple(limit.key for limit in limits)
        line = self._lines.setdefault(line_key, deque())
        ticket = object()
        line.append(ticket)
        started = self.clock.monotonic()
        waited = 0.0
        told = False
        try:
            while True:
                changed = self._changed
                delay: float | None = None  # behind another request: until it has its place
                blocking = None
                on_clock = True
                if line[0] is ticket:
                    async with self._lock:
                        delay, blocking, on_clock = await self._try(limits, hold_key, token, lease)
                    if delay is not None and delay <= 0:
                        return Permit(self, limits, token, waited)
                waited = self.clock.monotonic() - started
                if delay is not None and max_wait is not None and waited + delay > max_wait:
                    which = f"rate limit {blocking.describe()}" if blocking else "rate limit (the API's reset time)"
                    raise RateLimited(
                        f"{which}: the next slot is {delay:.1f} s away, over the {max_wait:g} s wait budget",
                        retry_after=delay,
                    )
                if not told and delay is not None and delay >= self.notice_after:
                    told = True  # once per request: a quiet poll is then not taken for a hung one
                    waits_log.info("%s", _wait_notice(blocking, delay))
                if delay is not None and on_clock:
                    # A place frees at a known time (answers only add to a window): sleep on
                    # the runtime's clock, a ManualClock passes it at once.
                    await self.clock.sleep(delay)
                else:
                    # Until one of ours is answered or goes out (we are told), or, on Redis,
                    # until another process's may have been: look again soon.
                    timeout = delay if delay is not None else SHARED_POLL if self.windows.shared else None
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(changed.wait(), timeout=timeout)
                waited = self.clock.monotonic() - started
        finally:
            line.remove(ticket)
            if not line:
                self._lines.pop(line_key, None)
            self._signal()  # the next in line may go now

    async def reset(self) -> None:
        """Forget every window and hold (tests, sandbox resets)."""
        self._holds.clear()
        await self.windows.reset()

    async def aclose(self) -> None:
        """Close the connection to shared storage (none in memory)."""
        await self.windows.aclose()
