"""A failed unsorted poll is continued where it stopped, against the Plenigo sandbox (issue 11, item 9).

Plenigo's ``changedCustomers`` lists customers by id (``order: any``) with cursor paging
(``startingAfter``, a keyset). A poll whose page 3 of 5 fails after all its retries, or whose
process dies between two commits, is continued by the next poll from page 3: the server sees
pages 3 to 5 requested again, not 1 to 5, and no customer is lost or emitted under two ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from skiff.clock import ManualClock
from skiff.component import load_component
from skiff.message import Message
from skiff.run import Event, Executor
from skiff.sandbox import SandboxApp, SandboxServer, load_sandbox, serve

ROOT = Path(__file__).resolve().parents[2]
PAGE = 100  # changedCustomers' page size
CUSTOMERS = 4 * PAGE + 50  # five pages


class Killed(Exception):
    """The process died (between two commits)."""


@pytest.fixture
def sandbox() -> Iterator[tuple[SandboxApp, SandboxServer, httpx.Client]]:
    app = load_sandbox("plenigo", seed=5, customers=CUSTOMERS, rate_limits=False)
    with serve(app) as server, httpx.Client(base_url=server.url + "/_sandbox", timeout=10) as admin:
        yield app, server, admin


class _Hook(httpx.AsyncHTTPTransport):
    """The real transport; after page ``fail_after`` of /customers came back, the sandbox answers
    every later /customers request with a 500 (so the next page fails after all its retries)."""

    def __init__(self, admin: httpx.Client) -> None:
        super().__init__()
        self.admin = admin
        self.fail_after: int | None = None
        self.pages = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        if request.url.path.endswith("/customers") and response.status_code == 200:
            await response.aread()
            self.pages += 1
            if self.fail_after is not None and self.pages == self.fail_after:
                self.admin.put("/faults", json={"error_rate": 1.0, "paths": "/customers$"}).raise_for_status()
        return response


def _pages_served(admin: httpx.Client) -> list[str | None]:
    """The ``startingAfter`` of every /customers page the server answered (200), then clear."""
    log = admin.delete("/requests").json()["requests"]
    return [e["query"].get("startingAfter") for e in log if e["path"].endswith("/customers") and e["status"] == 200]


class _Poller:
    """Polls changedCustomers the way ``skiff poll`` does: the snapshot is what was committed."""

    def __init__(self, cfg: dict[str, Any], executor: Executor) -> None:
        self.cfg = cfg
        self.executor = executor
        self.component = load_component(ROOT / "components" / "plenigo")
        self.snapshot: dict[str, Any] = {}
        self.ids: list[str] = []  # message ids, in emission order
        self.records: list[tuple[Any, Any]] = []  # (customerId, changedDate)

    async def poll(self, kill_after: int | None = None) -> Any:
        emitted = 0

        async def sink(event: Event) -> None:
            nonlocal emitted
            if event.kind == "data":
                if kill_after is not None and emitted >= kill_after:
                    raise Killed
                emitted += 1
                self.ids.append(event.payload.id)
                self.records.append((event.payload.body["customerId"], event.payload.body["changedDate"]))
            elif event.kind == "snapshot":
                self.snapshot = dict(event.payload)

        # A sink that raises ends the run there: what it had not seen committed is not.
        return await self.executor.run(
            self.component, "changedCustomers", self.cfg, Message(body={}), snapshot=self.snapshot, emit=sink
        )


def _customers(app: SandboxApp) -> set[tuple[Any, Any]]:
    return {(c["customerId"], c["changedDate"]) for c in app.store.table("customers")}


def _report(name: str, poller: _Poller, app: SandboxApp, served: list[list[str | None]]) -> tuple[int, int, int]:
    wanted = _customers(app)
    lost = len(wanted - set(poller.records))
    duplicated = len(poller.records) - len(set(poller.records))
    # The same record under two message ids would defeat downstream dedupe.
    ids_per_record = {r: {i for i, rr in zip(poller.ids, poller.records, strict=True) if rr == r} for r in wanted}
    two_ids = sum(1 for ids in ids_per_record.values() if len(ids) > 1)
    print(
        f"{name}: customers {len(wanted)}, pages served per poll {[len(s) for s in served]}, "
        f"emitted {len(poller.records)}, lost {lost}, repeated {duplicated}, under two ids {two_ids}"
    )
    return lost, duplicated, two_ids


async def test_a_poll_failing_on_page_3_is_continued_from_page_3(
    sandbox: tuple[SandboxApp, SandboxServer, httpx.Client],
) -> None:
    app, server, admin = sandbox
    cfg = {**app.default_credentials, "baseUrl": server.base_url}
    hook = _Hook(admin)
    async with Executor(transport=hook, clock=ManualClock(), validate_output=False) as executor:
        poller = _Poller(cfg, executor)
        _pages_served(admin)
        hook.fail_after = 2
        failed = await poller.poll()
        assert failed.error is not None  # page 3: 500 after every retry
        admin.put("/faults", json={}).raise_for_status()
        first = _pages_served(admin)
        hook.fail_after = None
        result = await poller.poll()
        assert result.error is None, result.error
        second = _pages_served(admin)
        lost, repeated, two_ids = _report("page 3 of 5 failed", poller, app, [first, second])
    assert len(first) == 2  # pages 1 and 2 came back, page 3 failed
    # Pages 3 to 5 only: five different pages served in all, none twice.
    assert len(second) == 3 and second[0] is not None and len(set(first) | set(second)) == 5
    assert (lost, repeated, two_ids) == (0, 0, 0)
    assert len(poller.records) == CUSTOMERS
    assert "resume" not in poller.snapshot


async def test_a_poll_killed_between_commits_is_continued_from_its_page(
    sandbox: tuple[SandboxApp, SandboxServer, httpx.Client],
) -> None:
    app, server, admin = sandbox
    cfg = {**app.default_credentials, "baseUrl": server.base_url}
    async with Executor(clock=ManualClock(), validate_output=False) as executor:
        poller = _Poller(cfg, executor)
        _pages_served(admin)
        killed = await poller.poll(kill_after=2 * PAGE + 30)  # dies on page 3's 31st customer
        assert killed.error is not None and "Killed" in str(killed.error)
        first = _pages_served(admin)
        result = await poller.poll()
        assert result.error is None, result.error
        second = _pages_served(admin)
        lost, repeated, two_ids = _report("killed on page 3", poller, app, [first, second])
    assert second[0] == first[2] and second[0] is not None and len(second) == 3  # pages 3 to 5 only
    assert lost == 0 and two_ids == 0
    assert repeated == 30  # page 3's customers emitted before the kill, again (same message ids)
