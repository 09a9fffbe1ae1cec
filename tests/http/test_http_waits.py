"""Waits a person should hear about go to the ``skiff.http.waits`` log (``skiff poll`` shows it)."""

from __future__ import annotations

import logging
import time

import pytest

from skiff.errors import RateLimited
from skiff.http import Limit, RateLimiter


async def test_a_long_rate_limit_wait_is_told(caplog: pytest.LogCaptureFixture) -> None:
    limiter = RateLimiter()
    limit = Limit(requests=1, per_seconds=900, key=("notice",), name="per 15 minutes")
    await (await limiter.acquire([limit])).release()
    caplog.set_level(logging.INFO, logger="skiff.http.waits")
    # max_wait makes the second acquire give up at once instead of waiting 15 minutes in a test.
    with pytest.raises(RateLimited):
        await limiter.acquire([limit], max_wait=1)
    notices = [r.getMessage() for r in caplog.records if r.name == "skiff.http.waits"]
    assert len(notices) == 1
    assert notices[0].startswith("waiting ")
    assert notices[0].endswith("for the rate limit 'per 15 minutes' (1 per 15 min)")


async def test_a_hold_from_the_api_headers_is_told(caplog: pytest.LogCaptureFixture) -> None:
    limiter = RateLimiter()
    limiter.hold("k", time.time() + 60)
    caplog.set_level(logging.INFO, logger="skiff.http.waits")
    with pytest.raises(RateLimited):
        await limiter.acquire([], hold_key="k", max_wait=5)
    assert any(r.getMessage().endswith("for the rate limit (the API's reset time)") for r in caplog.records)


async def test_short_waits_are_not_told(caplog: pytest.LogCaptureFixture) -> None:
    limiter = RateLimiter(margin=0.0)
    limit = Limit(requests=1, per_seconds=0.2, key=("short",))
    caplog.set_level(logging.INFO, logger="skiff.http.waits")
    for _ in range(2):  # the second waits about 0.2 s: the spacing of a busy limit, not news
        await (await limiter.acquire([limit])).release()
    assert not [r for r in caplog.records if r.name == "skiff.http.waits"]
