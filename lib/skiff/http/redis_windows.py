"""Moving windows on Redis, shared by every process that uses them, exact to the millisecond.

Per limit key two Redis keys: a list of the last ``requests`` answer times (newest first) and a
sorted set of the requests in flight (member: a permit's token, score: the time after which it
is forgotten, should its process die). A request counts for every process from before it is
sent until a window after its answer, as in one process (``memory_windows``): a window of
*sends* would forget a request still in flight after one window, and a second process could
then crowd the server's window (two processes drew a 429 that way under load).

Both scripts run atomically in Redis, so several limits are taken together or not at all,
across processes too (one Redis server, not a cluster: a script's keys must live on one node).
Their time is Redis's own (``TIME``): windows shared between processes and machines need one
time source, and no client clock's skew then moves a window. Such windows pass in real time,
whatever clock the limiter was given. ``limits``' own Redis window
is not used: it expires keys in whole seconds (a 1.1 s window became 2 s) and records sends,
not answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from skiff.redis_client import LoopClient

if TYPE_CHECKING:
    from .memory_windows import Verdict
    from .ratelimit import Limit

__all__ = ["RedisWindows"]

# KEYS: answers, flight for each limit; ARGV: token, lease (s), then requests, window (s) for
# each limit. Returns {"0"} when taken, else {wait in seconds or "none", blocking limit (1-based)}.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local token, lease = ARGV[1], tonumber(ARGV[2])
local delay, blocking, longest = 0, 0, -1
for i = 1, #KEYS / 2 do
  local answers, flight = KEYS[2 * i - 1], KEYS[2 * i]
  local requests, window = tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', flight, '-inf', now)
  local flying = redis.call('ZCARD', flight)
  local stamps = redis.call('LRANGE', answers, 0, requests - 1)
  local recent = 0
  for _, stamp in ipairs(stamps) do
    if tonumber(stamp) > now - window then recent = recent + 1 else break end
  end
  local need = recent + flying - requests + 1
  if need > 0 then
    local wait = false
    if need <= recent then
      wait = math.max(tonumber(stamps[recent - need + 1]) + window - now, 0)
    end
    if wait and wait > longest then
      longest, blocking = wait, i
    elseif blocking == 0 then
      blocking = i
    end
    if delay and wait then delay = math.max(delay, wait) else delay = false end
  end
end
if blocking > 0 then
  return {delay and tostring(delay) or 'none', blocking}
end
for i = 1, #KEYS / 2 do
  redis.call('ZADD', KEYS[2 * i], now + lease, token)
  if redis.call('PTTL', KEYS[2 * i]) < lease * 1000 then
    redis.call('PEXPIRE', KEYS[2 * i], math.ceil(lease * 1000))
  end
end
return {'0'}
"""

# KEYS: answers, flight for each limit; ARGV: token, then requests, window (s) for each limit.
_GIVE_BACK = """
local t = redis.call('TIME')
local now = string.format('%.6f', tonumber(t[1]) + tonumber(t[2]) / 1000000)
for i = 1, #KEYS / 2 do
  local answers, flight = KEYS[2 * i - 1], KEYS[2 * i]
  local requests, window = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  redis.call('ZREM', flight, ARGV[1])
  redis.call('LPUSH', answers, now)
  redis.call('LTRIM', answers, 0, requests - 1)
  redis.call('PEXPIRE', answers, math.ceil(window * 1000))
end
return 1
"""


class RedisWindows:
    """The windows at ``url``, under keys starting with ``prefix``."""

    shared = True

    def __init__(self, url: str, *, margin: float, prefix: str = "skiff:rl:") -> None:
        self.url = url
        self.margin = margin
        self.prefix = prefix
        self._client = LoopClient(url)
        self._take: Any = None
        self._give_back: Any = None

    def _redis(self) -> Any:
        client = self._client.get()
        if self._client.fresh:
            self._take = client.register_script(_TAKE)
            self._give_back = client.register_script(_GIVE_BACK)
        return client

    def keys(self, limit: Limit) -> tuple[str, str]:
        """The answers list and the in-flight set of ``limit`` (its size is part of the name:
        a changed declaration starts a window of its own)."""
        base = f"{self.prefix}{'/'.join(limit.key)}/{limit.requests}/{limit.per_seconds!r}"
        return f"{base}:answers", f"{base}:flight"

    def _args(self, limits: Sequence[Limit]) -> tuple[list[str], list[Any]]:
        keys: list[str] = []
        sizes: list[Any] = []
        for limit in limits:
            keys.extend(self.keys(limit))
            sizes.extend((limit.requests, repr(limit.per_seconds + self.margin)))
        return keys, sizes

    async def take(self, limits: Sequence[Limit], token: str, lease: float) -> Verdict:
        self._redis()
        keys, sizes = self._args(limits)
        result = await self._take(keys=keys, args=[token, repr(max(lease, 0.001)), *sizes])
        if result[0] == "0":
            return 0.0, None
        wait = None if result[0] == "none" else float(result[0])
        return wait, int(result[1]) - 1

    async def give_back(self, limits: Sequence[Limit], token: str) -> None:
        self._redis()
        keys, sizes = self._args(limits)
        await self._give_back(keys=keys, args=[token, *sizes])

    def new_loop(self) -> None:
        return None  # the connection follows the loop (_redis); flights end with their lease

    async def reset(self) -> None:
        client = self._redis()
        async for key in client.scan_iter(match=f"{self.prefix}*", count=500):
            await client.delete(key)

    async def aclose(self) -> None:
        await self._client.aclose()
