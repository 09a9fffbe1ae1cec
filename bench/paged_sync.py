"""Paged sync: skiff's executor against a plain httpx loop on the same local API.

    .venv/bin/python bench/paged_sync.py [--records 50000] [--repeat 5] [--profile [VARIANT]]

The API (bench/_server.py, its own process) serves N Billbee-shaped orders (about 1 KB each),
250 per page, in the Billbee envelope. In one process, rounds alternate (order rotated):

  baseline         httpx.AsyncClient: GET every page, .json(), check ErrorCode, iterate Data
  billbee          skiff Executor.run of billbee's declarative ``orderApiGetList`` (the shipped
                   component.json with its rate limits removed): auth, envelope, paging,
                   in-schema and per-record out-schema validation, one data event per record
  billbee-novalid  the same with Executor(validate_output=False): the price of validation
  http             the generic ``http`` component's ``request`` action, page pagination,
                   emitIndividually (its out-schema accepts anything)

Prints median seconds, their spread ((max - min) / median), the ratio of medians to the
baseline's and the paired ratio (median of per-round ratios, robust to drift on a busy
machine). Target: billbee <= 1.25. Then, each in a
fresh process, peak RSS growth during a sync of N and of 2N records (target: no growth with N).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import CREDENTIALS, PAGE_SIZE, billbee_copy, median, peak_rss_mb, reset_peak_rss, rss_mb, serve

TARGET = 1.25
VARIANTS = ("baseline", "billbee", "billbee-novalid", "http")

_HTTP_PAGINATION = {
    "type": "page",
    "pageParam": "page",
    "sizeParam": "pageSize",
    "size": PAGE_SIZE,
    "start": 1,
    "totalPagesPath": "Paging.TotalPages",
    "recordsPath": "Data",
}


async def baseline(url: str, max_pages: int | None = None) -> int:
    """What a hand-written connector does: one client, a page loop, iterate the records."""
    import httpx

    count = 0
    async with httpx.AsyncClient(
        base_url=f"{url}/api/v1",
        auth=(CREDENTIALS["username"], CREDENTIALS["password"]),
        headers={"X-Billbee-Api-Key": CREDENTIALS["apiKey"], "Accept": "application/json"},
    ) as client:
        page = 1
        while True:
            response = await client.get("/orders", params={"page": page, "pageSize": PAGE_SIZE})
            response.raise_for_status()
            body = response.json()
            if body["ErrorCode"] != 0:
                raise RuntimeError(body["ErrorMessage"])
            for _record in body["Data"]:
                count += 1
            if page >= body["Paging"]["TotalPages"] or (max_pages and page >= max_pages):
                return count
            page += 1


class Skiff:
    """One skiff contender: a component, a function, cfg and body; run() counts data events."""

    def __init__(self, variant: str, url: str, billbee_dir: Path, max_pages: int | None = None) -> None:
        from skiff.component import load_component, resolve_component

        self.validate = variant != "billbee-novalid"
        if variant.startswith("billbee"):
            self.component = load_component(billbee_dir, name="billbee")
            self.function = "orderApiGetList"
            self.cfg: dict[str, Any] = {**CREDENTIALS, "baseUrl": f"{url}/api/v1"}
            self.body: dict[str, Any] = {"maxPages": max_pages} if max_pages else {}
        elif variant == "http":
            self.component = resolve_component("http")
            self.function = "request"
            self.cfg = {
                "baseUrl": f"{url}/api/v1",
                "auth": {"type": "basic", "username": CREDENTIALS["username"], "password": CREDENTIALS["password"]},
            }
            self.body = {
                "path": "/orders",
                "headers": {"X-Billbee-Api-Key": CREDENTIALS["apiKey"]},
                "pagination": _HTTP_PAGINATION,
                "emitBehavior": "emitIndividually",
            }
            if max_pages:
                self.body["maxPages"] = max_pages
        else:
            raise ValueError(variant)

    async def run(self) -> int:
        from skiff.message import Message
        from skiff.run import Event, Executor

        count = 0

        async def emit(event: Event) -> None:
            nonlocal count
            if event.kind == "data":
                count += 1

        async with Executor(validate_output=self.validate) as executor:
            result = await executor.run(self.component, self.function, self.cfg, Message(body=self.body), emit=emit)
        if result.error is not None:
            raise RuntimeError(result.error.one_line())
        return count


def _runner(variant: str, url: str, billbee_dir: Path, max_pages: int | None = None) -> Any:
    if variant == "baseline":
        return lambda: baseline(url, max_pages)
    return Skiff(variant, url, billbee_dir, max_pages).run


def _timed(run: Any) -> tuple[float, int]:
    t0 = time.perf_counter()
    count = asyncio.run(run())
    return time.perf_counter() - t0, count


def timing(
    url: str, records: int, variants: list[str], repeat: int, warmup: int, billbee_dir: Path
) -> dict[str, list[float]]:
    runners = {v: _runner(v, url, billbee_dir) for v in variants}
    for _ in range(warmup):
        for v in variants:
            _timed(runners[v])
    times: dict[str, list[float]] = {v: [] for v in variants}
    for r in range(repeat):
        order = variants[r % len(variants) :] + variants[: r % len(variants)]  # rotate: cancel drift
        for v in order:
            seconds, count = _timed(runners[v])
            if count != records:
                raise SystemExit(f"{v}: read {count} records, expected {records}")
            times[v].append(seconds)
    return times


def memory_child(variant: str, url: str, records: int) -> None:
    """In a fresh process: RSS before the sync and the peak during it (MB), as JSON."""
    import httpx  # noqa: F401  (imports are not what we measure)

    import skiff.run  # noqa: F401

    with billbee_copy() as billbee_dir:
        run = _runner(variant, url, billbee_dir)
        reset_peak_rss()
        before = rss_mb()
        _seconds, count = _timed(run)
        after = peak_rss_mb()
    print(json.dumps({"variant": variant, "records": count, "before": before, "peak": after, "growth": after - before}))


def memory(records: int, variants: list[str]) -> None:
    print(f"\npeak RSS growth during one sync (fresh process each; MB), N={records} vs 2N={2 * records}")
    print(f"{'variant':<16} {'N':>8} {'2N':>8} {'2N-N':>8}")
    results: dict[str, dict[int, float]] = {v: {} for v in variants}
    sizes = (records, 2 * records)
    # Peak RSS is per process, so the children may run side by side (and the servers too).
    with contextlib.ExitStack() as stack:
        urls = {n: stack.enter_context(serve(n)) for n in sizes}
        children = {
            (v, n): subprocess.Popen(
                [sys.executable, __file__, "--memory-child", v, "--url", urls[n], "--records", str(n)],
                stdout=subprocess.PIPE,
                text=True,
            )
            for n in sizes
            for v in variants
        }
        for (v, n), child in children.items():
            out, _ = child.communicate()
            if child.returncode != 0:
                raise SystemExit(f"memory run {v} N={n} failed")
            data = json.loads(out.strip().splitlines()[-1])
            if data["records"] != n:
                raise SystemExit(f"{v}: read {data['records']} records, expected {n}")
            results[v][n] = data["growth"]
    for v in variants:
        a, b = results[v][records], results[v][2 * records]
        print(f"{v:<16} {a:8.1f} {b:8.1f} {b - a:+8.1f}")


def profile(variant: str, url: str, billbee_dir: Path, top: int) -> None:
    import cProfile
    import pstats

    run = _runner(variant, url, billbee_dir)
    _timed(run)  # warm
    prof = cProfile.Profile()
    prof.enable()
    _timed(run)
    prof.disable()
    stats = pstats.Stats(prof)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5, help="alternating rounds (medians reported)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma list; baseline is always run")
    parser.add_argument("--no-memory", action="store_true", help="skip the N vs 2N memory runs")
    parser.add_argument("--memory-variants", help="comma list for the memory runs (default: all but billbee-novalid)")
    parser.add_argument(
        "--profile",
        nargs="?",
        const="billbee",
        metavar="VARIANT",
        help="cProfile one sync of VARIANT (default billbee) instead",
    )
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.records % PAGE_SIZE:
        parser.error(f"--records must be a multiple of {PAGE_SIZE}")

    if args.memory_child:
        memory_child(args.memory_child, args.url, args.records)
        return

    variants = ["baseline", *[v for v in args.variants.split(",") if v and v != "baseline"]]
    for v in variants:
        if v not in VARIANTS:
            parser.error(f"unknown variant {v!r}; known: {', '.join(VARIANTS)}")

    with serve(args.records) as url, billbee_copy() as billbee_dir:
        if args.profile:
            profile(args.profile, url, billbee_dir, args.top)
            return
        times = timing(url, args.records, variants, args.repeat, args.warmup, billbee_dir)

    base = times["baseline"]
    print(
        f"paged sync: {args.records} records, {args.records // PAGE_SIZE} pages of {PAGE_SIZE}, "
        f"{args.repeat} alternating rounds (medians)"
    )
    print(f"{'variant':<16} {'seconds':>8} {'spread':>7} {'rec/s':>9} {'ratio':>6} {'paired':>7}")
    for v in variants:
        med = median(times[v])
        spread = (max(times[v]) - min(times[v])) / med * 100
        paired = median([t / b for t, b in zip(times[v], base, strict=True)])
        print(f"{v:<16} {med:8.3f} {spread:6.0f}% {args.records / med:9.0f} {med / median(base):6.2f} {paired:7.2f}")
    if "billbee" in times:
        ratio = median(times["billbee"]) / median(base)
        verdict = "ok" if ratio <= TARGET else "over target"
        print(f"ratio billbee/baseline: {ratio:.2f} (target <= {TARGET}: {verdict})")

    if not args.no_memory:
        chosen = args.memory_variants.split(",") if args.memory_variants else variants
        memory(args.records, [v for v in chosen if v in VARIANTS and v != "billbee-novalid"])


if __name__ == "__main__":
    main()
