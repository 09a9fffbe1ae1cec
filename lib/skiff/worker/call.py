"""One call per message through the shared executor, its events handed to the worker.

The worker owns the transport (publishing, acks, the step's snapshot); everything about the
call itself (cfg and schema checks, handlers, declarative requests, emit behaviour, error
mapping) is the executor's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

from ..component import Component, Function
from ..message import Message
from ..run import Event, Executor

__all__ = ["Call", "CallEvent"]

Kind = Literal["data", "error", "snapshot", "updateSnapshot", "rebound", "updateKeys", "httpReply"]


@dataclass(slots=True)
class CallEvent:
    kind: Kind
    payload: Any


class Call:
    """Runs ``function`` of ``component`` once per message, with one executor for the worker."""

    def __init__(self, component: Component, function: Function) -> None:
        self.component = component
        self.function = function
        self._executor = Executor()

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
            if event.kind == "error":
                await emit(CallEvent("error", event.payload["error"]))
            elif event.kind != "end":
                await emit(CallEvent(event.kind, event.payload))

        await self._executor.run(
            self.component, self.function.name, cfg, message, snapshot=dict(snapshot), emit=on_event
        )
