"""Serving the studio: uvicorn on loopback in a thread, and the URL with its token."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn

from .app import StudioSettings, create_app
from .security import new_token

__all__ = ["StudioServer", "serve_studio"]


class StudioServer:
    """A running studio: ``url`` (with the token), ``base_url``, ``stop()``."""

    def __init__(self, settings: StudioSettings, host: str, port: int) -> None:
        self.settings = settings
        self.host = host
        config = uvicorn.Config(
            create_app(settings),
            host=host,
            port=port,
            lifespan="on",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        # Bound here, so that a taken port is one clear OSError before anything starts.
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._socket.bind((host, port))
        except OSError:
            self._socket.close()
            raise
        self.port = int(self._socket.getsockname()[1])
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=lambda: self._server.run(sockets=[self._socket]), name="skiff-studio", daemon=True
        )

    def start(self, timeout: float = 15.0) -> StudioServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the studio did not start on {self.host}")
            time.sleep(0.01)
        return self

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base_url}/?token={self.settings.token}"

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> StudioServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def serve_studio(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    home: Path,
    flows_dir: Path,
    token: str | None = None,
) -> StudioServer:
    """Start the studio and return once it accepts connections."""
    settings = StudioSettings(token=token or new_token(), home=home, flows_dir=flows_dir)
    return StudioServer(settings, host, port).start()
