"""cfg values are data, not templates: the ``http`` poll trigger sends ``cfg.path`` and
``cfg.query`` as typed (issue 11, item 7)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support import serve_asgi, skiff_cmd

TOKEN = "tok-Very-Secret-4711"
SEEN: list[str] = []


async def anything(request: Request) -> JSONResponse:
    SEEN.append(str(request.url))
    return JSONResponse([{"id": 1, "updatedAt": "2024-01-01T00:00:00Z"}])


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve_asgi(Starlette(routes=[Route("/{rest:path}", anything)])) as base:
        yield base


def test_cfg_path_and_query_are_not_rendered(url: str, tmp_path: Path) -> None:
    cfg: dict[str, Any] = {
        "baseUrl": url,
        "auth": {"type": "bearer", "token": TOKEN},
        "path": "/items/{{ cfg.auth.token }}",
        "query": {"q": "{{ cfg.auth.token }}", "loop": "{% for a in range(99999) %}{% endfor %}"},
        "cursorField": "updatedAt",
        "order": "ascending",
    }
    SEEN.clear()
    proc = subprocess.run(
        skiff_cmd("run", "http", "poll", "--state", str(tmp_path / "s.db"), cfg=cfg),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(SEEN) == 1
    assert TOKEN not in SEEN[0]  # the server never saw the token in the URL
    assert "%7B%7B" in SEEN[0] or "{{" in SEEN[0]  # the braces went out as typed
