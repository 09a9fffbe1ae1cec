"""Per-call overhead: one small GET through skiff's executor against a bare httpx call.

    .venv/bin/python bench/call_overhead.py [--calls 2000] [--repeat 5] [--profile VARIANT]

Same local API (bench/_server.py, its own process), GET /api/v1/orders/ID answering one
Billbee order (about 1 KB) in the envelope. Each contender reuses its client (a worker pools
them); rounds alternate with the order rotated, medians reported.

  baseline         httpx.AsyncClient.get + .json() + ErrorCode check
  httpclient       skiff.http.HttpClient.request (auth, limiter, retry wrapper, envelope)
  billbee          Executor.run of billbee's declarative ``orderApiGet`` (rate limits removed):
                   cfg and in-schema checks, templating, request, out-schema validation, emit
  billbee-novalid  the same with Executor(validate_output=False)
  http             the ``http`` component's ``request`` action (a Python handler, ctx.call)

Columns: median microseconds per call, spread ((max - min) / median), what skiff adds, ratio
of medians, paired ratio (median of per-round ratios). Target: billbee within 1.10 x the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import CREDENTIALS, billbee_copy, median, serve

TARGET = 1.10
VARIANTS = ("baseline", "httpclient", "billbee", "billbee-novalid", "http")

Call = Callable[[int], Awaitable[Any]]


async def _round(variant: str, url: str, billbee_dir: Path, calls: int) -> float:
    """Set the contender up, warm it with one call, then time ``calls`` sequential calls."""
    import httpx

    from skiff.component import load_component, resolve_component
    from skiff.executor import Event, Executor
    from skiff.message import Message

    closers: list[Callable[[], Awaitable[None]]] = []
    call: Call
    if variant == "baseline":
        client = httpx.AsyncClient(
            base_url=f"{url}/api/v1",
            auth=(CREDENTIALS["username"], CREDENTIALS["password"]),
            headers={"X-Billbee-Api-Key": CREDENTIALS["apiKey"], "Accept": "application/json"},
        )
        closers.append(client.aclose)

        async def call(i: int) -> Any:
            response = await client.get(f"/orders/{i}")
            response.raise_for_status()
            body = response.json()
            if body["ErrorCode"] != 0:
                raise RuntimeError(body["ErrorMessage"])
            return body["Data"]

    elif variant == "httpclient":
        executor = Executor()
        closers.append(executor.aclose)
        component = load_component(billbee_dir, name="billbee")
        http = executor.client(component, {**CREDENTIALS, "baseUrl": f"{url}/api/v1"})
        assert http is not None

        async def call(i: int) -> Any:
            return (await http.request("GET", f"/orders/{i}", endpoint="GET /orders/{id}")).data

    else:
        executor = Executor(validate_output=variant != "billbee-novalid")
        closers.append(executor.aclose)
        emitted: list[Any] = []

        async def emit(event: Event) -> None:
            if event.kind == "data":
                emitted.append(event.payload)
            elif event.kind == "error":
                raise RuntimeError(event.payload["error"].one_line())

        if variant == "http":
            component = resolve_component("http")
            function = "request"
            cfg: dict[str, Any] = {
                "baseUrl": f"{url}/api/v1",
                "auth": {"type": "basic", "username": CREDENTIALS["username"], "password": CREDENTIALS["password"]},
            }

            def body(i: int) -> dict[str, Any]:
                return {"path": f"/orders/{i}", "headers": {"X-Billbee-Api-Key": CREDENTIALS["apiKey"]}}
        else:
            component = load_component(billbee_dir, name="billbee")
            function = "orderApiGet"
            cfg = {**CREDENTIALS, "baseUrl": f"{url}/api/v1"}

            def body(i: int) -> dict[str, Any]:
                return {"id": i}

        async def call(i: int) -> Any:
            emitted.clear()
            await executor.run(component, function, cfg, Message(body=body(i)), emit=emit)
            if len(emitted) != 1:
                raise RuntimeError(f"{variant}: {len(emitted)} messages emitted")
            return emitted[0]

    try:
        await call(0)
        t0 = time.perf_counter()
        for i in range(1, calls + 1):
            await call(i)
        return time.perf_counter() - t0
    finally:
        for close in closers:
            await close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000, help="sequential calls per round")
    parser.add_argument("--repeat", type=int, default=5, help="alternating rounds (medians reported)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma list; baseline is always run")
    parser.add_argument("--profile", metavar="VARIANT", help="cProfile one round of VARIANT instead")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    if args.profile:
        import cProfile
        import pstats

        with serve(250) as url, billbee_copy() as billbee_dir:
            asyncio.run(_round(args.profile, url, billbee_dir, 10))
            prof = cProfile.Profile()
            prof.enable()
            asyncio.run(_round(args.profile, url, billbee_dir, args.calls))
            prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(args.top)
        pstats.Stats(prof).sort_stats("cumulative").print_stats(args.top)
        return
    variants = ["baseline", *[v for v in args.variants.split(",") if v and v != "baseline"]]
    for v in variants:
        if v not in VARIANTS:
            parser.error(f"unknown variant {v!r}; known: {', '.join(VARIANTS)}")

    times: dict[str, list[float]] = {v: [] for v in variants}
    with serve(250) as url, billbee_copy() as billbee_dir:
        for r in range(args.repeat):
            for v in variants[r % len(variants) :] + variants[: r % len(variants)]:
                times[v].append(asyncio.run(_round(v, url, billbee_dir, args.calls)) / args.calls)

    base = median(times["baseline"])
    print(f"per-call overhead: {args.calls} sequential GETs of one ~1 KB order, {args.repeat} rounds (medians)")
    print(f"{'variant':<16} {'us/call':>9} {'spread':>7} {'+us':>8} {'ratio':>6} {'paired':>7}")
    for v in variants:
        med = median(times[v])
        spread = (max(times[v]) - min(times[v])) / med * 100
        paired = median([t / b for t, b in zip(times[v], times["baseline"], strict=True)])
        print(f"{v:<16} {med * 1e6:9.0f} {spread:6.0f}% {(med - base) * 1e6:+8.0f} {med / base:6.2f} {paired:7.2f}")
    if "billbee" in times:
        ratio = median(times["billbee"]) / base
        verdict = "ok" if ratio <= TARGET else "over target"
        print(f"ratio billbee/baseline: {ratio:.2f} (target <= {TARGET}: {verdict})")


if __name__ == "__main__":
    main()
