"""Stores for the contract tests: memory, SQLite in a temporary folder, and the real local
Redis and PostgreSQL (started by tests/services.py if down), each test with its own
namespace or table."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from skiff.state import MemoryStore, PostgresStore, RedisStore, SnapshotStore, SQLiteStore
from tests.services import ServiceUnavailable, ensure_postgres, ensure_redis


def _unavailable(exc: Exception) -> None:
    if os.environ.get("CI"):
        pytest.fail(str(exc))
    pytest.skip(str(exc))


@pytest.fixture(scope="session")
def redis_url() -> str:
    try:
        return ensure_redis()
    except ServiceUnavailable as exc:
        _unavailable(exc)
        raise


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    try:
        return ensure_postgres()
    except ServiceUnavailable as exc:
        _unavailable(exc)
        raise


@pytest.fixture
async def redis_store(redis_url: str) -> AsyncIterator[RedisStore]:
    store = RedisStore(redis_url, namespace=f"skiff:test:{uuid.uuid4().hex}")
    yield store
    await store.drop_namespace()
    await store.close()


@pytest.fixture
async def postgres_store(postgres_dsn: str) -> AsyncIterator[PostgresStore]:
    store = PostgresStore(postgres_dsn, table=f"skiff_test_{uuid.uuid4().hex[:16]}")
    yield store
    await store.drop_table()
    await store.close()


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    store = SQLiteStore(tmp_path / "state.db")
    yield store
    await store.close()


@pytest.fixture
def memory_store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture(params=["memory", "sqlite", "redis", "postgres"])
def store(request: pytest.FixtureRequest) -> SnapshotStore:
    """Each contract test runs against every store."""
    value = request.getfixturevalue(f"{request.param}_store")
    assert isinstance(value, SnapshotStore)
    return value
