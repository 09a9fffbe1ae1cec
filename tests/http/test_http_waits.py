"""Waits a person should hear about go to the ``skiff.http.waits`` log (``skiff poll`` shows it)."""

from __future__ import annotations

import logging

import pytest

from skiff.clock import ManualClock
from skiff.errors import RateLimited
from skiff.http import Limit, RateLimiter


def notices(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "skiff.http.waits"]


async def test_a_wait_at_least_notice_after_is_told_once(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()  # the 1.5 s pass on the clock, not in the test
    limiter = RateLimiter(margin=0.0, clock=clock)
    limit = Limit(requests=1, per_seconds=1.5, key=("notice",), name="per page")
    caplog.set_level(logging.INFO, logger="skiff.http.waits")
    await (await limiter.acquire([limit])).release()
    await (await limiter.acquire([limit])).release()
    told = notices(caplog)
    assert told == ["waiting 1.5 s for the rate limit 'per page' (1 per 1.5 s)"]
    assert clock.slept == [1.5]


async def test_a_wait_over_the_budget_is_refused_not_told(caplog: pytest.LogCaptureFixture) -> None:
    """No "waiting" line when skiff does not wait: the RateLimited error says it all."""
    clock = ManualClock()
    limiter = RateLimiter(clock=clock)
    limiter.hold("k", clock.time() + 60)
    caplog.set_level(logging.INFO, logger="skiff.http.waits")
    with pytest.raises(RateLimited, match=r"rate limit \(the API's reset time\): the next slot is"):
        await limiter.acquire([], hold_key="k", max_wait=5)
    assert notices(caplog) == []


async def test_short_waits_are_not_told(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()
    limiter = RateLimiter(margin=0.0, clock=clock)  # notice_after: the default, a second or more is news
    limit = Limit(requests=1, per_seconds=0.5, key=("short",))
    caplog.set_level(logging.INFO, logger="skiff.http.waits")
    for _ in range(2):  # the second waits 0.5 s: the spacing of a busy limit, not news
        await (await limiter.acquire([limit])).release()
    assert clock.slept == [0.5]
    assert notices(caplog) == []
