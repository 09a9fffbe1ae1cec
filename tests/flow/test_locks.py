"""Lookup-or-create locks: one holder per key across processes (Redis), and a dead holder's lease runs out."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from skiff.clock import Clock
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


class Steps(Clock):
    """A clock whose sleeps end only when the test says: the holder renews when the test steps it."""

    def __init__(self) -> None:
        self.asked: list[float] = []  # every sleep begun (the renew interval asked for)
        self._go = asyncio.Semaphore(0)

    async def sleep(self, seconds: float) -> None:
        self.asked.append(seconds)
        await self._go.acquire()

    def step(self) -> None:
        self._go.release()

    async def sleeping(self, count: int) -> None:
        """Return once ``count`` sleeps have begun (so every renewal before the last is done)."""
        for _ in range(1000):
            if len(self.asked) >= count:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"the holder began {len(self.asked)} sleeps, not {count}")


async def test_a_lease_is_renewed_while_held() -> None:
    """Renewed, a held lease near its end gets a whole lease again and no one else gets the key;
    not renewed, the same lease runs out under the holder.

    Redis counts a lease down on its own clock, which no test can move on; so the test does not
    wait for a lease to pass but cuts what is left of it (PEXPIRE), as if most of it had passed,
    and then steps one renewal. The lease is long and what is left 10 s, so a machine that
    stalls for seconds between the cut and the renewal still passes: only the control at the end
    (a renewal that never comes) waits for Redis's clock, and it waits for a condition, not a time.
    """
    import redis.asyncio

    url = redis_url()
    clock = Steps()
    locks = RedisLocks(url, prefix=f"skiff:test:lock:{uuid.uuid4().hex}:", lease=60.0, clock=clock)
    other = RedisLocks(url, prefix=locks.prefix)
    client = redis.asyncio.Redis.from_url(url)
    name = locks.name("k")
    order: list[str] = []
    first_out = asyncio.Event()

    async def second() -> None:
        async with other.hold("k"):
            order.append("second")
            await first_out.wait()

    async def entered() -> None:
        while not order:
            await asyncio.sleep(0.01)

    try:
        async with locks.hold("k"):
            task = asyncio.create_task(second())
            await clock.sleeping(1)
            token = await client.get(name)
            assert 50_000 < await client.pttl(name) <= 60_000  # a lease: the key ends unless renewed
            for renewal in range(1, 4):
                await client.pexpire(name, 10_000)  # as if all but 10 s of the lease had passed
                clock.step()
                await clock.sleeping(renewal + 1)  # the renewal is done
                assert await client.get(name) == token  # still ours
                assert await client.pttl(name) > 50_000  # a whole lease again, not what was left
            assert not task.done() and order == []  # the other holder still waits
            assert clock.asked == [20.0] * 4  # every third of the lease
            # The control: with no renewal the same lease runs out while it is held, and the
            # other holder goes in (this is what the renewals above prevented).
            await client.pexpire(name, 100)
            await asyncio.wait_for(entered(), 30)
            order.append("first done")
        assert order == ["second", "first done"]
        held = await client.get(name)
        assert held is not None and held != token  # the first one's release left the second's lock
        first_out.set()
        await task
        assert await client.get(name) is None
    finally:
        await client.aclose()
        await locks.aclose()
        await other.aclose()


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
