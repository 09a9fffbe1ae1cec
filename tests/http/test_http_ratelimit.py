"""skiff.http.ratelimit: the server never sees more than the declared rate."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from skiff.clock import ManualClock
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
    clock = ManualClock()
    limiter = RateLimiter(clock=clock)
    limiter.hold("k", clock.time() + 60)
    with pytest.raises(RateLimited) as info:
        await limiter.acquire([], hold_key="k", max_wait=5)
    assert info.value.retry_after is not None and info.value.retry_after > 50
    assert clock.slept == []  # refused, not waited


async def test_a_hold_is_waited_on_the_clock() -> None:
    clock = ManualClock()
    limiter = RateLimiter(clock=clock, margin=0.0)
    limiter.hold("k", clock.time() + 30)
    permit = await limiter.acquire([], hold_key="k")
    assert clock.slept == [30.0] and permit.waited == 30.0
    await limiter.acquire([], hold_key="k")  # the hold is over
    assert clock.slept == [30.0]


async def test_limiter_waits_without_server() -> None:
    clock = ManualClock()
    limiter = RateLimiter(margin=0.0, clock=clock)
    limit = Limit(requests=3, per_seconds=0.5, key=("unit",))  # a fractional window
    started = clock.monotonic()
    waits = []
    for _ in range(4):
        async with await limiter.acquire([limit]) as permit:
            waits.append(permit.waited)
    assert waits == [0.0, 0.0, 0.0, 0.5]  # exactly one window after the first answer
    assert clock.slept == [0.5]
    assert clock.monotonic() - started == 0.5


async def test_a_fractional_window_is_not_rounded() -> None:
    clock = ManualClock()
    limiter = RateLimiter(clock=clock)  # the default 10 ms margin
    limit = Limit(requests=1, per_seconds=1.1, key=("exact",))
    for _ in range(3):
        await (await limiter.acquire([limit])).release()
    assert clock.slept == pytest.approx([1.11, 1.11])  # 1.1 s stays 1.1 s, not 2 s


async def test_several_limits_are_taken_together_or_not_at_all() -> None:
    clock = ManualClock()
    limiter = RateLimiter(clock=clock, margin=0.0)
    endpoint = Limit(requests=1, per_seconds=1.0, key=("endpoint", "a"))
    account = Limit(requests=2, per_seconds=10.0, key=("account",))
    other = Limit(requests=1, per_seconds=1.0, key=("endpoint", "b"))
    first = await limiter.acquire([endpoint, account])  # in flight
    waiting = asyncio.create_task(limiter.acquire([endpoint, account]))
    for _ in range(20):
        await asyncio.sleep(0)
    # The second /a waits for its endpoint and meanwhile holds no place of the account limit:
    # /b takes the account's other place at once.
    b = await limiter.acquire([other, account])
    assert b.waited == 0.0 and not waiting.done()
    await b.release()
    await first.release()
    second = await waiting
    # Both account places were answered at the same moment: the second /a waits for the
    # longer of its two limits (the account's 10 s, not the endpoint's 1 s), then takes both.
    assert clock.slept == [10.0] and second.waited == 10.0
    await second.release()


async def test_in_flight_request_keeps_its_place() -> None:
    # The server may see a request any time until its response: its place is held until then.
    clock = ManualClock()
    limiter = RateLimiter(margin=0.0, clock=clock)
    limit = Limit(requests=1, per_seconds=0.1, key=("unit",))
    first = await limiter.acquire([limit])
    second = asyncio.create_task(limiter.acquire([limit]))
    for _ in range(20):
        await asyncio.sleep(0)
    clock.advance(0.3)
    for _ in range(20):
        await asyncio.sleep(0)
    assert not second.done()  # the window has passed, but the first is still in flight
    released = clock.monotonic()
    await first.release()
    permit = await second
    assert clock.monotonic() - released == pytest.approx(0.1)  # a full window after the first completed
    await permit.release()


async def test_requests_under_the_same_limits_go_first_come_first_served() -> None:
    # Pages fetched ahead must leave in their order: the limiter admits waiters in turn.
    limiter = RateLimiter(margin=0.0, clock=ManualClock())
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


def test_a_place_cut_off_with_its_event_loop_is_not_held_for_ever() -> None:
    # skiff poll and the studio reuse a limiter across asyncio.run(): a request whose loop
    # ended without an answer must not count as in flight in the next.
    clock = ManualClock()
    limiter = RateLimiter(clock=clock, margin=0.0)
    limit = Limit(requests=1, per_seconds=1.0, key=("loops",))
    asyncio.run(limiter.acquire([limit]))  # never released

    async def next_run() -> float:
        permit = await asyncio.wait_for(limiter.acquire([limit]), timeout=10)
        await permit.release()
        return permit.waited

    assert asyncio.run(next_run()) == 0.0


def test_a_client_and_its_limiter_share_one_clock() -> None:
    with pytest.raises(ValueError, match="clock"):
        HttpClient(HttpSpec(baseUrl="http://127.0.0.1:9"), limiter=RateLimiter(), clock=ManualClock())


# ---------------------------------------------------------------- live server
# The server stamps arrivals on the test's ManualClock: it judges the client's windows on the
# client's time, and no test waits for a window to pass.


async def test_two_per_second_never_exceeded(live: Callable[..., LiveServer]) -> None:
    clock = ManualClock()
    server = live(ROUTES, clock=clock)
    spec = HttpSpec(baseUrl=server.url, rateLimits=[RateLimitSpec(requests=2, perSeconds=1)])
    async with HttpClient(spec, credential_key="cred", clock=clock) as client:
        started = clock.monotonic()
        await asyncio.gather(*(client.get("/a") for _ in range(8)))
        elapsed = clock.monotonic() - started
        assert client.stats.throttled_waits > 0
    assert server.count("/a") == 8
    assert server.max_in_window("/a", 1.0) <= 2
    assert elapsed >= 3.0  # 8 requests at 2/s need three full windows


class SlowFirstTransport(httpx.AsyncBaseTransport):
    """Delays the first request on its way out, like a TLS handshake on a new connection."""

    def __init__(self, delay: float, clock: ManualClock) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.delay = delay
        self.clock = clock

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        delay, self.delay = self.delay, 0.0
        await self.clock.sleep(delay)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_slow_first_arrival_does_not_crowd_a_window(live: Callable[..., LiveServer]) -> None:
    clock = ManualClock()
    server = live(ROUTES, clock=clock)
    spec = HttpSpec(baseUrl=server.url, rateLimits=[RateLimitSpec(requests=2, perSeconds=1)])
    async with HttpClient(spec, transport=SlowFirstTransport(0.3, clock), clock=clock) as client:
        await asyncio.gather(*(client.get("/a") for _ in range(3)))
    assert server.count("/a") == 3
    assert server.max_in_window("/a") <= 2
    assert 0.3 in clock.slept  # the first arrived late, on the clock the server reads


class SlowBodyTransport(httpx.AsyncBaseTransport):
    """Answers at once, then takes ``seconds`` (on the clock) to deliver the body."""

    def __init__(self, seconds: float, clock: ManualClock) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.seconds = seconds
        self.clock = clock

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_SlowStream(response.stream, self.seconds, self.clock),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


class _SlowStream(httpx.AsyncByteStream):
    def __init__(self, inner: Any, seconds: float, clock: ManualClock) -> None:
        self.inner, self.seconds, self.clock = inner, seconds, clock

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.clock.advance(self.seconds)
        async for chunk in self.inner:
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_the_window_runs_from_the_answer_not_from_the_end_of_its_body(live: Callable[..., LiveServer]) -> None:
    # The server counted the request before it answered: a long body does not hold the place.
    clock = ManualClock()
    server = live(ROUTES, clock=clock)
    spec = HttpSpec(baseUrl=server.url, rateLimits=[RateLimitSpec(requests=1, perSeconds=1)])
    async with HttpClient(spec, transport=SlowBodyTransport(2.0, clock), clock=clock) as client:
        await client.get("/a")
        await client.get("/a")
        assert client.stats.throttled_waits == 0.0  # the window passed while the first body came
    assert server.count("/a") == 2
    assert server.max_in_window("/a") <= 1


async def test_two_limits_at_once(live: Callable[..., LiveServer]) -> None:
    clock = ManualClock()
    server = live(ROUTES, clock=clock)
    spec = HttpSpec(
        baseUrl=server.url,
        rateLimits=[
            RateLimitSpec(requests=2, perSeconds=1, scope="endpoint"),
            RateLimitSpec(requests=3, perSeconds=1, scope="credential"),
        ],
    )
    async with HttpClient(spec, credential_key="cred", clock=clock) as client:
        calls = [client.get("/a") for _ in range(3)] + [client.get(f"/orders/{i}") for i in range(3)]
        await asyncio.gather(*calls)
    assert server.count() == 6
    assert server.max_in_window("/a") <= 2
    assert max_in_window_prefix(server, "/orders/") <= 2  # /orders/{id} is one endpoint
    assert server.max_in_window(None) <= 3
    assert clock.slept  # the limits made it wait


def max_in_window_prefix(server: LiveServer, prefix: str, window: float = 1.0) -> int:
    times = sorted(h.at for h in server.hits if h.path.startswith(prefix))
    return max((sum(1 for u in times if t - window < u <= t) for t in times), default=0)


async def test_shared_limiter_across_clients(live: Callable[..., LiveServer]) -> None:
    clock = ManualClock()
    server = live(ROUTES, clock=clock)
    spec = HttpSpec(baseUrl=server.url, rateLimits=[RateLimitSpec(requests=2, perSeconds=1)])
    limiter = RateLimiter(clock=clock)
    async with (
        HttpClient(spec, credential_key="same", limiter=limiter, clock=clock) as one,
        HttpClient(spec, credential_key="same", limiter=limiter, clock=clock) as two,
    ):
        await asyncio.gather(*(c.get("/a") for c in (one, two, one)))
    assert server.count("/a") == 3
    assert server.max_in_window("/a") <= 2
    assert clock.slept  # the third waited for the window the other client's requests filled


async def test_rate_limit_headers_make_next_request_wait(live: Callable[..., LiveServer]) -> None:
    clock = ManualClock()
    state: dict[str, float] = {}

    async def limited(request: Request) -> JSONResponse:
        if "reset" not in state:
            state["reset"] = float(int(clock.time()) + 2)  # epoch seconds, as Billomat sends
            headers = {"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": str(int(state["reset"]))}
        else:
            headers = {"X-Rate-Limit-Remaining": "299", "X-Rate-Limit-Reset": str(int(clock.time()) + 900)}
        return JSONResponse({}, headers=headers)

    server = live([Route("/clients", limited)], clock=clock)
    async with HttpClient(HttpSpec(baseUrl=server.url), credential_key="acct", clock=clock) as client:
        await client.get("/clients")
        await client.get("/clients")
        await client.get("/clients")
        assert client.stats.throttled_waits > 0.5
    _, second, third = server.hits
    assert second.wall >= state["reset"]
    assert third.at - second.at < 0.5  # remaining > 0 again: no more waiting


async def test_hold_beyond_max_wait_raises(live: Callable[..., LiveServer]) -> None:
    clock = ManualClock()

    async def limited(request: Request) -> JSONResponse:
        reset = int(clock.time()) + 900
        return JSONResponse({}, headers={"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": str(reset)})

    server = live([Route("/clients", limited)], clock=clock)
    spec = HttpSpec(baseUrl=server.url, retry=RetrySpec(maxWait=5))
    async with HttpClient(spec, clock=clock) as client:
        await client.get("/clients")
        with pytest.raises(RateLimited):
            await client.get("/clients")
    assert server.count() == 1
    assert clock.slept == []


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
