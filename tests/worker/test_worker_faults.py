"""Faults on the real broker: a worker killed mid-message, connections dropped by the broker under
load, and two workers sharing one queue. Each worker is a real ``skiff worker`` process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import uuid
from pathlib import Path

import aio_pika

from skiff.message import derived_id
from tests.worker.broker import (
    Platform,
    WorkerProcess,
    platform,
    queue_depth,
    rabbitmqctl,
    receive,
    require_broker,
    send,
    vhost_url,
)


def step_file(tmp_path: Path, config: dict[str, str]) -> str:
    path = tmp_path / "step.json"
    path.write_text(json.dumps({"config": config}), encoding="utf-8")
    return str(path)


async def _until(check: object, timeout: float = 60.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():  # type: ignore[operator]
            await asyncio.sleep(0.05)


async def test_sigkill_mid_message_redelivers_and_the_repeat_has_the_same_message_id(tmp_path: Path) -> None:
    started, release = tmp_path / "started", tmp_path / "release"
    step = step_file(tmp_path, {"started": str(started), "release": str(release)})
    async with platform() as (p, channel):
        first = WorkerProcess(p.env("slow"), "--step", step)
        await first.ready()
        mid = await send(channel, p, {"n": 1})
        await _until(started.exists)  # its output is published (confirmed); the input is not acked
        os.kill(first.proc.pid, signal.SIGKILL)
        assert await first.wait() == -signal.SIGKILL
        started.unlink()
        release.touch()
        second = WorkerProcess(p.env("slow"), "--step", step)
        await second.ready()
        outs = await receive(channel, p.output_queue, 2)
        second.proc.send_signal(signal.SIGTERM)
        assert await second.wait() == 0 and second.processed() == 1
        assert [o.headers["messageId"] for o in outs] == [derived_id(mid, 0)] * 2
        assert [p.cipher.decrypt(o.body, 1)["body"] for o in outs] == [{"n": 1}] * 2
        assert outs[1].headers["parentMessageId"] == mid
        assert await queue_depth(channel, p.input_queue) == 0


async def test_two_workers_share_one_queue(tmp_path: Path) -> None:
    step = step_file(tmp_path, {})
    async with platform() as (p, channel):
        workers = [WorkerProcess(p.env("echo", DATA_RATE_LIMIT="1000"), "--step", step) for _ in range(2)]
        for w in workers:
            await w.ready()
        sent = [await send(channel, p, {"n": i}) for i in range(100)]
        outs = await receive(channel, p.output_queue, 100)
        for w in workers:
            w.proc.send_signal(signal.SIGTERM)
        assert [await w.wait() for w in workers] == [0, 0]
        assert sorted(o.headers["parentMessageId"] for o in outs) == sorted(sent)
        counts = [w.processed() for w in workers]
        assert sum(counts) == 100 and min(counts) > 0, counts
        assert await queue_depth(channel, p.output_queue) == 0  # nothing twice


async def test_connections_closed_by_the_broker_under_load_nothing_lost(tmp_path: Path) -> None:
    """A broker restart seen from the worker: the broker drops every connection of the vhost.

    Restarting the shared RabbitMQ would disturb other test runs on this machine, so the test gets
    its own vhost and closes its connections from the broker side (``rabbitmqctl
    close_all_connections``), which is what a restart looks like to a client.
    """
    require_broker()
    vhost = f"skiff-test-{uuid.uuid4().hex[:8]}"
    rabbitmqctl("add_vhost", vhost)
    try:
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        url = vhost_url(vhost)
        p = Platform(url)
        total = 300
        connection = await aio_pika.connect(url)
        channel = await connection.channel()
        exchange = await channel.declare_exchange(p.exchange, aio_pika.ExchangeType.DIRECT)
        inq = await channel.declare_queue(p.input_queue)
        await inq.bind(exchange, p.keys()["input"])
        outq = await channel.declare_queue(p.output_queue)
        for key in ("data", "error"):
            await outq.bind(exchange, p.keys()[key])
        sent = {await send(channel, p, {"n": i}): i for i in range(total)}
        await connection.close()

        # The default emit limit (100 messages/s): about 3 s of work to interrupt.
        worker = WorkerProcess(p.env("echo"), "--step", step_file(tmp_path, {}))
        await worker.ready()

        async def depth() -> int:
            conn = await aio_pika.connect(url)
            try:
                return await queue_depth(await conn.channel(), p.output_queue)
            finally:
                await conn.close()

        async with asyncio.timeout(60):
            while await depth() < 50:
                await asyncio.sleep(0.1)
        rabbitmqctl("close_all_connections", "--vhost", vhost, "skiff test: broker restart")

        connection = await aio_pika.connect(url)
        channel = await connection.channel()
        try:
            async with asyncio.timeout(120):
                while await queue_depth(channel, p.output_queue) < total:
                    await asyncio.sleep(0.2)
        except TimeoutError:
            depth_now = await queue_depth(channel, p.output_queue)
            raise AssertionError(f"{depth_now} of {total} outputs; worker: {worker.lines[-30:]}") from None
        worker.proc.send_signal(signal.SIGTERM)
        assert await worker.wait() == 0, worker.lines[-20:]
        outs = await receive(channel, p.output_queue, await queue_depth(channel, p.output_queue))
        await connection.close()

        assert any("connection lost; reconnecting" in line for line in worker.lines), worker.lines[-20:]
        assert {o.routing_key for o in outs} == {p.keys()["data"]}
        parents = [o.headers["parentMessageId"] for o in outs]
        assert set(parents) == set(sent)  # nothing lost
        # Repeats (outputs published, input not acked when the connection dropped) are
        # recognisable: the same messageId for the same input.
        by_parent: dict[str, set[str]] = {}
        for o in outs:
            by_parent.setdefault(o.headers["parentMessageId"], set()).add(o.headers["messageId"])
        assert all(ids == {derived_id(parent, 0)} for parent, ids in by_parent.items())
    finally:
        rabbitmqctl("delete_vhost", vhost)


async def test_sigterm_with_the_broker_gone_and_a_message_in_flight_stops(tmp_path: Path) -> None:
    """The vhost is deleted under a worker holding a message: SIGTERM still ends it, exit 0.

    Nothing is acked on the lost connection; the platform redelivers the message elsewhere.
    """
    require_broker()
    vhost = f"skiff-test-{uuid.uuid4().hex[:8]}"
    rabbitmqctl("add_vhost", vhost)
    try:
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        url = vhost_url(vhost)
        p = Platform(url)
        connection = await aio_pika.connect(url)
        channel = await connection.channel()
        exchange = await channel.declare_exchange(p.exchange, aio_pika.ExchangeType.DIRECT)
        inq = await channel.declare_queue(p.input_queue)
        await inq.bind(exchange, p.keys()["input"])
        started, release = tmp_path / "started", tmp_path / "release"
        step = step_file(tmp_path, {"started": str(started), "release": str(release)})
        worker = WorkerProcess(p.env("late"), "--step", step)
        await worker.ready()
        await send(channel, p, {"n": 1})
        await _until(started.exists)
        await connection.close()
    finally:
        rabbitmqctl("delete_vhost", vhost)
    worker.proc.send_signal(signal.SIGTERM)
    release.touch()  # the handler now emits onto a connection that is gone
    assert await worker.wait(40) == 0, worker.lines[-20:]
    assert any("connection lost" in line for line in worker.lines), worker.lines[-20:]
    assert not any(line.startswith("Traceback") for line in worker.lines), worker.lines  # one line each
