"""The commit protocol end to end with a real store: emit, hand off, then persist; kill anywhere."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from skiff.message import Message
from skiff.polling import Poller, PollOptions
from skiff.state import SQLiteStore
from tests.polling.polling_fake import FakeApi, ts


class Crash(Exception):
    pass


async def test_a_crash_before_the_commit_re_emits_from_the_stored_snapshot(tmp_path: Path) -> None:
    api = FakeApi(page_size=10)
    for second in range(45):
        api.insert(second // 2)
    options = PollOptions(cursor_field="updatedAt", page_size=10, component="shop", trigger="orders")
    delivered: list[Message] = []  # the durable hand-off (the next step's queue)
    key = "flow/shop/orders"

    async def run(crash_after: int | None) -> None:
        async with SQLiteStore(tmp_path / "state.db") as store:
            count = 0

            async def emit(message: Message) -> None:
                nonlocal count
                if crash_after is not None and count == crash_after:
                    raise Crash
                delivered.append(message)
                count += 1

            async def commit(snapshot: dict[str, Any]) -> None:
                await store.put(key, snapshot)

            with contextlib.suppress(Crash):
                await Poller(options, await store.get(key)).run(api.fetch_pages, emit, commit)

    await run(crash_after=13)
    await run(crash_after=7)
    api.update(3, 100)
    await run(crash_after=None)
    async with SQLiteStore(tmp_path / "state.db") as store:
        snapshot = await store.get(key)
    assert snapshot == {"v": 1, "kind": "timestamp", "cursor": ts(100), "ids": [3]}
    versions = {(m.body["id"], m.body["updatedAt"]) for m in delivered}
    assert versions == api.versions() | {(3, ts(1))}
    assert len({m.id for m in delivered}) == len(versions) < len(delivered)  # repeats share their id
