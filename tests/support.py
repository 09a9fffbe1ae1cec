"""Shared test helpers: a real ASGI server on 127.0.0.1 and the ``skiff`` CLI as a subprocess."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.types import ASGIApp

SKIFF = [sys.executable, "-m", "skiff.cli.__main__"]


@contextmanager
def serve_asgi(app: ASGIApp) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on a free loopback port; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)


def skiff_cmd(*args: str, cfg: Any = None, body: Any = None) -> list[str]:
    cmd = [*SKIFF, *args]
    if cfg is not None:
        cmd += ["--cfg", json.dumps(cfg)]
    if body is not None:
        cmd += ["--body", json.dumps(body)]
    return cmd


def json_lines(text: str) -> list[Any]:
    out = []
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out
