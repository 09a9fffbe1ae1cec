"""``Session``: one call with its snapshot, committed only after what came before it was delivered.

A transport (the CLI, the RabbitMQ worker, the flow runner, the studio) hands the session a
:class:`Transport`: ``deliver(event)`` receives every event, ``settle()`` returns once every
data event delivered so far is durable (flushed to stdout, publisher-confirmed, journaled).
The session owns the rest of a trigger's lifecycle:

- the snapshot key ``flow/component/function`` and loading the snapshot from the store;
- on ``Snapshot``: ``settle()``, then commit to the store, then deliver the event;
- on ``UpdateSnapshot``: ``settle()``, then merge into the stored snapshot, then deliver;
- a stop request (``stop`` set) takes effect at the next commit point: ``StopRequested`` is
  raised right after the commit, so everything delivered is covered by the stored snapshot;
- one poller per key: with a store (and not a dry run) the session holds a
  :class:`~skiff.state.Lease` on the key while it runs and checks it before each commit;
  a second session on the key gets ``LeaseHeld`` (a TransientError) from :meth:`Session.run`;
- a dry run neither takes the lease nor moves the snapshot (the executor emits no snapshots);
- ``UpdateKeys`` merges the new values into the session's cfg (the next run uses them) before
  the transport persists them;
- with a :class:`~skiff.run.rebound.ReboundPolicy`, a run that asked for a rebound is run
  again after the policy's delay (on the executor's clock), up to its limit.

Without a store the snapshot events go to the transport only (the platform keeps them).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from ..component import Component
from ..errors import TransientError
from ..http.client import progress
from ..message import Message
from .events import Emit, Event, Rebound, Snapshot, UpdateKeys, UpdateSnapshot
from .executor import Executor, RunResult
from .rebound import ReboundPolicy

if TYPE_CHECKING:
    from ..state import Lease, SnapshotStore

__all__ = ["Session", "StopRequested", "Transport", "snapshot_key", "transport"]


class StopRequested(BaseException):
    """Raised at a commit point after a stop was requested; BaseException so no handler eats it."""


def snapshot_key(component: str, function: str, flow_id: str = "default") -> str:
    """The store key of one trigger's snapshot: ``flow/component/function``."""
    return f"{flow_id}/{component}/{function}"


class Transport(Protocol):
    """Where a session's events go."""

    async def deliver(self, event: Event) -> None:
        """Take one event (data, error, snapshot after its commit, rebound, updateKeys, httpReply, end)."""

    async def settle(self) -> None:
        """Return once every data event delivered so far is durable."""


class _Callables:
    __slots__ = ("_deliver", "_settle", "raw_records")

    def __init__(self, deliver: Emit, settle: Callable[[], Awaitable[None]] | None, raw_records: bool = False) -> None:
        self._deliver = deliver
        self._settle = settle
        self.raw_records = raw_records

    async def deliver(self, event: Event) -> None:
        await self._deliver(event)

    async def settle(self) -> None:
        if self._settle is not None:
            await self._settle()


def transport(
    deliver: Emit, settle: Callable[[], Awaitable[None]] | None = None, *, raw_records: bool = False
) -> Transport:
    """A :class:`Transport` from two functions (``settle`` None: delivery is durable at once).

    ``raw_records``: ``deliver`` also takes :class:`~skiff.run.events.Records` (bodies it only
    writes out); a transport object says so with a true ``raw_records`` attribute.
    """
    return _Callables(deliver, settle, raw_records)


class _Watching:
    """Passes events on and notes the rebounds asked for."""

    __slots__ = ("_asked", "_to", "raw_records")

    def __init__(self, to: Transport, asked: list[str]) -> None:
        self._to = to
        self._asked = asked
        self.raw_records = bool(getattr(to, "raw_records", False))

    async def deliver(self, event: Event) -> None:
        if isinstance(event, Rebound):
            self._asked.append(event.reason)
        await self._to.deliver(event)

    async def settle(self) -> None:
        await self._to.settle()


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 10 else f"{value:.1f} s"


class Session:
    """Runs one component function with its snapshot from ``store`` (see the module docstring).

    A session may run many times (``skiff poll``): each run loads the snapshot afresh.
    """

    def __init__(
        self,
        executor: Executor,
        component: Component,
        function: str,
        cfg: dict[str, Any],
        *,
        store: SnapshotStore | None = None,
        flow_id: str = "default",
        dry_run: bool = False,
        stop: asyncio.Event | None = None,
    ) -> None:
        self.executor = executor
        self.component = component
        self.function = component.function(function)
        self.cfg = cfg
        self.store = store
        self.key = snapshot_key(component.name, self.function.name, flow_id)
        self.dry_run = dry_run
        self.stop = stop
        self.snapshot: dict[str, Any] = {}

    async def load(self) -> dict[str, Any]:
        """The stored snapshot ({} on a first run or without a store)."""
        self.snapshot = (await self.store.get(self.key) or {}) if self.store is not None else {}
        return self.snapshot

    async def run(self, msg: Message | None, to: Transport, *, rebounds: ReboundPolicy | None = None) -> RunResult:
        """One call: take the lease, load the snapshot, run, commit each snapshot after delivery settles.

        ``rebounds``: run again while the handler asks for a rebound (None: the transport handles it).
        """
        count = 0
        while True:
            asked: list[str] = []
            result = await self._run_leased(msg, _Watching(to, asked))
            if rebounds is None or not asked or result.error is not None:
                return result
            count += 1
            if count > rebounds.limit:
                result.error = TransientError(f"rebound limit of {rebounds.limit} reached: {asked[-1]}")
                return result
            delay = rebounds.delay(count)
            progress.info(
                "rebound: %s: again in %s (rebound %d of %d)", asked[-1], _seconds(delay), count, rebounds.limit
            )
            await self.executor.clock.sleep(delay)

    async def _run_leased(self, msg: Message | None, to: Transport) -> RunResult:
        lease = None
        if self.store is not None and not self.dry_run:
            from ..state import Lease

            lease = Lease(self.store, self.key)
            await lease.acquire()  # LeaseHeld: another poller runs on this key
        try:
            return await self._run(msg, to, lease)
        finally:
            if lease is not None:
                await lease.release()

    async def _run(self, msg: Message | None, to: Transport, lease: Lease | None) -> RunResult:
        snapshot = await self.load()

        async def on_event(event: Event) -> None:
            if isinstance(event, Snapshot | UpdateSnapshot):
                await to.settle()  # the records before this snapshot are durable before it is stored
                if lease is not None:
                    lease.check()  # another poller took the key over: committing now would clash
                await self._commit(event)
                await to.deliver(event)
                if self.stop is not None and self.stop.is_set():
                    raise StopRequested
                return
            if isinstance(event, UpdateKeys):
                self.cfg = {**self.cfg, **event.keys}  # a rebound or the next poll uses them
            await to.deliver(event)

        return await self.executor.run(
            self.component,
            self.function.name,
            self.cfg,
            msg or Message(body={}),
            snapshot=snapshot,
            emit=on_event,
            dry_run=self.dry_run,
            raw_records=bool(getattr(to, "raw_records", False)),
        )

    async def _commit(self, event: Snapshot | UpdateSnapshot) -> None:
        if isinstance(event, Snapshot):
            self.snapshot = dict(event.snapshot)
        else:
            # Merge into what is stored, not what was loaded: another writer may have moved it.
            current = (await self.store.get(self.key) or {}) if self.store is not None else self.snapshot
            self.snapshot = {**current, **event.patch}
        if self.store is not None and not self.dry_run:
            await self.store.put(self.key, self.snapshot)
