"""Snapshots in PostgreSQL (psycopg 3, async), for workers on several machines.

The table is created on first use. Each ``put`` is one autocommitted upsert: atomic and, with
PostgreSQL's defaults, durable once it returns.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from skiff.errors import ConfigError, TransientError
from skiff.state.base import SnapshotEntry, SnapshotStore, check_key, decode, encode, redact_url

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

__all__ = ["PostgresStore"]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class PostgresStore(SnapshotStore):
    """``PostgresStore("postgresql://user@host/db", table="skiff_snapshots")`` (``schema.table`` too)."""

    def __init__(self, dsn: str, *, table: str = "skiff_snapshots", connect_timeout: float = 10.0) -> None:
        parts = table.split(".")
        if len(parts) > 2 or not all(_IDENT.match(p) for p in parts):
            raise ConfigError(f"bad table name {table!r} for the PostgreSQL state store")
        self.dsn = dsn
        self.table = table
        self._parts = parts
        self._timeout = connect_timeout
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()  # one connection runs one statement at a time

    def __repr__(self) -> str:
        return f"PostgresStore({redact_url(self.dsn)!r}, table={self.table!r})"

    def _ident(self) -> sql.Identifier:
        from psycopg import sql

        return sql.Identifier(*self._parts)

    def _lease_ident(self) -> sql.Identifier:
        from psycopg import sql

        *schema, table = self._parts
        return sql.Identifier(*schema, f"{table}_leases"[:63])

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        import psycopg
        from psycopg import errors, sql

        if self._conn is not None and not self._conn.closed and not self._conn.broken:
            return self._conn
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
        conn = await psycopg.AsyncConnection.connect(
            self.dsn, autocommit=True, connect_timeout=max(1, int(self._timeout))
        )
        tables = (
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (key text PRIMARY KEY, value jsonb NOT NULL, "
                "updated_at timestamptz NOT NULL DEFAULT now())"
            ).format(self._ident()),
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (key text PRIMARY KEY, owner text NOT NULL, "
                "expires_at timestamptz NOT NULL)"
            ).format(self._lease_ident()),
        )
        try:
            for statement in tables:
                # Another process may create it at the same moment.
                with contextlib.suppress(errors.UniqueViolation, errors.DuplicateTable):
                    await conn.execute(statement)
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        return conn

    async def _execute(self, query: sql.Composed, params: tuple[Any, ...], *, fetch: bool = False) -> Any:
        import psycopg

        async with self._lock:
            for attempt in (1, 2):
                try:
                    conn = await self._connection()
                    cursor = await conn.execute(query, params)
                    return await cursor.fetchall() if fetch else None
                except psycopg.OperationalError as exc:
                    # Every statement here is idempotent: after a dropped connection, once more.
                    if self._conn is not None:
                        await self._conn.close()
                        self._conn = None
                    if attempt == 2:
                        message = str(exc).replace(self.dsn, redact_url(self.dsn)).splitlines()[0]
                        raise TransientError(f"PostgreSQL at {redact_url(self.dsn)}: {message}") from None
            raise AssertionError("unreachable")

    async def get(self, key: str) -> dict[str, Any] | None:
        from psycopg import sql

        check_key(key)
        rows = await self._execute(
            sql.SQL("SELECT value FROM {} WHERE key = %s").format(self._ident()), (key,), fetch=True
        )
        return _as_dict(rows[0][0]) if rows else None

    async def put(self, key: str, snapshot: Mapping[str, Any]) -> None:
        from psycopg import sql

        text = encode(key, snapshot)
        await self._execute(
            sql.SQL(
                "INSERT INTO {} (key, value, updated_at) VALUES (%s, %s::jsonb, now()) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at"
            ).format(self._ident()),
            (key, text),
        )

    async def delete(self, key: str) -> None:
        from psycopg import sql

        check_key(key)
        await self._execute(sql.SQL("DELETE FROM {} WHERE key = %s").format(self._ident()), (key,))

    async def list(self, prefix: str = "") -> builtins.list[SnapshotEntry]:
        from psycopg import sql

        rows = await self._execute(
            sql.SQL("SELECT key, value, updated_at FROM {} WHERE starts_with(key, %s) ORDER BY key").format(
                self._ident()
            ),
            (prefix,),
            fetch=True,
        )
        return [SnapshotEntry(k, _as_dict(v), t) for k, v, t in rows]

    async def try_lease(self, key: str, owner: str, ttl: float, *, replace: str | None = None) -> bool:
        from psycopg import sql

        check_key(key)
        # The database's clock decides expiry: every poller, on any machine, agrees on it.
        rows = await self._execute(
            sql.SQL(
                "INSERT INTO {t} AS l (key, owner, expires_at) "
                "VALUES (%s, %s, now() + make_interval(secs => %s)) "
                "ON CONFLICT (key) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at "
                "WHERE l.owner = EXCLUDED.owner OR l.expires_at < now() OR l.owner = %s RETURNING l.owner"
            ).format(t=self._lease_ident()),
            (key, owner, float(ttl), replace),
            fetch=True,
        )
        return bool(rows) and rows[0][0] == owner

    async def lease_holder(self, key: str) -> str | None:
        from psycopg import sql

        check_key(key)
        rows = await self._execute(
            sql.SQL("SELECT owner FROM {} WHERE key = %s AND expires_at >= now()").format(self._lease_ident()),
            (key,),
            fetch=True,
        )
        return str(rows[0][0]) if rows else None

    async def release_lease(self, key: str, owner: str) -> None:
        from psycopg import sql

        check_key(key)
        await self._execute(
            sql.SQL("DELETE FROM {} WHERE key = %s AND owner = %s").format(self._lease_ident()), (key, owner)
        )

    async def drop_table(self) -> None:
        """Drop the table and its leases (tests, resets)."""
        from psycopg import sql

        await self._execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self._ident()), ())
        await self._execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self._lease_ident()), ())

    async def close(self) -> None:
        async with self._lock:
            if self._conn is not None:
                await self._conn.close()
                self._conn = None


def _as_dict(value: Any) -> dict[str, Any]:
    # psycopg loads jsonb into Python objects; text if a custom loader is configured.
    if isinstance(value, dict):
        return value
    return decode(value)
