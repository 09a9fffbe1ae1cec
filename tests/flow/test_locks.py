"""Lookup-or-create locks: one holder per key across processes (Redis), and a dead holder's lease runs out."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from skiff.flow.locks import LocalLocks, RedisLocks
from tests.services import ServiceUnavailable, ensure_redis


def redis_url() -> str:
    try:
        return ensure_redis()
    except ServiceUnavailable as exc:
        pytest.skip(str(exc))


async def test_one_holder_per_key_across_two_lock_sets() -> None:
    """Two RedisLocks (as two processes) on one key: the critical sections never overlap."""
    prefix = f"skiff:test:lock:{uuid.uuid4().hex}:"
    a, b = RedisLocks(redis_url(), prefix=prefix), RedisLocks(redis_url(), prefix=prefix)
    inside: list[str] = []
    overlaps = 0

    async def work(locks: RedisLocks, name: str) -> None:
        nonlocal overlaps
        for _ in range(5):
            async with locks.hold("customer@example.com"):
                overlaps += len(inside)
                inside.append(name)
                await asyncio.sleep(0)  # let the other one try
                await asyncio.sleep(0.01)
                inside.remove(name)

    try:
        await asyncio.gather(work(a, "a"), work(b, "b"))
    finally:
        await a.aclose()
        await b.aclose()
    assert overlaps == 0


async def test_a_dead_holders_lease_runs_out() -> None:
    """A holder that died (its key set, never released) blocks the key only until its lease ends."""
    import redis.asyncio

    url = redis_url()
    prefix = f"skiff:test:lock:{uuid.uuid4().hex}:"
    locks = RedisLocks(url, prefix=prefix, lease=5.0)
    client = redis.asyncio.Redis.from_url(url)
    try:
        await client.set(locks.name("k"), "a-dead-worker", px=300)
        async with locks.hold("k"):
            assert (await client.get(locks.name("k"))) != b"a-dead-worker"
        assert await client.get(locks.name("k")) is None  # released
    finally:
        await client.aclose()
        await locks.aclose()


async def test_a_lease_is_renewed_while_held() -> None:
    url = redis_url()
    locks = RedisLocks(url, prefix=f"skiff:test:lock:{uuid.uuid4().hex}:", lease=1.0)
    other = RedisLocks(url, prefix=locks.prefix, lease=1.0)
    order: list[str] = []

    async def second() -> None:
        async with other.hold("k"):
            order.append("second")

    try:
        async with locks.hold("k"):
            task = asyncio.create_task(second())
            await asyncio.sleep(2.5)  # past two leases: renewed, still ours
            order.append("first done")
        await task
    finally:
        await locks.aclose()
        await other.aclose()
    assert order == ["first done", "second"]


async def test_local_locks_serialise_one_key() -> None:
    locks = LocalLocks()
    inside = 0
    most = 0

    async def work() -> None:
        nonlocal inside, most
        async with locks.hold("k"):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0)
            inside -= 1

    await asyncio.gather(*(work() for _ in range(5)))
    assert most == 1
