"""skiff.redis_client: one client per event loop, closed on request (the real Redis on 127.0.0.1)."""

from __future__ import annotations

import asyncio

from skiff.redis_client import LoopClient
from tests.services import ensure_redis


def test_a_new_loop_gets_a_new_client_and_both_work() -> None:
    client = LoopClient(ensure_redis())

    async def ping(close: bool = False) -> tuple[object, bool, bool]:
        first = client.get()
        made = client.fresh
        again = client.get()
        assert again is first and not client.fresh  # the same loop reuses it
        assert await first.ping()
        if close:
            await client.aclose()
        return first, made, client.fresh

    one, made_one, _ = asyncio.run(ping())
    two, made_two, _ = asyncio.run(ping(close=True))  # the first loop is closed: its client cannot serve
    assert made_one and made_two and one is not two
