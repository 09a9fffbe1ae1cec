"""The polling engine against an in-memory API whose data changes between polls."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from skiff.errors import ApiError, ConfigError
from skiff.message import Message, deterministic_id
from skiff.polling import Poller, PollOptions, Query, parse_timestamp
from skiff.polling.keys import id_key, timestamp_key
from tests.polling.polling_fake import COMPONENT, TRIGGER, FakeApi, Harness, ts


def emitted_ids(h: Harness) -> list[Any]:
    return [rid for rid, _ in h.record_versions()]


def assert_ascending(messages: list[Message], *, by_id: bool = True) -> None:
    keys = [(timestamp_key(m.body["updatedAt"]), id_key(m.body["id"]) if by_id else 0) for m in messages]
    assert keys == sorted(keys)


async def test_inserts_between_polls() -> None:
    api = FakeApi(page_size=100)
    for second in range(250):
        api.insert(second)
    h = Harness(api)
    r = await h.poll()
    assert r is not None and r.emitted == 250 and r.complete
    assert emitted_ids(h) == list(range(1, 251))
    assert_ascending(h.messages)
    api.insert(300, n=30)
    r = await h.poll()
    assert r is not None and r.emitted == 30
    r = await h.poll()
    assert r is not None and r.emitted == 0 and r.commits == 0
    assert Counter(h.record_versions()).most_common(1)[0][1] == 1  # nothing twice


async def test_thousand_records_share_one_timestamp() -> None:
    api = FakeApi(page_size=100)
    api.insert(5, n=5)
    api.insert(10, n=1000)
    h = Harness(api)
    r = await h.poll()
    assert r is not None and r.emitted == 1005 and r.complete
    assert h.snapshot == {"v": 1, "kind": "timestamp", "cursor": ts(10), "ids": [[6, 1005]]}
    r = await h.poll()
    assert r is not None and r.emitted == 0
    api.insert(10, n=3)  # more records within the same second ...
    api.update(3, 10)  # ... and an older record updated within it (a small id)
    api.insert(11)
    r = await h.poll()
    assert r is not None and emitted_ids(h)[1005:] == [3, 1006, 1007, 1008, 1009]
    assert len(set(h.record_versions())) == len(h.record_versions()) == 1010


async def test_updates_within_the_boundary_timestamp_are_not_lost() -> None:
    # A compound (timestamp, last id) cursor would hide these: the updated ids are smaller.
    api = FakeApi(page_size=10)
    api.insert(5, n=30)
    h = Harness(api)
    await h.poll()
    for rid in (2, 9, 3):
        api.update(rid, 5)  # same second, new content: same version, nothing to emit
    api.update(4, 6)
    api.insert(6, n=2)
    await h.poll()
    api.update(1, 6)
    await h.poll()
    assert [m.body["id"] for m in h.messages[30:]] == [4, 31, 32, 1]
    assert len(set(h.record_versions())) == len(h.record_versions())


@pytest.mark.parametrize("order", ["asc-desc-ties", "asc-hash-ties"])
async def test_large_tie_group_in_any_tie_order(order: Any) -> None:
    api = FakeApi(page_size=100, order=order, id_stride=7)
    api.insert(5, n=20)
    api.insert(10, n=700)
    api.insert(11, n=5)
    h = Harness(api, max_snapshot_bytes=1024)
    r = await h.poll()
    assert r is not None and r.emitted == 725
    assert_ascending(h.messages, by_id=False)  # ties follow the API's order across pages
    api.insert(11, n=2)
    await h.poll()
    assert len(h.record_versions()) == len(set(h.record_versions())) == 727
    assert h.max_snapshot <= 1024


async def test_tie_group_larger_than_the_snapshot_re_emits_but_never_loses() -> None:
    api = FakeApi(page_size=100, id_stride=7)  # ids with gaps: no runs to compress
    api.insert(10, n=1000)
    h = Harness(api, single_page_per_interval=True, max_snapshot_bytes=1200)  # room for ~250 ids
    r1 = await h.poll()
    r2 = await h.poll()
    r3 = await h.poll()  # past what the snapshot can list: no early stop, reads the whole group
    assert r1 and r2 and r3 and (r1.emitted, r2.emitted) == (100, 100) and r3.emitted == 800
    assert h.max_snapshot <= 1200
    r4 = await h.poll()
    assert r4 is not None and 0 < r4.emitted < 1000  # the ids left out, again, same message ids
    assert len({m.id for m in h.messages}) == 1000
    api.update(7, 10)  # same version: not new
    api.insert(12, n=3)  # newer records move the cursor past the group
    r5 = await h.poll()
    r6 = await h.poll()
    assert r5 is not None and r6 is not None and r6.emitted == 0
    assert {m.body["id"] for m in h.per_poll[4]} >= {1001 * 7, 1002 * 7, 1003 * 7}
    assert len({m.id for m in h.messages}) == 1003


async def test_single_page_per_interval_inside_a_large_tie_group() -> None:
    api = FakeApi(page_size=100)
    api.insert(10, n=1000)
    h = Harness(api, single_page_per_interval=True)
    counts = []
    for _ in range(12):
        r = await h.poll()
        assert r is not None
        counts.append(r.emitted)
    assert counts == [100] * 10 + [0, 0]  # sequential ids fit the snapshot as one run
    assert len(set(h.record_versions())) == 1000 == len(h.record_versions())


async def test_updates_are_emitted_again_as_new_versions() -> None:
    api = FakeApi(page_size=10)
    for second in range(25):
        api.insert(second)
    h = Harness(api)
    await h.poll()
    first_ids = {m.body["id"]: m.id for m in h.messages}
    for rid in (3, 7, 20):
        api.update(rid, 100)
    r = await h.poll()
    assert r is not None and r.emitted == 3
    again = h.per_poll[-1]
    assert [m.body["id"] for m in again] == [3, 7, 20]
    assert all(m.id != first_ids[m.body["id"]] for m in again)
    assert all(m.body["updatedAt"] == ts(100) for m in again)


async def test_empty_first_run_commits_nothing() -> None:
    api = FakeApi()
    h = Harness(api)
    r = await h.poll()
    assert r is not None and r.emitted == 0 and r.commits == 0 and r.complete and h.snapshot is None
    assert api.queries[0]["cursor_value"] == "1970-01-01T00:00:00Z"
    api.insert(1, n=2)
    r = await h.poll()
    assert r is not None and r.emitted == 2


async def test_missing_cursor_field_is_a_clear_error() -> None:
    api = FakeApi(page_size=10)
    for second in range(15):
        api.insert(second)
    h = Harness(api)
    await h.poll()
    api.insert(50, n=5)
    del api.rows[18]["updatedAt"]  # served first (index 0) on the next poll
    api.touch()
    snapshot = h.snapshot
    with pytest.raises(ApiError) as info:
        await h.poll()
    message = info.value.one_line()
    assert "'updatedAt'" in message and "index 0 on page 1" in message and "\n" not in message
    assert h.per_poll[-1] == [] and h.snapshot == snapshot  # nothing of that page was emitted

    api.rows[18]["updatedAt"] = ts(50)
    del api.rows[19]["id"]
    api.touch()
    with pytest.raises(ApiError, match="no id field 'id'"):
        await h.poll()


async def test_unparsable_cursor_names_the_value() -> None:
    h = Harness(FakeApi())
    h.api.insert(1)
    h.api.rows[1]["updatedAt"] = "yesterday"
    h.api.touch()
    with pytest.raises(ApiError, match="is not a timestamp: 'yesterday'"):
        await h.poll()


async def test_start_and_end_time() -> None:
    api = FakeApi(page_size=7)
    for second in range(100):
        api.insert(second)
    h = Harness(api, start_time=ts(50), end_time=ts(80))
    r = await h.poll()
    assert r is not None and r.complete and r.beyond_end > 0
    assert emitted_ids(h) == list(range(51, 82))  # ids are second + 1; both ends inclusive
    assert api.queries[0]["cursor_value"] == ts(50) and api.queries[0]["until_iso"] == ts(80)
    r = await h.poll()
    assert r is not None and r.emitted == 0
    # The snapshot wins over startTime afterwards; moving endTime on continues from it.
    h.options = PollOptions(
        component=COMPONENT, trigger=TRIGGER, cursor_field="updatedAt", start_time=ts(0), page_size=7
    )
    r = await h.poll()
    assert r is not None and emitted_ids(h)[-19:] == list(range(82, 101))


async def test_start_time_as_epoch_and_errors() -> None:
    options = PollOptions(cursor_field="t", start_time=1704067200)  # 2024-01-01 in epoch seconds
    assert options.start_key == timestamp_key("2024-01-01T00:00:00Z")
    with pytest.raises(ConfigError, match="startTime is not a timestamp"):
        PollOptions(cursor_field="t", start_time="soon")
    with pytest.raises(ConfigError, match="endTime"):
        PollOptions(cursor_field="t", start_time=ts(10), end_time=ts(5))
    with pytest.raises(ConfigError, match="cursorField"):
        PollOptions()


async def test_single_page_per_interval() -> None:
    api = FakeApi(page_size=100)
    for second in range(250):
        api.insert(second)
    h = Harness(api, single_page_per_interval=True)
    results = [await h.poll() for _ in range(4)]
    # Each poll asks again from the cursor, so the boundary record comes back (and is dropped).
    assert [r.emitted for r in results if r] == [100, 99, 51, 0]
    assert [r.complete for r in results if r] == [False, False, True, True]
    assert emitted_ids(h) == list(range(1, 251))


async def test_dry_run_never_commits() -> None:
    api = FakeApi(page_size=10)
    for second in range(25):
        api.insert(second)
    h = Harness(api, dry_run=True)
    r1 = await h.poll()
    r2 = await h.poll()
    assert r1 is not None and r2 is not None
    assert h.commits == 0 and h.snapshot is None and r1.commits == 0 and r1.dry_run
    assert r1.emitted == r2.emitted == 25
    assert r1.snapshot is not None and r1.snapshot["cursor"] == ts(24)  # what it would have committed
    assert [m.id for m in h.per_poll[0]] == [m.id for m in h.per_poll[1]]


async def test_message_ids_are_deterministic() -> None:
    def build() -> FakeApi:
        api = FakeApi(page_size=8)
        for second in range(30):
            api.insert(second // 3)
        return api

    a, b = Harness(build()), Harness(build())
    await a.poll()
    await b.poll(crash_after=11)
    await b.poll()
    ids_a = [m.id for m in a.messages]
    assert len(b.messages) > 30  # the crash made b emit some twice, under the same ids
    assert ids_a == list(dict.fromkeys(m.id for m in b.messages))
    for m in a.messages:
        assert m.id == deterministic_id(COMPONENT, TRIGGER, m.body["id"], m.body["updatedAt"])
    assert len(set(ids_a)) == 30


async def test_crash_between_emit_and_commit_re_emits_with_the_same_ids() -> None:
    api = FakeApi(page_size=10)
    for second in range(35):
        api.insert(second // 4)
    h = Harness(api)
    assert await h.poll(crash_after=15) is None  # page 1 committed, page 2 half emitted
    assert h.snapshot is not None
    await h.poll()
    versions = h.record_versions()
    assert len(versions) == 35 + 5  # five records of page 2 emitted twice ...
    assert len(set(versions)) == 35  # ... under the same message ids
    assert len({m.id for m in h.messages}) == 35


async def test_snapshot_stays_small_over_many_polls() -> None:
    api = FakeApi(page_size=50)
    h = Harness(api)
    second = 0
    for n in range(150):
        second += n % 3 == 0  # many polls land on the same second
        api.insert(second, n=(n * 37) % 90)
        for rid in range(1 + n % 5, api.next_id, 97):
            api.update(rid, second)
        await h.poll()
    assert 0 < h.max_snapshot < 5120
    assert set(h.record_versions()) >= api.versions()
    assert len(h.record_versions()) == len(set(h.record_versions()))


async def test_emit_page_and_fetch_all() -> None:
    api = FakeApi(page_size=10)
    for second in range(25):
        api.insert(second)
    h = Harness(api, emit_behavior="emitPage")
    r = await h.poll()
    assert r is not None and r.messages == 3 and r.emitted == 25
    assert [len(m.body["results"]) for m in h.messages] == [10, 9, 6]  # requery repeats the boundary
    again = Harness(FakeApi(page_size=10), emit_behavior="emitPage")
    for second in range(25):
        again.api.insert(second)
    await again.poll()
    assert [m.id for m in again.messages] == [m.id for m in h.messages]

    h = Harness(api, emit_behavior="fetchAll")
    r = await h.poll()
    assert r is not None and r.messages == 1 and r.emitted == 25 and h.commits == 1


async def test_commit_after_every_record() -> None:
    api = FakeApi(page_size=10)
    for second in range(12):
        api.insert(second)
    h = Harness(api, commit_every="record")
    await h.poll(crash_after=4)
    assert h.snapshot is not None and h.snapshot["cursor"] == ts(3)
    await h.poll()
    assert len(h.record_versions()) == 12


async def test_requery_does_not_skip_records_that_move_while_paging() -> None:
    def build() -> FakeApi:
        api = FakeApi(page_size=10)
        for second in range(40):
            api.insert(second)
        return api

    def moving(api: FakeApi) -> Any:
        def before_page(served: int) -> None:
            if served == 1:  # after page 1 was read, a record of page 1 is updated:
                api.update(5, 1000)  # offsets shift left by one

        return before_page

    api = build()
    api.before_page = moving(api)
    h = Harness(api)  # requery=True (default)
    await h.poll()
    assert set(h.record_versions()) == api.versions() | {(5, ts(4))}

    scan = build()
    scan.before_page = moving(scan)
    h = Harness(scan, requery=False)
    await h.poll()
    assert (11, ts(10)) not in set(h.record_versions())  # an offset scan skips a record


async def test_unsorted_api() -> None:
    api = FakeApi(page_size=10, order="shuffled")
    for second in range(57):
        api.insert(second % 13)
    h = Harness(api, order="any")
    r = await h.poll()
    assert r is not None and r.emitted == 57
    assert_ascending(h.messages)
    api.insert(5)  # older than the cursor: an API must not do this; not seen (documented)
    api.insert(20, n=3)
    r = await h.poll()
    assert r is not None and r.emitted == 3

    # In ascending mode an unsorted API is still read completely within one request.
    api = FakeApi(page_size=10, order="shuffled")
    for second in range(57):
        api.insert(second % 13)
    h = Harness(api, requery=False)
    r = await h.poll()
    assert r is not None and r.out_of_order > 0 and len(set(h.record_versions())) == 57


async def test_id_cursor_with_numeric_string_ids() -> None:
    records = [{"id": str(i), "name": f"n{i}"} for i in range(1, 26)]
    seen_queries: list[Query] = []

    async def fetch(query: Query) -> Any:
        seen_queries.append(query)
        last = int(query["cursor_value"] or 0)
        rows = [r for r in records if int(r["id"]) > last]
        for start in range(0, len(rows), 10):
            yield rows[start : start + 10]

    options = PollOptions(cursor_kind="id", page_size=10, component="c", trigger="t")
    out: list[Message] = []
    snapshots: list[dict[str, Any]] = []

    async def emit(m: Message) -> None:
        out.append(m)

    async def commit(s: dict[str, Any]) -> None:
        snapshots.append(s)

    await Poller(options).run(fetch, emit, commit)
    assert [m.body["id"] for m in out] == [str(i) for i in range(1, 26)]  # "10" after "9"
    assert snapshots[-1] == {"v": 1, "kind": "id", "cursor": "25"}
    records.append({"id": "26", "name": "n26"})
    r = await Poller(options, snapshots[-1]).run(fetch, emit, commit)
    assert r.emitted == 1 and seen_queries[-1]["cursor_value"] == "25"


async def test_seen_cursor_for_apis_without_a_filter() -> None:
    api = FakeApi(page_size=10, order="shuffled", filtered=False)
    for second in range(30):
        api.insert(second)
    h = Harness(api, cursor_kind="seen", cursor_field=None)
    r = await h.poll()
    assert r is not None and r.emitted == 30
    r = await h.poll()
    assert r is not None and r.emitted == 0
    api.update(4, 500)
    api.delete(9)
    api.insert(3)
    r = await h.poll()
    assert r is not None and sorted(m.body["id"] for m in h.per_poll[-1]) == [4, 31]
    assert len({m.id for m in h.messages}) == 32 and h.max_snapshot < 5120


async def test_seen_digest_overflow_re_emits_but_never_loses() -> None:
    api = FakeApi(page_size=50, order="shuffled", filtered=False)
    api.insert(1, n=200)
    h = Harness(api, cursor_kind="seen", cursor_field=None, max_snapshot_bytes=600)
    r = await h.poll()
    assert r is not None and r.emitted == 200 and r.left_out > 0
    r2 = await h.poll()
    assert r2 is not None and r2.emitted == r.left_out  # the ones not remembered, same ids
    assert len({m.id for m in h.messages}) == 200 and h.max_snapshot <= 600


async def test_snapshot_of_another_kind_is_refused() -> None:
    options = PollOptions(cursor_field="updatedAt")
    with pytest.raises(ConfigError, match="delete the snapshot"):
        Poller(options, {"v": 1, "kind": "seen", "digest": ""})
    with pytest.raises(ConfigError, match="malformed"):
        Poller(options, {"v": 1, "kind": "timestamp", "cursor": "not a time"})
    with pytest.raises(ConfigError, match="malformed"):
        Poller(options, {"v": 1, "kind": "timestamp", "cursor": ts(1), "ids": [[5, 2]]})


def test_id_encoding_round_trips() -> None:
    from skiff.polling.state import decode_ids, encode_ids

    ids = [1, 2, 3, 4, 7, 9, 10, 12, 13, 14, "007", "a", "b"]
    encoded = encode_ids(ids)
    assert encoded == [[1, 4], 7, 9, 10, [12, 14], "007", "a", "b"]
    assert list(decode_ids(encoded)) == ids


def test_from_config_reads_elasticio_fields() -> None:
    from skiff.specs import PollingSpec

    spec = PollingSpec.model_validate(
        {
            "request": {"path": "/orders"},
            "cursorField": "LastModifiedAt",
            "idField": "BillBeeOrderId",
            "cursorParam": "modifiedAtMin",
            "pagination": {"type": "page", "size": 250},
        }
    )
    options = PollOptions.from_config(
        {
            "startTime": "2024-05-01T00:00:00Z",
            "pageSize": "50",
            "singlePagePerInterval": "true",
            "emitBehavior": "emitPage",
        },
        spec,
        component="billbee",
        trigger="orders",
    )
    assert (options.cursor_field, options.id_field, options.page_size) == (
        "LastModifiedAt",
        "BillBeeOrderId",
        50,
    )
    assert options.single_page_per_interval and options.requery and options.emit_behavior == "emitPage"
    assert options.start_key == timestamp_key("2024-05-01T00:00:00Z")


def test_timestamp_formats() -> None:
    same = [
        "2024-01-01T10:00:00Z",
        "2024-01-01T11:00:00+01:00",
        "2024-01-01 10:00:00",
        "2024-01-01T10:00:00.000000Z",
        1704103200,
        1704103200000,
        "1704103200",
        "/Date(1704103200000)/",
        "/Date(1704103200000+0100)/",
    ]
    keys = {timestamp_key(v) for v in same}
    assert len(keys) == 1
    assert parse_timestamp("2024-01-01T10:00:00.123456789Z").microsecond == 123456
    assert id_key("9") < id_key("10") and id_key("007") != id_key("7") and id_key(3) < id_key("abc")
