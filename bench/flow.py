"""Example (a) end to end: orders per second, as a ratio to the bound the sandboxes' rate limits allow.

The Billbee and Billomat sandboxes run at a registered Billomat app's kind of limit, scaled down
so that it binds within seconds: ``--window`` requests per ``--seconds`` in fixed windows (the
real API: 300 per 900 s, which would make a run last hours). The client learns the window from
Billomat's ``X-Rate-Limit-*`` headers. Billbee's 2 requests/s per endpoint only paces the
trigger, which reads all orders in one or two pages.

Bound: the Billomat requests the run needed (R, about seven per order) cannot take less than
``(ceil(R / window) - 1) * seconds``; orders/s at best = orders ÷ that. The ratio is measured
orders/s ÷ that bound (1.0: the flow runs exactly as fast as the limits allow).

    .venv/bin/python bench/flow.py [--orders 60] [--window 100] [--seconds 2] [--concurrency 8]
        [--amqp amqp://guest:guest@127.0.0.1:5672/ [--workers 2] [--rate-limits redis://127.0.0.1:6379/0]]

With ``--amqp`` the same runs deployed: ``--workers`` ``skiff worker --flow`` processes per step,
started and consuming before ``skiff flow deploy --once`` publishes the orders; timed from the
deploy's start to the last result in the results queue (the deploy process's start-up included).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


async def embedded(orders: int, window: int, seconds: float, concurrency: int) -> dict[str, float]:
    from skiff.cli.cmd_demo import example_a_path, example_sandboxes
    from skiff.flow import load_flow, resolve_credentials
    from skiff.flow.journal import Journal
    from skiff.flow.runner import FlowRunner

    doc = load_flow(example_a_path())
    with (
        tempfile.TemporaryDirectory() as tmp,
        example_sandboxes(orders=orders, billomat_requests=window, billomat_window=seconds) as boxes,
    ):
        # The client-side window is per 15 minutes in component.json: set it out of the way and
        # let the server's X-Rate-Limit headers pace the client, as a registered app would.
        env = {**os.environ, **boxes.env, "BILLOMAT_RATE_LIMIT": str(10 * window * max(1.0, 900 / seconds))}
        credentials = resolve_credentials(doc.flow, environ=env)
        runner = FlowRunner(
            doc,
            credentials=credentials,
            journal=Journal(Path(tmp) / "j.db", flow=doc.flow.name),
            concurrency=concurrency,
        )
        # Aligned to the sandbox's fixed windows, so the bound below is the true minimum.
        await asyncio.sleep(seconds - (time.time() % seconds))
        started = time.perf_counter()
        async with runner:
            await runner.run_once()
            done = len(runner.journal.rows(statuses=("done",), step="$end"))
        elapsed = time.perf_counter() - started
        log = boxes.billomat.log.entries()
        requests = sum(1 for e in log if "/_sandbox/" not in str(e.get("path", "")))
        throttled = sum(1 for e in log if e.get("status") == 429)
    bound_time = max(seconds * 0.05, (math.ceil(requests / window) - 1) * seconds)
    return {
        "orders": float(done),
        "elapsed": elapsed,
        "orders_per_s": done / elapsed,
        "bound_per_s": done / bound_time,
        "requests": float(requests),
        "throttled": float(throttled),
    }


async def _queue_counts(topology: Any, amqp_url: str) -> tuple[int, int]:
    """Messages in the results queue, and consumers on the steps' queues."""
    import aio_pika

    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        results = await channel.declare_queue(topology.results_queue, durable=True, passive=True)
        consumers = 0
        for step in topology.flow.steps:
            queue = await channel.declare_queue(topology.queue(step.id), durable=True, passive=True)
            consumers += int(queue.declaration_result.consumer_count or 0)
        return int(results.declaration_result.message_count or 0), consumers


