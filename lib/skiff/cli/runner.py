"""``skiff run``/``skiff poll``: one call through a :class:`skiff.run.Session`, printed as JSON lines.

The CLI is a transport: data goes to stdout, and delivery is settled by flushing stdout, so a
trigger's snapshot is stored only after the records before it were written out.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from ..component import resolve_component
from ..errors import ConfigError, SkiffError
from ..http import RateLimiter
from ..http.client import DEFAULT_TOTAL_TIMEOUT
from ..message import Message
from ..run import Data, Error, Event, Executor, ReboundPolicy, Session, StopRequested, UpdateKeys, transport
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
    cfg_file: Path | None = None,
    timeout: float = DEFAULT_TOTAL_TIMEOUT,
    rebounds: ReboundPolicy | None = None,
) -> int:
    """Run one call and print its data; returns the exit code.

    ``executor``: reuse one (``skiff poll`` keeps its rate limiter across polls); ``on_error``
    sees the error first and returns True when it has told the user itself. ``limit``: stop
    after that many records (a trigger's snapshot then stays at its last commit, so the next
    run emits the rest of that page again: nothing is lost). ``attachments``: a folder that
    each attachment is written to; the printed body names the file. ``rate_limits``: a
    ``redis://`` URL whose windows every process using it shares (throttles span processes).
    ``cfg_file``: where the cfg came from (new keys are written back); ``rebounds``: run again
    on a rebound.
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
        elif isinstance(event, UpdateKeys):
            cfg.update(event.keys)  # the caller's next call (skiff poll) uses them too
            _update_keys(cfg_file, event.keys)

    async def settle() -> None:
        lines.flush()

    try:
        async with contextlib.AsyncExitStack() as stack:
            if executor is None:
                executor = await stack.enter_async_context(
                    Executor(limiter=shared_limiter(rate_limits), timeout=timeout)
                )
            session = Session(
                executor, component, function.name, dict(cfg), store=store, flow_id=flow_id, dry_run=dry_run, stop=stop
            )
            result = await session.run(Message(body=body), transport(deliver, settle), rebounds=rebounds)
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
    if error is None and result is not None and result.error is not None:
        error = result.error  # the session's own (the rebound limit)
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


def _update_keys(cfg_file: Path | None, keys: dict[str, Any]) -> None:
    """Keep the component's new credential values: in the ``--cfg @file``, or say that they came."""
    names = ", ".join(sorted(keys))
    if cfg_file is None or cfg_file.suffix not in (".json", ""):
        # The values are secrets: never printed, only named.
        print(
            f"updateKeys: the component sent new values for {names}; give --cfg @file.json to keep them",
            file=sys.stderr,
        )
        return
    try:
        current = json.loads(cfg_file.read_text(encoding="utf-8"))
        if not isinstance(current, dict):
            raise ValueError("not a JSON object")
        tmp = cfg_file.with_name(cfg_file.name + ".tmp")
        tmp.write_text(json.dumps({**current, **keys}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.chmod(tmp, cfg_file.stat().st_mode & 0o777)
        os.replace(tmp, cfg_file)  # atomic: a crash leaves the old file or the new one
    except (OSError, ValueError) as exc:
        print(f"updateKeys: cannot update {cfg_file}: {exc}; new values for {names} are lost", file=sys.stderr)
        return
    print(f"updateKeys: {names} updated in {cfg_file}", file=sys.stderr)


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
