"""Example (a) deployed on the local RabbitMQ, two workers per step: the same result as embedded.

``skiff flow deploy`` declares the flow's exchange and queues (under a random namespace, deleted
afterwards) and publishes the trigger's records; two ``skiff worker --flow`` processes per step
share Billomat's rate-limit windows through Redis. Every order must end with exactly one
completed confirmation and one result message, and nothing in the errors queue.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest

from skiff.flow import load_flow
from skiff.flow.distributed import Topology, delete, read_errors, unshared_lock_warning
from skiff.sandbox import load_sandbox, serve
from tests.flow.conftest import EXAMPLE_A, Sandboxes, confirmations_by_order
from tests.services import ServiceUnavailable, ensure_redis
from tests.support import skiff_cmd
from tests.worker.broker import AMQP_URL, require_broker

WORKERS_PER_STEP = 2


async def queue_counts(topology: Topology) -> tuple[int, int]:
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        results = await channel.declare_queue(topology.results_queue, durable=True, passive=True)
        errors = await channel.declare_queue(topology.errors_queue, durable=True, passive=True)
        return int(results.declaration_result.message_count or 0), int(errors.declaration_result.message_count or 0)


def deploy_once(flow: Path, common: list[str], env: dict[str, str], state: Path) -> subprocess.CompletedProcess[str]:
    """``skiff flow deploy FLOW --once``: declare the topology, poll the trigger once, publish."""
    cmd = skiff_cmd("flow", "deploy", str(flow), *common, "--once", "--state", str(state))
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)


def stop_workers(workers: list[subprocess.Popen[str]]) -> None:
    """SIGTERM to every worker, then wait for each (killed after 30 s)."""
    for w in workers:
        w.send_signal(signal.SIGTERM)
    for w in workers:
        try:
            w.wait(30)
        except subprocess.TimeoutExpired:
            w.kill()


def test_two_workers_per_step_on_rabbitmq(sandboxes: Sandboxes, tmp_path: Path) -> None:
    require_broker()
    try:
        redis_url = ensure_redis()
    except ServiceUnavailable as exc:
        pytest.skip(str(exc))
    namespace = f"skiff-test-{uuid.uuid4().hex[:10]}"
    topology = Topology(load_flow(EXAMPLE_A).flow, namespace)
    sandboxes.add_orders(5)
    orders = {str(r["BillBeeOrderId"]) for r in sandboxes.billbee.store["orders"]}
    common = ["--amqp", AMQP_URL, "--namespace", namespace]
    workers: list[subprocess.Popen[str]] = []
    try:
        deploy = deploy_once(EXAMPLE_A, common, sandboxes.env, tmp_path / "snap.db")
        assert deploy.returncode == 0, deploy.stderr
        assert f"{len(orders)} message(s) published" in deploy.stderr
        for step in topology.flow.steps:
            for _ in range(WORKERS_PER_STEP):
                cmd = skiff_cmd("worker", "--flow", str(EXAMPLE_A), "--flow-step", step.id, *common)
                cmd += ["--rate-limits", redis_url]
                workers.append(subprocess.Popen(cmd, env=sandboxes.env, stderr=subprocess.PIPE, text=True))
        deadline = time.monotonic() + 150
        results = errors = 0
        while time.monotonic() < deadline:
            results, errors = asyncio.run(queue_counts(topology))
            if results >= len(orders) or errors:
                break
            time.sleep(0.5)
        assert errors == 0
        assert results == len(orders)
        status = subprocess.run(
            skiff_cmd("flow", "status", str(EXAMPLE_A), *common, "--json"),
            env=sandboxes.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert status.returncode == 0, status.stderr
        queues = {row["queue"]: row for row in map(json.loads, status.stdout.splitlines())}
        assert queues[topology.results_queue]["waiting"] == len(orders)
        assert queues[topology.errors_queue]["waiting"] == 0
        assert all(queues[topology.queue(s.id)]["consumers"] == WORKERS_PER_STEP for s in topology.flow.steps)
        # Polling again publishes nothing new: the snapshot moved only after the broker confirmed.
        again = deploy_once(EXAMPLE_A, common, sandboxes.env, tmp_path / "snap.db")
        assert "0 message(s) published" in again.stderr, again.stderr
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        logs = []
        for w in workers:
            try:
                _out, err = w.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                w.kill()
                _out, err = w.communicate()
            logs.append(err)
        asyncio.run(delete(topology, AMQP_URL))
    processed = [
        int(line.split("after ")[1].split()[0]) for log in logs for line in log.splitlines() if "stopped after" in line
    ]
    assert len(processed) == len(workers)
    by_order = confirmations_by_order(sandboxes.billomat)
    assert set(by_order) == orders
    assert all(len(v) == 1 and v[0]["status"] == "OPEN" for v in by_order.values())


def test_workers_share_billbee_rate_limits_through_redis(tmp_path: Path) -> None:
    """Example (c), two workers per Billbee step: together they stay within 2 requests/s per endpoint.

    Without ``--rate-limits`` the same run collects 429s (each worker keeps its own window).
    Shared, requests in flight count in the window too (through Redis), so none gets a 429.
    """
    require_broker()
    try:
        redis_url = ensure_redis()
    except ServiceUnavailable as exc:
        pytest.skip(str(exc))
    path = EXAMPLE_A.parent / "plenigo-customers-to-billbee.yaml"
    namespace = f"skiff-test-{uuid.uuid4().hex[:10]}"
    topology = Topology(load_flow(path).flow, namespace)
    plenigo = load_sandbox("plenigo", seed=4, customers=8)
    billbee = load_sandbox("billbee", seed=4, orders=1)
    common = ["--amqp", AMQP_URL, "--namespace", namespace]
    workers: list[subprocess.Popen[str]] = []
    with serve(plenigo) as pl, serve(billbee) as bb:
        c = billbee.default_credentials
        env = {
            **os.environ,
            "PLENIGO_URL": pl.base_url,
            "PLENIGO_API_TOKEN": plenigo.default_credentials["apiToken"],
            "BILLBEE_URL": bb.base_url,
            "BILLBEE_API_KEY": c["apiKey"],
            "BILLBEE_USERNAME": c["username"],
            "BILLBEE_PASSWORD": c["password"],
        }
        emails = sorted(p["email"] for p in plenigo.store["customers"] if p.get("email"))
        try:
            deploy = deploy_once(path, common, env, tmp_path / "snap.db")
            assert deploy.returncode == 0, deploy.stderr
            for step in topology.flow.steps:
                for _ in range(WORKERS_PER_STEP):
                    cmd = skiff_cmd("worker", "--flow", str(path), "--flow-step", step.id, *common)
                    cmd += ["--rate-limits", redis_url]
                    workers.append(subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL, text=True))
            deadline = time.monotonic() + 150
            results = errors = 0
            while time.monotonic() < deadline:
                results, errors = asyncio.run(queue_counts(topology))
                if results >= len(emails) or errors:
                    break
                time.sleep(0.5)
        finally:
            stop_workers(workers)
            asyncio.run(delete(topology, AMQP_URL))
        log = [e for e in billbee.log.entries() if "/_sandbox/" not in str(e.get("path", ""))]
    assert (results, errors) == (len(emails), 0)
    assert sorted(b["Email"] for b in billbee.store["customers"] if b.get("Email") in emails) == emails
    # Four workers, one shared window per endpoint. Without --rate-limits this run collects about
    # six 429s; shared (requests in flight included), none.
    throttled = [f"{e['method']} {e['path']}" for e in log if e.get("status") == 429]
    assert throttled == [], throttled


def test_deployed_errors_and_replay_after_a_fix(sandboxes: Sandboxes, tmp_path: Path) -> None:
    """A broken mapping sends every order to the errors queue; after the fix, replay takes each through once."""
    require_broker()
    good = EXAMPLE_A.read_text(encoding="utf-8")
    path = tmp_path / "flow.yaml"
    path.write_text(good.replace('"quantity": Quantity,', '"quantity": Quantity + Product.Title,'), encoding="utf-8")
    namespace = f"skiff-test-{uuid.uuid4().hex[:10]}"
    topology = Topology(load_flow(path).flow, namespace)
    orders = {str(r["BillBeeOrderId"]) for r in sandboxes.billbee.store["orders"]}
    common = ["--amqp", AMQP_URL, "--namespace", namespace]

    def start_workers() -> list[subprocess.Popen[str]]:
        return [
            subprocess.Popen(
                skiff_cmd("worker", "--flow", str(path), "--flow-step", step.id, *common),
                env=sandboxes.env,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            for step in topology.flow.steps
        ]

    def wait_for(results: int, errors: int) -> tuple[int, int]:
        deadline = time.monotonic() + 120
        counts = (0, 0)
        while time.monotonic() < deadline:
            counts = asyncio.run(queue_counts(topology))
            if counts[0] >= results and counts[1] >= errors:
                break
            time.sleep(0.3)
        return counts

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            skiff_cmd("flow", *args, str(path), *common), env=sandboxes.env, capture_output=True, text=True, timeout=120
        )

    workers: list[subprocess.Popen[str]] = []
    try:
        deploy = cli("deploy", "--once", "--state", str(tmp_path / "snap.db"))
        assert deploy.returncode == 0, deploy.stderr
        workers = start_workers()
        assert wait_for(0, len(orders)) == (0, len(orders))
        listed = cli("errors", "--json")
        failures = [json.loads(line) for line in listed.stdout.splitlines()]
        assert len(failures) == len(orders)
        assert {f["step"] for f in failures} == {"confirmation"}
        assert all(
            f["error"]["name"] == "MappingError" and "⟨here⟩+ Product.Title" in f["error"]["message"] for f in failures
        )
        assert all(f["input"]["id"] for f in failures)  # the client the confirmation was for
        assert asyncio.run(queue_counts(topology)) == (0, len(orders))  # listing leaves them in place
        stop_workers(workers)
        path.write_text(good, encoding="utf-8")  # the fix; workers restart with it
        workers = start_workers()
        replay = cli("replay", "--all")
        assert replay.returncode == 0, replay.stderr
        assert f"replayed {len(orders)} message(s)" in replay.stderr
        assert wait_for(len(orders), 0) == (len(orders), 0)
    finally:
        stop_workers(workers)
        asyncio.run(delete(topology, AMQP_URL))
    by_order = confirmations_by_order(sandboxes.billomat)
    assert set(by_order) == orders
    assert all(len(v) == 1 and v[0]["status"] == "OPEN" for v in by_order.values())


POLICY_FLOW = """\
name: {name}
credentials:
  billbee:
    env: {{baseUrl: BILLBEE_URL, apiKey: BILLBEE_API_KEY, username: BILLBEE_USERNAME, password: BILLBEE_PASSWORD}}
