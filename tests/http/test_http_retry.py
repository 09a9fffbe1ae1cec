"""skiff.http.retry: Retry-After, backoff, caps and the idempotency rules, against a real server."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable
from email.utils import formatdate
from typing import TYPE_CHECKING

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from skiff.clock import ManualClock
from skiff.errors import RateLimited, TransientError
from skiff.http import HttpClient, RetryPolicy, TransientApiError, parse_retry_after
from skiff.specs import HttpSpec, RetrySpec

if TYPE_CHECKING:
    from conftest import LiveServer

FAST = RetrySpec(maxAttempts=4, initialBackoff=0.05, maxBackoff=0.2, maxWait=10)


def counting(statuses: list[int], headers: dict[str, str] | None = None) -> Route:
    """A route answering the given statuses in turn, then 200."""
    calls = {"n": 0}

    async def handler(request: Request) -> JSONResponse:
        n = calls["n"]
        calls["n"] += 1
        if n < len(statuses):
            return JSONResponse({"message": "busy"}, status_code=statuses[n], headers=headers or {})
        return JSONResponse({"ok": True, "attempt": n + 1})

    return Route("/r", handler, methods=["GET", "POST", "PATCH", "PUT"])


# ---------------------------------------------------------------- unit: parsing and rules


def test_parse_retry_after() -> None:
    assert parse_retry_after("3") == 3
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    now = time.time()
    assert parse_retry_after(formatdate(now + 10, usegmt=True), now=now) == pytest.approx(10, abs=1)
    assert parse_retry_after(formatdate(now - 10, usegmt=True), now=now) == 0


def test_idempotency_rules() -> None:
    policy = RetryPolicy(RetrySpec())
    req = httpx.Request("GET", "https://x.example")

    def resp(status: int) -> httpx.Response:
        return httpx.Response(status, request=req)

    connect = httpx.ConnectError("refused")
    read_timeout = httpx.ReadTimeout("slow")
    for method in ("GET", "PUT", "DELETE"):
        assert policy.should_retry(method, response=resp(500))
        assert policy.should_retry(method, error=read_timeout)
    for method in ("POST", "PATCH"):
        assert policy.should_retry(method, error=connect)
        assert policy.should_retry(method, response=resp(429))
        assert policy.should_retry(method, response=resp(503))
        assert not policy.should_retry(method, response=resp(500))
        assert not policy.should_retry(method, response=resp(502))
        assert not policy.should_retry(method, error=read_timeout)
        assert not policy.should_retry(method, error=httpx.RemoteProtocolError("dropped"))
        assert policy.should_retry(method, idempotent=True, response=resp(500))
        assert policy.should_retry(method, idempotent=True, error=read_timeout)
    assert not policy.should_retry("GET", response=resp(404))
    assert not policy.should_retry("GET", idempotent=False, error=read_timeout)


def test_backoff_full_jitter_bounds() -> None:
    spec = RetrySpec(initialBackoff=0.5, maxBackoff=4)
    assert RetryPolicy(spec, rng=lambda: 1.0).backoff(1) == 0.5
    assert RetryPolicy(spec, rng=lambda: 1.0).backoff(3) == 2.0
    assert RetryPolicy(spec, rng=lambda: 1.0).backoff(10) == 4.0
    assert RetryPolicy(spec, rng=lambda: 0.0).backoff(10) == 0.0


async def test_max_wait_caps_total_backoff() -> None:
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    policy = RetryPolicy(
        RetrySpec(maxAttempts=50, initialBackoff=1, maxBackoff=1, maxWait=3),
        sleep=fake_sleep,
        rng=lambda: 1.0,
    )
    calls = 0

    async def attempt() -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(503, request=httpx.Request("GET", "https://x.example"))

    response = await policy.run(attempt, method="GET")
    assert response.status_code == 503
    assert sum(sleeps) <= 3
    assert calls == 4  # waits 1 + 1 + 1, then the budget is spent


# ---------------------------------------------------------------- live server


async def test_429_retry_after_seconds_waits_then_succeeds(live: Callable[..., LiveServer]) -> None:
    server = live([counting([429], {"Retry-After": "3"})])
    clock = ManualClock()  # the 3 s pass on the clock, not in the test
    async with HttpClient(HttpSpec(baseUrl=server.url, retry=FAST), clock=clock) as client:
        assert (await client.get("/r"))["ok"] is True
    assert clock.slept == [3.0]  # the server's Retry-After, not backoff
    assert client.stats.status_429 == 1 and client.stats.retries == 1 and client.stats.requests == 2


async def test_retry_after_http_date(live: Callable[..., LiveServer]) -> None:
    calls = {"n": 0}
    clock = ManualClock()  # a whole second: HTTP dates have no fractions

    async def handler(request: Request) -> JSONResponse:
        calls["n"] += 1
        if calls["n"] == 1:
            when = formatdate(clock.time() + 5, usegmt=True)  # the server's clock agrees with ours
            return JSONResponse({}, status_code=503, headers={"Retry-After": when})
        return JSONResponse({"ok": True})

    server = live([Route("/r", handler)])
    async with HttpClient(HttpSpec(baseUrl=server.url, retry=FAST), clock=clock) as client:
        assert (await client.get("/r"))["ok"] is True
    assert clock.slept == [5.0] and server.count("/r") == 2


async def test_two_503_then_200(live: Callable[..., LiveServer]) -> None:
    server = live([counting([503, 503])])
    async with HttpClient(HttpSpec(baseUrl=server.url, retry=FAST)) as client:
        assert (await client.get("/r"))["attempt"] == 3
        assert client.stats.retries == 2
    assert server.count("/r") == 3


async def test_max_attempts_then_transient_error(live: Callable[..., LiveServer]) -> None:
    server = live([counting([503] * 10)])
    async with HttpClient(HttpSpec(baseUrl=server.url, retry=FAST)) as client:
        with pytest.raises(TransientApiError) as info:
            await client.get("/r")
    assert server.count("/r") == FAST.maxAttempts
    # The last answer, and what giving up cost: every attempt and the real time spent.
    assert re.fullmatch(
        rf"GET /r: 503 Service Unavailable: busy \(gave up after {FAST.maxAttempts} attempts in [0-9.]+ s\)",
        str(info.value),
    )
    assert info.value.status == 503


async def test_429_after_budget_is_rate_limited(live: Callable[..., LiveServer]) -> None:
    server = live([counting([429] * 10)])
    async with HttpClient(HttpSpec(baseUrl=server.url, retry=RetrySpec(maxAttempts=2, initialBackoff=0))) as c:
        with pytest.raises(RateLimited):
            await c.get("/r")
    assert server.count() == 2


async def test_post_retried_on_503_not_on_500_unless_idempotent(live: Callable[..., LiveServer]) -> None:
    server = live([counting([503, 500, 500])])
    async with HttpClient(HttpSpec(baseUrl=server.url, retry=FAST)) as client:
        with pytest.raises(TransientError):
            await client.post("/r", json={})  # 503 (retried), then 500: not retried
        assert server.count() == 2
        assert (await client.post("/r", json={}, idempotent=True))["ok"] is True  # 500, then 200
    assert server.count() == 4


async def test_post_read_timeout_not_retried_get_retried(live: Callable[..., LiveServer]) -> None:
    calls = {"n": 0}

    async def slow_once(request: Request) -> JSONResponse:
        calls["n"] += 1
        if calls["n"] == 1:
            await asyncio.sleep(1.0)
        return JSONResponse({"ok": True})

    server = live([Route("/slow", slow_once, methods=["GET", "POST"])])
    spec = HttpSpec(baseUrl=server.url, timeout=0.3, retry=FAST)
    async with HttpClient(spec) as client:
        with pytest.raises(TransientError) as info:
            await client.post("/slow", json={"a": 1})
        assert "not retried" in str(info.value)
        assert server.count("/slow", "POST") == 1
    await asyncio.sleep(0.8)  # let the slow handler finish
    calls["n"] = 0
    async with HttpClient(spec) as client:
        assert (await client.get("/slow"))["ok"] is True
    assert server.count("/slow", "GET") == 2


async def test_post_on_connect_refused_is_retried(live: Callable[..., LiveServer], free_port: int) -> None:
    # Nothing listens yet: the first attempts are refused; the server comes up shortly after.
    servers: list[LiveServer] = []
    timer = threading.Timer(0.4, lambda: servers.append(live([counting([])], port=free_port)))
    timer.start()
    retry = RetrySpec(maxAttempts=10, initialBackoff=0.1, maxBackoff=0.3, maxWait=10)
    try:
        async with HttpClient(HttpSpec(baseUrl=f"http://127.0.0.1:{free_port}", retry=retry)) as client:
            assert (await client.post("/r", json={"x": 1}))["ok"] is True
            assert client.stats.retries >= 1
    finally:
        timer.join()
    assert servers[0].count("/r", "POST") == 1
