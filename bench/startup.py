"""Start-up: from starting ``skiff run`` to its first stdout line, against plain Python.

    .venv/bin/python bench/startup.py [--repeat 7] [--importtime]

Each command is a fresh process against the local API (bench/_server.py); we time from
Popen to the first line on stdout (and to exit), rounds alternating, medians reported.

  python           python -c 'print(1)': the interpreter alone
  httpx            python -c: import httpx, GET one order, print it (what a script does)
  skiff-http       skiff run http request   --body '{"path": "/orders/1"}'
  skiff-billbee    skiff run <billbee copy> orderApiGetList (first record of a 10-page sync)

Target: the first record within 0.5 s of starting ``skiff run``; the ratio to the httpx
script shows what skiff's own start-up adds. ``--importtime`` lists the slowest imports of
``skiff run http request`` (python -X importtime).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import CREDENTIALS, PAGE_SIZE, billbee_copy, median, serve

TARGET = 0.5
PY = sys.executable
SKIFF = str(Path(sys.executable).with_name("skiff"))

_HTTPX_SCRIPT = """
import json, sys, httpx
r = httpx.get(sys.argv[1] + "/api/v1/orders/1", auth=(sys.argv[2], sys.argv[3]))
r.raise_for_status()
print(json.dumps(r.json()["Data"]), flush=True)
"""


def commands(url: str, billbee_dir: Path) -> dict[str, list[str]]:
    http_cfg = {
        "baseUrl": f"{url}/api/v1",
        "auth": {"type": "basic", "username": CREDENTIALS["username"], "password": CREDENTIALS["password"]},
    }
    billbee_cfg = {**CREDENTIALS, "baseUrl": f"{url}/api/v1"}
    return {
        "python": [PY, "-c", "print(1)"],
        "httpx": [PY, "-c", _HTTPX_SCRIPT, url, CREDENTIALS["username"], CREDENTIALS["password"]],
        "skiff-http": [
            SKIFF,
            "run",
            "http",
            "request",
            "--cfg",
            json.dumps(http_cfg),
            "--body",
            json.dumps({"path": "/orders/1"}),
        ],
        "skiff-billbee": [
            SKIFF,
            "run",
            str(billbee_dir),
            "orderApiGetList",
            "--cfg",
            json.dumps(billbee_cfg),
            "--body",
            "{}",
        ],
    }


def first_line(cmd: list[str]) -> tuple[float, float]:
    """Seconds to the first stdout line, and to exit."""
    # Measure what a user gets: bytecode cached (this sandbox may set PYTHONDONTWRITEBYTECODE).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    first = time.perf_counter() - t0
    proc.stdout.read()
    _, err = proc.communicate()
    total = time.perf_counter() - t0
    if proc.returncode != 0 or not line.strip():
        raise SystemExit(f"{cmd[:4]} failed ({proc.returncode}): {err.decode(errors='replace')[-500:]}")
    return first, total


def importtime(cmd: list[str], top: int) -> None:
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    rows: list[tuple[int, str]] = []
    for line in out.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            parts = line.removeprefix("import time:").split("|")
            try:
                rows.append((int(parts[1].strip()), parts[2].rstrip()))
            except ValueError:
                continue
    top_level = [r for r in rows if not r[1].startswith("  ")]
    print(f"\nslowest top-level imports of `skiff run http request` (cumulative ms, {len(rows)} modules):")
    for us, name in sorted(top_level, reverse=True)[:top]:
        print(f"  {us / 1000:7.1f}  {name.strip()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7, help="alternating rounds (medians reported)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first (OS caches, .pyc)")
    parser.add_argument("--importtime", action="store_true", help="also list the slowest imports")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--commands", help="comma list (default: all); httpx is always run")
    args = parser.parse_args()

    with serve(10 * PAGE_SIZE) as url, billbee_copy() as billbee_dir:
        cmds = commands(url, billbee_dir)
        if args.commands:
            keep = {"httpx", *args.commands.split(",")}
            unknown = keep - set(cmds)
            if unknown:
                parser.error(f"unknown command(s) {', '.join(sorted(unknown))}; known: {', '.join(cmds)}")
            cmds = {n: c for n, c in cmds.items() if n in keep}
        names = list(cmds)
        for _ in range(args.warmup):  # warm the OS caches and .pyc files
            for name in names:
                first_line(cmds[name])
        firsts: dict[str, list[float]] = {n: [] for n in names}
        totals: dict[str, list[float]] = {n: [] for n in names}
        for r in range(args.repeat):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                first, total = first_line(cmds[name])
                firsts[name].append(first)
                totals[name].append(total)
        if args.importtime and "skiff-http" in cmds:
            importtime(cmds["skiff-http"], args.top)

    base = median(firsts["httpx"])
    print(f"\nstart-up to first stdout line, {args.repeat} rounds (medians; fresh process each)")
    print(f"{'command':<14} {'first s':>8} {'exit s':>8} {'ratio':>6}")
    for name in names:
        print(f"{name:<14} {median(firsts[name]):8.3f} {median(totals[name]):8.3f} {median(firsts[name]) / base:6.2f}")
    for name in [n for n in ("skiff-http", "skiff-billbee") if n in firsts]:
        seconds = median(firsts[name])
        verdict = "ok" if seconds <= TARGET else "over target"
        print(
            f"ratio {name}/httpx: {seconds / base:.2f}; first record {seconds:.3f} s (target <= {TARGET} s: {verdict})"
        )


if __name__ == "__main__":
    main()
