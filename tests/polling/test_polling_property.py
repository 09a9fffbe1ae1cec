"""Randomized: inserts, updates, timestamp collisions and crashes over many polls.

At-least-once plus deterministic ids is effectively exactly-once: every record version that a
completed poll could see is emitted, nothing is emitted that never existed, and a repeat
always carries the id of the first emission.
"""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from typing import Any

import pytest

from skiff.polling.keys import id_key, timestamp_key
from tests.polling.polling_fake import BASE, FakeApi, Harness, record_message_ids

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

OPS = st.lists(
    st.one_of(
        # (op, count, clock step, seed)
        st.tuples(st.just("insert"), st.integers(1, 25), st.sampled_from([0, 0, 0, 1, 2]), st.just(0)),
        st.tuples(st.just("update"), st.integers(1, 6), st.sampled_from([0, 0, 1]), st.integers(0, 2**16)),
        st.tuples(st.just("poll"), st.one_of(st.none(), st.integers(0, 30)), st.just(0), st.just(0)),
    ),
    min_size=1,
    max_size=30,
)

CONFIG = st.fixed_dictionaries(
    {
        "mode": st.sampled_from(["ascending", "ascending", "any", "any-resume", "seen"]),
        "page_size": st.sampled_from([1, 3, 7, 20]),
        "emit_behavior": st.sampled_from(["emitIndividually", "emitPage"]),
        "single_page": st.booleans(),
        "requery": st.booleans(),
        "ties": st.sampled_from(["asc", "asc-desc-ties", "asc-hash-ties"]),
        "id_stride": st.sampled_from([1, 3]),
        "max_bytes": st.sampled_from([300, 5120]),  # 300: boundary ids and digests overflow
        "commit_every": st.sampled_from(["page", "record"]),
    }
)


async def scenario(ops: list[tuple[str, Any, int, int]], cfg: dict[str, Any]) -> None:
    mode = cfg["mode"]
    resume = mode == "any-resume"  # keyset pages: a failed poll is continued, not read again
    mode = "any" if resume else mode
    api = FakeApi(
        page_size=cfg["page_size"],
        order="shuffled" if mode in ("any", "seen") else cfg["ties"],
        filtered=mode != "seen",
        id_stride=cfg["id_stride"],
        positions=resume,
    )
    h = Harness(
        api,
        cursor_kind="seen" if mode == "seen" else "timestamp",
        cursor_field=None if mode == "seen" else "updatedAt",
        order="any" if mode == "any" else "ascending",
        emit_behavior=cfg["emit_behavior"],
        single_page_per_interval=cfg["single_page"],
        requery=cfg["requery"],
        max_snapshot_bytes=cfg["max_bytes"],
        commit_every=cfg["commit_every"],
        resume=resume,
        # Resumable: the API's clock is ours (a record becomes visible with its timestamp), so
        # a record written after a poll began lies past its cap, as the engine assumes.
        **({"now": lambda: BASE + timedelta(seconds=clock), "clock_skew": 0} if resume else {}),
    )
    clock = 0
    required: set[tuple[Any, str]] = set()  # versions a completed poll saw: must be emitted
    existed: set[tuple[Any, str]] = set()  # versions any poll could see
    crashed = overflowed = False
    # Resumable: a poll continued over several runs reads each page once, so it must emit what
    # existed when its first run began and did not change until it completed.
    chain: set[tuple[Any, str]] | None = None

    async def poll(crash_after: int | None) -> bool:
        nonlocal crashed, overflowed, chain
        before = api.versions()
        existed.update(before)
        chain = before if chain is None else chain
        result = await h.poll(crash_after)
        if result is None:
            crashed = True
            return False
        overflowed |= result.left_out > 0
        if result.complete:
            required.update(chain & before if resume else before)
            chain = None
        return result.complete

    for op, count, step, seed in ops:
        clock += step
        if op == "insert":
            api.insert(clock, n=count)
        elif op == "update" and api.rows:
            for rid in random.Random(seed).sample(sorted(api.rows), min(count, len(api.rows))):
                api.update(rid, clock)
        elif op == "poll":
            await poll(count)
    for _ in range(2 if resume else 1):  # resumable: once more, from a run begun after the last change
        for _ in range(2000):  # drain: polls without crashes until one reads to the end
            if await poll(None):
                break
        else:
            raise AssertionError("polling never completed")

    emitted = h.record_versions()
    assert required <= set(emitted), sorted(required - set(emitted))[:5]  # nothing lost
    assert set(emitted) <= existed  # nothing invented
    assert required >= api.versions()
    for message in h.messages:  # deterministic ids: a repeat has the first emission's id
        for _, _, expected in record_message_ids(message, h.options):
            if cfg["emit_behavior"] == "emitIndividually":
                assert message.id == expected
    if not crashed and not overflowed and cfg["max_bytes"] == 5120:
        assert len(emitted) == len(set(emitted))  # no repeats at all without a crash
    if mode != "seen" and not resume:  # (resumable polls emit page by page)
        for batch in h.per_poll:  # ascending cursor order within every poll
            bodies = [b for m in batch for b in m.body.get("results", [m.body])]
            keys = [timestamp_key(b["updatedAt"]) for b in bodies]
            assert keys == sorted(keys)
            if mode == "any" or cfg["ties"] == "asc":
                full = [(timestamp_key(b["updatedAt"]), id_key(b["id"])) for b in bodies]
                assert full == sorted(full)
    assert h.max_snapshot <= cfg["max_bytes"]


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(ops=OPS, cfg=CONFIG)
def test_nothing_lost_nothing_invented(ops: list[tuple[str, Any, int, int]], cfg: dict[str, Any]) -> None:
    asyncio.run(scenario(ops, cfg))


