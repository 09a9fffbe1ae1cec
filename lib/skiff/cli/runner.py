"""``skiff run``: one call through the executor, printed as JSON lines.

For a trigger the snapshot is read from the state store before the call and written back
each time the trigger commits one, only after the data before it has been written and
flushed to stdout: a crash in between re-emits (with the same deterministic message ids)
rather than loses.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from typing import Any

from ..component import resolve_component
from ..errors import SkiffError
from ..executor import Event, Executor
from ..message import Message
from .output import JsonLines

__all__ = ["StopRequested", "default_state_path", "run_call", "snapshot_key"]


class StopRequested(BaseException):
    """Raised at a commit point after a stop was requested; BaseException so no handler eats it."""


def default_state_path() -> str:
    import os

    return os.environ.get("SKIFF_STATE", ".skiff/state.db")


def snapshot_key(component: str, function: str, flow_id: str) -> str:
    return f"{flow_id}/{component}/{function}"


async def run_call(
    component_ref: str,
    function_name: str,
    *,
    cfg: dict[str, Any],
    body: Any,
    messages: bool = False,
    state: str | None = None,
    dry_run: bool = False,
    flow_id: str = "default",
    out: Any = None,
    stop: Any = None,
    require_trigger: bool = False,
    executor: Executor | None = None,
    on_error: Callable[[SkiffError], bool] | None = None,
) -> int:
    """Run one call and print its data; returns the exit code.

    ``executor``: reuse one (``skiff poll`` keeps its rate limiter across polls); ``on_error``
    sees the error first and returns True when it has told the user itself.
    """
    stream = out or sys.stdout
    lines = JsonLines(stream)
    component = resolve_component(component_ref)
    function = component.function(function_name)
    is_trigger = function.kind == "trigger"
    if require_trigger and not is_trigger:
        from ..errors import ConfigError

        raise ConfigError(f"{component.name}.{function.name} is an action, not a trigger")
    store = None
    key = snapshot_key(component.name, function.name, flow_id)
    snapshot: dict[str, Any] = {}
    lease = None
    if is_trigger:
        from ..state import Lease, LeaseHeld, open_store

        store = open_store(state or default_state_path())
        if not dry_run:
            # One poller per key: a second one would read the same snapshot and emit it all again.
            lease = Lease(store, key)
            try:
                await lease.acquire()
            except LeaseHeld as held:
                await store.close()
                print(held.one_line(), file=sys.stderr)
                return held.exit_code
        snapshot = await store.get(key) or {}

    progress = _Progress.create()
    error: SkiffError | None = None

    async def emit(event: Event) -> None:
        nonlocal error
        if event.kind == "data":
            msg: Message = event.payload
            lines.write(msg.to_dict() if messages else msg.body)
            progress.tick()
        elif event.kind in ("snapshot", "updateSnapshot") and store is not None and not dry_run:
            lines.flush()  # the records before this snapshot are out before it is committed
            if lease is not None:
                lease.check()
            if event.kind == "snapshot":
                await store.put(key, event.payload)
            else:
                current = await store.get(key) or {}
                await store.put(key, {**current, **event.payload})
            if stop is not None and stop.is_set():
                raise StopRequested
        elif event.kind == "error":
            error = event.payload["error"]

    try:
        async with contextlib.AsyncExitStack() as stack:
            if executor is None:
                executor = await stack.enter_async_context(Executor())
            result = await executor.run(
                component, function.name, cfg, Message(body=body), snapshot=snapshot, emit=emit, dry_run=dry_run
            )
    finally:
        progress.close()
        lines.flush()
        if lease is not None:
            await lease.release()
        if store is not None:
            await store.close()
    if error is not None:
        if on_error is None or not on_error(error):
            print(error.one_line(), file=sys.stderr)
        return error.exit_code
    return result.exit_code


class _Progress:
    """A record counter on stderr when it is a terminal; nothing when piped."""

    def __init__(self, enabled: bool) -> None:
        self.count = 0
        self.enabled = enabled

    @classmethod
    def create(cls) -> _Progress:
        return cls(sys.stderr.isatty())

    def tick(self) -> None:
        self.count += 1
        if self.enabled and self.count % 100 == 0:
            sys.stderr.write(f"\r{self.count} records")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self.count >= 100:
            sys.stderr.write(f"\r{self.count} records\n")
