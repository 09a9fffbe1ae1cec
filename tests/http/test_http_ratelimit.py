"""skiff.http.ratelimit: the server never sees more than the declared rate."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from skiff.errors import RateLimited
from skiff.http import HttpClient, Limit, RateLimiter, limits_for, parse_rate_limit_headers
from skiff.specs import HttpSpec, RateLimitSpec, RetrySpec

if TYPE_CHECKING:
    from conftest import LiveServer


async def ok(request: Request) -> JSONResponse:
    return JSONResponse({"path": request.url.path})


ROUTES = [Route("/a", ok), Route("/b", ok), Route("/orders/{id}", ok)]


# ---------------------------------------------------------------- unit


def test_limits_for_keys() -> None:
    specs = [
        RateLimitSpec(requests=2, perSeconds=1, scope="endpoint"),
        RateLimitSpec(requests=10, perSeconds=1, key=["apiKey", "username"]),
        RateLimitSpec(requests=50, perSeconds=1, key=["apiKey"]),
    ]
    ann = limits_for(specs, credential_key="c1", endpoint="GET /a", credentials={"apiKey": "K", "username": "ann"})
    bob = limits_for(specs, credential_key="c2", endpoint="GET /b", credentials={"apiKey": "K", "username": "bob"})
    assert ann[0].key != bob[0].key  # per endpoint and user
    assert ann[1].key != bob[1].key  # per key + user
    assert ann[2].key == bob[2].key  # 50/s per API key, shared by both users
    assert all("K" not in part for limit in ann for part in limit.key)  # hashed, never in clear


def test_parse_rate_limit_headers() -> None:
    now = 1_700_000_000.0
    assert parse_rate_limit_headers({"X-Rate-Limit-Remaining": "5", "X-Rate-Limit-Reset": "1700000900"}) is None
    assert (
        parse_rate_limit_headers({"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": "1700000900"}) == 1_700_000_900
    )
    assert parse_rate_limit_headers({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "3"}, now=now) == now + 3
    assert parse_rate_limit_headers({}) is None


async def test_hold_longer_than_max_wait_is_rate_limited() -> None:
    limiter = RateLimiter()
    limiter.hold("k", time.time() + 60)
    with pytest.raises(RateLimited) as info:
        await limiter.acquire([], hold_key="k", max_wait=5)
    assert info.value.retry_after is not None and info.value.retry_after > 50


async def test_limiter_waits_without_server() -> None:
    limiter = RateLimiter(margin=0.0)
    limit = Limit(requests=3, per_seconds=0.5, key=("unit",))  # a fractional window
    started = time.monotonic()
    waits = []
    for _ in range(4):
        async with await limiter.acquire([limit]) as permit:
            waits.append(permit.waited)
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] > 0
    assert time.monotonic() - started >= 0.45


async def test_in_flight_request_keeps_its_place() -> None:
    # The server may see a request any time until its response: its place is held until then.
    limiter = RateLimiter(margin=0.0)
    limit = Limit(requests=1, per_seconds=0.1, key=("unit",))
    first = await limiter.acquire([limit])
    second = asyncio.create_task(limiter.acquire([limit]))
    await asyncio.sleep(0.3)
    assert not second.done()  # the window has passed, but the first is still in flight
    released = time.monotonic()
    await first.release()
    permit = await second
    assert time.monotonic() - released >= 0.09  # a full window after the first completed
    await permit.release()


async def test_requests_under_the_same_limits_go_first_come_first_served() -> None:
    # Pages fetched ahead must leave in their order: the limiter admits waiters in turn.
    limiter = RateLimiter(margin=0.0)
    limit = Limit(requests=1, per_seconds=0.02, key=("fifo",))
    first = await limiter.acquire([limit])
    admitted: list[str] = []

    async def wait_turn(name: str) -> None:
        permit = await limiter.acquire([limit])
        admitted.append(name)
        await permit.release()

    tasks = []
    for name in ("b", "c", "d", "e"):
        tasks.append(asyncio.create_task(wait_turn(name)))
        await asyncio.sleep(0)  # each is waiting before the next one asks
    await first.release()
    await asyncio.gather(*tasks)
    assert admitted == ["b", "c", "d", "e"]


# ---------------------------------------------------------------- live server


async def test_two_per_second_never_exceeded(live: Callable[..., LiveServer]) -> None:
    server = live(ROUTES)
    spec = HttpSpec(baseUrl=server.url, rateLimits=[RateLimitSpec(requests=2, perSeconds=1)])
    async with HttpClient(spec, credential_key="cred") as client:
        started = time.monotonic()
        await asyncio.gather(*(client.get("/a") for _ in range(8)))
        elapsed = time.monotonic() - started
        assert client.stats.throttled_waits > 0
    assert server.count("/a") == 8
    assert server.max_in_window("/a", 1.0) <= 2
    assert elapsed >= 2.9  # 8 requests at 2/s need three full windows


class SlowFirstTransport(httpx.AsyncBaseTransport):
    """Delays the first request on its way out, like a TLS handshake on a new connection."""

    def __init__(self, delay: float) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.delay = delay

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        delay, self.delay = self.delay, 0.0
        await asyncio.sleep(delay)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_slow_first_arrival_does_not_crowd_a_window(live: Callable[..., LiveServer]) -> None:
    server = live(ROUTES)
    spec = HttpSpec(baseUrl=server.url, rateLimits=[RateLimitSpec(requests=2, perSeconds=1)])
    async with HttpClient(spec, transport=SlowFirstTransport(0.3)) as client:
        await asyncio.gather(*(client.get("/a") for _ in range(3)))
    assert server.count("/a") == 3
    assert server.max_in_window("/a") <= 2


async def test_two_limits_at_once(live: Callable[..., LiveServer]) -> None:
    server = live(ROUTES)
    spec = HttpSpec(
        baseUrl=server.url,
        rateLimits=[
            RateLimitSpec(requests=2, perSeconds=1, scope="endpoint"),
            RateLimitSpec(requests=3, perSeconds=1, scope="credential"),
        ],
    )
    async with HttpClient(spec, credential_key="cred") as client:
        calls = [client.get("/a") for _ in range(3)] + [client.get(f"/orders/{i}") for i in range(3)]
        await asyncio.gather(*calls)
    assert server.count() == 6
    assert server.max_in_window("/a") <= 2
    assert max_in_window_prefix(server, "/orders/") <= 2  # /orders/{id} is one endpoint
    assert server.max_in_window(None) <= 3


def max_in_window_prefix(server: LiveServer, prefix: str, window: float = 1.0) -> int:
    times = sorted(h.at for h in server.hits if h.path.startswith(prefix))
    return max((sum(1 for u in times if t - window < u <= t) for t in times), default=0)


async def test_shared_limiter_across_clients(live: Callable[..., LiveServer]) -> None:
    server = live(ROUTES)
    spec = HttpSpec(baseUrl=server.url, rateLimits=[RateLimitSpec(requests=2, perSeconds=1)])
    limiter = RateLimiter()
    async with (
        HttpClient(spec, credential_key="same", limiter=limiter) as one,
        HttpClient(spec, credential_key="same", limiter=limiter) as two,
    ):
        await asyncio.gather(*(c.get("/a") for c in (one, two, one)))
    assert server.count("/a") == 3
    assert server.max_in_window("/a") <= 2


async def test_rate_limit_headers_make_next_request_wait(live: Callable[..., LiveServer]) -> None:
    state: dict[str, float] = {}

    async def limited(request: Request) -> JSONResponse:
        if "reset" not in state:
            state["reset"] = float(int(time.time()) + 2)  # epoch seconds, as Billomat sends
            headers = {"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": str(int(state["reset"]))}
        else:
            headers = {"X-Rate-Limit-Remaining": "299", "X-Rate-Limit-Reset": str(int(time.time()) + 900)}
        return JSONResponse({}, headers=headers)

    server = live([Route("/clients", limited)])
    async with HttpClient(HttpSpec(baseUrl=server.url), credential_key="acct") as client:
        await client.get("/clients")
        await client.get("/clients")
        await client.get("/clients")
        assert client.stats.throttled_waits > 0.5
    _, second, third = server.hits
    assert second.wall >= state["reset"] - 0.01
    assert third.at - second.at < 0.5  # remaining > 0 again: no more waiting


async def test_hold_beyond_max_wait_raises(live: Callable[..., LiveServer]) -> None:
    async def limited(request: Request) -> JSONResponse:
        reset = int(time.time()) + 900
        return JSONResponse({}, headers={"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": str(reset)})

    server = live([Route("/clients", limited)])
    spec = HttpSpec(baseUrl=server.url, retry=RetrySpec(maxWait=5))
    async with HttpClient(spec) as client:
        await client.get("/clients")
        with pytest.raises(RateLimited):
            await client.get("/clients")
    assert server.count() == 1


# ---------------------------------------------------------------- redis storage (optional)


@pytest.fixture
def redis_url() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.skip("redis-server did not start")
                time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(5)


async def test_redis_storage_shared_between_limiters(live: Callable[..., LiveServer], redis_url: str) -> None:
    server = live(ROUTES)
    spec = HttpSpec(baseUrl=server.url, rateLimits=[RateLimitSpec(requests=2, perSeconds=1)])
    # Two limiters on one Redis stand for two worker processes.
    async with (
        HttpClient(spec, credential_key="w", limiter=RateLimiter(storage_uri=redis_url)) as one,
        HttpClient(spec, credential_key="w", limiter=RateLimiter(storage_uri=redis_url)) as two,
    ):
        await asyncio.gather(*(c.get("/a") for c in (one, two, one, two)))
    assert server.count("/a") == 4
    assert server.max_in_window("/a") <= 2
