"""Per-call overhead: one small GET through skiff's executor against a bare httpx call.

    .venv/bin/python bench/call_overhead.py [--calls 2000] [--repeat 5] [--profile VARIANT]

Same local API (bench/_server.py, its own process), GET /api/v1/orders/ID answering one
Billbee order (about 1 KB) in the envelope. Each contender reuses its client (a worker pools
them). All contenders live in one event loop and take turns in blocks of 50 calls (order
rotated), so load from elsewhere on a shared machine hits them alike; medians of the rounds.

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


Closer = Callable[[], Awaitable[None]]


async def _setup(variant: str, url: str, billbee_dir: Path) -> tuple[Call, list[Closer]]:
    """The contender's ``call(i)`` (one GET of order i), warmed with one call, and its closers."""
    import httpx

    from skiff.component import load_component, resolve_component
    from skiff.message import Message
    from skiff.run import Event, Executor

    closers: list[Closer] = []
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

    await call(0)
    return call, closers


async def _measure(
    variants: list[str], url: str, billbee_dir: Path, calls: int, repeat: int, block: int
) -> dict[str, list[float]]:
    """Seconds per call, one value per round; within a round the variants take turns in blocks
    of ``block`` calls (order rotated), so a burst of load elsewhere hits them all alike."""
    block = max(1, min(block, calls))
    setups = {v: await _setup(v, url, billbee_dir) for v in variants}
    times: dict[str, list[float]] = {v: [] for v in variants}
    try:
        i = 0
        for _ in range(repeat):
            spent = dict.fromkeys(variants, 0.0)
            for b in range(max(1, calls // block)):
                k = b % len(variants)
                for v in variants[k:] + variants[:k]:
                    call = setups[v][0]
                    t0 = time.perf_counter()
                    for _ in range(block):
                        i += 1
                        await call(i)
                    spent[v] += time.perf_counter() - t0
            for v in variants:
                times[v].append(spent[v] / (max(1, calls // block) * block))
    finally:
        for _call, closers in setups.values():
            for close in closers:
                await close()
    return times


async def _profile(variant: str, url: str, billbee_dir: Path, calls: int, top: int) -> None:
    import cProfile
    import pstats

    call, closers = await _setup(variant, url, billbee_dir)
    prof = cProfile.Profile()
    prof.enable()
    for i in range(1, calls + 1):
        await call(i)
    prof.disable()
    for close in closers:
        await close()
    pstats.Stats(prof).sort_stats("tottime").print_stats(top)
    pstats.Stats(prof).sort_stats("cumulative").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000, help="sequential calls per variant and round")
    parser.add_argument("--block", type=int, default=50, help="calls per turn when variants take turns")
    parser.add_argument("--repeat", type=int, default=5, help="alternating rounds (medians reported)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma list; baseline is always run")
    parser.add_argument("--profile", metavar="VARIANT", help="cProfile one round of VARIANT instead")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    if args.profile:
        with serve(250) as url, billbee_copy() as billbee_dir:
            asyncio.run(_profile(args.profile, url, billbee_dir, args.calls, args.top))
        return
    variants = ["baseline", *[v for v in args.variants.split(",") if v and v != "baseline"]]
    for v in variants:
        if v not in VARIANTS:
            parser.error(f"unknown variant {v!r}; known: {', '.join(VARIANTS)}")

    with serve(250) as url, billbee_copy() as billbee_dir:
        times = asyncio.run(_measure(variants, url, billbee_dir, args.calls, args.repeat, args.block))

    base = median(times["baseline"])
    print(
        f"per-call overhead: {args.calls} sequential GETs of one ~1 KB order per variant and round, "
        f"turns of {min(args.block, args.calls)}, {args.repeat} rounds (medians)"
    )
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
