"""Snapshots in Redis, for workers on several machines.

All snapshots of a namespace live in one hash (``HSET`` of one field is atomic), each field a
JSON ``{"s": snapshot, "t": updated_at}``. Durability is Redis's: run it with ``appendonly yes``
when a lost snapshot matters (a lost snapshot re-emits, with the same message ids).
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from skiff.errors import ConfigError, TransientError
from skiff.state.base import SnapshotEntry, SnapshotStore, check_key, decode, encode, redact_url

if TYPE_CHECKING:
    import redis.asyncio

__all__ = ["RedisStore"]

_T = TypeVar("_T")

# Take the lease if it is free or ours (renewing it); atomic, as Redis runs a script alone.
_TAKE = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] or holder == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisStore(SnapshotStore):
    """``RedisStore("redis://127.0.0.1:6379/0", namespace="skiff:snapshots")``."""

    def __init__(self, url: str = "redis://127.0.0.1:6379/0", *, namespace: str = "skiff:snapshots") -> None:
        self.url = url
        self.namespace = namespace
        self._client: redis.asyncio.Redis | None = None

    def __repr__(self) -> str:
        return f"RedisStore({redact_url(self.url)!r}, namespace={self.namespace!r})"

    def _redis(self) -> redis.asyncio.Redis:
        if self._client is None:
            import redis.asyncio  # lazily: commands that never touch Redis do not pay for it

            try:
                self._client = redis.asyncio.Redis.from_url(self.url, decode_responses=True)
            except ValueError as exc:
                raise ConfigError(f"bad Redis URL {redact_url(self.url)}: {exc}") from None
        return self._client

    async def _call(self, fn: Callable[[redis.asyncio.Redis], Awaitable[_T]]) -> _T:
        import redis.exceptions

        try:
            return await fn(self._redis())
        except redis.exceptions.AuthenticationError:
            raise ConfigError(f"Redis at {redact_url(self.url)} refused the credentials") from None
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            raise TransientError(f"Redis at {redact_url(self.url)}: {exc}") from None

    async def get(self, key: str) -> dict[str, Any] | None:
        check_key(key)
        text = await self._call(lambda r: r.hget(self.namespace, key))
        return decode(text)["s"] if text else None

    async def put(self, key: str, snapshot: Mapping[str, Any]) -> None:
        text = encode(key, snapshot)
        value = f'{{"t":{datetime.now(UTC).timestamp()!r},"s":{text}}}'
        await self._call(lambda r: r.hset(self.namespace, key, value))

    async def delete(self, key: str) -> None:
        check_key(key)
        await self._call(lambda r: r.hdel(self.namespace, key))

    async def list(self, prefix: str = "") -> builtins.list[SnapshotEntry]:
        async def scan(r: redis.asyncio.Redis) -> builtins.list[tuple[str, str]]:
            return [(k, v) async for k, v in r.hscan_iter(self.namespace) if k.startswith(prefix)]

        rows = await self._call(scan)
        out = []
        for key, text in sorted(rows):
            item = json.loads(text)
            out.append(SnapshotEntry(key, decode(json.dumps(item["s"])), datetime.fromtimestamp(item["t"], UTC)))
        return out

    def _lease_key(self, key: str) -> str:
        return f"{self.namespace}:lease:{key}"

    async def try_lease(self, key: str, owner: str, ttl: float, *, replace: str | None = None) -> bool:
        check_key(key)
        millis = max(1, int(ttl * 1000))
        # An owner is never empty, so "" replaces nobody.
        result = await self._call(lambda r: r.eval(_TAKE, 1, self._lease_key(key), owner, millis, replace or ""))
        return bool(result)

    async def lease_holder(self, key: str) -> str | None:
        check_key(key)
        holder = await self._call(lambda r: r.get(self._lease_key(key)))
        return str(holder) if holder else None

    async def release_lease(self, key: str, owner: str) -> None:
        check_key(key)
        await self._call(lambda r: r.eval(_RELEASE, 1, self._lease_key(key), owner))

    async def drop_namespace(self) -> None:
        """Delete every snapshot and lease of this namespace (tests, resets)."""

        async def drop(r: redis.asyncio.Redis) -> None:
            await r.delete(self.namespace)
            async for name in r.scan_iter(match=f"{self.namespace}:lease:*"):
                await r.delete(name)

        await self._call(drop)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
