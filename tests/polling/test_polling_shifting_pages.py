"""An unsorted poll that pages by position (page number or offset) loses no record that others
shift onto a page already read (issue 11: "nothing lost").

The API lists records in a fixed order that is not the cursor's (Billbee lists orders by id)
and pages by position. While one poll pages, a record before X that is deleted or leaves the
filter moves X one place back, onto a page already read; X did not change, so its timestamp is
below the cursor the poll commits and no later poll reads it. With the listing bounded above
(``untilParam``) and its total count (``totalPath``), the engine sees the listing shrink and
reads it again; an unchanged total proves nothing moved.
"""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from typing import Any

import pytest

from tests.polling.polling_fake import BASE, FakeApi, Harness


class Clock:
    def __init__(self, second: int) -> None:
        self.second = second

    def now(self) -> Any:
        return BASE + timedelta(seconds=self.second)


def _shift_after_first_page(api: FakeApi, clock: Clock, how: str) -> list[int]:
    """After page 1 is read: a record on it leaves the listing (and, for "swap", a new one
    enters after X, so the unbounded listing keeps its total)."""
    gone: list[int] = []

    def before_page(served: int) -> None:
        if served != 1 or gone:
            return
        listing = api._sorted(api.queries[-1]["cursor_value"])
        target = listing[0]["id"]
        clock.second += 1
        if how == "leave":  # a change that makes it fail the listing's filter: modelled as gone
            api.delete(target)
        elif how == "swap":
            api.delete(target)
            api.insert(clock.second)  # enters the unbounded listing: the total stays the same
        else:  # "update": it changes, so it leaves a listing bounded at the poll's start
            api.update(target, clock.second)
        gone.append(target)

    api.before_page = before_page
    return gone


async def _polls(*, bounded: bool, how: str, page_size: int = 50, records: int = 400) -> tuple[int, int, int]:
    api = FakeApi(page_size=page_size, order="shuffled", bounded=bounded)
    for second in range(records):
        api.insert(second)
    clock = Clock(600)
    harness = Harness(api, order="any", now=clock.now, clock_skew=5, verify_listing=bounded)
    _shift_after_first_page(api, clock, how)
    for _ in range(3):
        await harness.poll()
        api.before_page = None
        clock.second += 30
    emitted = harness.record_versions()
    wanted = api.versions()
    lost = len(wanted - set(emitted))
    duplicated = len(emitted) - len(set(emitted))
    return len(wanted), lost, duplicated


@pytest.mark.parametrize("how", ["leave", "swap", "update"])
async def test_a_record_shifted_onto_a_page_already_read_is_not_lost(how: str) -> None:
    records, lost, duplicated = await _polls(bounded=True, how=how)
    print(f"{how}: records {records}, lost {lost}, duplicated {duplicated}")
    assert lost == 0 and duplicated == 0


async def test_without_a_bound_and_a_total_the_shift_loses_a_record() -> None:
    # The condition the README states: page/offset paging without untilParam and totalPath.
    records, lost, _ = await _polls(bounded=False, how="leave")
    print(f"unbounded: records {records}, lost {lost}")
    assert lost == 1


async def test_a_stable_listing_is_read_once() -> None:
    api = FakeApi(page_size=50, order="shuffled", bounded=True)
    for second in range(400):
        api.insert(second)
    clock = Clock(600)
    harness = Harness(api, order="any", now=clock.now, clock_skew=5, verify_listing=True)
    result = await harness.poll()
    assert result is not None and result.rereads == 0 and result.pages == 8 + 1 and result.emitted == 400  # + the check


async def test_a_listing_that_never_settles_keeps_the_cursor_and_loses_nothing() -> None:
    api = FakeApi(page_size=10, order="shuffled", bounded=True)
    for second in range(100):
        api.insert(second)
    clock = Clock(600)
    harness = Harness(api, order="any", now=clock.now, clock_skew=5, verify_listing=True)
    first = await harness.poll()
    assert first is not None and first.emitted == 100
    cursor = harness.snapshot
    for second in range(100, 140):
        api.insert(second)

    def churn(served: int) -> None:  # every page read: one record leaves the listing
        listing = api._sorted(api.queries[-1]["cursor_value"])
        api.delete(listing[0]["id"])

    clock.second += 30
    api.before_page = churn
    result = await harness.poll()
    assert result is not None and result.unsettled and result.rereads == 2
    assert harness.snapshot is not None and cursor is not None
    assert harness.snapshot["cursor"] == cursor["cursor"]  # not moved: the next poll reads it all again
    api.before_page = None
    clock.second += 30
    await harness.poll()
    emitted = harness.record_versions()
    lost = api.versions() - set(emitted)
    assert lost == set() and len(emitted) == len(set(emitted))


def test_random_leaves_and_entries_while_paging_lose_nothing() -> None:
    """Random deletes, updates and inserts between any two page reads, many seeds."""
    totals = {"records": 0, "lost": 0, "duplicated": 0, "rereads": 0}
    for seed in range(60):
        rng = random.Random(seed)
        api = FakeApi(page_size=rng.choice([3, 7, 20]), order="shuffled", bounded=True)
        for second in range(rng.randint(20, 120)):
            api.insert(second)
        clock = Clock(300)
        harness = Harness(api, order="any", now=clock.now, clock_skew=5, verify_listing=True)

        def mutate(served: int, rng: random.Random = rng, api: FakeApi = api, clock: Clock = clock) -> None:
            if api.rows and rng.random() < 0.3:
                clock.second += 1
                rid = rng.choice(sorted(api.rows))
                op = rng.choice(["delete", "update", "insert"])
                if op == "delete":
                    api.delete(rid)
                elif op == "update":
                    api.update(rid, clock.second)
                else:
                    api.insert(clock.second)

        for poll in range(4):
            api.before_page = mutate if poll < 3 else None
            result = asyncio.run(harness.poll())
            assert result is not None
            totals["rereads"] += result.rereads
            clock.second += 30
        emitted = harness.record_versions()
        wanted = api.versions()
        totals["records"] += len(wanted)
        totals["lost"] += len(wanted - set(emitted))
        totals["duplicated"] += len(emitted) - len(set(emitted))
    print(f"shifting pages: {totals}")
    assert totals["lost"] == 0 and totals["duplicated"] == 0
