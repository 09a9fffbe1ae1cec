"""``skiff run``/``skiff poll``: one call through a :class:`skiff.run.Session`, printed as JSON lines.

The CLI is a transport: data goes to stdout, and delivery is settled by flushing stdout, so a
trigger's snapshot is stored only after the records before it were written out.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from typing import IO, Any

from ..component import resolve_component
from ..errors import ConfigError, SkiffError
from ..http import RateLimiter
from ..message import Message
from ..run import Data, Error, Event, Executor, Session, StopRequested, transport
from .output import JsonLines

__all__ = ["StopRequested", "default_state_path", "run_call", "shared_limiter"]


def default_state_path() -> str:
    return os.environ.get("SKIFF_STATE", ".skiff/state.db")


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
    out: IO[str] | None = None,
    stop: Any = None,
    require_trigger: bool = False,
    executor: Executor | None = None,
    on_error: Callable[[SkiffError], bool] | None = None,
    limit: int | None = None,
    attachments: str | None = None,
    rate_limits: str | None = None,
) -> int:
    """Run one call and print its data; returns the exit code.

    ``executor``: reuse one (``skiff poll`` keeps its rate limiter across polls); ``on_error``
    sees the error first and returns True when it has told the user itself. ``limit``: stop
    after that many records (a trigger's snapshot then stays at its last commit, so the next
    run emits the rest of that page again: nothing is lost). ``attachments``: a folder that
    each attachment is written to; the printed body names the file. ``rate_limits``: a
    ``redis://`` URL whose windows every process using it shares (throttles span processes).
    """
    lines = JsonLines(out or sys.stdout)
    component = resolve_component(component_ref)
    function = component.function(function_name)
    if require_trigger and function.kind != "trigger":
        raise ConfigError(f"{component.name}.{function.name} is an action, not a trigger")
    store = None
    if function.kind == "trigger":
        from ..state import open_store

        store = open_store(state or default_state_path())
    progress = _Progress(sys.stderr.isatty())
    error: SkiffError | None = None
    result = None

    folder = None
    if attachments is not None:
        from ..attachments import FolderStore

        folder = FolderStore(attachments)
    unwritten = 0

    async def deliver(event: Event) -> None:
        nonlocal error, unwritten
        if isinstance(event, Data):
            message = event.message
            body = message.body
            if message.attachments and folder is not None:
                from urllib.parse import urlparse
                from urllib.request import url2pathname

                from ..attachments import store_attachments

                await store_attachments(message, folder)
                if not messages and isinstance(body, dict):  # bodies only: say where the files are
                    paths = {n: url2pathname(urlparse(a.url).path) for n, a in message.attachments.items() if a.url}
                    body = {**body, "attachments": paths}
            elif message.attachments:
                unwritten += len(message.attachments)
            lines.write(message.to_dict() if messages else body)
            progress.tick()
            if limit is not None and progress.count >= limit:
                raise _LimitReached
        elif isinstance(event, Error):
            error = event.error

    async def settle() -> None:
        lines.flush()

    try:
        async with contextlib.AsyncExitStack() as stack:
            if executor is None:
                executor = await stack.enter_async_context(Executor(limiter=shared_limiter(rate_limits)))
            session = Session(
                executor, component, function.name, cfg, store=store, flow_id=flow_id, dry_run=dry_run, stop=stop
            )
            result = await session.run(Message(body=body), transport(deliver, settle))
    except _LimitReached:
        pass  # the records asked for are out; no further page is fetched
    except SkiffError as err:  # before the call (another poller holds the key): one line, its code
        error = err
    finally:
        progress.close()
        lines.flush()
        if store is not None:
            await store.close()
    if unwritten:
        print(f"{unwritten} attachment(s) not written: --attachments DIR writes them", file=sys.stderr)
    if error is not None:
        if on_error is None or not on_error(error):
            print(error.one_line(), file=sys.stderr)
        return error.exit_code
    return result.exit_code if result is not None else 0


class _LimitReached(BaseException):
    """``--limit`` records are out: ends the call from inside delivery (no handler may catch it)."""


def shared_limiter(url: str | None) -> RateLimiter | None:
    """The limiter behind ``--rate-limits``: windows in Redis, shared by every process using it."""
    if not url:
        return None
    if not url.startswith(("redis://", "rediss://")):
        raise ConfigError(f"--rate-limits {url!r}: expected a redis:// URL")
    return RateLimiter(storage_uri=url)


class _Progress:
    """A record counter on stderr when it is a terminal; nothing when piped."""

    def __init__(self, enabled: bool) -> None:
        self.count = 0
        self.enabled = enabled

    def tick(self) -> None:
        self.count += 1
        if self.enabled and self.count % 100 == 0:
            sys.stderr.write(f"\r{self.count} records")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self.count >= 100:
            sys.stderr.write(f"\r{self.count} records\n")
