"""One call per message through the run layer, its typed events handed to the worker.

The worker owns the transport (publishing, acks, the step's snapshot); everything about the
call itself (cfg and schema checks, handlers, declarative requests, emit behaviour, error
mapping) is :mod:`skiff.run`'s.
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
    Snapshot,
    UpdateKeys,
    UpdateSnapshot,
)

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
    """Runs ``function`` of ``component`` once per message, with one executor for the worker."""

    def __init__(self, component: Component, function: Function) -> None:
        self.component = component
        self.function = function
        self._executor = Executor()

    @property
    def executor(self) -> Executor:
        return self._executor

    async def __aenter__(self) -> Call:
        await self._executor.__aenter__()
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
        async def on_event(event: Event) -> None:
            translated = _translate(event)
            if translated is not None:
                await emit(translated)

        await self._executor.run(
            self.component, self.function.name, cfg, message, snapshot=dict(snapshot), emit=on_event
        )
