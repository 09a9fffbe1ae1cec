"""``skiff poll`` stops cleanly on SIGINT/SIGTERM; ``skiff state show|reset`` explain and reset it."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from skiff.cli.cmd_poll import parse_interval
from skiff.errors import ConfigError
from tests.support import json_lines, serve_asgi, skiff_cmd

RECORDS = [{"id": i, "updatedAt": f"2024-01-01T00:00:{i // 10:02d}Z"} for i in range(1, 61)]


async def items(request: Request) -> JSONResponse:
    since = request.query_params.get("since", "")
    offset = int(request.query_params.get("skip", "0"))
    take = int(request.query_params.get("take", "10"))
    rows = [r for r in RECORDS if r["updatedAt"] >= since]
    time.sleep(0.05)
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
        "pagination": {"type": "offset", "size": 10},
    }


def test_parse_interval() -> None:
    assert parse_interval("60s") == 60 and parse_interval("5m") == 300 and parse_interval("250ms") == 0.25
    with pytest.raises(ConfigError):
        parse_interval("soon")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_poll_stops_cleanly_between_pages(url: str, tmp_path: Path, sig: signal.Signals) -> None:
    state = tmp_path / "state.db"
    proc = subprocess.Popen(
        skiff_cmd("poll", "http", "poll", "--every", "1s", "--state", str(state), cfg=cfg(url)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # records are flowing
    assert json.loads(first)["id"] == 1
    proc.send_signal(sig)
    # Read through the same buffered file as readline (communicate() would skip its buffer).
    rest = proc.stdout.read()
    assert proc.stderr is not None
    err = proc.stderr.read()
    assert proc.wait(timeout=30) == 0, err
    printed = [json.loads(first), *json_lines(rest)]
    # The stop landed on a commit point: the snapshot covers exactly what was printed, so the
    # next run continues with the next record and repeats nothing.
    after = subprocess.run(
        skiff_cmd("run", "http", "poll", "--state", str(state), cfg=cfg(url)), capture_output=True, text=True
    )
    assert after.returncode == 0, after.stderr
    continued = json_lines(after.stdout)
    assert [r["id"] for r in printed + continued] == [r["id"] for r in RECORDS]


def test_state_show_and_reset(url: str, tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    done = subprocess.run(
        skiff_cmd("run", "http", "poll", "--state", str(state), cfg=cfg(url)), capture_output=True, text=True
    )
    assert len(json_lines(done.stdout)) == 60
    shown = subprocess.run(skiff_cmd("state", "show", "--state", str(state)), capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    assert "default/http/poll" in shown.stdout
    assert "cursor='2024-01-01T00:00:06Z'" in shown.stdout and "kind=timestamp" in shown.stdout
    later = {**cfg(url), "startTime": "2000-01-01"}
    dry = subprocess.run(
        skiff_cmd("run", "http", "poll", "--state", str(state), "--dry-run", cfg=later),
        capture_output=True,
        text=True,
    )
    assert json_lines(dry.stdout) == []  # the snapshot wins over startTime after the first run
    reset = subprocess.run(
        skiff_cmd("state", "reset", "default/http/poll", "--state", str(state)), capture_output=True, text=True
    )
    assert reset.returncode == 0
    again = subprocess.run(
        skiff_cmd("run", "http", "poll", "--state", str(state), "--dry-run", cfg=cfg(url)),
        capture_output=True,
        text=True,
    )
    assert len(json_lines(again.stdout)) == 60  # from the start again; a dry run does not commit
    shown = subprocess.run(skiff_cmd("state", "show", "--state", str(state)), capture_output=True, text=True)
    assert "no snapshots" in shown.stdout


def test_poll_refuses_an_action(url: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        skiff_cmd("poll", "http", "request", "--state", str(tmp_path / "s.db"), cfg={"baseUrl": url}),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "is an action, not a trigger" in proc.stderr
