"""FetchAhead: requests sent ahead, answers taken in order, errors at their turn, the rest cancelled."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from skiff.http.prefetch import FetchAhead


class Server:
    """A fake transport: each request waits until the test answers it (no timing involved)."""

    def __init__(self) -> None:
        self.sent: list[int] = []
        self.gates: dict[int, asyncio.Future[Any]] = {}
        self.cancelled: list[int] = []

    async def fetch(self, params: dict[str, Any]) -> str:
        page = params["page"]
        self.sent.append(page)
        gate = self.gates.setdefault(page, asyncio.get_running_loop().create_future())
        try:
            result = await gate
        except asyncio.CancelledError:
            self.cancelled.append(page)
            raise
        if isinstance(result, Exception):
            raise result
        return f"page {page}: {result}"

    def answer(self, page: int, value: Any) -> None:
        self.gates.setdefault(page, asyncio.get_running_loop().create_future()).set_result(value)


async def test_answers_come_in_order_whatever_order_they_arrive_in() -> None:
    server = Server()
    async with FetchAhead(server.fetch, depth=2) as ahead:
        assert ahead.room == 2
        for page in (1, 2, 3):
            ahead.push({"page": page})
        assert ahead.room == 0
        await asyncio.sleep(0)
        assert server.sent == [1, 2, 3]  # all on their way at once
        server.answer(3, "c")
        server.answer(2, "b")
        server.answer(1, "a")
        assert [await ahead.pop() for _ in range(3)] == [
            ({"page": 1}, "page 1: a"),
            ({"page": 2}, "page 2: b"),
            ({"page": 3}, "page 3: c"),
        ]


async def test_an_error_surfaces_when_its_page_is_taken_not_before() -> None:
    server = Server()
    async with FetchAhead(server.fetch, depth=1) as ahead:
        ahead.push({"page": 1})
        ahead.push({"page": 2})
        server.answer(2, ValueError("page 2 failed"))
        await asyncio.sleep(0)
        server.answer(1, "ok")
        assert await ahead.pop() == ({"page": 1}, "page 1: ok")
        with pytest.raises(ValueError, match="page 2 failed"):
            await ahead.pop()


async def test_requests_not_needed_are_cancelled_and_their_errors_dropped() -> None:
    server = Server()
    ahead: FetchAhead[str] = FetchAhead(server.fetch, depth=2)
    async with ahead:
        for page in (1, 2, 3):
            ahead.push({"page": page})
        server.answer(1, "last")
        server.answer(2, ValueError("beyond the end"))
        assert (await ahead.pop())[1] == "page 1: last"
        await asyncio.sleep(0)
    assert len(ahead) == 0
    assert server.cancelled == [3]


async def test_depth_zero_sends_one_at_a_time() -> None:
    server = Server()
    async with FetchAhead(server.fetch, depth=0) as ahead:
        assert ahead.room == 1
        ahead.push({"page": 1})
        assert ahead.room == 0
    async with FetchAhead(server.fetch, depth=2) as ahead:
        ahead.push({"page": 1})
        assert ahead.room == 1  # two in flight at most, the one being taken included
    with pytest.raises(ValueError):
        FetchAhead(server.fetch, depth=-1)
