"""A keyed sliding-window limiter for sandboxes that must answer 429 like their vendor."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable

__all__ = ["SlidingWindow"]


class SlidingWindow:
    """At most ``requests`` per key in any window of ``per_seconds`` (a true sliding window).

    ``hit(key)`` records a request and returns ``None`` when it is allowed, or the seconds until
    one would be (for ``Retry-After``). Refused requests are not counted, like real APIs that
    reject before doing work. Uses a monotonic clock: the sandbox clock may jump, rates must not.
    ``now`` (seconds, monotonic) may be replaced by tests that must not depend on real timing.
    """

    def __init__(self, requests: int, per_seconds: float, *, now: Callable[[], float] = time.monotonic) -> None:
        if requests < 1 or per_seconds <= 0:
            raise ValueError("requests must be >= 1 and per_seconds > 0")
        self.requests = requests
        self.per_seconds = per_seconds
        self.enabled = True
        self.now = now
        self._hits: dict[Hashable, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: Hashable = "") -> float | None:
        if not self.enabled:
            return None
        now = self.now()
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                hits = self._hits[key] = deque()
            horizon = now - self.per_seconds
            while hits and hits[0] <= horizon:
                hits.popleft()
            if len(hits) >= self.requests:
                return max(hits[0] + self.per_seconds - now, 0.001)
            hits.append(now)
            return None

    def remaining(self, key: Hashable = "") -> int:
        now = self.now()
        with self._lock:
            hits = self._hits.get(key, deque())
            return max(self.requests - sum(1 for t in hits if t > now - self.per_seconds), 0)

    @staticmethod
    def retry_after_header(seconds: float) -> str:
        """Whole seconds, rounded up and at least 1 (Retry-After has no fractions)."""
        return str(max(1, math.ceil(seconds)))

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()
