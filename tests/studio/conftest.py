"""A real studio on 127.0.0.1 (port 0) in a temporary home, and an httpx client signed in to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from skiff.studio import StudioServer, serve_studio


@pytest.fixture
def studio(tmp_path: Path) -> Iterator[StudioServer]:
    flows = tmp_path / "flows"
    flows.mkdir()
    server = serve_studio(home=tmp_path / "home", flows_dir=flows)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def client(studio: StudioServer) -> Iterator[httpx.Client]:
    """Signed in as the browser is: the token exchanged for the cookie, the CSRF header set."""
    with httpx.Client(base_url=studio.base_url, timeout=60) as c:
        first = c.get(studio.url)
        assert first.status_code == 303
        csrf = c.get("/api/session").json()["csrf"]
        c.headers["X-Skiff-CSRF"] = csrf
        yield c
