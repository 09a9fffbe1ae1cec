"""Moving windows in one process, on the runtime's clock (``skiff.clock``).

Written by hand: the ``limits`` library's memory storage reads ``time.time()`` itself (and
expires entries from a background task on real time), so a test could not pass a rate
window on a ManualClock; what is needed here is small. Per limit key: the times of the last
``requests`` answers (a deque) and a count of requests in flight. A request has its place
from before it is sent until a window after its answer (the server counts arrivals, which
happen anywhere in between), so N + 1 arrivals never fall into one window.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING

from skiff.clock import Clock

if TYPE_CHECKING:
    from .ratelimit import Limit

__all__ = ["MemoryWindows", "Verdict"]

# (seconds to wait: 0 = taken, None = until a request in flight is answered; the index of the
# limit that blocks longest, None when taken)
Verdict = tuple[float | None, int | None]

_PRUNE_AT = 4096  # windows kept before idle ones are dropped (per-order limits add one per order)


class _Window:
    __slots__ = ("answers", "flying", "span")

    def __init__(self, limit: Limit, span: float) -> None:
        self.answers: deque[float] = deque(maxlen=limit.requests)  # oldest first
        self.flying = 0
        self.span = span


def wait_for_place(answers: Sequence[float], flying: int, requests: int, span: float, now: float) -> float | None:
    """Seconds until a place is free (0: free now; None: only requests in flight block).

    ``answers`` are the answer times still in the window, oldest first. ``k`` of them must
    leave for one place, and the k-th oldest leaves ``span`` after it came.
    """
    need = len(answers) + flying - requests + 1
    if need <= 0:
        return 0.0
    if need > len(answers):
        return None
    return max(answers[need - 1] + span - now, 0.0)


class MemoryWindows:
    """The windows of one process; ``margin`` widens each a little (timer granularity)."""

    shared = False

    def __init__(self, clock: Clock, *, margin: float) -> None:
        self.clock = clock
        self.margin = margin
        self._windows: dict[tuple[str, ...], _Window] = {}
        self._prune_at = _PRUNE_AT

    def _live(self, window: _Window, now: float) -> deque[float]:
        answers = window.answers
        while answers and answers[0] <= now - window.span:
            answers.popleft()
        return answers

    async def take(self, limits: Sequence[Limit], token: str, lease: float) -> Verdict:
        """A place in every limit, or none: what to wait for, and which limit blocks."""
        now = self.clock.monotonic()
        delay: float | None = 0.0
        blocking: int | None = None
        longest = -1.0
        for index, limit in enumerate(limits):
            window = self._windows.get(limit.key)
            if window is None:
                continue
            wait = wait_for_place(self._live(window, now), window.flying, limit.requests, window.span, now)
            if wait == 0.0:
                continue
            if wait is not None and wait > longest:
                longest, blocking = wait, index
            elif blocking is None:
                blocking = index
            delay = None if delay is None or wait is None else max(delay, wait)
        if delay != 0.0:
            return delay, blocking
        if len(self._windows) >= self._prune_at:
            self._prune(now)
        for limit in limits:
            window = self._windows.get(limit.key)
            if window is None:
                window = self._windows[limit.key] = _Window(limit, limit.per_seconds + self.margin)
            window.flying += 1
        return 0.0, None

    async def give_back(self, limits: Sequence[Limit], token: str) -> None:
        """The answer is in: the place is held one window from now."""
        now = self.clock.monotonic()
        for limit in limits:
            window = self._windows.get(limit.key)
            if window is not None:
                window.flying = max(window.flying - 1, 0)
                window.answers.append(now)

    def _prune(self, now: float) -> None:
        idle = [key for key, w in self._windows.items() if not w.flying and not self._live(w, now)]
        for key in idle:
            del self._windows[key]
        # Many live windows (an order each, for a minute): look again when they have doubled,
        # not on every request.
        self._prune_at = max(_PRUNE_AT, 2 * len(self._windows))

    def new_loop(self) -> None:
        # A request cut off with its event loop never gave its place back: keep the answers,
        # forget the flights.
        for window in self._windows.values():
            window.flying = 0

    async def reset(self) -> None:
        self._windows.clear()

    async def aclose(self) -> None:
        return None
