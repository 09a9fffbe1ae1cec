"""The generic ``http`` component end to end: the real ``skiff`` CLI against a local API."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support import serve_asgi, skiff_cmd

SECRETS = ["s3cret-pw", "k3y-value", "t0ken-value", "cl1ent-secret", "at-0ne"]


def _basic(request: Request) -> tuple[str, str] | None:
    auth = request.headers.get("authorization", "")
    if not auth.startswith("Basic "):
        return None
    user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
    return user, pw


def make_app() -> tuple[Starlette, dict[str, Any]]:
    state: dict[str, Any] = {"hits": [], "flaky": 0, "tokens": 0}
    items = [{"id": i, "name": f"item {i}"} for i in range(1, 8)]

    def denied() -> JSONResponse:
        return JSONResponse({"message": "invalid credentials"}, 401)

    async def basic(request: Request) -> Response:
        if _basic(request) != ("user", "s3cret-pw"):
            return denied()
        return JSONResponse({"data": {"items": items[:2]}})

    async def key(request: Request) -> Response:
        if request.headers.get("x-api-key") != "k3y-value" and request.query_params.get("api_key") != "k3y-value":
            return denied()
        return JSONResponse({"data": {"items": items[:2]}})

    async def bearer(request: Request) -> Response:
        if request.headers.get("authorization") not in ("Bearer t0ken-value", "Bearer at-0ne"):
            return denied()
        return JSONResponse({"data": {"items": items[:2]}})

    async def token(request: Request) -> Response:
        state["tokens"] += 1
        form = parse_qs((await request.body()).decode())
        if _basic(request) != ("cid", "cl1ent-secret") or form.get("grant_type") != ["client_credentials"]:
            return JSONResponse({"error": "invalid_client"}, 401)
        return JSONResponse({"access_token": "at-0ne", "token_type": "bearer", "expires_in": 3600})

    async def flaky(request: Request) -> Response:
        state["flaky"] += 1
        if state["flaky"] == 1:
            return JSONResponse({"message": "slow down"}, 429, headers={"Retry-After": "1"})
        return JSONResponse({"ok": True})

    async def pages(request: Request) -> Response:
        page = int(request.query_params.get("page", "1"))
        size = int(request.query_params.get("pageSize", "3"))
        chunk = items[(page - 1) * size : page * size]
        return JSONResponse({"records": chunk, "totalPages": -(-len(items) // size)})

    app = Starlette(
        routes=[
            Route("/basic", basic),
            Route("/key", key),
            Route("/bearer", bearer),
            Route("/oauth/token", token, methods=["POST"]),
            Route("/flaky", flaky),
            Route("/pages", pages),
        ]
    )
    return app, state


@pytest.fixture(scope="module")
def api() -> Iterator[tuple[str, dict[str, Any]]]:
    app, state = make_app()
    with serve_asgi(app) as url:
        yield url, state


def skiff(*args: str, cfg: Any = None, body: Any = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        skiff_cmd(*args, cfg=cfg, body=body), capture_output=True, text=True, timeout=60, cwd=Path(__file__).parent
    )


def assert_no_secret(proc: subprocess.CompletedProcess[str]) -> None:
    for secret in SECRETS:
        assert secret not in proc.stdout and secret not in proc.stderr, secret


AUTHS = {
    "basic": ("/basic", {"type": "basic", "username": "user", "password": "s3cret-pw"}),
    "apiKeyHeader": ("/key", {"type": "apiKey", "in": "header", "name": "X-Api-Key", "value": "k3y-value"}),
    "apiKeyQuery": ("/key", {"type": "apiKey", "in": "query", "name": "api_key", "value": "k3y-value"}),
    "bearer": ("/bearer", {"type": "bearer", "token": "t0ken-value"}),
}


@pytest.mark.parametrize("kind", [*AUTHS, "oauth2"])
def test_each_auth_type(api: tuple[str, dict[str, Any]], kind: str) -> None:
    url, _ = api
    if kind == "oauth2":
        path = "/bearer"
        auth = {"type": "oauth2", "tokenUrl": f"{url}/oauth/token", "clientId": "cid", "clientSecret": "cl1ent-secret"}
    else:
        path, auth = AUTHS[kind]
    proc = skiff(
        "run", "http", "request", cfg={"baseUrl": url, "auth": auth}, body={"path": path, "recordsPath": "data.items"}
    )
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line)["id"] for line in proc.stdout.splitlines()] == [1, 2]
    assert_no_secret(proc)


def test_429_is_absorbed_after_retry_after(api: tuple[str, dict[str, Any]]) -> None:
    url, state = api
    state["flaky"] = 0
    started = time.monotonic()
    proc = skiff("run", "http", "request", cfg={"baseUrl": url}, body={"path": "/flaky"})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"ok": True}
    assert state["flaky"] == 2
    assert time.monotonic() - started >= 0.9


def test_pagination_and_emit_behaviours(api: tuple[str, dict[str, Any]]) -> None:
    url, _ = api
    pagination = {
        "type": "page",
        "pageParam": "page",
        "sizeParam": "pageSize",
        "size": 3,
        "totalPagesPath": "totalPages",
    }
    body = {"path": "/pages", "pagination": pagination, "recordsPath": "records"}
    each = skiff("run", "http", "request", cfg={"baseUrl": url}, body=body)
    assert [json.loads(x)["id"] for x in each.stdout.splitlines()] == list(range(1, 8))
    pages = skiff("run", "http", "request", cfg={"baseUrl": url}, body={**body, "emitBehavior": "emitPage"})
    assert [len(json.loads(x)["results"]) for x in pages.stdout.splitlines()] == [3, 3, 1]
    everything = skiff("run", "http", "request", cfg={"baseUrl": url}, body={**body, "emitBehavior": "fetchAll"})
    assert len(json.loads(everything.stdout)["results"]) == 7


def one_error_line(proc: subprocess.CompletedProcess[str], kind: str, code: int) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"error: {kind}: "), lines[0]
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_bad_cfg_is_a_config_error(api: tuple[str, dict[str, Any]]) -> None:
    line = one_error_line(skiff("run", "http", "request", cfg={"auth": {}}, body={"path": "/x"}), "ConfigError", 2)
    assert "baseUrl" in line


def test_bad_body_is_an_input_error_naming_the_field(api: tuple[str, dict[str, Any]]) -> None:
    url, _ = api
    proc = skiff("run", "http", "request", cfg={"baseUrl": url}, body={"path": "/basic", "method": "FETCH"})
    line = one_error_line(proc, "InputError", 2)
    assert "body.method" in line


def test_wrong_password_is_an_auth_error(api: tuple[str, dict[str, Any]]) -> None:
    url, _ = api
    auth = {"type": "basic", "username": "user", "password": "wrong-s3cret-pw"}
    proc = skiff("run", "http", "request", cfg={"baseUrl": url, "auth": auth}, body={"path": "/basic"})
    line = one_error_line(proc, "AuthError", 3)
    assert "401" in line
    assert "wrong-s3cret-pw" not in proc.stderr


def test_remote_plain_http_is_refused() -> None:
    proc = skiff("run", "http", "request", cfg={"baseUrl": "http://api.example.com"}, body={"path": "/x"})
    line = one_error_line(proc, "ConfigError", 2)
    assert "https" in line


def test_api_error_exit_code(api: tuple[str, dict[str, Any]]) -> None:
    url, _ = api
    line = one_error_line(skiff("run", "http", "request", cfg={"baseUrl": url}, body={"path": "/nope"}), "ApiError", 4)
    assert "404" in line


def test_verify_credentials(api: tuple[str, dict[str, Any]]) -> None:
    url, _ = api
    good = {"baseUrl": url, "auth": AUTHS["basic"][1], "verifyPath": "/basic"}
    assert skiff("verify", "http", cfg=good).returncode == 0
    bad = {**good, "auth": {**AUTHS["basic"][1], "password": "nope"}}
    proc = skiff("verify", "http", cfg=bad)
    assert proc.returncode == 3
    assert json.loads(proc.stdout)["verified"] is False


def test_validate_and_schema_commands(tmp_path: Path) -> None:
    assert skiff("validate").returncode == 0
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "component.json").write_text('{"title": "x", "actions": {"a": {"title": "a", "main": "./nope.py"}}}')
    proc = skiff("validate", str(broken))
    assert proc.returncode == 1
    assert f"{broken}/component.json: /actions/a/main: main './nope.py': file not found" in proc.stdout
    schema = json.loads(skiff("schema").stdout)
    assert schema["title"] == "skiff component.json"
