"""Several skiff processes on one Billbee account stay under its limits when they share
their windows on Redis (``--rate-limits redis://`` or ``SKIFF_RATE_LIMITS``), and a shared
window is as long as declared, not rounded up to whole seconds (issue 11, item 8).

Redis here is a private ``redis-server`` on a free port, or the shared one with a key prefix of
the test's own: no key can meet another test's."""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from skiff.component import load_component
from skiff.http import RateLimiter
from skiff.http.ratelimit import Limit
from skiff.http.redis_windows import RedisWindows
from skiff.message import Message
from skiff.run import Event, Executor, RunResult
from skiff.sandbox import SandboxApp, SandboxServer, load_sandbox, serve
from tests.http.test_http_ratelimit import redis_url  # noqa: F401  (a private redis-server)
from tests.services import ServiceUnavailable, ensure_redis
from tests.support import json_lines, skiff_cmd

ROOT = Path(__file__).resolve().parents[2]

PROCESSES = 4
ORDERS = 1000  # 4 pages of 250 per process


@pytest.fixture
def sandbox() -> Iterator[tuple[SandboxApp, SandboxServer]]:
    app = load_sandbox("billbee", seed=5, orders=ORDERS, rate_limits=True)
    with serve(app) as server:
        yield app, server


def test_processes_share_the_limits(sandbox: tuple[SandboxApp, SandboxServer], redis_url: str) -> None:  # noqa: F811
    app, server = sandbox
    cfg: dict[str, Any] = {**app.default_credentials, "baseUrl": server.base_url}
    cmd = ["run", "billbee", "orderApiGetList", "--rate-limits", redis_url]
    procs = [
        subprocess.Popen(
            skiff_cmd(*cmd, cfg=cfg, body={"emitBehavior": "emitIndividually"}),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * PROCESSES, [err for _, err in outs]
    records = sum(len(json_lines(out)) for out, _ in outs)
    log = httpx.get(f"{server.url}/_sandbox/requests").json()["requests"]
    statuses = [e["status"] for e in log if "/orders" in e["path"]]
    print(
        f"shared rate limit: processes {PROCESSES}, records {records}, requests {len(statuses)}, "
        f"429s {statuses.count(429)}"
    )
    assert records == PROCESSES * ORDERS
    assert statuses.count(429) == 0


def test_a_bad_rate_limit_store_is_one_line() -> None:
    cmd = skiff_cmd(
        "run", "http", "request", "--rate-limits", "ftp://x", cfg={"baseUrl": "http://127.0.0.1:9"}, body={"path": "/"}
    )
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0 and "--rate-limits" in proc.stderr


async def test_a_shared_window_is_exact(redis_url: str) -> None:  # noqa: F811
    limiter = RateLimiter(redis_url, margin=0)
    assert isinstance(limiter.windows, RedisWindows)
    limit = Limit(2, 1.1, ("exact", "k"), "exact")
    for _ in range(2):
        permit = await limiter.acquire([limit])
        await permit.release()
    answers, _ = limiter.windows.keys(limit)
    client = limiter.windows._redis()
    # The window ends 1.1 s after the last answer, not 2 s (whole seconds) later.
    assert 0 < await client.pttl(answers) <= 1100
    wait, blocking = await limiter.windows.take([limit], "probe", 5.0)
    assert wait is not None and 0 < wait <= 1.1 and blocking == 0
    await limiter.aclose()


def _shared_redis() -> str:
    try:
        return ensure_redis()
    except ServiceUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(str(exc))
        pytest.skip(str(exc))


class _Sent(httpx.AsyncHTTPTransport):
    """Counts the requests handed to the network (they are then on their way to the server)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0
        self.changed = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        self.changed.set()
        return await super().handle_async_request(request)


async def test_a_request_in_flight_counts_for_every_process() -> None:
    """Process A's two requests answer late (longer than Billbee's 1 s window); process B must
    not send while they may still arrive. A window of *sends* forgets them after one window,
    and B's requests then filled the server's window before A's arrived: 429s."""
    shared = _shared_redis()
    prefix = f"skiff:test:{uuid.uuid4().hex}:"  # windows of its own in the shared Redis
    app = load_sandbox("billbee", seed=5, orders=20, rate_limits=True)
    component = load_component(ROOT / "components" / "billbee")
    slow, fast = [int(o["BillBeeOrderId"]) for o in app.options["billbee"].data.orders.list()][:2]
    sent = _Sent()
    with serve(app) as server:
        cfg: dict[str, Any] = {**app.default_credentials, "baseUrl": server.base_url}
        # The latency comes before the sandbox counts a request, as a slow network's would.
        faults = {"latency_ms": 1500, "paths": f"/orders/{slow}$"}
        httpx.put(f"{server.url}/_sandbox/faults", json=faults).raise_for_status()

        async def get(executor: Executor, order: int) -> RunResult:
            return await executor.run(component, "orderApiGet", cfg, Message(body={"id": order}), emit=_ignore)

        async with (
            Executor(limiter=RateLimiter(shared, key_prefix=prefix), transport=sent) as a,
            Executor(limiter=RateLimiter(shared, key_prefix=prefix)) as b,
        ):
            first = [asyncio.create_task(get(a, slow)) for _ in range(2)]  # 2 per s per endpoint
            while sent.sent < 2:  # both of A's are on their way before B asks
                sent.changed.clear()
                await sent.changed.wait()
            results = [*await asyncio.gather(get(b, fast), get(b, fast)), *await asyncio.gather(*first)]
            await a.limiter.reset()
        log = httpx.get(f"{server.url}/_sandbox/requests").json()["requests"]
    assert [r.error for r in results] == [None] * 4
    statuses = [e["status"] for e in log if "/orders/" in e["path"]]
    assert statuses == [200] * 4  # nothing refused, nothing retried


async def test_a_dead_process_blocks_no_one_past_its_lease() -> None:
    """A process killed mid-request never gives its place back: the place is forgotten when its
    lease (the request's deadline) ends, and another process goes on."""
    shared = _shared_redis()
    prefix = f"skiff:test:{uuid.uuid4().hex}:"
    limit = Limit(1, 60.0, ("lease", "k"), "lease")
    dead = RateLimiter(shared, key_prefix=prefix)
    await dead.acquire([limit], lease=0.05)  # never released
    alive = RateLimiter(shared, key_prefix=prefix)
    permit = await asyncio.wait_for(alive.acquire([limit]), timeout=30)  # not for ever
    await permit.release()
    await alive.reset()
    for limiter in (dead, alive):
        await limiter.aclose()


async def _ignore(event: Event) -> None:
    return None
