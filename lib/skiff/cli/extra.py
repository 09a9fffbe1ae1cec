"""Commands beyond the core call commands: sandbox, poll, state, generate, demo."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from ..errors import ConfigError
from .lazy import LazyGroup

__all__ = ["register"]


@click.command()
@click.argument("name")
@click.option("--port", default=0, show_default="a free port", type=int)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--seed", default=1, show_default=True, type=int, help="Seed of the generated data.")
@click.option("--no-rate-limits", is_flag=True, help="Switch the vendor's throttles off.")
def sandbox(name: str, port: int, host: str, seed: int, no_rate_limits: bool) -> None:
    """Serve the sandbox of a component (components/NAME/sandbox) until stopped."""
    import signal
    import threading

    from ..sandbox import list_sandboxes, load_sandbox, serve

    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ConfigError(f"--host {host}: sandboxes listen on loopback only")
    known = list_sandboxes()
    if name not in known:
        raise ConfigError(f"unknown sandbox {name!r}; known: {', '.join(known)}")
    options: dict[str, Any] = {}
    if no_rate_limits:
        options["rate_limits"] = False
    try:
        app = load_sandbox(name, seed=seed, **options)
    except TypeError as exc:
        raise ConfigError(f"sandbox {name}: {exc}") from None
    try:
        server = serve(app, host=host, port=port)
    except OSError as exc:
        import errno

        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(f"--port {port}: {host}:{port} is already in use") from None
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    click.echo(f"{name} sandbox on {server.base_url}")
    click.echo(f"  base URL:    {server.base_url}")
    for key, value in app.default_credentials.items():
        click.echo(f"  {key + ':':<12} {value}")
    click.echo(f"  admin:       {server.url}/_sandbox/health  (reset, seed, faults, requests)")
    cfg = {"baseUrl": server.base_url, **app.default_credentials}
    click.echo(f"  cfg:         {json.dumps(cfg)}")
    click.echo("Ctrl-C to stop.")
    sys.stdout.flush()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.stop()


# Imported when used: ``skiff run`` need not load the demo (rich), flows, the worker or the generator.
_LAZY = {
    "poll": ".cmd_poll:poll",
    "state": ".cmd_state:state",
    "generate": ".cmd_generate:generate",
    "demo": ".cmd_demo:demo",
    "flow": ".cmd_flow:flow",
    "worker": ".cmd_worker:worker",
    "studio": ".cmd_studio:studio",
}


def register(cli: LazyGroup) -> None:
    """Add the commands that live in this module and, by name, those of their own modules."""
    cli.add_command(sandbox)
    for name, target in _LAZY.items():
        cli.add_lazy_command(name, target)
