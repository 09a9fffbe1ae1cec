"""Every request has a total deadline; what skiff waits for is said on the way (no test sleeps)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from skiff.clock import ManualClock
from skiff.component import resolve_component
from skiff.message import Message
from skiff.run import Data, Event, Executor
from tests.support import serve_asgi


@pytest.fixture
def api() -> Iterator[tuple[str, dict[str, Any]]]:
    state: dict[str, Any] = {"busy": 2, "hits": 0}

    async def orders(request: Request) -> JSONResponse:
        state["hits"] += 1
        if state["busy"] > 0:
            state["busy"] -= 1
            return JSONResponse({"message": "slow down"}, 429, headers={"Retry-After": "30"})
        return JSONResponse([{"id": 1}])

    async def down(request: Request) -> JSONResponse:
        state["hits"] += 1
        return JSONResponse({"message": "maintenance"}, 503, headers={"Retry-After": "40"})

    with serve_asgi(Starlette(routes=[Route("/orders", orders), Route("/down", down)])) as url:
        yield url, state


async def call(url: str, path: str, clock: ManualClock, **kw: Any) -> tuple[list[Any], Any]:
    out: list[Any] = []

    async def sink(event: Event) -> None:
        if isinstance(event, Data):
            out.append(event.message.body)

    async with Executor(clock=clock, **kw) as ex:
        result = await ex.run(
            resolve_component("http"), "request", {"baseUrl": url}, Message(body={"path": path}), emit=sink
        )
    return out, result.error


async def test_retry_after_is_waited_on_the_clock_and_said(
    api: tuple[str, dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    url, _ = api
    clock = ManualClock()
    with caplog.at_level(logging.INFO, logger="skiff.http.waits"):
        out, error = await call(url, "/orders", clock)
    assert error is None and out == [[{"id": 1}]]
    assert clock.slept == [30.0, 30.0]  # the server's Retry-After, passed at once
    assert [r.getMessage() for r in caplog.records if r.name == "skiff.http.waits"] == [
        "429 from /orders: waiting 30 s (Retry-After), attempt 2 of 5",
        "429 from /orders: waiting 30 s (Retry-After), attempt 3 of 5",
    ]


async def test_the_total_timeout_ends_a_call_and_the_error_says_what_it_cost(
    api: tuple[str, dict[str, Any]],
) -> None:
    url, state = api
    clock = ManualClock()
    _, error = await call(url, "/down", clock, timeout=100)
    # Attempts at 0, 40 and 80 s; the next one would start after the 100 s deadline.
    assert state["hits"] == 3 and clock.slept == [40.0, 40.0]
    assert error is not None and error.kind == "TransientError"
    assert str(error) == "GET /down: 503 Service Unavailable: maintenance (gave up after 3 attempts in 80 s)"
