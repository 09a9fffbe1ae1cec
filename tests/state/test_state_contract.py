"""Every store behaves the same: memory, SQLite, Redis, PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from skiff.errors import ComponentError
from skiff.state import SnapshotEntry, SnapshotStore


async def test_get_put_delete(store: SnapshotStore) -> None:
    assert await store.get("flow/c/t") is None
    snapshot = {"v": 1, "kind": "timestamp", "cursor": "2024-01-01T00:00:00Z", "ids": [[1, 1000], 1003, "x"]}
    await store.put("flow/c/t", snapshot)
    assert await store.get("flow/c/t") == snapshot
    await store.put("flow/c/t", {"cursor": "later", "nested": {"ünïcode": "✓", "n": None, "f": 1.5}})
    assert await store.get("flow/c/t") == {"cursor": "later", "nested": {"ünïcode": "✓", "n": None, "f": 1.5}}
    await store.delete("flow/c/t")
    assert await store.get("flow/c/t") is None
    await store.delete("flow/c/t")  # absent: no error


async def test_list_by_prefix_with_times(store: SnapshotStore) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    for key in ("a/x/t1", "a/x/t2", "b/y/t", "a%_/z"):
        await store.put(key, {"key": key})
    rows = await store.list()
    assert [r.key for r in rows] == ["a%_/z", "a/x/t1", "a/x/t2", "b/y/t"]
    assert all(isinstance(r, SnapshotEntry) and r.snapshot == {"key": r.key} for r in rows)
    assert all(r.updated_at.tzinfo is not None and r.updated_at >= before for r in rows)
    key, snapshot, updated = rows[0]  # a plain tuple too
    assert (key, snapshot) == ("a%_/z", {"key": "a%_/z"}) and updated <= datetime.now(UTC) + timedelta(seconds=5)
    assert [r.key for r in await store.list("a/x/")] == ["a/x/t1", "a/x/t2"]
    assert [r.key for r in await store.list("a%")] == ["a%_/z"]  # no LIKE wildcards
    assert await store.list("nothing") == []


async def test_rejects_what_is_not_a_json_object(store: SnapshotStore) -> None:
    with pytest.raises(ComponentError, match="JSON object"):
        await store.put("k", ["a", "list"])  # type: ignore[arg-type]
    with pytest.raises(ComponentError, match="not JSON"):
        await store.put("k", {"s": {1, 2}})
    with pytest.raises(ComponentError, match="not JSON"):
        await store.put("k", {"nan": float("nan")})
    with pytest.raises(ComponentError, match="key"):
        await store.put("", {})
    assert await store.get("k") is None


async def test_warns_above_five_kilobytes(store: SnapshotStore, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="skiff.state"):
        await store.put("big", {"pad": "x" * 6000})
    assert "over the 5120-byte limit" in caplog.text
    assert (await store.get("big")) == {"pad": "x" * 6000}  # kept all the same


async def test_concurrent_puts(store: SnapshotStore) -> None:
    await asyncio.gather(*(store.put(f"k{i}", {"i": i}) for i in range(30)))
    await asyncio.gather(*(store.put("same", {"i": i}) for i in range(30)))
    assert len(await store.list("k")) == 30
    final = await store.get("same")
    assert final is not None and 0 <= final["i"] < 30
    got = await asyncio.gather(*(store.get(f"k{i}") for i in range(30)))
    assert got == [{"i": i} for i in range(30)]
