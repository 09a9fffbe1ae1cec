"""Client-side rate limiting: wait *before* sending, so the API never has to answer 429.

Built on the ``limits`` library's async moving-window strategy. Memory storage by default
(one process); ``RateLimiter(storage_uri="redis://...")`` shares the windows among workers.
Several limits apply to one request at once (Billbee: 2/s per endpoint, 10/s per key + user,
50/s per key); they are taken together or not at all, under one lock per process, so a
request never holds a slot of one limit while it waits for another.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from limits import RateLimitItemPerSecond
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from skiff.errors import RateLimited
from skiff.specs import RateLimitSpec

__all__ = ["Limit", "RateLimiter", "limits_for", "parse_rate_limit_headers"]


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``requests`` in any ``per_seconds`` window for the requests sharing ``key``."""

    requests: int
    per_seconds: float
    key: tuple[str, ...]
    name: str = ""


class _Window(RateLimitItemPerSecond):
    """A moving window whose length may be fractional (``limits`` counts whole seconds).

    With memory storage the exact window plus a safety margin is used; other storages need an
    integer expiry (Redis ``EXPIRE``), so the window is rounded up there: stricter, never looser.
    """

    def __init__(self, limit: Limit, window: float) -> None:
        super().__init__(limit.requests, max(1, math.ceil(window)), namespace="skiff")
        self.window = window

    def get_expiry(self) -> int:
        return self.window  # type: ignore[return-value]  # float is fine for memory storage


def _digest(*parts: str) -> str:
    # Keys end up in Redis: never store a credential in the clear.
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:20]


def limits_for(
    specs: Sequence[RateLimitSpec],
    *,
    credential_key: str,
    endpoint: str,
    credentials: Mapping[str, str] | None = None,
) -> list[Limit]:
    """The concrete limits one request is subject to.

    ``scope=credential`` limits are keyed by the credential set (or, when ``key`` names parts
    and ``credentials`` has them, by just those parts, so Billbee's 50/s per API key is shared
    by every user of that key); ``scope=endpoint`` adds the endpoint.
    """
    out: list[Limit] = []
    for index, spec in enumerate(specs):
        name = spec.name or f"limit{index}"
        if spec.key and credentials is not None and all(k in credentials for k in spec.key):
            identity = _digest(*(f"{k}={credentials[k]}" for k in spec.key))
        else:
            identity = _digest(credential_key)
        key = (name, identity) if spec.scope == "credential" else (name, identity, endpoint)
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


class RateLimiter:
    """Waits until a request may be sent under all its limits, then takes a slot in each.

    ``margin`` widens every window a little: the server timestamps arrivals, not sends, and
    network jitter must not let N+1 requests land in one of its windows.
    One RateLimiter may serve many HttpClients (e.g. several steps with one credential).
    """

    def __init__(
        self,
        storage_uri: str = "memory://",
        *,
        margin: float = 0.05,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        uri = storage_uri if storage_uri.startswith("async+") else f"async+{storage_uri}"
        options: dict[str, str] = {}
        if uri.startswith(("async+redis://", "async+rediss://")):
            options["implementation"] = "redispy"  # redis-py is installed, coredis is not
        self.storage = storage_from_string(uri, **options)
        self._exact = uri.startswith("async+memory")
        self.strategy = MovingWindowRateLimiter(self.storage)
        self.margin = margin
        self._sleep = sleep
        self._holds: dict[str, float] = {}
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None

    def _get_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    def _item(self, limit: Limit) -> _Window:
        if self._exact:
            return _Window(limit, limit.per_seconds + self.margin)
        return _Window(limit, float(math.ceil(limit.per_seconds)))

    def hold(self, key: str, until: float) -> None:
        """Send nothing under ``key`` before epoch time ``until`` (X-Rate-Limit-Reset)."""
        if until > self._holds.get(key, 0.0):
            self._holds[key] = until

    async def _try(self, limits: Sequence[Limit], hold_key: str | None) -> float:
        """0 after taking a slot in every limit, else the seconds to wait before trying again."""
        now = time.time()  # the clock the limits library uses
        if hold_key is not None:
            until = self._holds.get(hold_key)
            if until is not None:
                if until > now:
                    return until - now + self.margin
                del self._holds[hold_key]
        delay = 0.0
        items = [(self._item(limit), limit.key) for limit in limits]
        for item, key in items:
            if not await self.strategy.test(item, *key):
                stats = await self.strategy.get_window_stats(item, *key)
                delay = max(delay, stats.reset_time - now)
        if delay > 0:
            return delay if self._exact else delay + self.margin
        for item, key in items:
            if not await self.strategy.hit(item, *key):
                # Another process won the slot (shared storage): look again shortly.
                return self.margin or 0.01
        return 0.0

    async def acquire(
        self, limits: Iterable[Limit], *, hold_key: str | None = None, max_wait: float | None = None
    ) -> float:
        """Wait for a slot in every limit (and past any hold); returns the seconds waited.

        Raises RateLimited when the wait would exceed ``max_wait``: better to rebound the
        message than to block a worker for many minutes.
        """
        limits = list(limits)
        if not limits and (hold_key is None or hold_key not in self._holds):
            return 0.0
        waited = 0.0
        lock = self._get_lock()
        while True:
            async with lock:
                delay = await self._try(limits, hold_key)
            if delay <= 0:
                return waited
            # A tiny floor avoids a busy loop on clock granularity.
            delay = max(delay, 0.001)
            if max_wait is not None and waited + delay > max_wait:
                raise RateLimited(
                    f"rate limit: the next slot is {delay:.1f} s away, over the {max_wait:g} s wait budget",
                    retry_after=delay,
                )
            await self._sleep(delay)
            waited += delay

    async def reset(self) -> None:
        """Forget every window and hold (tests, sandbox resets)."""
        self._holds.clear()
        await self.storage.reset()
