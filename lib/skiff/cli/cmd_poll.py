"""``skiff poll COMPONENT TRIGGER --cfg ... --every 60s``: poll until SIGINT/SIGTERM.

A stop request takes effect at the next commit point (a page boundary): the snapshot that was
just written covers everything printed, so the next start continues exactly there. A second
Ctrl-C stops at once; the records after the last commit are then emitted again (same ids).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import sys

import click

from ..errors import ConfigError, InputError

__all__ = ["parse_interval", "poll"]


def parse_interval(text: str) -> float:
    """``60``, ``60s``, ``5m``, ``1h``, ``250ms`` → seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", text)
    if not m:
        raise ConfigError(f"--every {text!r}: expected a duration such as 30s, 5m or 1h")
    value = float(m.group(1))
    factor = {"ms": 0.001, "s": 1.0, None: 1.0, "m": 60.0, "h": 3600.0}[m.group(2)]
    return value * factor


@click.command()
@click.argument("component")
@click.argument("trigger")
@click.option("--cfg", help="cfg as JSON, @file (JSON/YAML) or -.")
@click.option("--body", help="Message body (rarely needed for triggers).")
@click.option("--every", default="60s", show_default=True, help="Interval between polls.")
@click.option("--state", help="Snapshot store: a path (SQLite) or redis:// / postgresql:// URL.")
@click.option("--messages", is_flag=True, help="Print whole messages, not only bodies.")
@click.option("--flow-id", default="default", help="Keys the trigger's snapshot (one per flow).")
@click.option("--max-polls", type=int, help="Stop after this many polls.")
def poll(
    component: str,
    trigger: str,
    cfg: str | None,
    body: str | None,
    every: str,
    state: str | None,
    messages: bool,
    flow_id: str,
    max_polls: int | None,
) -> None:
    """Poll a trigger every interval until stopped; each poll commits its snapshot."""
    from . import _load_cfg, parse_json_arg
    from .runner import StopRequested, run_call

    interval = parse_interval(every)
    config = _load_cfg(cfg)
    message_body = parse_json_arg(body, "body", error=InputError) if body is not None else {}

    async def loop() -> int:
        stop = asyncio.Event()
        loop_ = asyncio.get_running_loop()

        def request_stop() -> None:
            if stop.is_set():
                raise KeyboardInterrupt  # second signal: stop now
            stop.set()
            print("stopping after the current page ...", file=sys.stderr)

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop_.add_signal_handler(sig, request_stop)
        polls = 0
        code = 0
        while not stop.is_set():
            try:
                code = await run_call(
                    component,
                    trigger,
                    cfg=config,
                    body=message_body,
                    messages=messages,
                    state=state,
                    flow_id=flow_id,
                    stop=stop,
                    require_trigger=True,
                )
            except StopRequested:
                break
            polls += 1
            if code not in (0, 5) or (max_polls is not None and polls >= max_polls):
                break  # config/auth/API errors do not fix themselves; transient ones may
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
        return code

    sys.exit(asyncio.run(loop()))
