"""A driver plays the platform: the same messages go to sailor-nodejs 2.7.8 running a no-op
component and to ``skiff worker`` running a no-op (echo) component, each on its own exchange and
queues of the local RabbitMQ, and the outputs must be the same: bodies, headers, routing keys.

Only what is random or a clock differs: ``messageId`` (the sailor's is a uuid4, skiff's is derived
from the input's so a redelivery repeats it), ``start`` and ``end``. Both fetch the step from the
same platform API (``GET /v1/tasks/{flow}/steps/{step}``), served here on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support import serve_asgi
from tests.worker.broker import Platform, WorkerProcess, platform, receive
from tests.worker.sailor_npm import sailor_package

VOLATILE = {"messageId", "start", "end"}

INPUTS: list[dict[str, Any]] = [
    {"body": {"order": 1, "total": 9.5}, "headers": {"threadId": "thread-1"}},
    {"body": {"name": "Grüße, 東京"}, "headers": {"threadId": "thread-2", "X-EIO-Meta-Tenant": "acme"}},
    {"body": {"nested": {"list": [1, None, True]}}, "headers": {"threadId": "t3", "other": "dropped"}, "protocol": 2},
    {"body": {"r": 1}, "headers": {"threadId": "t4", "reply_to": "some.reply.queue", "x-eio-meta-trace-id": "tr"}},
    {"body": {}, "headers": {"threadId": "t5", "parentMessageId": "earlier", "stepId": "step_1"}},
]


def api_app(requests: list[str]) -> Starlette:
    async def step(request: Request) -> JSONResponse:
        requests.append(request.url.path)
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Basic "):
            return JSONResponse({"error": "no credentials"}, 401)
        return JSONResponse({"id": request.path_params["step"], "config": {}, "snapshot": {}})

    return Starlette(routes=[Route("/v1/tasks/{flow}/steps/{step}", step)])


@contextmanager
def sailor(p: Platform, api: str, tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    package = sailor_package()
    comp = tmp_path / "noop-component"
    comp.mkdir()
    (comp / "component.json").write_text(
        '{"title": "noop", "actions": {"noop": {"title": "No-op", "main": "./noop.js"}}}', encoding="utf-8"
    )
    (comp / "noop.js").write_text("exports.process = async function (msg) { return { body: msg.body }; };\n")
    env = {**os.environ, **p.env("noop", API_URI=api), "LOG_LEVEL": "fatal"}
    command = ["node", str(package / "run.js")]
    proc = subprocess.Popen(command, cwd=comp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


async def consumers(channel: aio_pika.abc.AbstractChannel, queue: str) -> int:
    q = await channel.declare_queue(queue, passive=True)
    return int(q.declaration_result.consumer_count or 0)


async def feed(channel: aio_pika.abc.AbstractChannel, p: Platform) -> None:
    exchange = await channel.get_exchange(p.exchange, ensure=False)
    for i, item in enumerate(INPUTS):
        protocol = item.get("protocol", 1)
        headers = {"messageId": f"input-{i}", "protocolVersion": protocol, **item["headers"]}
        content = p.cipher.encrypt({"id": f"input-{i}", "body": item["body"], "headers": {}}, protocol)
        await exchange.publish(aio_pika.Message(content, headers=headers), routing_key=p.keys()["input"])


def outputs(p: Platform, messages: list[aio_pika.abc.AbstractIncomingMessage]) -> dict[str, dict[str, Any]]:
    """Per input: routing key, decrypted body and payload headers, AMQP headers without the volatile ones."""
    out: dict[str, dict[str, Any]] = {}
    for m in messages:
        payload = p.cipher.decrypt(m.body, int(m.headers["protocolVersion"]))
        key = m.routing_key.split(".", 1)[1]  # the suffix differs per platform
        out[str(m.headers["parentMessageId"])] = {
            "routing_key": key,
            "body": payload["body"],
            "payload_headers": payload.get("headers"),
            "headers": {k: v for k, v in m.headers.items() if k not in VOLATILE},
            "volatile": sorted(k for k in m.headers if k in VOLATILE),
            "content_type": m.content_type,
        }
    return out


async def test_same_messages_same_outputs_as_sailor_nodejs(tmp_path: Path) -> None:
    sailor_package()  # skips without node/npm, before anything starts
    requests: list[str] = []
    with serve_asgi(api_app(requests)) as api:
        async with platform() as (ps, channel), platform() as (pk, _):
            with sailor(ps, api, tmp_path) as proc:
                skiff = WorkerProcess(pk.env("echo", API_URI=api))
                await skiff.ready()
                async with asyncio.timeout(60):
                    while await consumers(channel, ps.input_queue) < 1:
                        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                        await asyncio.sleep(0.1)
                await feed(channel, ps)
                await feed(channel, pk)
                from_sailor = outputs(ps, await receive(channel, ps.output_queue, len(INPUTS)))
                from_skiff = outputs(pk, await receive(channel, pk.output_queue, len(INPUTS)))
                skiff.proc.send_signal(signal.SIGTERM)
                assert await skiff.wait() == 0
    assert sorted(requests) == ["/v1/tasks/flow-1/steps/step_2"] * 2  # both asked the platform API
    assert set(from_sailor) == {f"input-{i}" for i in range(len(INPUTS))}
    for parent, expected in from_sailor.items():
        got = from_skiff[parent]
        # The function name differs by design (noop vs echo); everything else is the same.
        assert expected["headers"].pop("function") == "noop" and got["headers"].pop("function") == "echo"
        assert got == expected, parent
    assert from_skiff["input-1"]["headers"]["x-eio-meta-tenant"] == "acme"
    assert from_skiff["input-3"]["headers"]["reply_to"] == "some.reply.queue"
    assert from_skiff["input-2"]["headers"]["protocolVersion"] == 1


@pytest.fixture(autouse=True)
def _node() -> None:
    sailor_package()
