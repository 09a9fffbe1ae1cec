"""``skiff poll COMPONENT TRIGGER --cfg ... --every 60s``: poll until SIGINT/SIGTERM.

A stop request takes effect at the next commit point (a page boundary): the snapshot that was
just written covers everything printed, so the next start continues exactly there. A second
Ctrl-C stops at once; the records after the last commit are then emitted again (same ids).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

import click

from ..errors import ConfigError, InputError, RateLimited, SkiffError

__all__ = ["parse_interval", "poll"]


def _duration(seconds: float) -> str:
    """``59 min 58 s``, ``12 s``: how long a poll waits, for people."""
    whole = max(1, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else "", f"{secs} s" if secs else ""]
    return " ".join(p for p in parts if p)


def parse_interval(text: str, option: str = "--every") -> float:
    """``60``, ``60s``, ``5m``, ``1h``, ``250ms`` → seconds (a ConfigError naming the option if not)."""
    from ..clock import parse_duration

    try:
        return parse_duration(text)
    except ValueError:
        raise ConfigError(f"{option} {text!r}: expected a duration such as 30s, 5m or 1h") from None


MIN_INTERVAL = 1.0  # below a second a poll loop only hammers the API


def _show_waits() -> None:
    """Rate-limit waits of a second or more go to stderr, so a quiet poll is not taken for a hung one."""
    from ..http.ratelimit import waits_log

    if waits_log.handlers:  # the skiff command set it up already
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    waits_log.addHandler(handler)
    waits_log.setLevel(logging.INFO)
    waits_log.propagate = False


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
@click.option(
    "--rate-limits",
    envvar="SKIFF_RATE_LIMITS",
    help="Share rate-limit windows with other processes (redis://...; env SKIFF_RATE_LIMITS).",
)
@click.option("--timeout", default="120s", show_default=True, help="Total time one request may take, retries included.")
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
    rate_limits: str | None,
    timeout: str,
) -> None:
    """Poll a trigger every interval until stopped; each poll commits its snapshot."""
    from ..http import shared_limiter
    from ..run import Executor, StopRequested
    from ..state import LeaseHeld
    from . import _cfg_file, _load_cfg, parse_json_arg
    from .runner import run_call
    from .sink import StdoutSink

    interval = parse_interval(every)
    if interval < MIN_INTERVAL:
        raise ConfigError(f"--every {every}: polls must be at least {MIN_INTERVAL:g} s apart")
    _show_waits()
    config = _load_cfg(cfg)
    message_body = parse_json_arg(body, "body", error=InputError) if body is not None else {}

    async def loop() -> int:
        stop = asyncio.Event()
        loop_ = asyncio.get_running_loop()

        idle = False  # between polls: nothing to finish, so a stop is immediate

        def request_stop() -> None:
            if stop.is_set():
                raise KeyboardInterrupt  # second signal: stop now
            stop.set()
            print("stopping now" if idle else "stopping after the current page ...", file=sys.stderr)

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop_.add_signal_handler(sig, request_stop)
        polls = 0
        code = 0
        wait = [0.0]

        def rate_limited(error: SkiffError) -> bool:
            # A throttle (declared, or the API's Retry-After) longer than the retry budget: wait
            # for it and say so, rather than poll into a 429 on every interval.
            if not isinstance(error, RateLimited) or not error.retry_after:
                return False
            wait[0] = error.retry_after
            print(f"{trigger}: {error.message}; next poll in {_duration(max(interval, wait[0]))}", file=sys.stderr)
            return True

        # One executor for every poll: its rate limiter remembers what earlier polls sent.
        async with Executor(
            limiter=shared_limiter(rate_limits), timeout=parse_interval(timeout, "--timeout")
        ) as executor:
            while not stop.is_set():
                wait[0] = 0.0
                try:
                    code = await run_call(
                        executor,
                        component,
                        trigger,
                        cfg=config,
                        body=message_body,
                        sink=StdoutSink(sys.stdout, messages=messages, cfg=config, cfg_file=_cfg_file(cfg)),
                        state=state,
                        flow_id=flow_id,
                        stop=stop,
                        require_trigger=True,
                        on_error=rate_limited,
                    )
                except StopRequested:
                    break
                except LeaseHeld as held:
                    # Another poller runs on this key: say so once a round, and try again later.
                    print(held.one_line(), file=sys.stderr)
                    code = held.exit_code
                polls += 1
                if code not in (0, 5) or (max_polls is not None and polls >= max_polls):
                    break  # config/auth/API errors do not fix themselves; transient ones may
                idle = True
                pause = max(interval, wait[0])
                logging.getLogger("skiff.cli").debug("poll %d done; next in %g s", polls, pause)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=pause)
                idle = False
        return code

    sys.exit(asyncio.run(loop()))
