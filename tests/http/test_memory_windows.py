"""skiff.http.memory_windows: one process's moving windows, on the runtime's clock."""

from __future__ import annotations

import pytest

from skiff.clock import ManualClock
from skiff.http.memory_windows import MemoryWindows, wait_for_place
from skiff.http.ratelimit import Limit


def test_wait_for_place() -> None:
    # 2 per 1 s, answers at 10.0 and 10.4, now 10.5.
    assert wait_for_place([], 0, 2, 1.0, 10.5) == 0.0
    assert wait_for_place([10.0], 0, 2, 1.0, 10.5) == 0.0
    assert wait_for_place([10.0, 10.4], 0, 2, 1.0, 10.5) == 0.5  # the oldest leaves at 11.0
    assert wait_for_place([10.4], 1, 2, 1.0, 10.5) == pytest.approx(0.9)  # one in flight: the answer must leave
    assert wait_for_place([], 2, 2, 1.0, 10.5) is None  # only requests in flight: until an answer


async def test_take_and_give_back_on_the_clock() -> None:
    clock = ManualClock()
    windows = MemoryWindows(clock, margin=0.0)
    limit = Limit(1, 2.0, ("k",), "one per 2 s")
    assert await windows.take([limit], "a", 5.0) == (0.0, None)
    assert await windows.take([limit], "b", 5.0) == (None, 0)  # in flight
    clock.advance(1.0)
    await windows.give_back([limit], "a")
    assert await windows.take([limit], "b", 5.0) == (2.0, 0)  # a window after the answer
    clock.advance(2.0)
    assert await windows.take([limit], "b", 5.0) == (0.0, None)


async def test_idle_windows_are_dropped_and_live_ones_kept() -> None:
    clock = ManualClock()
    windows = MemoryWindows(clock, margin=0.0)
    per_order = [Limit(6, 60.0, ("order", str(i))) for i in range(5000)]
    for limit in per_order[:4095]:
        await windows.take([limit], "t", 5.0)
        await windows.give_back([limit], "t")
    clock.advance(61.0)  # those windows are idle now
    flying = per_order[4095]
    await windows.take([flying], "t", 5.0)  # the 4096th: in flight, so kept
    for limit in per_order[4096:]:
        await windows.take([limit], "t", 5.0)  # the prune ran once, at 4096
    assert len(windows._windows) == 1 + 904
    await windows.give_back([flying], "t")
    assert await windows.take([flying], "u", 5.0) == (0.0, None)  # 6 per minute: room left


async def test_a_new_event_loop_forgets_the_flights_not_the_answers() -> None:
    clock = ManualClock()
    windows = MemoryWindows(clock, margin=0.0)
    limit = Limit(1, 1.0, ("k",))
    await windows.take([limit], "a", 5.0)
    windows.new_loop()
    assert await windows.take([limit], "b", 5.0) == (0.0, None)
    await windows.give_back([limit], "b")
    windows.new_loop()
    assert await windows.take([limit], "c", 5.0) == (1.0, 0)  # the answer still counts
