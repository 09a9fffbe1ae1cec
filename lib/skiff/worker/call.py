"""One call per message through the run layer, its typed events handed to the worker.

The worker is a transport: it publishes what a call emits and acks. Everything about the call
(cfg and schema checks, handlers, declarative requests, emit behaviour, error mapping) is
:mod:`skiff.run`'s, and so is a trigger's snapshot lifecycle: each message runs in a
:class:`skiff.run.Session` over an in-memory store seeded with the step's snapshot (on the
platform the snapshot lives in the platform, which the worker updates by publishing each
committed snapshot), so a snapshot is committed, and then published, only after the data
before it was confirmed by the broker.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

from ..component import Component, Function
from ..message import Message
from ..run import (
    Data,
    Error,
    Event,
    Executor,
    HttpReply,
    Rebound,
    Session,
    Snapshot,
    UpdateKeys,
    UpdateSnapshot,
    snapshot_key,
    transport,
)
from ..state.memory import MemoryStore

__all__ = ["Call", "CallEvent"]

Kind = Literal["data", "error", "snapshot", "updateSnapshot", "rebound", "updateKeys", "httpReply"]


@dataclass(slots=True)
class CallEvent:
    """What the worker publishes for one event: a Message, an error, a reason, a snapshot..."""

    kind: Kind
    payload: Any


def _translate(event: Event) -> CallEvent | None:
    if isinstance(event, Data):
        return CallEvent("data", event.message)
    if isinstance(event, Error):
        return CallEvent("error", event.error)
    if isinstance(event, Rebound):
        return CallEvent("rebound", event.reason)
    if isinstance(event, Snapshot):
        return CallEvent("snapshot", event.snapshot)
    if isinstance(event, UpdateSnapshot):
        return CallEvent("updateSnapshot", event.patch)
    if isinstance(event, UpdateKeys):
        return CallEvent("updateKeys", event.keys)
    if isinstance(event, HttpReply):
        return CallEvent("httpReply", event.payload)
    return None  # End


class Call:
    """Runs ``function`` of ``component`` once per message, with one executor for the worker.

    ``snapshot`` seeds a trigger's store (the step's snapshot from the platform or a file).
    """

    def __init__(
        self, component: Component, function: Function, *, flow_id: str = "", snapshot: dict[str, Any] | None = None
    ) -> None:
        self.component = component
        self.function = function
        self.flow_id = flow_id or "default"
        # The platform builds cfg from component.json and may add keys of its own: not typos.
        self._executor = Executor(unknown_cfg="ignore")
        self._store: MemoryStore | None = None
        self._seed = dict(snapshot or {})

    @property
    def executor(self) -> Executor:
        return self._executor

    async def snapshot(self) -> dict[str, Any]:
        """The trigger's current snapshot ({} for an action)."""
        if self._store is None:
            return {}
        return await self._store.get(snapshot_key(self.component.name, self.function.name, self.flow_id)) or {}

    async def __aenter__(self) -> Call:
        await self._executor.__aenter__()
        if self.function.kind == "trigger":
            self._store = MemoryStore()
            key = snapshot_key(self.component.name, self.function.name, self.flow_id)
            await self._store.put(key, self._seed)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._executor.__aexit__(exc_type, exc, tb)

    async def run(
        self,
        cfg: dict[str, Any],
        message: Message,
        snapshot: dict[str, Any],
        emit: Callable[[CallEvent], Awaitable[None]],
    ) -> None:
        """One call; every publish the worker makes awaits its confirm, so delivery is settled at once.

        ``snapshot`` is the step's snapshot as the worker started (stand-ins such as a flow step
        may use it); this call reads and commits the trigger's snapshot through its session.
        """

        async def deliver(event: Event) -> None:
            translated = _translate(event)
            if translated is not None:
                await emit(translated)

        session = Session(
            self._executor, self.component, self.function.name, cfg, store=self._store, flow_id=self.flow_id
        )
        await session.run(message, transport(deliver))