trigger: {{id: order, component: billbee, function: newOrders, credentials: billbee}}
steps:
  - id: article
    component: billbee
    function: articleGetArticle
    credentials: billbee
    mapping: '{{"id": OrderItems[0].Product.Id}}'
    onError: {on_error}
  - id: again
    component: billbee
    function: orderApiGet
    credentials: billbee
    mapping: '{{"id": BillBeeOrderId}}'
errorSteps:
  - id: report
    component: billbee
    function: orderApiGet
    credentials: billbee
    # The order again, only if the failure and the input that failed both came: else id 0 (a 404).
    mapping: '{{"id": $contains(error.message, "503") ? errorInput.BillBeeOrderId : 0}}'
"""


async def drain_results(topology: Topology) -> list[dict[str, Any]]:
    """The result messages' bodies (taken off the queue)."""
    from skiff.worker import MessageCipher

    cipher = MessageCipher(None, None)
    out = []
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(topology.results_queue, ensure=False)
        while (incoming := await queue.get(no_ack=True, fail=False)) is not None:
            out.append(cipher.decrypt(incoming.body, 1)["body"])
    return out


@pytest.mark.parametrize("then", ["skip", "route"])
def test_a_retryable_failure_past_its_rebounds_follows_then(sandboxes: Sandboxes, tmp_path: Path, then: str) -> None:
    """Every article request answers 503: one rebound each, then ``then`` applies as embedded (not the errors queue)."""
    require_broker()
    on_error = (
        "{retries: 1, backoff: 0.1s, then: skip}"
        if then == "skip"
        else ("{retries: 1, backoff: 0.1s, then: route, route: report}")
    )
    name = f"policy-{then}"
    path = tmp_path / "flow.yaml"
    path.write_text(POLICY_FLOW.format(name=name, on_error=on_error), encoding="utf-8")
    namespace = f"skiff-test-{uuid.uuid4().hex[:10]}"
    topology = Topology(load_flow(path).flow, namespace)
    orders = {int(r["BillBeeOrderId"]) for r in sandboxes.billbee.store["orders"]}
    # Retry-After: 0 makes the HTTP retries inside each attempt instant: the rebounds are under test.
    faults = {"error_rate": 1.0, "error_statuses": [503], "error_retry_after": 0, "paths": "/products/"}
    answer = httpx.put(f"{sandboxes.billbee_url}/_sandbox/faults", json=faults)
    answer.raise_for_status()
    common = ["--amqp", AMQP_URL, "--namespace", namespace]
    workers: list[subprocess.Popen[str]] = []
    try:
        deploy = deploy_once(path, common, sandboxes.env, tmp_path / "snap.db")
        assert deploy.returncode == 0, deploy.stderr
        steps = [*topology.flow.steps, *topology.flow.errorSteps]
        for step in steps:
            cmd = skiff_cmd("worker", "--flow", str(path), "--flow-step", step.id, *common)
            workers.append(subprocess.Popen(cmd, env=sandboxes.env, stderr=subprocess.DEVNULL, text=True))
        deadline = time.monotonic() + 150
        results = errors = 0
        while time.monotonic() < deadline:
            results, errors = asyncio.run(queue_counts(topology))
            if results >= len(orders) or errors:
                break
            time.sleep(0.3)
        failed = [(f.step, f.name, f.message) for f in asyncio.run(read_errors(topology, AMQP_URL))]
        assert (results, errors) == (len(orders), 0), failed
        bodies = asyncio.run(drain_results(topology))
    finally:
        stop_workers(workers)
        asyncio.run(delete(topology, AMQP_URL))
    # Each order's article call failed on its first delivery and again on its one rebound.
    articles = [e for e in sandboxes.billbee.log.entries() if "/products/" in str(e.get("path", ""))]
    assert len(articles) >= 2 * len(orders) and all(e.get("status") == 503 for e in articles)
    assert {int(b["BillBeeOrderId"]) for b in bodies} == orders, [list(b)[:8] for b in bodies]


