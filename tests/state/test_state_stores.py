"""What is particular to each store: SQLite's crash safety, reconnects, URLs and errors."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from skiff.errors import ConfigError, TransientError
from skiff.state import (
    DEFAULT_SQLITE_PATH,
    MemoryStore,
    PostgresStore,
    RedisStore,
    SQLiteStore,
    default_location,
    open_store,
)

LIB = str(Path(__file__).resolve().parents[2] / "lib")

WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from skiff.state import SQLiteStore

    async def main():
        store = SQLiteStore(sys.argv[1])
        n = ((await store.get("k")) or {}).get("n", 0)
        while True:
            n += 1
            await store.put("k", {"n": n, "pad": "x" * (n * 37 % 4000)})
            await store.put(f"other{n % 7}", {"n": n})
            sys.stdout.write(f"{n}\\n")
            sys.stdout.flush()

    asyncio.run(main())
    """
)


def test_sqlite_survives_sigkill_at_any_moment(tmp_path: Path) -> None:
    path = str(tmp_path / "state.db")
    env = {**os.environ, "PYTHONPATH": LIB + os.pathsep + os.environ.get("PYTHONPATH", "")}
    rng = random.Random(7)
    for _ in range(4):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, path], stdout=subprocess.PIPE, text=True, env=env)
        assert proc.stdout is not None
        acknowledged, target = 0, rng.randint(30, 300)
        while acknowledged < target:
            line = proc.stdout.readline()
            assert line, "the writer stopped"
            acknowledged = int(line)
        os.kill(proc.pid, signal.SIGKILL)  # mid-put, most likely
        rest = proc.stdout.read()
        proc.wait()
        acknowledged = max([acknowledged, *(int(x) for x in rest.split())])

        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        stored = asyncio.run(_get(path, "k"))
        assert stored is not None
        # Every put that returned survived; the one in flight is either fully there or not at all.
        assert acknowledged <= stored["n"] <= acknowledged + 1
        assert stored["pad"] == "x" * (stored["n"] * 37 % 4000)


async def _get(path: str, key: str) -> dict[str, Any] | None:
    async with SQLiteStore(path) as store:
        return await store.get(key)


async def test_sqlite_persists_across_reopen_and_is_shared(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "folder" / "state.db"  # parents are created
    async with SQLiteStore(path) as a, SQLiteStore(path, durable=True) as b:
        await a.put("k", {"n": 1})
        assert await b.get("k") == {"n": 1}
        await b.put("k", {"n": 2})
        assert await a.get("k") == {"n": 2}
    async with SQLiteStore(path) as again:
        assert await again.get("k") == {"n": 2}
    with pytest.raises(ConfigError, match="closed"):
        await again.get("k")


async def test_sqlite_in_memory_and_a_broken_file(tmp_path: Path) -> None:
    async with open_store("sqlite://") as store:
        await store.put("k", {"a": 1})
        assert await store.get("k") == {"a": 1}
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ConfigError, match="not a usable SQLite database"):
        await SQLiteStore(junk).get("k")


async def test_default_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SKIFF_STATE", raising=False)
    store = open_store()
    assert isinstance(store, SQLiteStore) and store.path == DEFAULT_SQLITE_PATH == os.path.join(".skiff", "state.db")
    await store.put("k", {"a": 1})
    await store.close()
    assert (tmp_path / ".skiff" / "state.db").exists()
    monkeypatch.setenv("SKIFF_STATE", "memory://")
    assert isinstance(open_store(), MemoryStore) and default_location() == "memory://"
    monkeypatch.setenv("SKIFF_STATE", "")  # set but empty: the default, not an empty location
    assert default_location() == DEFAULT_SQLITE_PATH


def test_open_store_picks_by_scheme() -> None:
    assert isinstance(open_store("memory://"), MemoryStore)
    assert open_store("state.db").path == "state.db"  # type: ignore[attr-defined]
    assert open_store(Path("/tmp/x/state.db")).path == "/tmp/x/state.db"  # type: ignore[attr-defined]
    assert open_store("sqlite:///rel/state.db").path == "rel/state.db"  # type: ignore[attr-defined]
    assert open_store("sqlite:////abs/state.db").path == "/abs/state.db"  # type: ignore[attr-defined]
    assert isinstance(open_store("redis://127.0.0.1:6379/0"), RedisStore)
    assert isinstance(open_store("rediss://h:6380/1"), RedisStore)
    assert isinstance(open_store("postgresql://u@127.0.0.1/test"), PostgresStore)
    assert isinstance(open_store("postgres://u@127.0.0.1/test"), PostgresStore)
    # The one URL redaction (skiff.http.redact) shows neither user nor password.
    with pytest.raises(ConfigError, match="unknown state store 'ftp://\\*\\*\\*@h/x'") as info:
        open_store("ftp://u:secret@h/x")
    assert "secret" not in str(info.value)
    with pytest.raises(ConfigError, match="table name"):
        PostgresStore("postgresql://127.0.0.1/test", table="x; drop table y")


def test_importing_the_package_loads_no_network_client() -> None:
    code = "import sys, skiff.state; print('redis' in sys.modules, 'psycopg' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": LIB + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["False", "False"]


async def test_unreachable_servers_are_transient_and_never_show_a_password() -> None:
    with pytest.raises(TransientError) as info:
        await RedisStore("redis://:s3cret@127.0.0.1:1/0").get("k")
    assert "s3cret" not in str(info.value) and "***" in str(info.value)
    store = PostgresStore("postgresql://user:s3cret@127.0.0.1:1/test", connect_timeout=1)
    with pytest.raises(TransientError) as info2:
        await store.get("k")
    assert "s3cret" not in str(info2.value) and "s3cret" not in repr(store)


async def test_postgres_creates_its_table_and_reconnects(postgres_store: PostgresStore, postgres_dsn: str) -> None:
    import psycopg

    await postgres_store.put("k", {"n": 1})
    other = PostgresStore(postgres_dsn, table=postgres_store.table)  # same table, second connection
    assert await other.get("k") == {"n": 1}
    await other.close()
    conn = postgres_store._conn
    assert conn is not None
    async with await psycopg.AsyncConnection.connect(postgres_dsn, autocommit=True) as admin:
        await admin.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
    await asyncio.sleep(0.1)
    assert await postgres_store.get("k") == {"n": 1}  # a dropped connection is reopened once
    await postgres_store.put("k", {"n": 2})
    assert await postgres_store.get("k") == {"n": 2}


async def test_redis_stores_share_a_namespace(redis_store: RedisStore) -> None:
    await redis_store.put("k", {"n": 1})
    async with RedisStore(redis_store.url, namespace=redis_store.namespace) as other:
        assert await other.get("k") == {"n": 1}
        assert [e.key for e in await other.list()] == ["k"]
    async with RedisStore(redis_store.url, namespace=redis_store.namespace + ":elsewhere") as apart:
        assert await apart.get("k") is None
