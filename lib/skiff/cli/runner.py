"""``skiff run``/``skiff poll``: one call through a :class:`skiff.run.Session`, printed as JSON lines.

The adapter only wires things up: the component and function, the snapshot store (triggers),
a :class:`~skiff.run.Session` on the caller's executor, and a :class:`~skiff.cli.sink.StdoutSink`
that turns events into output; then it maps the outcome to an exit code.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from typing import Any

from ..component import resolve_component
from ..errors import ConfigError, SkiffError
from ..message import Message
from ..run import Executor, ReboundPolicy, RunResult, Session
from .limit import LimitReached
from .sink import StdoutSink

__all__ = ["run_call"]


async def run_call(
    executor: Executor,
    component_ref: str,
    function_name: str,
    *,
    cfg: dict[str, Any],
    body: Any,
    sink: StdoutSink | None = None,
    state: str | None = None,
    dry_run: bool = False,
    flow_id: str = "default",
    stop: Any = None,
    require_trigger: bool = False,
    on_error: Callable[[SkiffError], bool] | None = None,
    rebounds: ReboundPolicy | None = None,
) -> int:
    """Run one call, its events into ``sink`` (default: bodies to stdout); returns the exit code.

    The caller owns ``executor`` (``skiff poll`` keeps one, and its rate limiter, across polls).
    ``on_error`` sees the error first and returns True when it has told the user itself;
    ``rebounds``: run again on a rebound. A sink is for one call (it counts for ``--limit``).
    """
    component = resolve_component(component_ref)
    function = component.function(function_name)
    if require_trigger and function.kind != "trigger":
        raise ConfigError(f"{component.name}.{function.name} is an action, not a trigger")
    sink = sink or StdoutSink(sys.stdout, cfg=cfg)
    result: RunResult | None = None
    async with contextlib.AsyncExitStack() as stack:
        store = None
        if function.kind == "trigger":
            from ..state import open_store  # SQLite/Redis/PostgreSQL: only for triggers

            store = open_store(state)
            stack.push_async_callback(store.close)
        stack.callback(sink.close)  # flushed and reported before the store closes
        try:
            session = Session(
                executor, component, function.name, dict(cfg), store=store, flow_id=flow_id, dry_run=dry_run, stop=stop
            )
            result = await session.run(Message(body=body), sink, rebounds=rebounds)
        except LimitReached:
            pass  # the records asked for are out
        except SkiffError as err:  # before the call (another poller holds the key): one line, its code
            sink.error = err
    error = sink.error or (result.error if result is not None else None)  # the session's own: the rebound limit
    if error is not None:
        if on_error is None or not on_error(error):
            print(error.one_line(), file=sys.stderr)
        return error.exit_code
    return result.exit_code if result is not None else 0
