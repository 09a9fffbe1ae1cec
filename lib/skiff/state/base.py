"""The snapshot store interface and what every store shares."""

from __future__ import annotations

import builtins
import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, Final, NamedTuple, Self

from skiff.errors import ComponentError
from skiff.http.redact import redact_url  # the one URL redaction (store URLs carry passwords)

__all__ = ["SNAPSHOT_LIMIT", "SnapshotEntry", "SnapshotStore", "decode", "encode", "redact_url"]

# elastic.io documents 5 KB; the polling engine stays under it, a store only warns.
SNAPSHOT_LIMIT: Final = 5120
MAX_KEY_LENGTH: Final = 1024

log = logging.getLogger("skiff.state")


class SnapshotEntry(NamedTuple):
    key: str
    snapshot: dict[str, Any]
    updated_at: datetime  # aware, UTC


class SnapshotStore(ABC):
    """Where triggers keep their snapshots, one JSON object per key.

    ``put`` replaces a snapshot atomically: a reader (or a restart after a crash) sees the old
    snapshot or the new one, never a mix. One poller per key at a time: see :mod:`skiff.state.lease`.
    """

    @abstractmethod
    async def get(self, key: str) -> dict[str, Any] | None:
        """The snapshot under ``key``, or None."""

    @abstractmethod
    async def put(self, key: str, snapshot: Mapping[str, Any]) -> None:
        """Replace the snapshot under ``key`` (one atomic write)."""

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Forget ``key`` (no error if it is absent)."""

    @abstractmethod
    async def list(self, prefix: str = "") -> builtins.list[SnapshotEntry]:
        """Every snapshot whose key starts with ``prefix``, sorted by key."""

    @abstractmethod
    async def try_lease(self, key: str, owner: str, ttl: float, *, replace: str | None = None) -> bool:
        """Take or renew the lease on ``key`` for ``ttl`` seconds; False while another owner holds it.

        ``replace`` names a holder known to be dead (same host, process gone): taken over at once.

        A lease keeps two pollers off one key: it is renewed while its poller runs and expires
        ``ttl`` seconds after the poller died, so a crash never blocks the key for long.
        """

    @abstractmethod
    async def lease_holder(self, key: str) -> str | None:
        """Who holds the lease on ``key`` now (None: nobody, or it expired)."""

    @abstractmethod
    async def release_lease(self, key: str, owner: str) -> None:
        """Give the lease up (only if ``owner`` still holds it)."""

    async def close(self) -> None:  # noqa: B027  (optional: stores without connections need nothing)
        """Release connections; the store cannot be used afterwards."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


def check_key(key: str) -> str:
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise ComponentError(f"a snapshot key must be a non-empty string of at most {MAX_KEY_LENGTH} characters")
    return key


def encode(key: str, snapshot: Mapping[str, Any]) -> str:
    """The JSON text of a snapshot; a warning when it exceeds elastic.io's 5 KB."""
    check_key(key)
    if not isinstance(snapshot, Mapping):
        raise ComponentError(f"the snapshot for {key!r} must be a JSON object, not {type(snapshot).__name__}")
    try:
        text = json.dumps(dict(snapshot), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ComponentError(f"the snapshot for {key!r} is not JSON: {exc}") from None
    size = len(text.encode())
    if size > SNAPSHOT_LIMIT:
        log.warning("snapshot %r is %d bytes, over the %d-byte limit of elastic.io", key, size, SNAPSHOT_LIMIT)
    return text


def decode(text: str | bytes) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ComponentError("a stored snapshot is not a JSON object")
    return value
