"""``skiff poll``: no sub-second intervals; a stop while idle is immediate and says so."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support import SKIFF, serve_asgi, skiff_cmd

RECORDS = [{"id": i, "updatedAt": f"2024-01-01T00:00:0{i}Z"} for i in range(1, 4)]


async def items(request: Request) -> JSONResponse:
    since = request.query_params.get("since", "")
    return JSONResponse([r for r in RECORDS if r["updatedAt"] >= since])


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve_asgi(Starlette(routes=[Route("/items", items)])) as base:
        yield base


@pytest.mark.parametrize("every", ["500ms", "0.2s", "0"])
def test_sub_second_intervals_are_refused(every: str) -> None:
    proc = subprocess.run(
        skiff_cmd("poll", "http", "poll", "--every", every, cfg={"baseUrl": "http://127.0.0.1:1", "path": "/x"}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: ConfigError: --every {every}: polls must be at least 1 s apart"


def test_ctrl_c_while_idle_stops_now(url: str, tmp_path: Path) -> None:
    cfg = {"baseUrl": url, "path": "/items", "cursorField": "updatedAt", "cursorParam": "since", "order": "ascending"}
    cmd = skiff_cmd("poll", "http", "poll", "--every", "1h", "--state", str(tmp_path / "s.db"), cfg=cfg)
    cmd.insert(len(SKIFF), "--debug")  # logs "poll 1 done; next in 3600 s" once it is idle
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    assert [json.loads(proc.stdout.readline())["id"] for _ in RECORDS] == [1, 2, 3]
    for line in proc.stderr:
        if "poll 1 done; next in 3600 s" in line:
            break
    proc.send_signal(signal.SIGINT)
    err = proc.stderr.read()
    assert proc.wait(timeout=30) == 0, err
    lines = err.splitlines()  # --debug: log lines around it
    assert "stopping now" in lines and "stopping after the current page ..." not in lines
