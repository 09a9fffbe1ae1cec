"""The request log of a sandbox, with secrets masked so it can be shown in demos and test output."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from typing import Any

__all__ = ["MASK", "RequestLog", "is_secret_name", "mask_headers", "mask_query"]

MASK = "***"


def is_secret_name(name: str) -> bool:
    """Header or parameter names that may carry credentials (Authorization, X-Api-Key, ...).

    The runtime's one list of secret-looking names (:func:`skiff.http.redact.is_sensitive_name`).
    """
    from skiff.http.redact import is_sensitive_name

    return is_sensitive_name(name)


def mask_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        if is_secret_name(key):
            # Keep the scheme ("Basic", "Bearer") so a reader can still tell which auth was used.
            scheme = value.split(" ", 1)[0] if key == "authorization" and " " in value else ""
            out[key] = f"{scheme} {MASK}" if scheme else MASK
        else:
            out[key] = value
    return out


def mask_query(params: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Query parameters as a dict (repeated names become lists), secret-looking ones masked."""
    out: dict[str, Any] = {}
    for name, value in params:
        shown = MASK if is_secret_name(name) else value
        if name in out:
            previous = out[name]
            out[name] = [*previous, shown] if isinstance(previous, list) else [previous, shown]
        else:
            out[name] = shown
    return out


class RequestLog:
    """A bounded list of request records: method, path, query, status, time, duration, headers."""

    def __init__(self, maxlen: int = 10_000) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def add(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
