"""One poller per snapshot key: a lease in the store, renewed while the poller runs.

Two pollers on one key would both read the same snapshot and emit everything twice. A poller
holds a lease on its key for ``ttl`` seconds and renews it every ``ttl / 3``; a poller that dies
stops renewing, and the key is free again ``ttl`` seconds later. A second poller gets
:class:`LeaseHeld` (a TransientError: ``skiff poll`` tries again at its next interval).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from types import TracebackType
from typing import Final, Self

from skiff.errors import TransientError
from skiff.state.base import SnapshotStore

__all__ = ["DEFAULT_TTL", "Lease", "LeaseHeld", "new_owner"]

DEFAULT_TTL: Final = 30.0

log = logging.getLogger("skiff.state")


class LeaseHeld(TransientError):
    """Another poller holds the key (or took it over after this one stopped renewing)."""


def new_owner() -> str:
    """Who holds a lease, as an operator would want to read it: host, pid and a nonce."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _dead_here(owner: str) -> bool:
    """True when ``owner`` (host:pid:nonce) names a process on this host that no longer exists."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


class Lease:
    """``async with Lease(store, key):`` holds ``key`` for the block; :meth:`check` before a commit."""

    def __init__(self, store: SnapshotStore, key: str, *, ttl: float = DEFAULT_TTL, owner: str | None = None) -> None:
        if ttl <= 0:
            raise ValueError("a lease needs a positive ttl")
        self.store = store
        self.key = key
        self.ttl = ttl
        self.owner = owner or new_owner()
        self.lost = False
        self._task: asyncio.Task[None] | None = None

    async def acquire(self) -> None:
        if not await self.store.try_lease(self.key, self.owner, self.ttl):
            holder = await self.store.lease_holder(self.key)
            # A poller on this machine that was killed (SIGKILL, OOM) cannot release its lease;
            # its process is gone, so a restart need not wait for the lease to run out.
            dead = holder is not None and _dead_here(holder)
            if not dead or not await self.store.try_lease(self.key, self.owner, self.ttl, replace=holder):
                raise LeaseHeld(
                    f"another poller is running on state key {self.key!r} ({holder or 'unknown'}); "
                    f"it holds the lease until it stops (or {self.ttl:g} s after it died)"
                )
            log.warning("took over the lease on %r from %s, whose process is gone", self.key, holder)
        self._task = asyncio.create_task(self._renew(), name=f"lease {self.key}")

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                ok = await self.store.try_lease(self.key, self.owner, self.ttl)
            except TransientError as exc:
                log.warning("lease on %r not renewed: %s", self.key, exc)
                continue  # the next attempt may succeed before the lease runs out
            if not ok:
                self.lost = True
                log.error("lease on %r was taken over by another poller", self.key)
                return

    def check(self) -> None:
        """Raise LeaseHeld when another poller took the key over: committing now would clash."""
        if self.lost:
            raise LeaseHeld(f"the lease on state key {self.key!r} was taken over by another poller")

    async def release(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if not self.lost:
            with contextlib.suppress(TransientError):
                await self.store.release_lease(self.key, self.owner)

    async def __aenter__(self) -> Self:
        await self.acquire()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.release()
