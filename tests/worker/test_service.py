"""Service calls (verifyCredentials, getMetaModel, selectModel) post their result like the sailor."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from skiff.errors import ConfigError
from skiff.worker import WorkerSettings
from tests.support import SKIFF, serve_asgi

SVC = Path(__file__).parent / "svc"
IDS = ("FLOW_ID", "EXEC_ID", "STEP_ID", "CONTAINER_ID", "WORKSPACE_ID", "USER_ID", "COMP_ID")


def result_app(posted: list[dict[str, Any]]) -> Starlette:
    async def result(request: Request) -> JSONResponse:
        posted.append({"body": await request.json(), "auth": request.headers.get("authorization")})
        return JSONResponse({})

    return Starlette(routes=[Route("/result", result, methods=["POST"])])


def service(method: str, base: str, cfg: dict[str, Any], **env: str) -> subprocess.CompletedProcess[str]:
    full = {
        **os.environ,
        "ELASTICIO_POST_RESULT_URL": base.replace("http://", "http://svc:p%40ss@") + "/result",
        "ELASTICIO_CFG": json.dumps(cfg),
        "ELASTICIO_API_URI": "http://127.0.0.1:9",
        "ELASTICIO_API_USERNAME": "u",
        "ELASTICIO_API_KEY": "k",
        **{f"ELASTICIO_{name}": "x" for name in IDS},
        **{f"ELASTICIO_{k}": v for k, v in env.items()},
    }
    return subprocess.run(
        [*SKIFF, "worker", "--component", str(SVC), "--service", method],
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_service_calls_post_their_result() -> None:
    posted: list[dict[str, Any]] = []
    with serve_asgi(result_app(posted)) as base:
        runs = [
            service("verifyCredentials", base, {"apiKey": "good-key"}),
            service("verifyCredentials", base, {"apiKey": "bad-key"}),
            service("getMetaModel", base, {"apiKey": "k", "table": "b"}, ACTION_OR_TRIGGER="lookup"),
            service("getMetaModel", base, {"apiKey": "k"}, ACTION_OR_TRIGGER="static"),
            service("selectModel", base, {"apiKey": "k"}, ACTION_OR_TRIGGER="lookup", GET_MODEL_METHOD="regions"),
            service("getMetaModel", base, {"apiKey": "k"}, ACTION_OR_TRIGGER="lokup"),
        ]
    assert [r.returncode for r in runs] == [0] * 6, [r.stderr for r in runs]
    assert {p["auth"] for p in posted} == {"Basic " + base64.b64encode(b"svc:p@ss").decode()}
    bodies = [p["body"] for p in posted]
    assert bodies[0] == {"status": "success", "data": {"verified": True}}
    assert bodies[1] == {"status": "success", "data": {"verified": False, "reason": "the API key is not known"}}
    dynamic = {"in": {"type": "object", "properties": {"b": {"type": "string"}}}, "out": {}}
    assert bodies[2] == {"status": "success", "data": dynamic}
    assert bodies[3]["data"]["in"]["required"] == ["id"]  # the older-style schema, converted
    assert bodies[4] == {"status": "success", "data": {"eu": "Europe", "us": "United States"}}
    assert bodies[5]["status"] == "error" and "did you mean 'lookup'" in bodies[5]["data"]["message"]


def test_missing_environment_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        WorkerSettings.from_env({"ELASTICIO_FUNCTION": "echo", "ELASTICIO_FLOW_ID": "f"})
    message = str(info.value)
    assert message.startswith("missing environment: ELASTICIO_EXEC_ID, ELASTICIO_STEP_ID")
    assert "ELASTICIO_AMQP_URI" in message and "ELASTICIO_MESSAGE_CRYPTO_PASSWORD" not in message


def test_settings_defaults_are_the_sailors() -> None:
    names = (
        *IDS,
        *("FUNCTION", "API_URI", "API_USERNAME", "API_KEY", "AMQP_URI", "LISTEN_MESSAGES_ON"),
        *("PUBLISH_MESSAGES_TO", "DATA_ROUTING_KEY", "ERROR_ROUTING_KEY", "REBOUND_ROUTING_KEY"),
        "SNAPSHOT_ROUTING_KEY",
    )
    env = {f"ELASTICIO_{k}": "x" for k in names}
    s = WorkerSettings.from_env({**env, "ELASTICIO_RABBITMQ_PREFETCH_SAILOR": "10", "ELASTICIO_API_KEY": "secret"})
    assert (s.prefetch, s.rebound_limit, s.rebound_initial_expiration, s.protocol_version) == (10, 20, 15000, 1)
    assert (s.data_rate_limit, s.rate_interval, s.outgoing_message_size_limit) == (10, 100, 10485760)
    assert "secret" not in repr(s)
    with pytest.raises(ConfigError, match="ELASTICIO_REBOUND_LIMIT='many' is not an integer"):
        WorkerSettings.from_env({**env, "ELASTICIO_REBOUND_LIMIT": "many"})
