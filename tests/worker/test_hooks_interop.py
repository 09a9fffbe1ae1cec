"""The same hooks under sailor-nodejs 2.7.8 and ``skiff worker``: a JavaScript module and the
Python one (``echo/triggers/hooked.py``) do the same thing, each logs what ran, and both talk to
the same kind of local platform API. What reaches the API, what the hooks see and how a failing
``init`` ends must be the same."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import aio_pika
import pytest

from tests.worker.broker import HOOKS_PATH, FakeApi, Platform, WorkerProcess, fake_api, platform, receive
from tests.worker.sailor_npm import sailor_package

HOOKED_JS = """
const fs = require('fs');
function log(cfg, line) { fs.appendFileSync(cfg.log, line + '\\n'); }
exports.startup = async function (cfg) { log(cfg, 'startup'); return { subscription: cfg.subscription || 'sub-1' }; };
exports.init = async function (cfg) {
  if (cfg.failInit) { throw new Error('the subscription service is down'); }
  log(cfg, 'init');
};
exports.shutdown = async function (cfg, data) { log(cfg, 'shutdown ' + JSON.stringify(data)); };
exports.process = async function (msg) { return { body: msg.body }; };
"""


@pytest.fixture(autouse=True)
def _node() -> None:
    sailor_package()


def sailor_component(tmp_path: Path) -> Path:
    comp = tmp_path / "js-hooked"
    comp.mkdir()
    (comp / "component.json").write_text(
        '{"title": "hooked", "triggers": {"hooked": {"title": "h", "type": "webhook", "main": "./hooked.js"}}}',
        encoding="utf-8",
    )
    (comp / "hooked.js").write_text(HOOKED_JS, encoding="utf-8")
    return comp


def start_sailor(comp: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    command = ["node", str(sailor_package() / "run.js")]
    full = {**os.environ, **env, "LOG_LEVEL": "fatal"}
    proc = subprocess.Popen(command, cwd=comp, env=full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    WorkerProcess.started.append(proc)  # killed by the conftest if the test fails
    return proc


async def consuming(channel: aio_pika.abc.AbstractChannel, queue: str, proc: subprocess.Popen[str]) -> None:
    async with asyncio.timeout(60):
        while True:
            q = await channel.declare_queue(queue, passive=True)
            if q.declaration_result.consumer_count:
                return
            assert proc.poll() is None, "sailor exited"
            await asyncio.sleep(0.1)


async def finish(proc: subprocess.Popen[str]) -> int:
    return await asyncio.to_thread(proc.wait, 60)


def log_of(path: Path) -> list[Any]:
    """What ran, in order; the shutdown line's data parsed (JSON spacing differs by language)."""
    out: list[Any] = []
    for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
        name, _, rest = line.partition(" ")
        out.append((name, json.loads(rest)) if rest else name)
    return out


def hook_requests(api: FakeApi) -> list[tuple[str, Any]]:
    return [(method, body) for method, path, body in api.requests if path == HOOKS_PATH]


async def lifecycle_under_sailor(p: Platform, channel: Any, comp: Path, base: str) -> None:
    for _ in range(2):
        proc = start_sailor(comp, p.env("hooked", API_URI=base, STARTUP_REQUIRED="true"))
        await consuming(channel, p.input_queue, proc)
        proc.send_signal(signal.SIGTERM)
        assert await finish(proc) == 0
    proc = start_sailor(comp, p.env("hooked", API_URI=base, HOOK_SHUTDOWN="true"))
    assert await finish(proc) == 0


async def lifecycle_under_skiff(p: Platform, base: str) -> None:
    for _ in range(2):
        worker = WorkerProcess(p.env("hooked", API_URI=base, STARTUP_REQUIRED="true"))
        await worker.ready()
        worker.proc.send_signal(signal.SIGTERM)
        assert await worker.wait() == 0
    worker = WorkerProcess(p.env("hooked", API_URI=base, HOOK_SHUTDOWN="true"))
    assert await worker.wait() == 0


async def test_startup_twice_then_shutdown_same_under_both(tmp_path: Path) -> None:
    comp = sailor_component(tmp_path)
    logs = {"sailor": tmp_path / "sailor.log", "skiff": tmp_path / "skiff.log"}
    seen: dict[str, tuple[list[tuple[str, Any]], list[Any], dict[str, Any]]] = {}
    for who, log in logs.items():
        with fake_api({"log": str(log), "subscription": "sub-7"}) as (api, base):
            async with platform() as (p, channel):
                if who == "sailor":
                    await lifecycle_under_sailor(p, channel, comp, base)
                else:
                    await lifecycle_under_skiff(p, base)
        seen[who] = (hook_requests(api), log_of(log), api.data)
    assert seen["skiff"] == seen["sailor"]
    requests, ran, left = seen["sailor"]
    stored = {"subscription": "sub-7"}
    # A start writes the data; the second one finds it (409), deletes and writes it again;
    # the shutdown reads it and deletes it.
    post, delete = ("POST", stored), ("DELETE", None)
    assert requests == [post, post, delete, post, ("GET", None), delete]
    assert ran == ["startup", "init", "startup", "init", ("shutdown", stored)] and left == {}


async def test_a_failing_init_ends_the_same_under_both(tmp_path: Path) -> None:
    comp = sailor_component(tmp_path)
    seen: dict[str, tuple[int, list[str], str, int]] = {}
    for who in ("sailor", "skiff"):
        log = tmp_path / f"{who}.log"
        with fake_api({"log": str(log), "failInit": True}) as (_api, base):
            async with platform() as (p, channel):
                env = p.env("hooked", API_URI=base)
                if who == "sailor":
                    code = await finish(start_sailor(comp, env))
                else:
                    code = await WorkerProcess(env).wait()
                [report] = await receive(channel, p.output_queue, 1)
                queue = await channel.declare_queue(p.input_queue, passive=True)
                consumers = int(queue.declaration_result.consumer_count or 0)
        payload = json.loads(report.body)
        error = p.cipher.decrypt(payload["error"].encode(), 1)
        assert report.routing_key == p.keys()["error"]
        seen[who] = (code, sorted(payload), error["message"], consumers)
        assert sorted(report.headers) == sorted(
            ["messageId", "execId", "taskId", "workspaceId", "containerId", "userId", "stepId", "compId", "function"]
        )
        assert not log.exists()
    assert seen["sailor"] == (1, ["error"], "the subscription service is down", 0)
    # skiff's message names the component, function and hook; the rest is the same.
    code, keys, message, consumers = seen["skiff"]
    assert (code, keys, consumers) == (1, ["error"], 0)
    assert message == "component 'echo', trigger 'hooked', hook init: RuntimeError: the subscription service is down"
