"""A store in memory: tests, dry runs, one-off runs."""

from __future__ import annotations

import builtins
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from skiff.state.base import SnapshotEntry, SnapshotStore, check_key, decode, encode

__all__ = ["MemoryStore"]


class MemoryStore(SnapshotStore):
    """Keeps the JSON text, so a snapshot is copied in and out exactly as a real store would."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[str, datetime]] = {}
        self._leases: dict[str, tuple[str, float]] = {}

    async def get(self, key: str) -> dict[str, Any] | None:
        item = self._data.get(check_key(key))
        return decode(item[0]) if item else None

    async def put(self, key: str, snapshot: Mapping[str, Any]) -> None:
        self._data[key] = (encode(key, snapshot), datetime.now(UTC))

    async def delete(self, key: str) -> None:
        self._data.pop(check_key(key), None)

    async def list(self, prefix: str = "") -> builtins.list[SnapshotEntry]:
        return [
            SnapshotEntry(key, decode(text), updated)
            for key, (text, updated) in sorted(self._data.items())
            if key.startswith(prefix)
        ]

    async def try_lease(self, key: str, owner: str, ttl: float, *, replace: str | None = None) -> bool:
        now = time.monotonic()
        holder = self._leases.get(check_key(key))
        if holder is not None and holder[0] not in (owner, replace) and holder[1] > now:
            return False
        self._leases[key] = (owner, now + ttl)
        return True

    async def lease_holder(self, key: str) -> str | None:
        holder = self._leases.get(check_key(key))
        return holder[0] if holder is not None and holder[1] > time.monotonic() else None

    async def release_lease(self, key: str, owner: str) -> None:
        if self._leases.get(key, ("", 0.0))[0] == owner:
            del self._leases[key]
