"""Responses are bounded: a size cap (declared or streamed, decoded) and one deadline for the
whole request, body included (issue 11, item 4). Hostile servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gzip
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from skiff.errors import ApiError, TransientError
from skiff.http import HttpClient
from skiff.specs import HttpSpec, RetrySpec

CAP = 1024 * 1024


async def endless(request: Request) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        while True:  # an endless chunked body
            yield b"[" + b"1," * 32768
            await asyncio.sleep(0)

    return StreamingResponse(body(), media_type="application/json")


async def declared(request: Request) -> Response:
    return Response(b"{}", headers={"Content-Length": "2", "X-Claim": "x"}, media_type="application/json")


async def huge_declared(request: Request) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        yield b"{" + b" " * 1000
        await asyncio.sleep(30)

    headers = {"Content-Length": str(500 * 1024 * 1024)}
    return StreamingResponse(body(), media_type="application/json", headers=headers)


async def trickle(request: Request) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        yield b"["
        for _ in range(1000):
            await asyncio.sleep(0.2)  # well inside the read timeout, forever in total
            yield b"1,"

    return StreamingResponse(body(), media_type="application/json")


async def bomb(request: Request) -> Response:
    data = gzip.compress(b"[" + b"0," * (4 * CAP) + b"0]")  # ~8 MB decoded from ~8 KB
    return Response(data, headers={"Content-Encoding": "gzip"}, media_type="application/json")


ROUTES = [
    Route("/endless", endless),
    Route("/declared", declared),
    Route("/huge", huge_declared),
    Route("/trickle", trickle),
    Route("/bomb", bomb),
]


def _spec(url: str, **kw: Any) -> HttpSpec:
    return HttpSpec(baseUrl=url, retry=RetrySpec(maxAttempts=1), maxResponseBytes=CAP, **kw)


@pytest.mark.parametrize("path", ["/endless", "/huge", "/bomb"])
async def test_a_response_over_the_cap_is_refused(live: Any, path: str) -> None:
    server = live(ROUTES)
    async with HttpClient(_spec(server.url)) as client:
        # The guard against a hang is the test's own: the client must refuse long before.
        with pytest.raises(ApiError, match="than the limit of 1,048,576 bytes"):
            await asyncio.wait_for(client.get(path), 60)


async def test_a_small_response_passes(live: Any) -> None:
    server = live(ROUTES)
    async with HttpClient(_spec(server.url)) as client:
        response = await client.request("GET", "/declared")
    assert response.data == {} and response.headers["x-claim"] == "x"


async def test_the_deadline_covers_the_body(live: Any) -> None:
    server = live(ROUTES)
    async with HttpClient(_spec(server.url, timeout=5, deadline=1)) as client:
        with pytest.raises(TransientError, match=r"no complete response within 1 s \(http.deadline\)"):
            await asyncio.wait_for(client.get("/trickle"), 60)


async def octet_json(request: Request) -> Response:
    return Response(b'[{"id": 1}, {"id": 2}]', media_type="application/octet-stream")


async def deep_json(request: Request) -> Response:
    return Response(b"[" * 2000 + b"]" * 2000, media_type="application/json")


async def test_json_served_as_octet_stream_is_parsed(live: Any) -> None:
    server = live([Route("/octet", octet_json)])
    async with HttpClient(_spec(server.url)) as client:
        assert await client.get("/octet") == [{"id": 1}, {"id": 2}]


@pytest.mark.parametrize("recursion_limit", [1000, 20000])
async def test_json_nested_2000_levels_is_an_api_error(live: Any, recursion_limit: int) -> None:
    # Whatever the process's recursion limit (some libraries raise it), the depth is refused.
    server = live([Route("/deep", deep_json)])
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(recursion_limit)
    try:
        async with HttpClient(_spec(server.url)) as client:
            with pytest.raises(ApiError, match=r"is not valid JSON \(nested too deeply\)"):
                await client.get("/deep")
    finally:
        sys.setrecursionlimit(before)