async def mutating_scenario(seed: int, page_size: int, n: int, spread: int, step: int) -> tuple[bool, bool]:
    """Updates, deletes and inserts *while* a poll pages (requery on). Returns (lost, scanned)."""
    rng = random.Random(seed)
    api = FakeApi(page_size=page_size)
    for _ in range(n):
        api.insert(rng.randrange(spread))
    clock = spread * 10
    h = Harness(api)  # requery=True

    def before_page(_served: int) -> None:
        nonlocal clock
        if rng.random() < 0.5 and api.rows:
            clock += rng.choice([0, step])
            api.update(rng.choice(sorted(api.rows)), clock)
        if rng.random() < 0.2 and api.rows:
            api.delete(rng.choice(sorted(api.rows)))
        if rng.random() < 0.3:
            api.insert(clock)

    serve = api.fetch_pages
    scanned = False

    async def fetch(query: Any) -> Any:
        nonlocal scanned
        pages = 0
        async for page in serve(query):
            pages += 1
            scanned |= pages > 1  # read on by offset within one request
            yield page

    api.fetch_pages = fetch  # type: ignore[method-assign]
    for _ in range(3):
        start = api.versions()
        api.before_page = before_page
        await h.poll()
        api.before_page = None
        if (start & api.versions()) - set(h.record_versions()):
            return True, scanned
    return False, scanned


@settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    page_size=st.sampled_from([2, 3, 5, 10]),
    n=st.integers(1, 60),
    spread=st.sampled_from([1, 5, 200, 1000]),
    step=st.sampled_from([0, 1, 2]),
)
def test_records_moving_while_paging_are_lost_only_by_offset_scans(
    seed: int, page_size: int, n: int, spread: int, step: int
) -> None:
    # Asking again from the cursor after every page is what keeps a record that stays put from
    # being skipped when others move; only reading on by offset (past a page of records already
    # emitted, i.e. a group of equal timestamps a page long) can still skip one.
    lost, scanned = asyncio.run(mutating_scenario(seed, page_size, n, spread, step))
    assert scanned or not lost
