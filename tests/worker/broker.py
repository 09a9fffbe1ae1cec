"""The local RabbitMQ for worker tests: unique exchanges and queues per test, the platform's side.

Every test declares its own exchange and queues with a random suffix (and deletes them), so that
parallel test runs never see each other's messages. The worker declares nothing, as on the
platform: the driver here plays the platform.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import aio_pika
import pytest

from skiff.worker import WorkerSettings
from skiff.worker.crypto import MessageCipher

AMQP_URL = os.environ.get("SKIFF_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
PASSWORD = "worker-test-password"
IV = "0123456789abcdef"
ECHO = Path(__file__).parent / "echo"
HOOKS_PATH = "/sailor-support/hooks/task/flow-1/startup/data"


def require_broker() -> None:
    parts = urlsplit(AMQP_URL)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5672), timeout=2).close()
    except OSError:
        msg = f"RabbitMQ is not reachable at {parts.hostname}:{parts.port or 5672}"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)


def vhost_url(vhost: str) -> str:
    parts = urlsplit(AMQP_URL)
    return parts._replace(path="/" + vhost).geturl()


@dataclass
class Platform:
    """One step's exchange and queues, and the platform's view of them."""

    url: str
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    password: str | None = PASSWORD
    iv: str = IV

    @property
    def exchange(self) -> str:
        return f"skiff-test-{self.suffix}"

    @property
    def input_queue(self) -> str:
        return f"skiff-test-{self.suffix}-in"

    @property
    def output_queue(self) -> str:
        return f"skiff-test-{self.suffix}-out"

    @property
    def reply_queue(self) -> str:
        return f"skiff-test-{self.suffix}-reply"

    def keys(self) -> dict[str, str]:
        s = self.suffix
        return {k: f"{s}.{k}" for k in ("input", "data", "error", "rebound", "snapshot", "reply")}

    def settings(self, function: str, **extra: Any) -> WorkerSettings:
        k = self.keys()
        return WorkerSettings(
            function=function,
            amqp_uri=self.url,
            listen_messages_on=self.input_queue,
            publish_messages_to=self.exchange,
            data_routing_key=k["data"],
            error_routing_key=k["error"],
            rebound_routing_key=k["rebound"],
            snapshot_routing_key=k["snapshot"],
            message_crypto_password=self.password,
            message_crypto_iv=self.iv,
            flow_id="flow-1",
            exec_id="exec-1",
            step_id="step_2",
            container_id="container-1",
            workspace_id="workspace-1",
            user_id="user-1",
            comp_id="comp-1",
            **extra,
        )

    def env(self, function: str, **extra: str) -> dict[str, str]:
        """The ``ELASTICIO_*`` environment of the same step (for subprocesses)."""
        s = self.settings(function)
        env = {
            "ELASTICIO_FUNCTION": function,
            "ELASTICIO_AMQP_URI": s.amqp_uri,
            "ELASTICIO_LISTEN_MESSAGES_ON": s.listen_messages_on,
            "ELASTICIO_PUBLISH_MESSAGES_TO": s.publish_messages_to,
            "ELASTICIO_DATA_ROUTING_KEY": s.data_routing_key,
            "ELASTICIO_ERROR_ROUTING_KEY": s.error_routing_key,
            "ELASTICIO_REBOUND_ROUTING_KEY": s.rebound_routing_key,
            "ELASTICIO_SNAPSHOT_ROUTING_KEY": s.snapshot_routing_key,
            "ELASTICIO_MESSAGE_CRYPTO_PASSWORD": self.password or "",
            "ELASTICIO_MESSAGE_CRYPTO_IV": self.iv,
            "ELASTICIO_FLOW_ID": s.flow_id,
            "ELASTICIO_EXEC_ID": s.exec_id,
            "ELASTICIO_STEP_ID": s.step_id,
            "ELASTICIO_CONTAINER_ID": s.container_id,
            "ELASTICIO_WORKSPACE_ID": s.workspace_id,
            "ELASTICIO_USER_ID": s.user_id,
            "ELASTICIO_COMP_ID": s.comp_id,
            "ELASTICIO_API_URI": "http://127.0.0.1:9",
            "ELASTICIO_API_USERNAME": "user",
            "ELASTICIO_API_KEY": "api-key",
        }
        env.update({f"ELASTICIO_{k}": v for k, v in extra.items()})
        return env

    @property
    def cipher(self) -> MessageCipher:
        return MessageCipher(self.password, self.iv)


@asynccontextmanager
async def platform(url: str = AMQP_URL, **kwargs: Any) -> AsyncIterator[tuple[Platform, aio_pika.abc.AbstractChannel]]:
    """Declare a step's exchange, input queue and an output queue bound to every output key."""
    require_broker()
    p = Platform(url, **kwargs)
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(p.exchange, aio_pika.ExchangeType.DIRECT)
        inq = await channel.declare_queue(p.input_queue)
        await inq.bind(exchange, p.keys()["input"])
        outq = await channel.declare_queue(p.output_queue)
        for key in ("data", "error", "rebound", "snapshot"):
            await outq.bind(exchange, p.keys()[key])
        replyq = await channel.declare_queue(p.reply_queue)
        await replyq.bind(exchange, p.keys()["reply"])
        try:
            yield p, channel
        finally:
            for name in (p.input_queue, p.output_queue, p.reply_queue):
                await channel.queue_delete(name)
            await channel.exchange_delete(p.exchange)
    finally:
        await connection.close()


