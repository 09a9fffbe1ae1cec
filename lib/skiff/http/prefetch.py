"""Fetch-ahead: page requests sent before they are needed, their answers taken in order.

While a page's records are emitted the next pages are already on their way, so the server's
time and the network overlap with our own work. Bounded (``depth`` requests ahead), in order
(answers are taken oldest first; an error surfaces when its page is reached, never earlier),
and within the rate limits (every request still waits for its limiter slot). Requests that
turn out not to be needed (a short last page) are cancelled; one still waiting for its slot
is then never sent.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

__all__ = ["DEFAULT_DEPTH", "FetchAhead"]

DEFAULT_DEPTH = 2
"""Pages requested ahead of the one being emitted, unless a component or caller says otherwise."""

R = TypeVar("R")


class FetchAhead(Generic[R]):
    """A queue of requests in flight: ``push`` sends (in the background), ``pop`` takes in order.

    ``fetch(params)`` performs one request. Use as an async context manager, so that whatever
    is still in flight when paging stops is cancelled.
    """

    def __init__(self, fetch: Callable[[dict[str, Any]], Awaitable[R]], depth: int = DEFAULT_DEPTH) -> None:
        if depth < 0:
            raise ValueError("fetch-ahead depth must be >= 0")
        self._fetch = fetch
        self.depth = depth
        self._queue: deque[tuple[dict[str, Any], asyncio.Task[R]]] = deque()

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def room(self) -> int:
        """Requests that may be sent now: ``depth`` in flight while a page is emitted (at least
        the next one, so that depth 0 is plain one-at-a-time paging)."""
        return max(self.depth - len(self._queue), 0 if self._queue else 1)

    def push(self, params: dict[str, Any]) -> None:
        """Send a request for ``params`` now, in the background."""
        task = asyncio.ensure_future(self._fetch(params))
        self._queue.append((params, task))

    async def pop(self) -> tuple[dict[str, Any], R]:
        """The oldest request's parameters and answer (its error, if it failed)."""
        params, task = self._queue.popleft()
        try:
            return params, await task
        except BaseException:
            if not task.done():  # we were cancelled while waiting: so is the request
                task.cancel()
            raise

    async def aclose(self) -> None:
        """Cancel what is still queued; their results and errors are dropped."""
        tasks = [task for _, task in self._queue]
        self._queue.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def __aenter__(self) -> FetchAhead[R]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