def test_orders_of_one_new_customer_on_two_workers_create_one_client(sandboxes: Sandboxes, tmp_path: Path) -> None:
    """Eight orders of one new customer over two client workers sharing Redis: one client, eight confirmations.

    The lookup-or-create is locked per lookup key in Redis: the second worker waits, then finds
    the client the first created. Latency on Billomat's clients makes the race wide.
    """
    require_broker()
    try:
        redis_url = ensure_redis()
    except ServiceUnavailable as exc:
        pytest.skip(str(exc))
    namespace = f"skiff-test-{uuid.uuid4().hex[:10]}"
    topology = Topology(load_flow(EXAMPLE_A).flow, namespace)
    sandboxes.add_orders(5)
    email = f"one-{uuid.uuid4().hex[:8]}@example.com"
    for order in sandboxes.billbee.store["orders"]:
        address = dict(order["InvoiceAddress"])
        address.update(Company="", FirstName="Ona", LastName="Same", Email=email)
        order["InvoiceAddress"] = address
    orders = {str(r["BillBeeOrderId"]) for r in sandboxes.billbee.store["orders"]}
    faults = {"latency_ms": 200, "paths": "/clients"}
    httpx.put(f"{sandboxes.billomat_url}/_sandbox/faults", json=faults).raise_for_status()
    common = ["--amqp", AMQP_URL, "--namespace", namespace]
    workers: list[subprocess.Popen[str]] = []
    try:
        deploy = deploy_once(EXAMPLE_A, common, sandboxes.env, tmp_path / "snap.db")
        assert deploy.returncode == 0, deploy.stderr
        for step in topology.flow.steps:
            for _ in range(WORKERS_PER_STEP if step.id == "client" else 1):
                cmd = skiff_cmd("worker", "--flow", str(EXAMPLE_A), "--flow-step", step.id, *common)
                cmd += ["--rate-limits", redis_url]
                workers.append(subprocess.Popen(cmd, env=sandboxes.env, stderr=subprocess.DEVNULL, text=True))
        deadline = time.monotonic() + 150
        results = errors = 0
        while time.monotonic() < deadline:
            results, errors = asyncio.run(queue_counts(topology))
            if results >= len(orders) or errors:
                break
            time.sleep(0.5)
        failed = [(f.step, f.name, f.message) for f in asyncio.run(read_errors(topology, AMQP_URL))]
        assert (results, errors) == (len(orders), 0), failed
    finally:
        stop_workers(workers)
        asyncio.run(delete(topology, AMQP_URL))
    clients = [c for c in sandboxes.billomat.store["clients"] if c.get("email") == email]
    assert len(clients) == 1, clients
    by_order = confirmations_by_order(sandboxes.billomat)
    assert set(by_order) == orders
    assert all(len(v) == 1 and v[0]["client_id"] == clients[0]["id"] for v in by_order.values())


