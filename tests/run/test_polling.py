"""A declarative poll takes its "now" from the executor's clock, not the machine's.

An unsorted (``order: any``) poll caps its cursor at its start less ``clockSkew``, sends that cap
as ``untilParam`` and keeps its start in a resume point; with ``Executor(clock=ManualClock(...))``
all three are the ManualClock's time, so a test decides what the poll calls now.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from skiff.clock import ManualClock
from skiff.component import resolve_component
from skiff.polling import PollResult
from skiff.run import Data, Event, Executor, Snapshot
from tests.support import serve_asgi

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)  # years before the machine's date
CAP = "2025-03-01T11:59:55Z"  # NOW less the default clockSkew of 5 s
# Listed by id, not by the cursor (order "any"); id 2 changed after NOW, by the poll's clock.
ITEMS = [
    {"id": 1, "updatedAt": "2025-02-10T08:00:00Z"},
    {"id": 2, "updatedAt": "2025-06-01T00:00:00Z"},
    {"id": 3, "updatedAt": "2025-02-01T08:00:00Z"},
    {"id": 4, "updatedAt": "2025-02-20T08:00:00Z"},
]


def _listing(request: Request) -> list[dict[str, Any]]:
    since, until = request.query_params.get("modifiedMin"), request.query_params.get("modifiedMax")
    # The fixed-format ISO strings above compare as text.
    return [
        r for r in ITEMS if (since is None or r["updatedAt"] >= since) and (until is None or r["updatedAt"] <= until)
    ]


@pytest.fixture
def api() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """``/paged``: page numbers with a total; ``/keyset``: an opaque cursor (the next id)."""
    seen: list[dict[str, str]] = []

    async def paged(request: Request) -> JSONResponse:
        seen.append(dict(request.query_params))
        listing = _listing(request)
        page, size = int(request.query_params.get("page", "1")), int(request.query_params.get("pageSize", "2"))
        return JSONResponse({"items": listing[(page - 1) * size : page * size], "total": len(listing)})

    async def keyset(request: Request) -> JSONResponse:
        seen.append(dict(request.query_params))
        listing = _listing(request)
        after, size = int(request.query_params.get("after", "0")), int(request.query_params.get("size", "2"))
        rest = [r for r in listing if r["id"] > after]
        items = rest[:size]
        following = items[-1]["id"] if len(rest) > size else None
        return JSONResponse({"items": items, "next": following})

    app = Starlette(routes=[Route("/paged", paged), Route("/keyset", keyset)])
    with serve_asgi(app) as url:
        yield url, seen


async def _poll(
    url: str, clock: ManualClock, spec: dict[str, Any], cfg: dict[str, Any], snapshot: dict[str, Any] | None = None
) -> tuple[PollResult, list[int], list[dict[str, Any]]]:
    ids: list[int] = []
    snapshots: list[dict[str, Any]] = []

    async def sink(event: Event) -> None:
        if isinstance(event, Data):
            ids.append(event.message.body["id"])
        elif isinstance(event, Snapshot):
            snapshots.append(event.snapshot)

    async with Executor(clock=clock) as ex:
        ctx = ex.context(resolve_component("http"), None, {"baseUrl": url, **cfg}, snapshot=snapshot, emit=sink)
        result = await ctx.poll(spec)
    return result, ids, snapshots


async def test_an_unsorted_poll_sends_the_clocks_time_less_skew_as_its_until(
    api: tuple[str, list[dict[str, str]]],
) -> None:
    url, seen = api
    spec = {
        "request": {"path": "/paged"},
        "recordsPath": "items",
        "cursorField": "updatedAt",
        "cursorParam": "modifiedMin",
        "untilParam": "modifiedMax",
        "order": "any",
        "pagination": {"type": "page", "size": 2, "totalPath": "total"},
    }
    result, ids, snapshots = await _poll(url, ManualClock(wall=NOW.timestamp()), spec, {})
    # Every request, the last one checking the total too, is bounded at the clock's time less skew.
    assert seen and [q.get("modifiedMax") for q in seen] == [CAP] * len(seen)
    # Id 2 changed after the poll's now: left for a later poll, not emitted by this one.
    assert sorted(ids) == [1, 3, 4] and result.rereads == 0
    assert snapshots[-1]["cursor"] == "2025-02-20T08:00:00Z"


async def test_a_resume_point_stores_the_clocks_time_as_the_polls_start(
    api: tuple[str, list[dict[str, str]]],
) -> None:
    url, seen = api
    spec = {
        "request": {"path": "/keyset"},
        "recordsPath": "items",
        "cursorField": "updatedAt",
        "cursorParam": "modifiedMin",
        "order": "any",
        "pagination": {"type": "cursor", "size": 2, "param": "after", "cursorPath": "next"},
    }
    clock = ManualClock(wall=NOW.timestamp())
    # One page per poll: the first stops after page 1 and keeps where to read on, and since when.
    first, ids, snapshots = await _poll(url, clock, spec, {"singlePagePerInterval": True})
    assert not first.complete and sorted(ids) == [1, 2]
    resume = snapshots[-1]["resume"]
    assert resume["started"] == "2025-03-01T12:00:00Z" and resume["at"] == {"cursor": 2}
    clock.advance(3600)
    # The next poll continues that poll, with that poll's start: the cursor moves no further than
    # NOW less skew, and id 2 (past it) is remembered beside the cursor rather than passed.
    second, more, snapshots = await _poll(url, clock, spec, {"singlePagePerInterval": True}, snapshots[-1])
    assert second.resumed and second.complete and sorted(more) == [3, 4]
    final = snapshots[-1]
    assert "resume" not in final and final["cursor"] == "2025-02-20T08:00:00Z"
    assert final["ahead"] == [["2025-06-01T00:00:00Z", 2]]
    assert seen[-1]["after"] == "2"
