"""Randomized: inserts, updates, timestamp collisions and crashes over many polls.

At-least-once plus deterministic ids is effectively exactly-once: every record version that a
completed poll could see is emitted, nothing is emitted that never existed, and a repeat
always carries the id of the first emission.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from skiff.polling.keys import id_key, timestamp_key
from tests.polling.polling_fake import FakeApi, Harness, record_message_ids

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
        "mode": st.sampled_from(["ascending", "ascending", "any", "seen"]),
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
    api = FakeApi(
        page_size=cfg["page_size"],
        order="shuffled" if mode in ("any", "seen") else cfg["ties"],
        filtered=mode != "seen",
        id_stride=cfg["id_stride"],
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
    )
    clock = 0
    required: set[tuple[Any, str]] = set()  # versions a completed poll saw: must be emitted
    existed: set[tuple[Any, str]] = set()  # versions any poll could see
    crashed = overflowed = False

    async def poll(crash_after: int | None) -> bool:
        nonlocal crashed, overflowed
        before = api.versions()
        existed.update(before)
        result = await h.poll(crash_after)
        if result is None:
            crashed = True
            return False
        overflowed |= result.left_out > 0
        if result.complete:
            required.update(before)
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
    if mode != "seen":
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
