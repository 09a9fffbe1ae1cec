"""skiff worker vs sailor-nodejs 2.7.8: messages/s and peak RSS of a no-op step, same broker, same run.

For each prefetch (1, 10) and emit limit (sailor's default 10 per 100 ms, and off), the same
number of encrypted messages is queued on the local RabbitMQ, then one worker process is started
and timed from the moment it consumes until its last output is on the output queue. The no-op
steps: a Python handler returning the body (skiff) and a JavaScript module returning
``{body}`` (sailor). Peak RSS is the worker process's VmHWM at the end.

    .venv/bin/python bench/worker.py [--messages 2000] [--limited 300] [--prefetch 1 10]

Needs RabbitMQ on 127.0.0.1:5672 and node/npm (the sailor is installed once into
~/.cache/skiff-test-npm/sailor-2.7.8, outside the repository).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import aio_pika

from skiff.worker.crypto import MessageCipher

AMQP = os.environ.get("SKIFF_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
NPM_DIR = Path(os.environ.get("SKIFF_TEST_NPM_DIR", Path.home() / ".cache" / "skiff-test-npm")) / "sailor-2.7.8"
PASSWORD, IV = "bench-password", "0123456789abcdef"
BODY = {"id": 12345, "name": "bench message", "items": [1, 2, 3], "note": "x" * 48}  # ~128 bytes of JSON


def sailor_package() -> Path:
    package = NPM_DIR / "node_modules" / "elasticio-sailor-nodejs"
    if not (package / "package.json").is_file():
        if shutil.which("npm") is None:
            sys.exit("npm is not installed: cannot run sailor-nodejs")
        NPM_DIR.mkdir(parents=True, exist_ok=True)
        (NPM_DIR / "package.json").write_text('{"name": "skiff-sailor-test", "private": true}')
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "elasticio-sailor-nodejs@2.7.8"],
            cwd=NPM_DIR,
            check=True,
        )
    return package


def components(tmp: Path) -> tuple[Path, Path]:
    py = tmp / "py-noop"
    (py / "actions").mkdir(parents=True)
    (py / "component.json").write_text(
        json.dumps({"title": "noop", "actions": {"noop": {"title": "No-op", "main": "./actions/noop.py"}}})
    )
    (py / "actions" / "noop.py").write_text("async def process(ctx, msg, cfg):\n    return msg.body\n")
    js = tmp / "js-noop"
    js.mkdir()
    (js / "component.json").write_text(
        json.dumps({"title": "noop", "actions": {"noop": {"title": "No-op", "main": "./noop.js"}}})
    )
    (js / "noop.js").write_text("exports.process = async function (msg) { return { body: msg.body }; };\n")
    return py, js


def api_server() -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = json.dumps({"config": {}, "snapshot": {}}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def env_for(suffix: str, api: str, prefetch: int, limited: bool) -> dict[str, str]:
    env = {
        "ELASTICIO_FUNCTION": "noop",
        "ELASTICIO_AMQP_URI": AMQP,
        "ELASTICIO_LISTEN_MESSAGES_ON": f"bench-{suffix}-in",
        "ELASTICIO_PUBLISH_MESSAGES_TO": f"bench-{suffix}",
        "ELASTICIO_DATA_ROUTING_KEY": f"{suffix}.data",
        "ELASTICIO_ERROR_ROUTING_KEY": f"{suffix}.error",
        "ELASTICIO_REBOUND_ROUTING_KEY": f"{suffix}.rebound",
        "ELASTICIO_SNAPSHOT_ROUTING_KEY": f"{suffix}.snapshot",
        "ELASTICIO_MESSAGE_CRYPTO_PASSWORD": PASSWORD,
        "ELASTICIO_MESSAGE_CRYPTO_IV": IV,
        "ELASTICIO_RABBITMQ_PREFETCH_SAILOR": str(prefetch),
        "LOG_LEVEL": "fatal",
    }
    for name in ("FLOW_ID", "EXEC_ID", "STEP_ID", "CONTAINER_ID", "WORKSPACE_ID", "USER_ID", "COMP_ID"):
        env[f"ELASTICIO_{name}"] = f"bench-{name.lower()}"
    env.update({"ELASTICIO_API_URI": api, "ELASTICIO_API_USERNAME": "bench", "ELASTICIO_API_KEY": "bench"})
    if not limited:
        env["ELASTICIO_DATA_RATE_LIMIT"] = "1000000"
    return env


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (robust on a loaded machine, unlike wall time)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def one_run(
    kind: str, component: Path, api: str, prefetch: int, limited: bool, count: int
) -> tuple[float, float, float]:
    suffix = uuid.uuid4().hex[:10]
    env = env_for(suffix, api, prefetch, limited)
    cipher = MessageCipher(PASSWORD, IV)
    connection = await aio_pika.connect(AMQP)
    channel = await connection.channel()
    exchange = await channel.declare_exchange(f"bench-{suffix}", aio_pika.ExchangeType.DIRECT, auto_delete=False)
    inq = await channel.declare_queue(f"bench-{suffix}-in")
    await inq.bind(exchange, f"{suffix}.in")
    outq = await channel.declare_queue(f"bench-{suffix}-out")
    await outq.bind(exchange, f"{suffix}.data")
    await outq.bind(exchange, f"{suffix}.error")
    for i in range(count):
        content = cipher.encrypt({"body": BODY, "headers": {}}, 1)
        headers = {"messageId": f"{suffix}-{i}", "threadId": suffix, "protocolVersion": 1}
        await exchange.publish(aio_pika.Message(content, headers=headers), routing_key=f"{suffix}.in")
    if kind == "skiff":
        command = [sys.executable, "-m", "skiff.cli.__main__", "worker", "--component", str(component)]
    else:
        command = ["node", str(sailor_package() / "run.js")]
    quiet = subprocess.DEVNULL
    proc = subprocess.Popen(command, cwd=component, env={**os.environ, **env}, stdout=quiet, stderr=quiet)
    try:
        started = None
        cpu_start = 0.0
        while True:
            q_in = await channel.declare_queue(f"bench-{suffix}-in", passive=True)
            q_out = await channel.declare_queue(f"bench-{suffix}-out", passive=True)
            now = time.perf_counter()
            if started is None and (q_in.declaration_result.consumer_count or q_out.declaration_result.message_count):
                started = now
                cpu_start = cpu_seconds(proc.pid)
            if (q_out.declaration_result.message_count or 0) >= count:
                break
            if proc.poll() is not None:
                raise RuntimeError(f"{kind} worker exited with {proc.returncode}")
            await asyncio.sleep(0.01)
        assert started is not None
        rss = peak_rss_mb(proc.pid)
        cpu_ms = (cpu_seconds(proc.pid) - cpu_start) * 1000 / count
        return count / (now - started), rss, cpu_ms
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        await channel.queue_delete(f"bench-{suffix}-in")
        await channel.queue_delete(f"bench-{suffix}-out")
        await channel.exchange_delete(f"bench-{suffix}")
        await connection.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000, help="messages per run without the emit limit")
    parser.add_argument("--limited", type=int, default=300, help="messages per run with the default emit limit")
    parser.add_argument("--prefetch", type=int, nargs="+", default=[1, 10])
    args = parser.parse_args()
    sailor_package()
    server, api = api_server()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        py, js = components(Path(tmp))
        for prefetch in args.prefetch:
            for limited in (True, False):
                count = args.limited if limited else args.messages
                result = {}
                for kind, comp in (("sailor", js), ("skiff", py)):
                    result[kind] = await one_run(kind, comp, api, prefetch, limited, count)
                rows.append((prefetch, limited, count, result))
    server.shutdown()
    print(
        f"{'prefetch':>8} {'emit limit':>10} {'msgs':>5} {'sailor msg/s':>12} {'skiff msg/s':>11} {'ratio':>5} "
        f"{'sailor CPU ms/msg':>17} {'skiff CPU ms/msg':>16} {'sailor RSS MB':>13} {'skiff RSS MB':>12}"
    )
    for prefetch, limited, count, r in rows:
        (s_rate, s_rss, s_cpu), (k_rate, k_rss, k_cpu) = r["sailor"], r["skiff"]
        print(
            f"{prefetch:>8} {'default' if limited else 'off':>10} {count:>5} {s_rate:>12.0f} {k_rate:>11.0f} "
            f"{k_rate / s_rate:>5.2f} {s_cpu:>17.2f} {k_cpu:>16.2f} {s_rss:>13.0f} {k_rss:>12.0f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
