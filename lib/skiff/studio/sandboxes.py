"""Vendor sandboxes started from the page: one per name, on a free loopback port, until stopped."""

from __future__ import annotations

import threading
from typing import Any

from ..errors import ConfigError
from ..sandbox import SandboxServer, list_sandboxes, load_sandbox, serve

__all__ = ["SandboxPool"]


class SandboxPool:
    """The running sandboxes, with the cfg that reaches each (base URL plus its credentials)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, tuple[SandboxServer, dict[str, Any]]] = {}

    def available(self) -> list[str]:
        return list_sandboxes()

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            running = dict(self._running)
        return [
            {"name": name, "running": name in running, **({"url": running[name][0].url} if name in running else {})}
            for name in self.available()
        ]

    def start(self, name: str, *, seed: int = 1, options: dict[str, Any] | None = None) -> dict[str, Any]:
        """Start ``name`` (or return the one already running): ``{name, url, cfg}``.

        ``options`` are the sandbox's own (keyword arguments of its ``create_app``).
        """
        if name not in self.available():
            raise ConfigError(f"unknown sandbox {name!r}; known: {', '.join(self.available())}")
        with self._lock:
            if name not in self._running:
                try:
                    app = load_sandbox(name, seed=seed, **(options or {}))
                except TypeError as exc:
                    raise ConfigError(f"sandbox {name}: {exc}") from None
                server = serve(app, host="127.0.0.1", port=0)
                self._running[name] = (server, {"baseUrl": server.base_url, **app.default_credentials})
            server, cfg = self._running[name]
        return {"name": name, "url": server.url, "cfg": dict(cfg)}

    def cfg(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._running.get(name)
        return dict(entry[1]) if entry else None

    def stop(self, name: str) -> None:
        with self._lock:
            entry = self._running.pop(name, None)
        if entry is not None:
            entry[0].stop()

    def close(self) -> None:
        for name in list(self._running):
            self.stop(name)
