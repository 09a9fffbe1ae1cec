"""Per-key locks for lookup-or-create: within one process, or across processes on Redis.

Two orders of one new customer must not both create the client. In one process an
``asyncio.Lock`` per key does it; workers in several processes share a Redis lock per key
(``SET NX`` with a lease). The holder renews its lease while it works; if it dies, the lease
runs out and the next one goes ahead, so a killed worker does not block a key for ever. The
second holder then looks up again and finds what the first created.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid
from collections.abc import AsyncIterator
from typing import Any, Protocol

from skiff.clock import SYSTEM_CLOCK, Clock
from skiff.redis_client import LoopClient

__all__ = ["KeyLocks", "LocalLocks", "RedisLocks"]

# Delete (or extend) the key only while it still holds our token: after a lease ran out another
# process may hold it, and its lock is not ours to drop.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class KeyLocks(Protocol):
    def hold(self, key: str) -> contextlib.AbstractAsyncContextManager[None]: ...

    async def aclose(self) -> None: ...


class LocalLocks:
    """One ``asyncio.Lock`` per key, in this process."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.get(key)
        if lock is None:
            if len(self._locks) > 10_000:  # forget idle locks now and then
                self._locks = {k: v for k, v in self._locks.items() if v.locked()}
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            yield

    async def aclose(self) -> None:
        return None


class RedisLocks:
    """A Redis lock per key with a lease (``lease`` seconds, renewed while held), shared by processes.

    The holder renews every ``lease / 3`` seconds, waiting on ``clock`` (a test steps the
    renewals one by one); the lease itself runs on Redis's clock, and so does waiting for
    another process's lease to end (real time, whatever ``clock`` is).
    """

    def __init__(
        self, url: str, *, prefix: str, lease: float = 30.0, poll: float = 0.05, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.lease = lease
        self.poll = poll
        self.clock = clock
        self._local = LocalLocks()  # this process's waiters queue here, not on Redis
        self._client = LoopClient(url)

    def _redis(self) -> Any:
        return self._client.get()

    def name(self, key: str) -> str:
        return f"{self.prefix}{hashlib.sha256(key.encode()).hexdigest()[:32]}"

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        async with self._local.hold(key):
            client = self._redis()
            name, token = self.name(key), uuid.uuid4().hex
            lease_ms = max(1, int(self.lease * 1000))
            while not await client.set(name, token, nx=True, px=lease_ms):
                await asyncio.sleep(self.poll)  # another process holds it (or held it, until its lease ends)
            renew = asyncio.create_task(self._renew(client, name, token, lease_ms))
            try:
                yield
            finally:
                renew.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renew
                with contextlib.suppress(Exception):  # unreleased, it still ends with its lease
                    await client.eval(_RELEASE, 1, name, token)

    async def _renew(self, client: Any, name: str, token: str, lease_ms: int) -> None:
        while True:
            await self.clock.sleep(lease_ms / 3000)
            with contextlib.suppress(Exception):
                await client.eval(_RENEW, 1, name, token, lease_ms)

    async def aclose(self) -> None:
        await self._client.aclose()
