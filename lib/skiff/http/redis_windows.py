"""Moving windows on Redis with exact, fractional lengths (Billbee counts per 1.1 s).

The ``limits`` library's Redis moving window sets the key's expiry with ``EXPIRE``, which takes
whole seconds, so a 1.1 s window had to become 2 s: half the throughput. These two short
scripts keep the same list-of-timestamps layout but expire in milliseconds, so a window is
exactly as long as declared. Each script runs atomically in Redis: workers on many machines
share one window.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

__all__ = ["RedisWindows", "WindowStats"]

# KEYS[1]: the window; ARGV: now (s), limit, window (s). Newest entries first.
_ACQUIRE = """
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local entry = redis.call('LINDEX', KEYS[1], limit - 1)
if entry and tonumber(entry) > now - window then
  return 0
end
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, limit - 1)
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
return 1
"""

# Returns {count in the window, oldest timestamp in it (as a string)}.
_STATS = """
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local entries = redis.call('LRANGE', KEYS[1], 0, limit - 1)
local count, oldest = 0, nil
for _, entry in ipairs(entries) do
  if tonumber(entry) > now - window then
    count = count + 1
    oldest = entry
  end
end
return {count, oldest or ARGV[1]}
"""


class WindowStats(NamedTuple):
    reset_time: float  # epoch seconds when the oldest entry leaves the window
    remaining: int


class RedisWindows:
    """The three operations the rate limiter needs, as ``limits``' strategy names them."""

    def __init__(self, url: str, *, prefix: str = "skiff:rl:") -> None:
        self.url = url
        self.prefix = prefix
        self._client: Any = None
        self._acquire: Any = None
        self._stats: Any = None

    def _redis(self) -> Any:
        if self._client is None:
            import redis.asyncio

            self._client = redis.asyncio.Redis.from_url(self.url, decode_responses=True)
            self._acquire = self._client.register_script(_ACQUIRE)
            self._stats = self._client.register_script(_STATS)
        return self._client

    def _key(self, item: Any, identifiers: tuple[str, ...]) -> str:
        return f"{self.prefix}{item.key_for(*identifiers)}/{item.window!r}"

    async def get_window_stats(self, item: Any, *identifiers: str) -> WindowStats:
        self._redis()
        now = time.time()
        count, oldest = await self._stats(keys=[self._key(item, identifiers)], args=[now, item.amount, item.window])
        return WindowStats(float(oldest) + item.window, item.amount - int(count))

    async def test(self, item: Any, *identifiers: str) -> bool:
        stats = await self.get_window_stats(item, *identifiers)
        return stats.remaining > 0

    async def hit(self, item: Any, *identifiers: str) -> bool:
        self._redis()
        now = repr(time.time())  # full precision: Lua reads it back as a number
        return bool(await self._acquire(keys=[self._key(item, identifiers)], args=[now, item.amount, item.window]))

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
