"""Every benchmark, the way a user meets skiff: whole processes, one table.

    .venv/bin/python bench/all.py [--records 50000] [--repeat 5] [--scale 20] [--quick]

Each figure comes from processes started like a user starts them (``skiff run ...`` with stdout
to a file), timed from start to exit by this script, CPU time and peak RSS from the kernel's
accounting of the finished child (``os.wait4``). The local API runs in a process of its own
(bench/_server.py), so it uses the other core. Contenders run in turn (A B A B ...) and ratios
are taken round by round, so drift in the machine's speed cancels out; medians are printed.

Sections:
  sync        ``skiff run bench/paged orders`` (declarative, API key + Basic auth, page paging,
              no schema) against ``bench/httpx_loop.py`` (the loop a person writes), N records;
              also Billbee's own ``orderApiGetList`` (its out-schema checks every record)
  start-up    process start to the first record on stdout, skiff and the loop
  memory      peak RSS of ``skiff run`` at N and at scale x N records
  rate limit  Billbee's ``orderApiGetList`` against the Billbee sandbox with its real throttles:
              the sync's span against (pages - 1) x (window / requests) + one round trip, and
              429s; then two processes sharing one limit through Redis (``--rate-limits``)
  worker/flow bench/worker.py and bench/flow.py when present (their own lines, as printed)

The table it prints is the README's performance table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BENCH, CREDENTIALS, PAGE_SIZE, REPO, billbee_copy

PY = sys.executable
SKIFF = str(Path(sys.executable).with_name("skiff"))
PAGED = str(BENCH / "paged")

# The budgets of issue 16 (whole processes, this machine).
WALL_RATIO = 0.60
RSS_MB = 45.0
RSS_SCALED_MB = 60.0
FIRST_RECORD_S = 0.30
RATE_RATIO = 1.05


@dataclass
class Run:
    wall: float
    cpu: float
    rss_mb: float
    code: int
    lines: int = 0


@dataclass
class Row:
    what: str
    measured: str
    target: str
    verdict: str


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, what: str, measured: str, target: str = "", verdict: str = "") -> None:
        self.rows.append(Row(what, measured, target, verdict))
        print(f"  {what}: {measured}" + (f"  [{verdict}]" if verdict else ""), flush=True)


def _env() -> dict[str, str]:
    # What a user gets: bytecode cached, nothing unbuffered.
    drop = {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PYTHONPROFILEIMPORTTIME"}
    return {k: v for k, v in os.environ.items() if k not in drop}


def run_process(cmd: list[str], out: Path, *, count_lines: bool = True) -> Run:
    """Start ``cmd`` with stdout to ``out``; wall from start to exit, CPU and peak RSS of the child."""
    err = out.with_suffix(".err")
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, env=_env())
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    run = Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, code)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} exited {code}: {err.read_text(errors='replace')[-600:]}")
    if count_lines:
        with open(out, "rb") as f:
            run.lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    return run


def first_record(cmd: list[str]) -> float:
    """Seconds from starting ``cmd`` to its first line on stdout (then it is stopped)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_env())
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - t0
    proc.kill()
    proc.communicate()
    if not line.strip():
        raise SystemExit(f"{' '.join(cmd[:4])} printed nothing")
    return elapsed


def med(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}–{max(values):.2f}"


def verdict_at_most(value: float, bound: float) -> str:
    if value <= bound:
        return f"met ({(1 - value / bound) * 100:.0f} % under)"
    return f"missed by {(value / bound - 1) * 100:.0f} %"


