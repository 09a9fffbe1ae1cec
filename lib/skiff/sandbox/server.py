"""Run a sandbox with uvicorn in a background thread (tests, demos and ``skiff sandbox``)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from .app import TRANSPORT_SCOPE_KEY, SandboxApp

__all__ = ["SandboxServer", "serve"]


class _WithTransport:
    """Adds the connection's transport to the scope (what the "drop" fault closes)."""

    def __init__(self, app: ASGIApp, transport: asyncio.Transport) -> None:
        self.app = app
        self.transport = transport

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[TRANSPORT_SCOPE_KEY] = self.transport
        await self.app(scope, receive, send)


class _DroppableH11(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.app = _WithTransport(self.app, transport)


class SandboxServer:
    """A running sandbox: ``url`` (no prefix), ``base_url`` (with the vendor prefix), ``stop()``."""

    def __init__(self, app: SandboxApp, host: str, port: int, *, log_level: str = "warning") -> None:
        self.app = app
        self.host = host
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            http=_DroppableH11,
            lifespan="off",
            log_level=log_level,
            access_log=False,
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._port = port
        self._thread: threading.Thread | None = None
        self.port = 0

    def start(self, timeout: float = 10.0) -> SandboxServer:
        """Bind here, in the caller's thread, so that a port in use is an ``OSError`` the caller
        can report (uvicorn would log it and exit its thread), then serve in the background."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: TIME_WAIT is no conflict
            sock.bind((self.host, self._port))
        except OSError:
            sock.close()
            raise
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"sandbox-{self.app.name}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"sandbox {self.app.name} did not start on {self.host}")
            time.sleep(0.01)
        sockets: list[Any] = [s for server in self._server.servers for s in server.sockets]
        self.port = int(sockets[0].getsockname()[1])
        return self

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.url + self.app.prefix

    def stop(self, timeout: float = 5.0) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def serve(app: SandboxApp, host: str = "127.0.0.1", port: int = 0, *, log_level: str = "warning") -> SandboxServer:
    """Start ``app`` on ``host:port`` (0: a free port) and return once it accepts connections."""
    return SandboxServer(app, host, port, log_level=log_level).start()
