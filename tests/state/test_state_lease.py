"""Leases: one poller per key on every store (issue 11, item 3)."""

from __future__ import annotations

import asyncio
import time

import pytest

from skiff.state import Lease, LeaseHeld, SnapshotStore


async def test_one_owner_at_a_time(store: SnapshotStore) -> None:
    assert await store.try_lease("f/c/t", "a", 30)
    assert await store.try_lease("f/c/t", "a", 30)  # renewal
    assert not await store.try_lease("f/c/t", "b", 30)
    assert await store.try_lease("f/c/other", "b", 30)  # other keys are free
    await store.release_lease("f/c/t", "b")  # not b's: no effect
    assert not await store.try_lease("f/c/t", "b", 30)
    await store.release_lease("f/c/t", "a")
    assert await store.try_lease("f/c/t", "b", 30)


async def test_a_lease_expires_when_not_renewed(store: SnapshotStore) -> None:
    assert await store.try_lease("f/c/t", "dead", 0.3)
    assert not await store.try_lease("f/c/t", "next", 30)
    deadline = time.monotonic() + 10
    while not await store.try_lease("f/c/t", "next", 30):  # the dead owner's lease runs out
        assert time.monotonic() < deadline, "the lease never expired"
        await asyncio.sleep(0.05)


async def test_concurrent_takers_get_one_lease(store: SnapshotStore) -> None:
    won = await asyncio.gather(*(store.try_lease("f/c/race", f"o{i}", 30) for i in range(8)))
    assert sum(won) == 1


async def test_lease_context_renews_and_releases(store: SnapshotStore) -> None:
    async with Lease(store, "f/c/t", ttl=0.3) as lease:
        with pytest.raises(LeaseHeld, match="another poller"):
            await Lease(store, "f/c/t", ttl=0.3).acquire()
        await asyncio.sleep(0.5)  # renewed meanwhile (every ttl/3): still ours
        assert not await store.try_lease("f/c/t", "intruder", 30)
        lease.check()
    assert await store.try_lease("f/c/t", "after", 30)


async def test_a_dead_local_holder_is_replaced_at_once(store: SnapshotStore) -> None:
    import socket
    import subprocess
    import sys

    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = f"{socket.gethostname()}:{child.stdout.strip()}:deadbeef"  # that process has exited
    assert await store.try_lease("f/c/t", dead, 30)
    assert await store.lease_holder("f/c/t") == dead
    async with Lease(store, "f/c/t") as lease:
        assert await store.lease_holder("f/c/t") == lease.owner
    alive = f"{socket.gethostname()}:1:cafe"  # pid 1 exists
    assert await store.try_lease("f/c/t", alive, 30)
    with pytest.raises(LeaseHeld, match="cafe"):
        await Lease(store, "f/c/t").acquire()