def distributed(
    orders: int, window: int, seconds: float, amqp_url: str, workers: int, rate_limits: str | None
) -> dict[str, float]:
    """The same on RabbitMQ: ``workers`` ``skiff worker --flow`` processes per step, started and ready first."""
    import signal
    import subprocess
    import uuid

    from skiff.cli.cmd_demo import example_a_path, example_sandboxes
    from skiff.flow import load_flow
    from skiff.flow.distributed import Topology, declare, delete

    path = example_a_path()
    flow = load_flow(path).flow
    topology = Topology(flow, f"skiff-bench-{uuid.uuid4().hex[:8]}")
    skiff = [sys.executable, "-m", "skiff.cli.__main__"]
    common = ["--amqp", amqp_url, "--namespace", topology.namespace]
    procs: list[subprocess.Popen[bytes]] = []
    asyncio.run(declare(topology, amqp_url))
    with (
        tempfile.TemporaryDirectory() as tmp,
        example_sandboxes(orders=orders, billomat_requests=window, billomat_window=seconds) as boxes,
    ):
        env = {**os.environ, **boxes.env, "BILLOMAT_RATE_LIMIT": str(10 * window * max(1.0, 900 / seconds))}
        try:
            for step in flow.steps:
                for _ in range(workers):
                    cmd = [*skiff, "worker", "--flow", str(path), "--flow-step", step.id, *common]
                    cmd += ["--rate-limits", rate_limits] if rate_limits else []
                    procs.append(subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL))
            deadline = time.monotonic() + 120
            while asyncio.run(_queue_counts(topology, amqp_url))[1] < len(procs) and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(seconds - (time.time() % seconds))  # aligned to Billomat's windows, as embedded
            started = time.perf_counter()
            deploy = subprocess.run(
                [*skiff, "flow", "deploy", str(path), *common, "--once", "--state", f"{tmp}/s.db"],
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            if deploy.returncode != 0:
                raise SystemExit(f"deploy failed: {deploy.stderr[-500:]}")
            done = 0
            deadline = time.monotonic() + 600
            while done < orders and time.monotonic() < deadline:
                done = asyncio.run(_queue_counts(topology, amqp_url))[0]
                if done < orders:
                    time.sleep(0.1)
            elapsed = time.perf_counter() - started
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
            asyncio.run(delete(topology, amqp_url))
        log = boxes.billomat.log.entries()
        requests = sum(1 for e in log if "/_sandbox/" not in str(e.get("path", "")))
        throttled = sum(1 for e in log if e.get("status") == 429)
    bound_time = max(seconds * 0.05, (math.ceil(requests / window) - 1) * seconds)
    return {
        "orders": float(done),
        "elapsed": elapsed,
        "orders_per_s": done / elapsed,
        "bound_per_s": done / bound_time,
        "requests": float(requests),
        "throttled": float(throttled),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=60)
    parser.add_argument("--window", type=int, default=100, help="Billomat requests per window")
    parser.add_argument("--seconds", type=float, default=2.0, help="Billomat window length")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="12 orders, 30 requests per 1 s (for bench/all.py)")
    parser.add_argument("--amqp", help="Also run on this RabbitMQ (e.g. amqp://guest:guest@127.0.0.1:5672/)")
    parser.add_argument("--workers", type=int, default=2, help="skiff worker processes per step (with --amqp)")
    parser.add_argument("--rate-limits", help="Shared rate-limit windows for the workers (redis://...)")
    args = parser.parse_args()
    if args.quick:
        args.orders, args.window, args.seconds = 12, 30, 1.0
    result = asyncio.run(embedded(args.orders, args.window, args.seconds, args.concurrency))
    print(
        f"limits: Billomat {args.window} requests per {args.seconds:g} s (fixed windows), Billbee 2/s per endpoint;"
        f" {result['requests']:.0f} Billomat requests for {result['orders']:.0f} orders"
        f" ({result['requests'] / max(1.0, result['orders']):.1f} per order), {result['throttled']:.0f} × 429"
    )
    rows = [("embedded", result)]
    if args.amqp:
        rows.append(
            (
                f"rabbitmq×{args.workers}",
                distributed(args.orders, args.window, args.seconds, args.amqp, args.workers, args.rate_limits),
            )
        )
    print(f"{'mode':<14}{'orders':>8}{'elapsed s':>11}{'orders/s':>10}{'bound/s':>9}{'ratio':>7}{'429s':>6}")
    for mode, r in rows:
        print(
            f"{mode:<14}{r['orders']:>8.0f}{r['elapsed']:>11.2f}{r['orders_per_s']:>10.2f}"
            f"{r['bound_per_s']:>9.2f}{r['orders_per_s'] / r['bound_per_s']:>7.2f}{r['throttled']:>6.0f}"
        )
    if not args.amqp:
        print("distributed: not measured (give --amqp URL)")
    ratio = result["orders_per_s"] / result["bound_per_s"]
    # One line for bench/all.py's table.
    measured = f"{ratio:.2f} × the bound ({result['orders_per_s']:.2f} of {result['bound_per_s']:.2f} orders/s)"
    item = {"what": "flow example (a), embedded, orders/s", "measured": measured, "target": "near 1", "verdict": ""}
    print("RESULT " + json.dumps(item))
    for mode, r in rows[1:]:
        ratio = r["orders_per_s"] / r["bound_per_s"]
        measured = f"{ratio:.2f} × the bound ({r['orders_per_s']:.2f} of {r['bound_per_s']:.2f} orders/s)"
        item = {"what": f"flow example (a), {mode}, orders/s", "measured": measured, "target": "", "verdict": ""}
        print("RESULT " + json.dumps(item))


if __name__ == "__main__":
    main()
