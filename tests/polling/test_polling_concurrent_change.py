"""A record that changes while an unsorted poll pages through the API is not lost (issue 11, item 1).

The API lists records in a fixed order that is not the cursor's (Billbee lists orders by id):
a record on a page already read that changes before a later page is read must still have its
new version emitted, by this poll or the next, exactly once, for every cursor kind.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from skiff.polling import PollOptions
from tests.polling.polling_fake import BASE, FakeApi, Harness, ts


class Clock:
    """The fake API's clock (seconds after BASE); the poller reads the same one."""

    def __init__(self, second: int) -> None:
        self.second = second

    def now(self) -> Any:
        return BASE + timedelta(seconds=self.second)


def _changing(api: FakeApi, clock: Clock, kind: str) -> list[int]:
    """Between page reads: change the first record of page 1, then (2 pages later) the last one."""
    changed: list[int] = []

    def before_page(served: int) -> None:
        listing = api._sorted(api.queries[-1]["cursor_value"] if api.filtered else None)
        if served == 1 and not changed:
            clock.second += 6
            target = listing[0]["id"]  # on the page just read
            if kind == "id":
                target = api.insert(clock.second)[0]  # ids only grow: a new record appears
            else:
                api.update(target, clock.second)
            changed.append(target)
        elif served == 3 and len(changed) == 1:
            clock.second += 1
            target = listing[-1]["id"]  # on a page not read yet
            if kind != "id":
                api.update(target, clock.second)
            changed.append(target)

    api.before_page = before_page
    return changed


@pytest.mark.parametrize("kind", ["timestamp", "id", "seen"])
async def test_a_change_between_page_reads_is_emitted_once(kind: str) -> None:
    api = FakeApi(page_size=50, order="shuffled", filtered=kind == "timestamp")
    for second in range(400):
        api.insert(second)
    clock = Clock(600)
    options: dict[str, Any] = {"order": "any", "cursor_kind": kind, "now": clock.now, "clock_skew": 5}
    if kind == "id":
        options["cursor_field"] = "id"
    harness = Harness(api, **options)
    changed = _changing(api, clock, kind)
    for _ in range(3):
        await harness.poll()
        api.before_page = None
        clock.second += 30
    emitted = harness.record_versions()
    wanted = api.versions()
    lost = wanted - set(emitted)
    duplicated = len(emitted) - len(set(emitted))
    print(f"{kind}: records {len(wanted)}, emitted {len(emitted)}, lost {len(lost)}, duplicated {duplicated}")
    assert len(changed) == 2
    assert lost == set()
    assert duplicated == 0
    assert [len(p) for p in harness.per_poll][2] == 0  # the third poll finds nothing new
    if kind == "timestamp":
        first = changed[0]
        assert (first, ts(606)) in emitted and (first, ts(int(first) - 1)) in emitted


def test_clock_skew_is_checked() -> None:
    with pytest.raises(Exception, match="clockSkew"):
        PollOptions(cursor_field="updatedAt", order="any", clock_skew=-1)


async def test_a_remembered_record_at_the_new_cursor_is_not_emitted_again() -> None:
    """A record remembered past a poll's cap, whose timestamp a later poll's cursor reaches:
    the snapshot must list it at the cursor, or the poll after emits it again."""
    api = FakeApi(page_size=10, order="shuffled")
    for second in range(20):
        api.insert(second)
    clock = Clock(600)
    harness = Harness(api, order="any", now=clock.now, clock_skew=5)
    await harness.poll()
    api.update(1, 630)
    clock.second = 632  # cap 627: record 1 at 630 is remembered past it
    await harness.poll()
    api.update(2, 630)  # the same second, seen one poll later
    clock.second = 700  # cap 695: the cursor moves to 630
    await harness.poll()
    clock.second = 760
    await harness.poll()
    per_poll = [[m.body["id"] for m in poll] for poll in harness.per_poll]
    print(f"emitted per poll: {[len(p) for p in per_poll]}")
    assert per_poll[1:] == [[1], [2], []]
