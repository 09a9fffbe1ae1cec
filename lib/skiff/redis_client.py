"""One Redis client per event loop: a connection belongs to the loop it was made on, so a later
``asyncio.run()`` (``skiff poll``, the studio, tests) gets a new client instead of a dead one."""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["LoopClient"]


class LoopClient:
    """``get()`` returns the client for the running loop (``decode_responses=True``); ``fresh``
    tells whether that call made it, so callers register their scripts once per client."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.fresh = False

    def get(self) -> Any:
        loop = asyncio.get_running_loop()
        self.fresh = self._client is None or self._loop is not loop
        if self.fresh:
            import redis.asyncio  # lazily: commands that never touch Redis do not pay for it

            self._loop = loop
            self._client = redis.asyncio.Redis.from_url(self.url, decode_responses=True)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
