"""Crash test: a poller killed with SIGKILL at random moments never loses a record.

A local API keeps receiving records (many sharing one timestamp, across page boundaries) while
``skiff run http poll`` is started and killed over and over. After a final clean run, the distinct
message ids printed over all runs must equal the records exactly: nothing lost, and every
repeat carried the same deterministic id, so a downstream step can drop it.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from skiff.message import deterministic_id
from tests.support import json_lines, serve_asgi, skiff_cmd

RUNS = 24


class Api:
    """Records ``{id, updatedAt}`` with second-resolution timestamps, sorted by (updatedAt, id)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.next_id = 1

    def insert(self, n: int) -> None:
        with self.lock:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            for _ in range(n):
                self.records.append({"id": self.next_id, "updatedAt": stamp, "payload": "x" * 50})
                self.next_id += 1

    async def items(self, request: Request) -> JSONResponse:
        since = request.query_params.get("updatedSince", "")
        page = int(request.query_params.get("page", "1"))
        size = int(request.query_params.get("pageSize", "5"))
        with self.lock:
            rows = sorted((r for r in self.records if r["updatedAt"] >= since), key=lambda r: (r["updatedAt"], r["id"]))
        time.sleep(0.05)  # latency, so that a poll takes long enough for kills to land mid-poll
        chunk = rows[(page - 1) * size : page * size]
        return JSONResponse({"items": chunk, "totalPages": max(1, -(-len(rows) // size))})


@pytest.fixture
def api() -> Iterator[tuple[str, Api]]:
    data = Api()
    with serve_asgi(Starlette(routes=[Route("/items", data.items)])) as url:
        yield url, data


def poller(url: str, state: Path) -> subprocess.Popen[str]:
    cfg = {
        "baseUrl": url,
        "path": "/items",
        "recordsPath": "items",
        "cursorField": "updatedAt",
        "idField": "id",
        "cursorParam": "updatedSince",
        "order": "ascending",
        "startTime": "2000-01-01T00:00:00Z",
        "pagination": {"type": "page", "size": 3, "totalPagesPath": "totalPages"},
    }
    cmd = skiff_cmd("run", "http", "poll", "--state", str(state), "--messages", cfg=cfg)
    env = {**os.environ, "PYTHONUNBUFFERED": "0"}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def emitted_ids(stdout: str) -> list[str]:
    # json_lines skips a line cut by SIGKILL: its snapshot was not committed either.
    return [m["id"] for m in json_lines(stdout)]


def test_sigkill_at_random_moments_loses_nothing(api: tuple[str, Api], tmp_path: Path) -> None:
    url, data = api
    rng = random.Random(7)
    state = tmp_path / "state.db"
    stop = threading.Event()

    def keep_inserting() -> None:
        while not stop.is_set():
            data.insert(rng.randint(1, 6))
            # ~14 records a second: many share each second's timestamp, and the backlog stays
            # small enough that most runs are killed with records already emitted.
            time.sleep(0.25)

    data.insert(60)  # a first burst: 60 records sharing one timestamp, over 20 pages
    writer = threading.Thread(target=keep_inserting, daemon=True)
    writer.start()
    seen: list[str] = []
    killed = 0
    killed_mid_poll = 0  # killed after it had emitted something
    try:
        for run in range(RUNS):
            proc = poller(url, state)
            assert proc.stdout is not None and proc.stderr is not None
            first = ""
            if run % 2:
                time.sleep(rng.uniform(0.1, 1.3))  # anywhere: start-up, a request, a commit
            else:
                first = proc.stdout.readline()  # records are flowing: kill mid-poll
                time.sleep(rng.uniform(0.0, 0.3))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                killed += 1
            # Read through the same buffered file as readline (communicate() would skip it).
            out = first + proc.stdout.read()
            err = proc.stderr.read()
            proc.wait(timeout=120)
            assert proc.returncode in (0, -signal.SIGKILL), err
            ids = emitted_ids(out)
            if proc.returncode == -signal.SIGKILL and ids:
                killed_mid_poll += 1
            seen.extend(ids)
    finally:
        stop.set()
        writer.join(5)
    final = poller(url, state)
    # Catching up reads every page left (hundreds): generous for a loaded CI machine, not a timing check.
    out, err = final.communicate(timeout=240)
    assert final.returncode == 0, err
    seen.extend(emitted_ids(out))

    expected = {deterministic_id("http", "poll", r["id"], r["updatedAt"]) for r in data.records}
    assert killed >= RUNS // 3, "the test should kill many runs"
    assert killed_mid_poll >= RUNS // 3, "many kills should land after records were emitted"
    assert set(seen) == expected, f"missing {len(expected - set(seen))}, unexpected {len(set(seen) - expected)}"
    # A clean poll afterwards finds nothing new.
    again = poller(url, state)
    out, _ = again.communicate(timeout=120)
    assert emitted_ids(out) == []
