"""skiff.http.shared_limits: --rate-limits redis://... makes processes count in one window."""

from __future__ import annotations

import uuid

import pytest

from skiff.errors import ConfigError, RateLimited
from skiff.http import Limit, shared_limiter
from skiff.http.shared_limits import is_shared
from tests.services import ensure_redis


async def test_two_limiters_on_one_url_share_their_windows() -> None:
    url = ensure_redis()
    one, two = shared_limiter(url), shared_limiter(url)
    assert one is not None and two is not None and one is not two
    limit = Limit(1, 60.0, ("test-shared-limits", uuid.uuid4().hex))
    permit = await one.acquire([limit])
    await permit.release()
    with pytest.raises(RateLimited):  # the other process's request is counted: the next slot is ~60 s away
        await two.acquire([limit], max_wait=0)


def test_no_url_means_each_process_counts_alone() -> None:
    assert shared_limiter(None) is None and shared_limiter("") is None


def test_only_a_redis_url_is_shared() -> None:
    assert is_shared("redis://127.0.0.1:6379/0") and is_shared("rediss://h:6380")
    assert not any(is_shared(url) for url in (None, "", "memory://", "async+redis://h"))


def test_another_scheme_is_refused_without_showing_its_password() -> None:
    with pytest.raises(ConfigError) as refused:
        shared_limiter("memcached://user:pw-s3cret-123@127.0.0.1:11211")
    assert "pw-s3cret-123" not in refused.value.message
    assert refused.value.message.startswith("--rate-limits 'memcached://***@127.0.0.1:11211': expected a redis:// URL")
