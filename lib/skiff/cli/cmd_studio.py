"""``skiff studio``: serve the web app on loopback and print its URL with a one-time token."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path

import click

from ..errors import ConfigError

__all__ = ["studio"]


@click.command()
@click.option("--port", default=8765, show_default=True, type=int, help="0 picks a free port.")
@click.option("--host", default="127.0.0.1", show_default=True, help="A loopback address.")
@click.option(
    "--flows",
    "flows_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default="the current folder",
    help="Where flow files are opened and saved.",
)
@click.option(
    "--components",
    "extra",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="An extra component folder, or a folder of them (repeatable).",
)
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    show_default="$SKIFF_HOME or ~/.skiff",
    help="Where saved credentials (encrypted) and their key live.",
)
def studio(port: int, host: str, flows_dir: Path, extra: tuple[Path, ...], home: Path | None) -> None:
    """Serve skiff studio: browse components, try them against a sandbox, draw and run flows."""
    from ..studio import serve_studio

    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ConfigError(f"--host {host}: the studio listens on loopback only")
    home = home or Path(os.environ.get("SKIFF_HOME") or Path.home() / ".skiff")
    if not logging.getLogger("skiff").isEnabledFor(logging.DEBUG):
        # The request log goes to the page; the terminal stays quiet unless --debug.
        logging.getLogger("skiff.http").propagate = False
    if extra:
        # Where every part of skiff looks for components: the catalogue and the flows run here.
        known = [p for p in os.environ.get("SKIFF_COMPONENTS_PATH", "").split(os.pathsep) if p]
        os.environ["SKIFF_COMPONENTS_PATH"] = os.pathsep.join([*known, *(str(p.resolve()) for p in extra)])
    try:
        server = serve_studio(host=host, port=port, home=home, flows_dir=flows_dir)
    except OSError as exc:
        raise ConfigError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None
    except RuntimeError as exc:
        raise ConfigError(str(exc)) from None
    click.echo("skiff studio is running. Open this URL in a browser (it carries your one-time token):")
    click.echo(f"    {server.url}")
    click.echo(f"flows folder: {flows_dir.resolve()}   credentials: {home}   Ctrl-C to stop.")
    sys.stdout.flush()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.5):
        if not server.running:
            break
    server.stop()
