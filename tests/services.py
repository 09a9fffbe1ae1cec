"""The local Redis and PostgreSQL the tests use: found if running, started if not.

Tests call ``ensure_redis()`` / ``ensure_postgres()``; CI may run ``python tests/services.py``
to start both up front. Only 127.0.0.1 is ever used. ``SKIFF_TEST_REDIS`` and
``SKIFF_TEST_POSTGRES`` point the tests at other local servers.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["ServiceUnavailable", "ensure_postgres", "ensure_redis"]

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
PG_HOST, PG_PORT, PG_DATABASE = "127.0.0.1", 5432, "test"
REDIS_START = [
    "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", str(REDIS_PORT),
    "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log",
]  # fmt: skip


class ServiceUnavailable(RuntimeError):
    """A service is down and could not be started."""


def _redis_ping(timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _wait(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def ensure_redis(timeout: float = 20.0) -> str:
    """The URL of a running local Redis, starting one if needed."""
    url = os.environ.get("SKIFF_TEST_REDIS")
    if url:
        return url
    if not _redis_ping():
        for folder in ("/var/lib/redis", "/var/log/redis"):
            Path(folder).mkdir(parents=True, exist_ok=True)
        try:
            subprocess.run(REDIS_START, check=True, capture_output=True, timeout=timeout)
        except (OSError, subprocess.SubprocessError) as exc:
            raise ServiceUnavailable(f"cannot start redis-server: {exc}") from None
        if not _wait(_redis_ping, timeout):
            raise ServiceUnavailable(f"redis-server did not answer on {REDIS_HOST}:{REDIS_PORT}")
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/0"


def _pg_port_open() -> bool:
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=0.5):
            return True
    except OSError:
        return False


def _pg_dsn(user: str, database: str) -> str:
    return f"postgresql://{user}@{PG_HOST}:{PG_PORT}/{database}"


def ensure_postgres(timeout: float = 30.0) -> str:
    """The DSN of a running local PostgreSQL with a ``test`` database (trust auth)."""
    dsn = os.environ.get("SKIFF_TEST_POSTGRES")
    if dsn:
        return dsn
    import psycopg

    if not _pg_port_open():
        versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
        if not versions:
            raise ServiceUnavailable("PostgreSQL is not installed (/etc/postgresql is empty)")
        command = ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"]
        try:
            subprocess.run(command, check=True, capture_output=True, timeout=timeout)
        except (OSError, subprocess.SubprocessError) as exc:
            raise ServiceUnavailable(f"cannot start PostgreSQL: {exc}") from None
    errors = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for user in ("postgres", "root"):
            try:
                with psycopg.connect(_pg_dsn(user, "postgres"), connect_timeout=2, autocommit=True) as conn:
                    exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DATABASE,)).fetchone()
                    if not exists:
                        conn.execute(f'CREATE DATABASE "{PG_DATABASE}"')
                return _pg_dsn(user, PG_DATABASE)
            except psycopg.Error as exc:
                errors.append(f"{user}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
        time.sleep(0.3)
    raise ServiceUnavailable("PostgreSQL did not accept a connection: " + "; ".join(errors[-2:]))


if __name__ == "__main__":
    try:
        print(ensure_redis())
        print(ensure_postgres())
    except ServiceUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