async def test_a_failure_past_its_rebounds_stops_with_its_own_message_and_no_wait_over_max_backoff(
    sandboxes: Sandboxes, tmp_path: Path
) -> None:
    """One order's article answers 503 every time; ``then: stop`` after two rebounds of at most ``maxBackoff``.

    The errors queue gets that 503 (not the sailor's bare "Rebound limit exceeded"), saying that
    it gave up, as the embedded runner journals it; each rebound waits maxBackoff, not backoff x 2^n.
    """
    require_broker()
    path = tmp_path / "flow.yaml"
    on_error = "{retries: 2, backoff: 30s, maxBackoff: 0.5s}"  # then: stop, the default
    flow = POLICY_FLOW.format(name="policy-stop", on_error=on_error).split("errorSteps:")[0]
    # The orders whose article answers go on: again reads their order from the passthrough.
    flow = flow.replace('{"id": BillBeeOrderId}', '{"id": $passthrough.order.BillBeeOrderId}')
    path.write_text(flow, encoding="utf-8")
    namespace = f"skiff-test-{uuid.uuid4().hex[:10]}"
    topology = Topology(load_flow(path).flow, namespace)
    orders = list(sandboxes.billbee.store["orders"])
    product = orders[0]["OrderItems"][0]["Product"]["Id"]
    assert all(o["OrderItems"][0]["Product"]["Id"] != product for o in orders[1:])
    faults = {"error_rate": 1.0, "error_statuses": [503], "error_retry_after": 0, "paths": f"/products/{product}$"}
    httpx.put(f"{sandboxes.billbee_url}/_sandbox/faults", json=faults).raise_for_status()
    common = ["--amqp", AMQP_URL, "--namespace", namespace]
    workers: list[subprocess.Popen[str]] = []
    rebounds: list[tuple[Any, Any]] = []  # (reboundIteration, expiration in s) of each rebound published
    connection = await aio_pika.connect(AMQP_URL)
    try:
        deploy = deploy_once(path, common, sandboxes.env, tmp_path / "snap.db")
        assert deploy.returncode == 0, deploy.stderr
        # A copy of every rebound, taken at once by a consumer (the rebound queue's own copy
        # expires and dead-letters back to the step).
        channel = await connection.channel()
        spy = await channel.declare_queue(f"{namespace}.spy", exclusive=True, auto_delete=True)
        await spy.bind(topology.exchange, topology.rebound_key("article"))

        async def seen(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            rebounds.append(((message.headers or {}).get("reboundIteration"), message.expiration))

        await spy.consume(seen, no_ack=True)
        for step in topology.flow.steps:
            cmd = skiff_cmd("worker", "--flow", str(path), "--flow-step", step.id, *common)
            workers.append(subprocess.Popen(cmd, env=sandboxes.env, stderr=subprocess.DEVNULL, text=True))
        deadline = time.monotonic() + 150
        results = errors = 0
        while time.monotonic() < deadline:
            results, errors = await queue_counts(topology)
            if results + errors >= len(orders) or any(e is None or e > 0.5 for _, e in rebounds):
                break
            await asyncio.sleep(0.3)
        assert rebounds == [(1, 0.5), (2, 0.5)]  # backoff 30 s, capped at maxBackoff 0.5 s
        assert (results, errors) == (len(orders) - 1, 1)
        [failed] = await read_errors(topology, AMQP_URL)
    finally:
        await connection.close()
        stop_workers(workers)
        await delete(topology, AMQP_URL)
    assert (failed.step, failed.name, failed.input) == ("article", "TransientError", orders[0])
    assert failed.message.startswith(f"GET /products/{product}: 503 Service Unavailable"), failed.message
    assert failed.message.endswith(" (gave up after 2 rebounds)"), failed.message


def test_a_lookup_or_create_step_without_a_shared_redis_is_warned_about() -> None:
    flow = load_flow(EXAMPLE_A).flow
    warning = unshared_lock_warning(flow, "client", None)
    assert warning is not None and "'client'" in warning and "--rate-limits redis://" in warning
    assert unshared_lock_warning(flow, "client", "memory://") is not None  # per process too
    assert unshared_lock_warning(flow, "client", "redis://127.0.0.1:6379/0") is None
    assert unshared_lock_warning(flow, "pdf", None) is None  # no lookup, no lock


@pytest.mark.parametrize(("step", "warned"), [("client", True), ("pdf", False)])
def test_the_worker_says_so_before_it_starts(tmp_path: Path, step: str, warned: bool) -> None:
    """One line on stderr before connecting (here to a closed port, so the worker ends soon)."""
    env = {
        **os.environ,
        **{k: "x" for k in ("BILLBEE_API_KEY", "BILLBEE_USERNAME", "BILLBEE_PASSWORD", "BILLOMAT_ID")},
        "BILLOMAT_API_KEY": "x",
    }
    cmd = skiff_cmd(
        "worker", "--flow", str(EXAMPLE_A), "--flow-step", step, "--amqp", "amqp://guest:guest@127.0.0.1:1/"
    )
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 5, done.stderr
    lines = [line for line in done.stderr.splitlines() if "looks up or creates" in line]
    assert len(lines) == (1 if warned else 0), done.stderr
