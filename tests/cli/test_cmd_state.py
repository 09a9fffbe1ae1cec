"""``skiff state show|reset``: a store URL is named in messages as typed, its password never."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

from tests.services import ensure_postgres
from tests.support import skiff_cmd

PASSWORD = "pw-s3cret-9876"


def test_a_store_password_is_never_printed() -> None:
    # Trust auth ignores the password, so the store opens and the messages can be read.
    dsn = ensure_postgres().replace("postgres@", f"postgres:{PASSWORD}@", 1)
    assert PASSWORD in dsn
    key = f"test-cmd-state-{uuid.uuid4().hex}"
    shown = subprocess.run(skiff_cmd("state", "show", key, "--state", dsn), capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == f"no snapshots under {key} in {dsn.replace(f'postgres:{PASSWORD}@', '***@')}"
    reset = subprocess.run(skiff_cmd("state", "reset", key, "--state", dsn), capture_output=True, text=True)
    assert reset.returncode == 2 and f"no snapshot {key!r} in postgresql://***@" in reset.stderr
    assert PASSWORD not in shown.stdout + shown.stderr + reset.stdout + reset.stderr


def test_a_sqlite_url_is_shown_as_typed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"  # four slashes: an absolute path
    reset = subprocess.run(skiff_cmd("state", "reset", "f/c/t", "--state", url), capture_output=True, text=True)
    assert reset.stderr.strip() == f"error: ConfigError: no snapshot 'f/c/t' in {url}; known: none"
