"""A real HTTP server on 127.0.0.1 for the HTTP layer's tests.

``live(routes)`` starts a small Starlette app with uvicorn in a background thread on a free
port and records every request as it arrives (monotonic and wall-clock time, method, path,
query, headers), so tests can check what the server actually saw. ``live(routes, clock=c)``
stamps arrivals on the test's clock (a ManualClock: the server sees the client's time).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from skiff.clock import SYSTEM_CLOCK, Clock


@dataclass
class Hit:
    """One request as the server saw it on arrival."""

    at: float  # clock.monotonic()
    wall: float  # clock.time()
    method: str
    path: str
    query: str
    headers: dict[str, str]


@dataclass
class LiveServer:
    url: str
    port: int
    hits: list[Hit] = field(default_factory=list)
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None

    def count(self, path: str | None = None, method: str | None = None) -> int:
        return len(self.of(path, method))

    def of(self, path: str | None = None, method: str | None = None) -> list[Hit]:
        return [h for h in self.hits if (path is None or h.path == path) and (method is None or h.method == method)]

    def max_in_window(self, path: str | None = None, window: float = 1.0) -> int:
        """The most arrivals (at ``path``) within any half-open window of ``window`` seconds."""
        ordered = sorted(h.at for h in self.of(path))
        best = 0
        j = 0
        for i, t in enumerate(ordered):
            while ordered[j] <= t - window:
                j += 1
            best = max(best, i - j + 1)
        return best

    def stop(self) -> None:
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(5)


class _Recorder:
    """ASGI middleware recording arrivals before the app runs (timing checks use this)."""

    def __init__(self, app: ASGIApp, hits: list[Hit], clock: Clock) -> None:
        self.app = app
        self.hits = hits
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            self.hits.append(
                Hit(
                    self.clock.monotonic(),
                    self.clock.time(),
                    scope["method"],
                    scope["path"],
                    scope["query_string"].decode(),
                    headers,
                )
            )
        await self.app(scope, receive, send)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def free_port() -> int:
    """A port nothing listens on (connection refused) until a test starts a server there."""
    return _free_port()


def start_server(routes: Sequence[BaseRoute] | Starlette, *, port: int = 0, clock: Clock = SYSTEM_CLOCK) -> LiveServer:
    """Start ``routes`` (or a whole Starlette app) on 127.0.0.1; blocks until it listens."""
    app = routes if isinstance(routes, Starlette) else Starlette(routes=list(routes))
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    port = int(sock.getsockname()[1])
    live = LiveServer(url=f"http://127.0.0.1:{port}", port=port)
    config = uvicorn.Config(
        _Recorder(app, live.hits, clock),
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.005)
    live.server, live.thread = server, thread
    return live


@pytest.fixture
def live() -> Iterator[Callable[..., LiveServer]]:
    """``live(routes)`` → a started LiveServer, stopped after the test."""
    servers: list[LiveServer] = []

    def start(routes: Sequence[BaseRoute] | Starlette, **kw: Any) -> LiveServer:
        server = start_server(routes, **kw)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
