"""Hostile servers and hostile components, through the ``skiff`` command as a user runs it
(issue 11, item 10): every case ends in one error line with the right exit code, no
traceback, no secret, nothing imported or fetched from outside; counts printed and asserted.

The servers are on 127.0.0.1; cases that aim elsewhere (metadata, private networks) must be
refused before any connection, so no packet leaves this machine.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.support import serve_asgi, skiff_cmd

USER, SECRET = "hostile-user", "Hx7-Secret-Pa55word-for-leaks"
BASIC = base64.b64encode(f"{USER}:{SECRET}".encode()).decode()
MB = 1024 * 1024


async def echo(request: Request) -> Response:
    auth = request.headers.get("authorization", "")
    return JSONResponse({"message": "x" * 290 + auth}, status_code=400, headers={"X-Echo": auth})


async def endless(request: Request) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        while True:
            yield b"[" + b"1," * 65536
            await asyncio.sleep(0)

    return StreamingResponse(body(), media_type="application/json")


async def bomb(request: Request) -> Response:
    return Response(gzip.compress(b"[" + b"0," * 40 * MB + b"0]"), headers={"Content-Encoding": "gzip"})


async def deep(request: Request) -> Response:
    return Response(b"[" * 5000 + b"]" * 5000, media_type="application/json")


async def html(request: Request) -> Response:
    return Response("<html><body>login</body></html>", media_type="text/html")


async def xml_bomb(request: Request) -> Response:
    lol = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
    return Response(lol + "<lolz>&lol2;</lolz>", media_type="application/xml")


ROUTES = [
    Route("/echo", echo),
    Route("/endless", endless),
    Route("/bomb", bomb),
    Route("/deep", deep),
    Route("/html", html),
    Route("/xml", xml_bomb),
    Route("/redirect", lambda request: RedirectResponse("http://169.254.169.254/latest/meta-data")),
]

# (base URL or None for the local server, path, exit code, words in the error line)
SERVER_CASES: list[tuple[str | None, str, int, str]] = [
    (None, "/echo", 4, "400"),
    (None, "/endless", 4, "than the limit of"),
    (None, "/bomb", 4, "than the limit of"),
    (None, "/deep", 4, "nested too deeply"),
    (None, "/html", 4, "answered HTML"),
    (None, "/xml", 4, "XML"),
    (None, "/redirect", 4, "redirects are not followed"),
    ("https://169.254.169.254", "/latest/meta-data", 2, "refusing to connect"),
    ("https://10.255.255.1", "/x", 2, "refusing to connect"),
]


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve_asgi(Starlette(routes=ROUTES)) as base:
        yield base


def _clean(proc: subprocess.CompletedProcess[str]) -> list[str]:
    """What is wrong with an error's output: a traceback, more than one line, a secret."""
    wrong = []
    if "Traceback" in proc.stderr:
        wrong.append("traceback")
    if proc.stderr.strip().count("\n"):
        wrong.append("more than one line")
    for form in (SECRET, BASIC, BASIC[8:20], SECRET[4:14]):
        if form in proc.stdout + proc.stderr:
            wrong.append(f"secret form {form[:6]}...")
    return wrong


def test_hostile_servers(url: str) -> None:
    refused, problems = 0, []
    for base, path, code, words in SERVER_CASES:
        cfg: dict[str, Any] = {"baseUrl": base or url, "auth": {"type": "basic", "username": USER, "password": SECRET}}
        proc = subprocess.run(
            skiff_cmd("run", "http", "request", cfg=cfg, body={"path": path}),
            capture_output=True,
            text=True,
            timeout=120,
        )
        wrong = _clean(proc)
        if proc.returncode != code:
            wrong.append(f"exit {proc.returncode}, not {code}")
        if words not in proc.stderr:
            wrong.append(f"no {words!r} in {proc.stderr.strip()[:200]!r}")
        if wrong:
            problems.append((path, wrong))
        else:
            refused += 1
    print(f"hostile servers: cases {len(SERVER_CASES)}, refused cleanly {refused}, problems {len(problems)}")
    assert problems == []


def _component(root: Path, name: str, data: dict[str, Any], files: dict[str, str] | None = None) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "component.json").write_text(json.dumps(data), encoding="utf-8")
    for rel, text in (files or {}).items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text, encoding="utf-8")
    return folder


def test_hostile_components(tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("import pathlib\npathlib.Path(__file__).with_name('pwned').write_text('1')\n", encoding="utf-8")
    request = {"method": "GET", "path": "/x"}
    folders = [
        _component(tmp_path, "main_up", {"title": "T", "actions": {"a": {"title": "a", "main": "../outside.py"}}}),
        _component(tmp_path, "main_abs", {"title": "T", "actions": {"a": {"title": "a", "main": str(outside)}}}),
        _component(
            tmp_path,
            "schema_up",
            {"title": "T", "actions": {"a": {"title": "a", "request": request, "metadata": {"in": "../x.json"}}}},
        ),
        _component(
            tmp_path,
            "remote_ref",
            {
                "title": "T",
                "actions": {
                    "a": {
                        "title": "a",
                        "request": request,
                        "metadata": {"in": {"type": "object", "properties": {"x": {"$ref": "https://e.invalid/s"}}}},
                    }
                },
            },
        ),
    ]
    deep = tmp_path / "deep"
    deep.mkdir()
    (deep / "component.json").write_text('{"title": ' + "[" * 50000 + "]" * 50000 + "}", encoding="utf-8")
    huge = tmp_path / "huge"
    huge.mkdir()
    with (huge / "component.json").open("wb") as f:
        f.write(b'{"title": "')
        f.truncate(300 * MB)  # sparse: no 300 MB written
    folders += [deep, huge]
    proc = subprocess.run(skiff_cmd("validate", *map(str, folders)), capture_output=True, text=True, timeout=120)
    lines = [line for line in proc.stdout.splitlines() + proc.stderr.splitlines() if line.strip()]
    flagged = {f.name for f in folders if any(str(f) in line for line in lines)}
    imported = int((tmp_path / "pwned").exists())
    print(f"hostile components: cases {len(folders)}, refused {len(flagged)}, outside code imported {imported}")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert flagged == {f.name for f in folders}, lines
    assert imported == 0
