"""Several skiff processes on one Billbee account stay under its limits when they share
their windows on Redis (``--rate-limits redis://`` or ``SKIFF_RATE_LIMITS``), and a shared
window is as long as declared, not rounded up to whole seconds (issue 11, item 8).

Redis here is a private ``redis-server`` on a free port: no key can meet another test's."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from skiff.http import RateLimiter
from skiff.http.ratelimit import Limit
from skiff.sandbox import SandboxApp, SandboxServer, load_sandbox, serve
from tests.http.test_http_ratelimit import redis_url  # noqa: F401  (a private redis-server)
from tests.support import json_lines, skiff_cmd

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
    limit = Limit(2, 1.1, ("exact", "k"), "exact")
    started = time.time()
    for _ in range(2):
        permit = await limiter.acquire([limit])
        await permit.release()
    item = limiter._item(limit)
    stats = await limiter.strategy.get_window_stats(item, "done", *limit.key)
    # The window ends 1.1 s after the first completion, not 2 s (whole seconds) later.
    assert stats.remaining == 0
    assert stats.reset_time - started < 1.1 + (time.time() - started) + 0.05
    assert stats.reset_time - started < 1.6