@contextmanager
def paged_api(records: int, distinct: int | None = None) -> Iterator[str]:
    """bench/_server.py in its own process; yields its base URL."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [PY, str(BENCH / "_server.py"), "--records", str(records), "--port", str(port)]
    if distinct is not None:
        cmd += ["--distinct", str(distinct)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        if not proc.stdout.readline().startswith("ready"):
            raise SystemExit("bench server did not start")
        for _ in range(400):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.025)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ---------------------------------------------------------------------------- sections


def sync_section(report: Report, args: argparse.Namespace, tmp: Path) -> dict[str, list[Run]]:
    n = args.records
    print(f"sync: {n} records, {n // PAGE_SIZE} pages, {args.repeat} rounds", flush=True)
    runs: dict[str, list[Run]] = {}
    with paged_api(n) as url, billbee_copy() as billbee_dir:
        cfg = tmp / "cfg.json"
        cfg.write_text(json.dumps({**CREDENTIALS, "baseUrl": f"{url}/api/v1"}))
        cmds = {
            "loop": [PY, str(BENCH / "httpx_loop.py"), f"{url}/api/v1"],
            "skiff": [SKIFF, "run", PAGED, "orders", "--cfg", f"@{cfg}"],
        }
        if not args.quick:
            cmds["billbee"] = [SKIFF, "run", str(billbee_dir), "orderApiGetList", "--cfg", f"@{cfg}"]
        names = list(cmds)
        for name in names:  # warm-up: OS caches, .pyc files
            run_process(cmds[name], tmp / f"{name}.out", count_lines=False)
        runs = {name: [] for name in names}
        for r in range(args.repeat):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                run = run_process(cmds[name], tmp / f"{name}.out")
                if run.lines != n:
                    raise SystemExit(f"{name} wrote {run.lines} records, not {n}")
                runs[name].append(run)
        firsts: dict[str, list[float]] = {"loop": [], "skiff": []}
        for r in range(max(args.repeat, 3)):
            for name in ("loop", "skiff") if r % 2 == 0 else ("skiff", "loop"):
                firsts[name].append(first_record(cmds[name]))

    loop, skiff = runs["loop"], runs["skiff"]
    wall = [s.wall / lo.wall for s, lo in zip(skiff, loop, strict=True)]
    cpu = [s.cpu / lo.cpu for s, lo in zip(skiff, loop, strict=True)]
    report.add(
        f"wall time, `skiff run` of a declarative paged action / plain httpx loop ({n:,} records)",
        f"**{med(wall):.2f} ×** (rounds {spread(wall)}); skiff {med([x.wall for x in skiff]):.2f} s, "
        f"loop {med([x.wall for x in loop]):.2f} s",
        f"≤ {WALL_RATIO:.2f} ×",
        verdict_at_most(med(wall), WALL_RATIO),
    )
    report.add(
        "CPU time (user + sys), skiff / loop",
        f"**{med(cpu):.2f} ×** (rounds {spread(cpu)}); skiff {med([x.cpu for x in skiff]):.2f} s, "
        f"loop {med([x.cpu for x in loop]):.2f} s",
        "< 1.00 ×",
        "met" if med(cpu) < 1.0 else f"missed by {(med(cpu) - 1) * 100:.0f} %",
    )
    rss = med([x.rss_mb for x in skiff])
    report.add(
        f"peak RSS of `skiff run`, {n:,} records",
        f"**{rss:.1f} MB** (loop {med([x.rss_mb for x in loop]):.1f} MB)",
        f"≤ {RSS_MB:.0f} MB",
        verdict_at_most(rss, RSS_MB),
    )
    if "billbee" in runs:
        bb = runs["billbee"]
        ratio = [b.wall / lo.wall for b, lo in zip(bb, loop, strict=True)]
        report.add(
            "wall time, Billbee `orderApiGetList` (every record checked against its out-schema) / loop",
            f"{med(ratio):.2f} × (rounds {spread(ratio)}); CPU {med([b.cpu for b in bb]):.2f} s, "
            f"peak {med([b.rss_mb for b in bb]):.1f} MB",
            "(for comparison)",
            "",
        )
    report.add(
        "start-up: process start to the first record on stdout",
        f"**skiff {med(firsts['skiff']):.2f} s** ({spread(firsts['skiff'])}); loop {med(firsts['loop']):.2f} s",
        f"≤ {FIRST_RECORD_S:.2f} s",
        verdict_at_most(med(firsts["skiff"]), FIRST_RECORD_S),
    )
    return runs


def memory_section(report: Report, args: argparse.Namespace, tmp: Path, at_n: list[Run]) -> None:
    big = args.records * args.scale
    print(f"memory: {big:,} records ({args.scale} x N), one run", flush=True)
    with paged_api(big, distinct=min(200, args.records // PAGE_SIZE or 1)) as url:
        cfg = tmp / "cfg-big.json"
        cfg.write_text(json.dumps({**CREDENTIALS, "baseUrl": f"{url}/api/v1"}))
        run = run_process([SKIFF, "run", PAGED, "orders", "--cfg", f"@{cfg}"], tmp / "big.out")
    if run.lines != big:
        raise SystemExit(f"skiff wrote {run.lines} records, not {big}")
    at = med([x.rss_mb for x in at_n]) if at_n else float("nan")
    report.add(
        f"peak RSS of `skiff run` at N = {args.records:,} and {args.scale} × N = {big:,} records",
        f"**{at:.1f} → {run.rss_mb:.1f} MB** ({run.wall:.1f} s, {big / run.wall:,.0f} records/s)",
        f"< {RSS_SCALED_MB:.0f} MB, flat",
        verdict_at_most(run.rss_mb, RSS_SCALED_MB) + ("; flat" if run.rss_mb <= at * 1.1 + 1 else "; grows"),
    )


@contextmanager
def billbee_sandbox(orders: int) -> Iterator[dict[str, str]]:
    key = f"bench-{uuid.uuid4().hex[:12]}"  # its own rate-limit windows, also in Redis
    proc = subprocess.Popen(
        [PY, str(BENCH / "_sandbox.py"), "--orders", str(orders), "--api-key", key],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("{"):
            raise SystemExit(f"Billbee sandbox did not start: {line!r}")
        yield json.loads(line)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _declared_interval(component: Path, endpoint: str = "GET /orders") -> float:
    """Seconds per request the declared limits allow on ``endpoint``: the largest window / requests
    of the limits that apply to it (those naming other endpoints do not; ``per`` splits a limit
    by page or id, which a sync of distinct pages never repeats)."""
    data = json.loads((component / "component.json").read_text(encoding="utf-8"))
    limits = [
        x
        for x in (data.get("http") or {}).get("rateLimits") or []
        if endpoint in x.get("endpoints", [endpoint]) and not x.get("per")
    ]
    return max((float(x["perSeconds"]) / int(x["requests"]) for x in limits), default=0.0)


def _server_log(info: dict[str, str]) -> list[dict[str, Any]]:
    import httpx

    entries = httpx.get(f"{info['url']}/_sandbox/requests").json()["requests"]
    return [e for e in entries if e["path"].endswith("/orders")]


def _stamp(entry: dict[str, Any]) -> tuple[float, float]:
    """(arrival, completion) in epoch seconds from a sandbox log entry (time is the end)."""
    from datetime import datetime

    end = datetime.fromisoformat(entry["time"].replace("Z", "+00:00")).timestamp()
    return end - entry["duration_ms"] / 1000, end


def _rate_rows(report: Report, label: str, entries: list[dict[str, Any]], interval: float, wall: float) -> None:
    stamps = sorted(_stamp(e) for e in entries)
    answered = [e for e in entries if e["status"] == 200]
    throttled = sum(1 for e in entries if e["status"] == 429)
    rtt = med([e["duration_ms"] / 1000 for e in answered])
    span = max(end for _, end in stamps) - stamps[0][0]
    bound = (len(answered) - 1) * interval + rtt
    ratio = span / bound
    verdict = verdict_at_most(ratio, RATE_RATIO)
    verdict += "; 0 × 429" if throttled == 0 else f"; **{throttled} × 429**"
    report.add(
        label,
        f"**{ratio:.3f} ×**: {span:.2f} s for {len(answered)} requests where the limits allow "
        f"{bound:.2f} s ({len(answered) - 1} × {interval:.3f} s + {rtt * 1000:.0f} ms); "
        f"{throttled} × 429; whole process{'es' if 'two' in label else ''} {wall:.2f} s",
        f"≤ {RATE_RATIO:.2f} ×, 0 × 429",
        verdict,
    )


def rate_section(report: Report, args: argparse.Namespace, tmp: Path) -> None:
    import httpx

    orders = args.orders
    component = REPO / "components" / "billbee"
    interval = _declared_interval(component)
    print(f"rate limit: {orders} Billbee orders, {-(-orders // PAGE_SIZE)} pages", flush=True)
    with billbee_sandbox(orders) as info:
        cfg = tmp / "cfg-billbee.json"
        cfg.write_text(json.dumps({k: info[k] for k in ("baseUrl", "apiKey", "username", "password")}))
        cmd = [SKIFF, "run", str(component), "orderApiGetList", "--cfg", f"@{cfg}"]
        run = run_process(cmd, tmp / "rate.out")
        if run.lines != orders:
            raise SystemExit(f"rate-limited sync wrote {run.lines} records, not {orders}")
        label = "rate-limited sync, one process (Billbee sandbox, real throttles)"
        _rate_rows(report, label, _server_log(info), interval, run.wall)

        run_help = subprocess.run([SKIFF, "run", "--help"], capture_output=True, text=True).stdout
        top_help = subprocess.run([SKIFF, "--help"], capture_output=True, text=True).stdout
        if "--rate-limits" not in run_help + top_help:
            report.add(
                "rate-limited sync, two processes sharing the limit through Redis",
                "not run: skiff has no --rate-limits option in this tree",
                "≤ 1.05 ×, 0 × 429",
                "not measured",
            )
            return
        httpx.delete(f"{info['url']}/_sandbox/requests")
        time.sleep(1.2)  # the first sync's windows pass
        redis_url = os.environ.get("SKIFF_BENCH_REDIS", "redis://127.0.0.1:6379/0")
        shared = [*cmd, "--rate-limits", redis_url] if "--rate-limits" in run_help else cmd
        env = {**_env(), "SKIFF_RATE_LIMITS": redis_url}  # where the option is the group's
        outs = [tmp / f"rate{i}.out" for i in (1, 2)]
        with open(outs[0], "wb") as one, open(outs[1], "wb") as two:
            t0 = time.perf_counter()
            procs = [subprocess.Popen(shared, stdout=f, stderr=subprocess.PIPE, env=env) for f in (one, two)]
            errors = [p.communicate()[1] for p in procs]
            wall = time.perf_counter() - t0
        for p, err in zip(procs, errors, strict=True):
            if p.returncode != 0:
                raise SystemExit(f"shared-limit sync exited {p.returncode}: {err.decode(errors='replace')[-600:]}")
        label = "rate-limited sync, two processes sharing the limit through Redis"
        _rate_rows(report, label, _server_log(info), interval, wall)


AMQP = os.environ.get("SKIFF_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def _worker_rows(report: Report, stdout: str) -> bool:
    """bench/worker.py's table (prefetch, emit limit, msgs, sailor and skiff msg/s, ratio, CPU, RSS)."""
    found = False
    for line in stdout.splitlines():
        cells = line.split()
        if len(cells) != 10 or not cells[0].isdigit():
            continue
        prefetch, limit, count, sailor, skiff, ratio, _, _, sailor_rss, skiff_rss = cells
        found = True
        measured = (
            f"**{float(ratio):.2f} ×** ({skiff} vs {sailor} msg/s, {count} messages); "
            f"RSS {skiff_rss} vs {sailor_rss} MB"
        )
        what = f"worker, no-op step, prefetch {prefetch}, emit limit {limit}: skiff / sailor-nodejs msg/s"
        if limit != "off":  # both run at the emit limit (10 per 100 ms): no ratio to win
            report.add(what, measured, "(both held by the emit limit)", "")
            continue
        verdict = "met" if float(ratio) >= 2 else f"missed by {(1 - float(ratio) / 2) * 100:.0f} %"
        if float(skiff_rss) > 80:
            verdict += f"; RSS over by {float(skiff_rss) - 80:.0f} MB"
        report.add(what, measured, "≥ 2 ×, ≤ 80 MB", verdict)
    return found


