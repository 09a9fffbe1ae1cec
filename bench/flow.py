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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=60)
    parser.add_argument("--window", type=int, default=100, help="Billomat requests per window")
    parser.add_argument("--seconds", type=float, default=2.0, help="Billomat window length")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="12 orders, 30 requests per 1 s (for bench/all.py)")
    args = parser.parse_args()
    if args.quick:
        args.orders, args.window, args.seconds = 12, 30, 1.0
    result = asyncio.run(embedded(args.orders, args.window, args.seconds, args.concurrency))
    print(
        f"limits: Billomat {args.window} requests per {args.seconds:g} s (fixed windows), Billbee 2/s per endpoint;"
        f" {result['requests']:.0f} Billomat requests for {result['orders']:.0f} orders"
        f" ({result['requests'] / max(1.0, result['orders']):.1f} per order), {result['throttled']:.0f} × 429"
    )
    print(f"{'mode':<10}{'orders':>8}{'elapsed s':>11}{'orders/s':>10}{'bound/s':>9}{'ratio':>7}")
    ratio = result["orders_per_s"] / result["bound_per_s"]
    print(
        f"{'embedded':<10}{result['orders']:>8.0f}{result['elapsed']:>11.2f}{result['orders_per_s']:>10.2f}"
        f"{result['bound_per_s']:>9.2f}{ratio:>7.2f}"
    )
    print("distributed (RabbitMQ): not measured: skiff flow deploy is not built yet")
    # One line for bench/all.py's table.
    measured = f"{ratio:.2f} × the bound ({result['orders_per_s']:.2f} of {result['bound_per_s']:.2f} orders/s)"
    item = {"what": "flow example (a), embedded, orders/s", "measured": measured, "target": "near 1", "verdict": ""}
    print("RESULT " + json.dumps(item))


if __name__ == "__main__":
    main()
