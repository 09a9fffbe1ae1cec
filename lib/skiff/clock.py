"""Time as the runtime sees it: one object for now, sleeping and jitter, injectable from the top.

Everything that waits or reads the time (retries and ``Retry-After``, backoff jitter, OAuth2
token expiry, a call's total deadline, rebounds, a poll's "now") takes a :class:`Clock` from the executor, so
a test passes a :class:`ManualClock` and never sleeps for time to pass::

    clock = ManualClock()
    async with Executor(clock=clock) as executor: ...   # a Retry-After of 30 s passes at once
    clock.slept                                         # [30.0]: what the runtime waited for
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from datetime import UTC, datetime
from typing import Final

__all__ = ["SYSTEM_CLOCK", "Clock", "ManualClock", "backoff_delay", "parse_duration"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def backoff_delay(initial: float, attempt: int, maximum: float | None = None, *, factor: float = 2.0) -> float:
    """The wait before retry number ``attempt`` (1-based): ``initial``, times ``factor`` each time, at most ``maximum``.

    One rule for every retry schedule that is not the HTTP client's jitter: a flow step's
    ``onError`` (embedded), its rebound expirations on RabbitMQ, and the sailor's rebounds.
    """
    delay = float(initial) * factor ** max(0, attempt - 1)
    return delay if maximum is None else min(delay, float(maximum))


def parse_duration(value: str | float | int) -> float:
    """``"30s"``, ``"5m"``, ``"250ms"``, ``"1h"``, ``"1d"`` or a number of seconds → seconds (ValueError if not)."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string such as '30s', '5m'")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration (use e.g. '30s', '5m', '250ms', '1h')")
    return float(match.group(1)) * _UNITS[match.group(2)]


class Clock:
    """The real clock: ``monotonic()``, ``time()`` (epoch seconds), ``sleep()``, ``random()``."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def now(self) -> datetime:
        """``time()`` as an aware UTC datetime (a poll's start, its cap, a resume point's ``started``)."""
        return datetime.fromtimestamp(self.time(), UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def random(self) -> float:
        return random.random()


SYSTEM_CLOCK: Final = Clock()


class ManualClock(Clock):
    """A clock that moves only when told to, or when something sleeps on it.

    ``sleep(n)`` returns at once (after yielding to the event loop) with the clock ``n``
    seconds later; ``slept`` lists every sleep. ``random()`` is seeded: runs repeat exactly.
    """

    def __init__(self, *, start: float = 1_000.0, wall: float = 1_767_225_600.0, seed: int = 0) -> None:
        self._now = start
        self._offset = wall - start  # epoch time = monotonic + offset
        self._rng = random.Random(seed)
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self._now

    def time(self) -> float:
        return self._now + self._offset

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass (token expiry, a rate window, a deadline)."""
        self._now += max(0.0, seconds)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)
        await asyncio.sleep(0)

    def random(self) -> float:
        return self._rng.random()