def other_benchmarks(report: Report, args: argparse.Namespace) -> None:
    """bench/worker.py and bench/flow.py (issues 13 and 14) when present: their result lines."""
    for name in ("worker", "flow"):
        script = BENCH / f"{name}.py"
        if not script.exists():
            report.add(f"{name} benchmark", f"not run: bench/{name}.py is not in this tree", "", "not measured")
            continue
        usage = subprocess.run([PY, str(script), "--help"], capture_output=True, text=True, env=_env(), cwd=REPO).stdout
        cmd = [PY, str(script)]
        if args.quick and "--quick" in usage:
            cmd.append("--quick")
        elif args.quick and "--messages" in usage:
            cmd += ["--messages", "200", "--limited", "60", "--prefetch", "10"]
        if "--amqp" in usage:
            cmd += ["--amqp", AMQP]
        print(f"{name}: {' '.join(cmd[1:])}", flush=True)
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, env=_env(), cwd=REPO, timeout=900)
        except subprocess.TimeoutExpired:
            report.add(f"{name} benchmark", "did not finish within 900 s", "", "failed")
            continue
        if done.returncode != 0:
            failed = f"failed (exit {done.returncode}): {done.stderr.strip()[-200:]}"
            report.add(f"{name} benchmark", failed, "", "failed")
            continue
        lines = [ln.strip() for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
        for line in lines:
            item = json.loads(line.removeprefix("RESULT "))
            report.add(item["what"], item["measured"], item.get("target", ""), item.get("verdict", ""))
        if not lines and not (name == "worker" and _worker_rows(report, done.stdout)):
            report.notes.append(f"bench/{name}.py printed:\n" + done.stdout.strip()[-1500:])


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GB, Python {platform.python_version()}, {platform.system()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=50_000, help="records of the sync (N)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds of each whole-process contender")
    parser.add_argument("--scale", type=int, default=20, help="the memory run reads scale x N records")
    parser.add_argument("--orders", type=int, default=2500, help="orders in the rate-limited Billbee sync")
    parser.add_argument("--skip", default="", help="comma list of sections to leave out: sync,memory,rate,others")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one round: checks that it runs")
    args = parser.parse_args()
    if args.quick:
        args.records, args.repeat, args.scale, args.orders = 1000, 1, 2, 500
    skip = set(filter(None, args.skip.split(",")))
    load = os.getloadavg()[0]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    report = Report()
    tmp = Path(tempfile.mkdtemp(prefix="skiff-bench-all-"))
    try:
        runs = sync_section(report, args, tmp) if "sync" not in skip else {}
        if "memory" not in skip:
            memory_section(report, args, tmp, runs.get("skiff", []))
        if "rate" not in skip:
            rate_section(report, args, tmp)
        if "others" not in skip:
            other_benchmarks(report, args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(f"{started}; {machine()}; load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end;")
    print(f"medians of {args.repeat} rounds, contenders in turn, ratios taken round by round.")
    print()
    print("| budget | measured | target | verdict |")
    print("|---|---|---|---|")
    for row in report.rows:
        print(f"| {row.what} | {row.measured} | {row.target} | {row.verdict} |")
    for note in report.notes:
        print()
        print(note)


if __name__ == "__main__":
    main()
