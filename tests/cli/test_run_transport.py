"""``skiff run`` as a transport: the total timeout, rebounds and updateKeys, through the real CLI."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support import json_lines, serve_asgi, skiff_cmd


@pytest.fixture
def hung() -> Iterator[str]:
    async def slow(request: Request) -> JSONResponse:
        # Never answers; gives up once the client has gone, so the server stops without waiting.
        for _ in range(600):
            if await request.is_disconnected():
                break
            await asyncio.sleep(0.05)
        return JSONResponse({})

    with serve_asgi(Starlette(routes=[Route("/slow", slow)])) as url:
        yield url


def test_a_hung_server_ends_at_the_timeout_with_time_and_attempts(hung: str) -> None:
    cmd = skiff_cmd("run", "http", "request", "--timeout", "1s", cfg={"baseUrl": hung}, body={"path": "/slow"})
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 5
    last = done.stderr.strip().splitlines()[-1]
    assert re.fullmatch(
        r"error: TransientError: GET /slow: no answer within the call's 1 s timeout "
        r"\(gave up after 1 attempt in [0-9.]+ s\)",
        last,
    ), last


def component(tmp_path: Path, handler: str) -> Path:
    (tmp_path / "actions").mkdir()
    (tmp_path / "actions" / "act.py").write_text(handler)
    data = {
        "title": "T",
        "credentials": {
            "fields": {
                "token": {"label": "Token", "viewClass": "PasswordFieldView"},
                "other": {"label": "Other", "viewClass": "NumberFieldView"},
            }
        },
        "actions": {"act": {"title": "act", "main": "./actions/act.py"}},
    }
    (tmp_path / "component.json").write_text(json.dumps(data))
    return tmp_path


REBOUNDING = """
import pathlib
async def process(ctx, msg, cfg):
    tries = pathlib.Path(msg.body["counter"])
    n = int(tries.read_text()) + 1 if tries.exists() else 1
    tries.write_text(str(n))
    if n < 3:
        await ctx.rebound(f"not ready ({n})")
        return None
    return {"tries": n}
"""


def test_a_rebound_is_run_again_with_growing_delays(tmp_path: Path) -> None:
    (tmp_path / "c").mkdir()
    folder = component(tmp_path / "c", REBOUNDING)
    body = {"counter": str(tmp_path / "n")}
    cmd = skiff_cmd("run", str(folder), "act", "--rebound-delay", "10ms", cfg={}, body=body)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json_lines(done.stdout) == [{"tries": 3}]
    assert done.stderr.splitlines() == [
        "rebound: not ready (1): again in 0.0 s (rebound 1 of 20)",
        "rebound: not ready (2): again in 0.0 s (rebound 2 of 20)",
    ]
    # Past the limit: one line, exit 5 (transient), nothing lost from stdout.
    (tmp_path / "n").unlink()
    limited = skiff_cmd("run", str(folder), "act", "--rebound-delay", "10ms", "--rebound-limit", "1", cfg={}, body=body)
    done = subprocess.run(limited, capture_output=True, text=True, timeout=60)
    assert done.returncode == 5
    assert done.stderr.splitlines()[-1] == "error: TransientError: rebound limit of 1 reached: not ready (2)"


KEYS = """
async def process(ctx, msg, cfg):
    await ctx.update_keys({"token": "n3w-t0ken-value"})
    return {"old": len(cfg["token"])}
"""


def test_update_keys_rewrites_a_cfg_file_and_never_prints_the_values(tmp_path: Path) -> None:
    (tmp_path / "c").mkdir()
    folder = component(tmp_path / "c", KEYS)
    cfg_file = tmp_path / "cfg.json"
    cfg_file.write_text(json.dumps({"token": "0ld-t0ken-value", "_account": "acc-1"}))
    done = subprocess.run(
        [*skiff_cmd("run", str(folder), "act", body={}), "--cfg", f"@{cfg_file}"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(cfg_file.read_text()) == {"token": "n3w-t0ken-value", "_account": "acc-1"}
    assert done.stderr.strip() == f"updateKeys: token updated in {cfg_file}"
    # Inline cfg: nowhere to keep them; named, never shown.
    inline = subprocess.run(
        skiff_cmd("run", str(folder), "act", cfg={"token": "0ld-t0ken-value"}, body={}), capture_output=True, text=True
    )
    assert inline.returncode == 0
    assert "n3w-t0ken-value" not in inline.stderr + inline.stdout
    assert "updateKeys: the component sent new values for token" in inline.stderr
