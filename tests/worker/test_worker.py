"""The worker on the real local RabbitMQ: what it publishes for each event, and what it refuses."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aio_pika
import orjson

from skiff.component import load_component
from skiff.message import derived_id
from skiff.worker import StepData, Worker
from tests.worker.broker import ECHO, Platform, platform, queue_depth, receive, send

IDENTITY = {
    "execId": "exec-1",
    "taskId": "flow-1",
    "workspaceId": "workspace-1",
    "containerId": "container-1",
    "userId": "user-1",
    "stepId": "step_2",
    "compId": "comp-1",
}


@asynccontextmanager
async def running(p: Platform, function: str, step: StepData | None = None, **settings: Any) -> AsyncIterator[Worker]:
    worker = Worker(p.settings(function, **settings), load_component(ECHO), step or StepData())
    stop = asyncio.Event()
    ready = asyncio.Event()
    task = asyncio.create_task(worker.run(stop, ready=ready.set))
    await asyncio.wait_for(ready.wait(), 30)
    try:
        yield worker
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def decrypt(p: Platform, msg: aio_pika.abc.AbstractIncomingMessage) -> Any:
    return p.cipher.decrypt(msg.body, int(msg.headers.get("protocolVersion") or 1))


async def test_data_message_headers_and_ack() -> None:
    async with platform() as (p, channel), running(p, "echo"):
        meta = {"X-EIO-Meta-Tenant": "acme", "threadId": "thread-9", "parentMessageId": "p0", "other": "dropped"}
        mid = await send(channel, p, {"order": 7}, headers=meta)
        [out] = await receive(channel, p.output_queue, 1)
        assert out.routing_key == p.keys()["data"]
        payload = decrypt(p, out)
        assert payload["body"] == {"order": 7}
        h = out.headers
        assert h["messageId"] == derived_id(mid, 0) == payload["id"]
        assert h["parentMessageId"] == mid and h["threadId"] == "thread-9"
        assert h["x-eio-meta-tenant"] == "acme" and "other" not in h and "X-EIO-Meta-Tenant" not in h
        assert {k: h[k] for k in IDENTITY} == IDENTITY and h["function"] == "echo"
        assert h["protocolVersion"] == 1 and isinstance(h["start"], int) and h["end"] >= h["start"]
        assert out.content_type == "application/json"
        assert await queue_depth(channel, p.input_queue) == 0


async def test_each_emit_is_a_message_with_a_derived_id_and_protocol_2_in_1_out() -> None:
    async with platform() as (p, channel), running(p, "fanout"):
        mid = await send(channel, p, {"a": 1}, protocol=2)
        outs = await receive(channel, p.output_queue, 2)
        assert [decrypt(p, o)["body"] for o in outs] == [{"copy": 1, "a": 1}, {"copy": 2, "a": 1}]
        assert [o.headers["messageId"] for o in outs] == [derived_id(mid, 0), derived_id(mid, 1)]
        assert {o.headers["protocolVersion"] for o in outs} == {1}  # the worker's own version
        assert all(isinstance(o.headers["threadId"], str) and o.headers["threadId"] for o in outs)


async def test_error_message_shape_and_reject() -> None:
    async with platform() as (p, channel), running(p, "fail"):
        mid = await send(channel, p, {"order": 7})
        [out] = await receive(channel, p.output_queue, 1)
        assert out.routing_key == p.keys()["error"] and out.headers["parentMessageId"] == mid
        payload = json.loads(out.body)
        error = p.cipher.decrypt(payload["error"].encode(), 1)
        assert error["name"] == "ApiError" and error["message"] == "the API refused order 7"
        assert error["stack"].endswith("ApiError: the API refused order 7")
        assert p.cipher.decrypt(payload["errorInput"].encode(), 1)["body"] == {"order": 7}
        assert await queue_depth(channel, p.input_queue) == 0  # rejected, not requeued


async def test_transient_failure_rebounds_with_exponential_expiration_then_errors() -> None:
    async with platform() as (p, channel), running(p, "flaky", rebound_limit=3):
        await send(channel, p, {"n": 1})
        [first] = await receive(channel, p.output_queue, 1)
        assert first.routing_key == p.keys()["rebound"]
        assert first.headers["reboundIteration"] == 1 and "429" in first.headers["reboundReason"]
        assert first.expiration == 15.0  # seconds: 15000 ms on the wire
        assert decrypt(p, first)["body"] == {"n": 1}  # the original message, as it came
        await send(channel, p, {"n": 2}, headers={"reboundIteration": 2})
        [third] = await receive(channel, p.output_queue, 1)
        assert third.headers["reboundIteration"] == 3 and third.expiration == 60.0
        await send(channel, p, {"n": 3}, headers={"reboundIteration": 3})
        [limit] = await receive(channel, p.output_queue, 1)
        assert limit.routing_key == p.keys()["error"]
        assert p.cipher.decrypt(json.loads(limit.body)["error"].encode(), 1)["message"] == "Rebound limit exceeded"


async def test_undecodable_or_unidentified_input_goes_to_the_error_queue_and_nothing_stalls() -> None:
    async with platform() as (p, channel), running(p, "echo"):
        await send(channel, p, None, raw=b'{"body": {"plain": "json"}}')  # not encrypted
        await send(channel, p, None, raw=p.cipher.encrypt({"body": {}}, 1), protocol=2)  # base64 as protocol 2
        exchange = await channel.get_exchange(p.exchange, ensure=False)
        await exchange.publish(aio_pika.Message(p.cipher.encrypt({"body": {}}, 1)), routing_key=p.keys()["input"])
        await exchange.publish(
            aio_pika.Message(p.cipher.encrypt({"body": {}}, 1), headers={"threadId": "t"}),
            routing_key=p.keys()["input"],
        )
        ok = await send(channel, p, {"after": "all that"})  # prefetch 1: must not stall
        outs = await receive(channel, p.output_queue, 5)
        errors = [o for o in outs if o.routing_key == p.keys()["error"]]
        data = [o for o in outs if o.routing_key == p.keys()["data"]]
        assert len(errors) == 4 and len(data) == 1 and data[0].headers["parentMessageId"] == ok
        messages = [p.cipher.decrypt(json.loads(e.body)["error"].encode(), 1)["message"] for e in errors]
        assert "not base64" in messages[0]
        assert "AES blocks" in messages[1] or "wrong password" in messages[1]
        assert "no AMQP headers" in messages[2]
        assert "no 'messageId' header" in messages[3]
        # Nothing is lost: the refused input travels along, as it came.
        assert base64.b64decode(json.loads(errors[0].body)["errorInput"]) == b'{"body": {"plain": "json"}}'
        assert await queue_depth(channel, p.input_queue) == 0


async def test_routing_key_header_overrides_and_is_removed() -> None:
    async with platform() as (p, channel):
        step = StepData(config={"replyKey": p.keys()["reply"]})
        async with running(p, "route", step):
            await send(channel, p, {"r": 1})
            [out] = await receive(channel, p.reply_queue, 1)
            assert out.routing_key == p.keys()["reply"]
            assert decrypt(p, out)["headers"] == {"kept": "yes"}


async def test_trigger_fired_by_messages_keeps_and_publishes_its_snapshot() -> None:
    async with platform() as (p, channel), running(p, "counter", StepData(snapshot={"seen": 41})):
        await send(channel, p, {})
        first = await receive(channel, p.output_queue, 2)
        await send(channel, p, {})
        second = await receive(channel, p.output_queue, 2)
        for outs, n in ((first, 42), (second, 43)):
            # The snapshot is committed, then published, only after the data before it was confirmed.
            assert [o.routing_key for o in outs] == [p.keys()["data"], p.keys()["snapshot"]]
            by_key = {o.routing_key: o for o in outs}
            assert decrypt(p, by_key[p.keys()["data"]])["body"] == {"tick": n}
            snap = by_key[p.keys()["snapshot"]]
            assert orjson.loads(snap.body) == {"seen": n}  # plain JSON, not encrypted
            assert snap.headers["snapshotEvent"] == "snapshot"


async def test_passthrough_carries_earlier_steps_and_adds_this_one() -> None:
    async with platform() as (p, channel), running(p, "echo", StepData(is_passthrough=True)):
        earlier = {"step_1": {"id": "x", "body": {"from": "step 1"}, "headers": {}}}
        mid = await send(channel, p, None, message={"id": "in-1", "body": {"b": 2}, "passthrough": earlier})
        [out] = await receive(channel, p.output_queue, 1)
        passthrough = decrypt(p, out)["passthrough"]
        assert passthrough["step_1"] == earlier["step_1"]
        assert passthrough["step_2"]["body"] == {"b": 2} and passthrough["step_2"]["id"] == derived_id(mid, 0)


async def test_attachments_go_to_the_store_and_leave_as_urls(tmp_path: Path) -> None:
    from skiff.attachments import HttpStore, folder_app, read_attachment
    from tests.support import serve_asgi

    with serve_asgi(folder_app(tmp_path)) as base:
        async with platform() as (p, channel):
            worker = Worker(p.settings("attach"), load_component(ECHO), StepData(), attachments=HttpStore(base))
            stop, ready = asyncio.Event(), asyncio.Event()
            task = asyncio.create_task(worker.run(stop, ready=ready.set))
            await asyncio.wait_for(ready.wait(), 30)
            await send(channel, p, {"n": 5})
            [out] = await receive(channel, p.output_queue, 1)
            stop.set()
            await task
            att = decrypt(p, out)["attachments"]["invoice.txt"]
            assert att["size"] == len(b"invoice 5\n") and att["content-type"] == "text/plain"
            assert att["url"].startswith(base) and await read_attachment(att) == b"invoice 5\n"


async def test_an_incoming_attachment_is_read_from_a_store_and_never_from_a_local_file(tmp_path: Path) -> None:
    from skiff.attachments import HttpStore, folder_app, store_attachments
    from skiff.message import Attachment, Message
    from tests.support import serve_asgi

    secret = tmp_path / "secret.txt"
    secret.write_text("top secret 1234")
    with serve_asgi(folder_app(tmp_path / "store")) as base:
        att = Attachment(content_type="text/plain", size=9, content=b"invoice 5")
        stored = await store_attachments(Message(body={}, attachments={"a.txt": att}), HttpStore(base))
        async with platform() as (p, channel), running(p, "readback"):
            await send(channel, p, None, message={**stored.to_dict(), "id": "m1"})
            [out] = await receive(channel, p.output_queue, 1)
            assert out.routing_key == p.keys()["data"] and decrypt(p, out)["body"] == {"a.txt": "invoice 5"}
            for url in (secret.as_uri(), "file:///etc/passwd", "https://169.254.169.254/latest/meta-data/"):
                await send(channel, p, None, message={"id": "m2", "body": {}, "attachments": {"x": {"url": url}}})
                [out] = await receive(channel, p.output_queue, 1)
                assert out.routing_key == p.keys()["error"]
                error = p.cipher.decrypt(json.loads(out.body)["error"].encode(), 1)
                assert "refused" in error["message"] and "secret 1234" not in out.body.decode(errors="replace")


def test_the_platform_hosts_are_declared_attachment_stores() -> None:
    from skiff.attachments import declared_sources
    from skiff.worker import WorkerSettings

    settings = WorkerSettings(
        function="echo",
        amqp_uri="",
        listen_messages_on="",
        publish_messages_to="",
        data_routing_key="",
        error_routing_key="",
        rebound_routing_key="",
        snapshot_routing_key="",
        api_uri="http://10.77.0.1:8200/",
        object_storage_uri="https://maester.platform.internal",
    )
    Worker(settings, load_component(ECHO), StepData())
    hosts = declared_sources().hosts
    assert ("10.77.0.1", 8200) in hosts and ("maester.platform.internal", 443) in hosts


async def test_stop_finishes_the_message_in_flight(tmp_path: Path) -> None:
    started, release = tmp_path / "started", tmp_path / "release"
    step = StepData(config={"started": str(started), "release": str(release)})
    async with platform() as (p, channel):
        worker = Worker(p.settings("slow"), load_component(ECHO), step)
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(worker.run(stop, ready=ready.set))
        await asyncio.wait_for(ready.wait(), 30)
        await send(channel, p, {"n": 1})
        await _until(started.exists)
        stop.set()  # SIGTERM in the CLI
        await asyncio.sleep(0)  # the worker sees the stop while the message is still in flight
        assert not task.done()
        release.touch()
        await asyncio.wait_for(task, 30)
        assert worker.processed == 1
        [out] = await receive(channel, p.output_queue, 1)
        assert decrypt(p, out)["body"] == {"n": 1}
        assert await queue_depth(channel, p.input_queue) == 0


async def _until(check: Callable[[], bool], timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.02)


async def test_new_keys_go_to_the_platform_api() -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from tests.support import serve_asgi

    puts: list[tuple[str, Any, str | None]] = []

    async def account(request: Request) -> JSONResponse:
        puts.append((request.path_params["id"], await request.json(), request.headers.get("authorization")))
        return JSONResponse({})

    app = Starlette(routes=[Route("/v1/accounts/{id}", account, methods=["PUT"])])
    with serve_asgi(app) as api:
        async with platform() as (p, channel):
            step = StepData(config={"_account": "acc-7"})
            extra = {"api_uri": api, "api_username": "u", "api_key": "k"}
            async with running(p, "keys", step, **extra):
                await send(channel, p, {"k": 1})
                [out] = await receive(channel, p.output_queue, 1)
    assert out.routing_key == p.keys()["data"]
    assert puts == [("acc-7", {"keys": {"access_token": "new-token", "expires_in": 3600}}, "Basic dTpr")]


async def test_http_reply_goes_to_reply_to() -> None:
    async with platform() as (p, channel), running(p, "reply"):
        mid = await send(channel, p, {"q": 1}, headers={"reply_to": p.keys()["reply"]})
        [out] = await receive(channel, p.reply_queue, 1)
        assert out.routing_key == p.keys()["reply"] and out.headers["parentMessageId"] == mid
        assert out.headers["protocolVersion"] == 1
        assert p.cipher.decrypt(out.body, 1) == {
            "statusCode": 201,
            "body": {"ok": {"q": 1}},
            "headers": {"content-type": "application/json"},
        }
        assert await queue_depth(channel, p.input_queue) == 0


async def test_rebound_asked_by_the_handler() -> None:
    async with platform() as (p, channel), running(p, "bounce"):
        await send(channel, p, {"n": 1})
        [out] = await receive(channel, p.output_queue, 1)
        assert out.routing_key == p.keys()["rebound"] and out.headers["reboundReason"] == "not ready yet"