@dataclass
class FakeApi:
    """The platform API a sailor talks to: the step's cfg and the flow's startup data."""

    config: dict[str, Any]
    data: dict[str, Any] = field(default_factory=dict)  # flow id → startup data
    requests: list[tuple[str, str, Any]] = field(default_factory=list)

    def app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse, Response
        from starlette.routing import Route

        async def step(request: Request) -> JSONResponse:
            self.requests.append(("GET", request.url.path, None))
            return JSONResponse({"id": request.path_params["step"], "config": self.config, "snapshot": {}})

        async def hooks(request: Request) -> Response:
            if not request.headers.get("authorization", "").startswith("Basic "):
                return JSONResponse({"error": "no credentials"}, 401)
            flow, method = request.path_params["flow"], request.method
            body = await request.json() if method == "POST" else None
            self.requests.append((method, request.url.path, body))
            if method == "POST":
                if flow in self.data:
                    return JSONResponse({"error": "Startup data already exists"}, 409)
                self.data[flow] = body
                return JSONResponse(body, 201)
            if flow not in self.data:
                return JSONResponse({"error": "Startup data not found"}, 404)
            if method == "GET":
                return JSONResponse(self.data[flow])
            del self.data[flow]
            return Response(status_code=204)

        return Starlette(
            routes=[
                Route("/v1/tasks/{flow}/steps/{step}", step),
                Route("/sailor-support/hooks/task/{flow}/startup/data", hooks, methods=["GET", "POST", "DELETE"]),
            ]
        )


@contextmanager
def fake_api(config: dict[str, Any]) -> Iterator[tuple[FakeApi, str]]:
    """The API served on 127.0.0.1 (port 0); yields it and its base URL."""
    from tests.support import serve_asgi

    api = FakeApi(config)
    with serve_asgi(api.app()) as base:
        yield api, base


async def send(
    channel: aio_pika.abc.AbstractChannel,
    p: Platform,
    body: Any,
    *,
    headers: dict[str, Any] | None = None,
    protocol: int = 1,
    raw: bytes | None = None,
    message: dict[str, Any] | None = None,
) -> str:
    """Publish one input message as the platform would; returns its messageId."""
    message_id = str(uuid.uuid4())
    hdrs: dict[str, Any] = {"messageId": message_id, "protocolVersion": protocol, **(headers or {})}
    payload = message if message is not None else {"id": message_id, "body": body, "headers": {}, "attachments": {}}
    content = raw if raw is not None else p.cipher.encrypt(payload, protocol)
    exchange = await channel.get_exchange(p.exchange, ensure=False)
    await exchange.publish(aio_pika.Message(content, headers=hdrs), routing_key=p.keys()["input"])
    return str(hdrs.get("messageId", message_id))


async def receive(
    channel: aio_pika.abc.AbstractChannel, queue_name: str, count: int, timeout: float = 30.0
) -> list[aio_pika.abc.AbstractIncomingMessage]:
    """``count`` messages from a queue (acked), or fail after ``timeout`` seconds."""
    queue = await channel.get_queue(queue_name, ensure=False)
    inbox: asyncio.Queue[aio_pika.abc.AbstractIncomingMessage] = asyncio.Queue()
    tag = await queue.consume(inbox.put, no_ack=True)
    got: list[aio_pika.abc.AbstractIncomingMessage] = []
    try:
        async with asyncio.timeout(timeout):
            while len(got) < count:
                got.append(await inbox.get())
    except TimeoutError:
        raise AssertionError(f"{queue_name}: got {len(got)} of {count} messages in {timeout} s") from None
    finally:
        await queue.cancel(tag)
    return got


async def queue_depth(channel: aio_pika.abc.AbstractChannel, name: str) -> int:
    q = await channel.declare_queue(name, passive=True)
    return int(q.declaration_result.message_count or 0)


def rabbitmqctl(*args: str) -> str:
    out = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=60, check=False)
    if out.returncode != 0:
        raise AssertionError(f"rabbitmqctl {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout


class WorkerProcess:
    """``skiff worker`` in a subprocess; its stderr is collected line by line."""

    started: ClassVar[list[subprocess.Popen[str]]] = []

    @classmethod
    def kill_all(cls) -> None:
        """Kill every worker a test left running (a failed assertion skips its SIGTERM)."""
        while cls.started:
            proc = cls.started.pop()
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)

    def __init__(self, env: dict[str, str], *args: str) -> None:
        import sys
        import threading

        from tests.support import SKIFF

        self.lines: list[str] = []
        self._ready = threading.Event()
        self.proc = subprocess.Popen(
            [*SKIFF, "worker", "--component", str(ECHO), *args],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        WorkerProcess.started.append(self.proc)
        assert sys.executable

        def pump() -> None:
            assert self.proc.stderr is not None
            for line in self.proc.stderr:
                self.lines.append(line.rstrip("\n"))
                if line.startswith("worker: ") and " on " in line:
                    self._ready.set()

        self._thread = threading.Thread(target=pump, daemon=True)
        self._thread.start()

    async def ready(self, timeout: float = 60.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not await asyncio.to_thread(self._ready.wait, 0.2):
            if self.proc.poll() is not None or loop.time() > deadline:
                self._thread.join(2)
                raise AssertionError(f"worker did not start: {self.lines[-20:]}")

    async def wait(self, timeout: float = 60.0) -> int:
        code = await asyncio.to_thread(self.proc.wait, timeout)
        self._thread.join(5)
        return code

    def processed(self) -> int:
        import re

        for line in reversed(self.lines):
            m = re.search(r"stopped after (\d+) message", line)
            if m:
                return int(m.group(1))
        raise AssertionError(f"no 'stopped after' line: {self.lines[-20:]}")
