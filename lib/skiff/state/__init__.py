"""Snapshot stores: where polling triggers keep their cursor between polls.

``open_store(target)`` picks the store from a path or URL:

- a plain path or ``sqlite:///relative/path`` / ``sqlite:////absolute/path``: :class:`SQLiteStore`
  (the embedded default, ``./.skiff/state.db``; ``SKIFF_STATE`` overrides it),
- ``redis://`` / ``rediss://`` / ``unix://``: :class:`RedisStore`,
- ``postgresql://`` / ``postgres://``: :class:`PostgresStore`,
- ``memory://``: :class:`MemoryStore`.

Snapshots are JSON objects; a store warns above elastic.io's 5 KB but keeps them (the polling
engine keeps its own under the limit).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from skiff.errors import ConfigError
from skiff.state.base import SNAPSHOT_LIMIT, SnapshotEntry, SnapshotStore, redact_url
from skiff.state.lease import Lease, LeaseHeld
from skiff.state.memory import MemoryStore
from skiff.state.sqlite import DEFAULT_SQLITE_PATH, SQLiteStore

if TYPE_CHECKING:
    from skiff.state.postgres_store import PostgresStore
    from skiff.state.redis_store import RedisStore

__all__ = [
    "DEFAULT_SQLITE_PATH",
    "SNAPSHOT_LIMIT",
    "Lease",
    "LeaseHeld",
    "MemoryStore",
    "PostgresStore",
    "RedisStore",
    "SQLiteStore",
    "SnapshotEntry",
    "SnapshotStore",
    "default_location",
    "open_store",
]


def __getattr__(name: str) -> Any:
    # The network stores import redis/psycopg: load them only when asked for.
    if name == "RedisStore":
        from skiff.state.redis_store import RedisStore

        return RedisStore
    if name == "PostgresStore":
        from skiff.state.postgres_store import PostgresStore

        return PostgresStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def default_location() -> str:
    """Where snapshots are kept when no store is named: ``$SKIFF_STATE`` or ``./.skiff/state.db``."""
    return os.environ.get("SKIFF_STATE") or DEFAULT_SQLITE_PATH


def open_store(target: str | os.PathLike[str] | None = None) -> SnapshotStore:
    """The store for a path or URL (None: :func:`default_location`)."""
    if target is None:
        target = default_location()
    text = os.fspath(target)
    if not text:
        raise ConfigError("the state store location is empty")
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in ("redis", "rediss", "unix"):
        from skiff.state.redis_store import RedisStore

        return RedisStore(text)
    if scheme in ("postgresql", "postgres"):
        from skiff.state.postgres_store import PostgresStore

        return PostgresStore(text)
    if scheme == "sqlite":
        rest = text[len("sqlite://") :]
        if rest in ("", "/", "/:memory:"):
            return SQLiteStore(":memory:")
        # SQLAlchemy's convention: sqlite:///relative.db, sqlite:////absolute.db
        return SQLiteStore(rest[1:] if rest.startswith("/") else rest)
    if scheme == "memory":
        return MemoryStore()
    if scheme:
        raise ConfigError(
            f"unknown state store {redact_url(text)!r}: use a path, sqlite:///path, redis://, postgresql:// or memory://"
        )
    return SQLiteStore(text)
