"""Two pollers started at once on one state key emit every record once, not twice (issue 11,
item 3): one holds the key's lease, the other exits with one clear line (exit 5), on SQLite,
Redis and PostgreSQL. Each run uses its own flow id, so its key is its own on shared servers."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from skiff.state import open_store
from tests.state.conftest import postgres_dsn, redis_url  # noqa: F401  (fixtures)
from tests.support import json_lines, serve_asgi, skiff_cmd

RECORDS = [{"id": i, "updatedAt": f"2024-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z"} for i in range(1, 2001)]


async def items(request: Request) -> JSONResponse:
    since = request.query_params.get("since", "")
    offset = int(request.query_params.get("skip", "0"))
    take = int(request.query_params.get("take", "100"))
    rows = [r for r in RECORDS if r["updatedAt"] >= since]
    await asyncio.sleep(0.02)  # paging takes a while, so both pollers overlap
    return JSONResponse(rows[offset : offset + take])


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve_asgi(Starlette(routes=[Route("/items", items)])) as base:
        yield base


def cfg(url: str) -> dict[str, Any]:
    return {
        "baseUrl": url,
        "path": "/items",
        "cursorField": "updatedAt",
        "cursorParam": "since",
        "order": "ascending",
        "pagination": {"type": "offset", "size": 100},
    }


@pytest.mark.parametrize("kind", ["sqlite", "redis", "postgres"])
def test_twin_pollers_emit_each_record_once(
    url: str, tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    if kind == "sqlite":
        state = str(tmp_path / "state.db")
    elif kind == "redis":
        state = request.getfixturevalue("redis_url")
    else:
        state = request.getfixturevalue("postgres_dsn")
    flow = f"twin-{uuid.uuid4().hex[:12]}"
    cmd = skiff_cmd("run", "http", "poll", "--state", state, "--flow-id", flow, cfg=cfg(url))
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    codes = sorted(p.returncode for p in procs)
    emitted = [r["id"] for out, _ in outs for r in json_lines(out)]
    duplicated = len(emitted) - len(set(emitted))
    lost = len(RECORDS) - len(set(emitted))
    print(
        f"twin pollers ({kind}): records {len(RECORDS)}, emitted {len(emitted)}, lost {lost}, duplicated {duplicated}"
    )
    try:
        assert (lost, duplicated) == (0, 0)
        assert codes == [0, 5], [err for _, err in outs]
        refused = next(err for p, (_, err) in zip(procs, outs, strict=True) if p.returncode == 5)
        assert refused.strip().count("\n") == 0 and "another poller is running" in refused
        # The lease is released on exit: the next run takes the key and finds nothing new.
        again = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert again.returncode == 0, again.stderr
        assert json_lines(again.stdout) == []
    finally:
        asyncio.run(_forget(state, f"{flow}/http/poll"))


async def _forget(state: str, key: str) -> None:
    store = open_store(state)
    try:
        await store.delete(key)
    finally:
        await store.close()


def test_a_dead_pollers_lease_expires(tmp_path: Path) -> None:
    """A SIGKILLed poller cannot release its lease; the key is free once the ttl has passed."""

    async def run() -> None:
        store = open_store(str(tmp_path / "state.db"))
        try:
            assert await store.try_lease("k", "killed-process", 0.2)
            start = time.monotonic()
            while not await store.try_lease("k", "successor", 30):
                assert time.monotonic() - start < 10
                await asyncio.sleep(0.05)
        finally:
            await store.close()

    asyncio.run(run())
