"""The embedded default: one SQLite file in WAL mode.

Each ``put`` is one autocommitted statement, so a process killed at any moment (SIGKILL
included) leaves the old snapshot or the new one, never a torn one, and a ``put`` that
returned survives the process. With ``synchronous=NORMAL`` (the default) a power loss may
roll back the last puts, which only means records are emitted again with the same message
ids; ``durable=True`` (``synchronous=FULL``) makes every put survive power loss too, at one
fsync per put.
"""

from __future__ import annotations

import asyncio
import builtins
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TypeVar

from skiff.errors import ConfigError, TransientError
from skiff.state.base import SnapshotEntry, SnapshotStore, check_key, decode, encode

__all__ = ["DEFAULT_SQLITE_PATH", "SQLiteStore"]

DEFAULT_SQLITE_PATH: Final = os.path.join(".skiff", "state.db")

_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS leases (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at REAL NOT NULL
)
"""


class SQLiteStore(SnapshotStore):
    """Snapshots in the ``snapshots`` table of a SQLite file (default ``./.skiff/state.db``).

    Several processes may share the file (WAL readers never block the writer; writers wait up
    to ``timeout`` seconds). Calls run in a worker thread so the event loop never blocks on disk.
    """

    def __init__(
        self, path: str | os.PathLike[str] = DEFAULT_SQLITE_PATH, *, durable: bool = False, timeout: float = 30.0
    ) -> None:
        self.path = os.fspath(path)
        self._durable = durable
        self._timeout = timeout
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        self._lock = threading.Lock()  # one connection, used by one thread at a time

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    def _connect(self) -> sqlite3.Connection:
        if self._closed:
            raise ConfigError("the state store is closed")
        if self._conn is None:
            if self.path != ":memory:" and not self.path.startswith("file:"):
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False, uri=True
            )
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(f"PRAGMA synchronous={'FULL' if self._durable else 'NORMAL'}")
                conn.executescript(_SCHEMA)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _call(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        with self._lock:
            try:
                return fn(self._connect())
            except sqlite3.OperationalError as exc:  # locked beyond the timeout, disk full, ...
                raise TransientError(f"state store {self.path}: {exc}") from None
            except sqlite3.DatabaseError as exc:
                raise ConfigError(f"state store {self.path} is not a usable SQLite database: {exc}") from None

    async def _run(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        return await asyncio.to_thread(self._call, fn)

    async def get(self, key: str) -> dict[str, Any] | None:
        check_key(key)
        row = await self._run(lambda c: c.execute("SELECT value FROM snapshots WHERE key = ?", (key,)).fetchone())
        return decode(row[0]) if row else None

    async def put(self, key: str, snapshot: Mapping[str, Any]) -> None:
        text = encode(key, snapshot)
        now = datetime.now(UTC).timestamp()
        await self._run(
            lambda c: c.execute(
                "INSERT INTO snapshots (key, value, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (key, text, now),
            )
        )

    async def delete(self, key: str) -> None:
        check_key(key)
        await self._run(lambda c: c.execute("DELETE FROM snapshots WHERE key = ?", (key,)))

    async def list(self, prefix: str = "") -> builtins.list[SnapshotEntry]:
        # substr() rather than LIKE: keys may contain % and _.
        rows: builtins.list[tuple[str, str, float]] = await self._run(
            lambda c: c.execute(
                "SELECT key, value, updated_at FROM snapshots WHERE substr(key, 1, ?) = ? ORDER BY key",
                (len(prefix), prefix),
            ).fetchall()
        )
        return [SnapshotEntry(k, decode(v), datetime.fromtimestamp(t, UTC)) for k, v, t in rows]

    async def try_lease(self, key: str, owner: str, ttl: float, *, replace: str | None = None) -> bool:
        check_key(key)

        def take(c: sqlite3.Connection) -> bool:
            # One statement: SQLite serialises writers, so two processes cannot both win.
            now = time.time()
            c.execute(
                "INSERT INTO leases (key, owner, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at "
                "WHERE leases.owner = excluded.owner OR leases.expires_at < ? OR leases.owner = ?",
                (key, owner, now + ttl, now, replace),
            )
            row = c.execute("SELECT owner FROM leases WHERE key = ?", (key,)).fetchone()
            return bool(row and row[0] == owner)

        return await self._run(take)

    async def lease_holder(self, key: str) -> str | None:
        check_key(key)
        row = await self._run(
            lambda c: c.execute(
                "SELECT owner FROM leases WHERE key = ? AND expires_at >= ?", (key, time.time())
            ).fetchone()
        )
        return str(row[0]) if row else None

    async def release_lease(self, key: str, owner: str) -> None:
        check_key(key)
        await self._run(lambda c: c.execute("DELETE FROM leases WHERE key = ? AND owner = ?", (key, owner)))

    async def close(self) -> None:
        def shut() -> None:
            with self._lock:
                self._closed = True
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None

        await asyncio.to_thread(shut)
