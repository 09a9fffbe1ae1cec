"""The hooks on the real broker, each worker a real ``skiff worker`` process: ``init`` once before
the first message, ``startup`` data kept by the platform's hooks data API (a local stand-in) or a
state store, ``shutdown`` given that data, and a failing hook that stops the worker before it
takes a message."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import pytest

from tests.worker.broker import HOOKS_PATH, WorkerProcess, fake_api, platform, queue_depth, receive, send


def lines(log: Path) -> list[str]:
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


async def stop(worker: WorkerProcess) -> None:
    worker.proc.send_signal(signal.SIGTERM)
    assert await worker.wait() == 0, worker.lines[-10:]


async def test_init_runs_once_before_the_first_message(tmp_path: Path) -> None:
    log = tmp_path / "hooks.log"
    with fake_api({"log": str(log)}) as (api, base):
        async with platform() as (p, channel):
            worker = WorkerProcess(p.env("hooked", API_URI=base))
            await worker.ready()
            assert lines(log) == ["init"]  # before the worker took anything
            for n in (1, 2):
                await send(channel, p, {"n": n})
            outs = await receive(channel, p.output_queue, 2)
            await stop(worker)
    assert [p.cipher.decrypt(o.body, 1)["body"] for o in outs] == [{"inits": 1, "n": 1}, {"inits": 1, "n": 2}]
    assert lines(log) == ["init", "process", "process"]
    assert [r[0] for r in api.requests] == ["GET"]  # no startup data without STARTUP_REQUIRED


async def test_a_failing_init_exits_with_one_line_and_leaves_the_message(tmp_path: Path) -> None:
    log = tmp_path / "hooks.log"
    with fake_api({"log": str(log), "failInit": True}) as (_api, base):
        async with platform() as (p, channel):
            await send(channel, p, {"n": 1})  # waiting when the worker starts
            worker = WorkerProcess(p.env("hooked", API_URI=base))
            assert await worker.wait() == 1
            expected = (
                "error: ComponentError: component 'echo', trigger 'hooked', hook init: "
                "RuntimeError: the subscription service is down"
            )
            assert worker.lines == [expected]
            assert await queue_depth(channel, p.input_queue) == 1  # nothing consumed
            # As the sailor does, the failure also goes to the step's error key (no errorInput).
            [report] = await receive(channel, p.output_queue, 1)
    assert report.routing_key == p.keys()["error"]
    payload = json.loads(report.body)
    assert set(payload) == {"error"}
    error = p.cipher.decrypt(payload["error"].encode(), 1)
    assert error["message"].endswith("hook init: RuntimeError: the subscription service is down")
    assert report.headers["stepId"] == "step_2" and report.headers["function"] == "hooked"
    assert lines(log) == []


async def test_startup_data_goes_to_the_platform_and_back_to_shutdown(tmp_path: Path) -> None:
    log = tmp_path / "hooks.log"
    with fake_api({"log": str(log), "subscription": "sub-7"}) as (api, base):
        async with platform() as (p, channel):
            for _ in range(2):  # the second start finds the first one's data: replaced (409)
                worker = WorkerProcess(p.env("hooked", API_URI=base, STARTUP_REQUIRED="true"))
                await worker.ready()
                await stop(worker)
            assert api.data == {"flow-1": {"subscription": "sub-7"}}
            hooks = [(m, b) for m, path, b in api.requests if path == HOOKS_PATH]
            stored = {"subscription": "sub-7"}
            assert hooks == [("POST", stored), ("POST", stored), ("DELETE", None), ("POST", stored)]
            api.requests.clear()
            await send(channel, p, {"n": 1})
            # Shutdown mode needs no broker settings and touches no queue.
            env = {k: v for k, v in p.env("hooked", API_URI=base, HOOK_SHUTDOWN="true").items() if "AMQP" not in k}
            worker = WorkerProcess(env)
            assert await worker.wait() == 0, worker.lines
            assert worker.lines[-1] == "worker: echo.hooked shut down; startup data deleted"
            assert await queue_depth(channel, p.input_queue) == 1
    assert [(m, path) for m, path, _ in api.requests] == [
        ("GET", "/v1/tasks/flow-1/steps/step_2"),
        ("GET", HOOKS_PATH),
        ("DELETE", HOOKS_PATH),
    ]
    assert api.data == {}
    assert lines(log) == ["startup", "init", "startup", "init", 'shutdown {"subscription": "sub-7"}']


async def test_a_standalone_worker_keeps_startup_data_in_its_state_store(tmp_path: Path) -> None:
    from skiff.state import open_store

    log, state = tmp_path / "hooks.log", tmp_path / "state.db"
    step = tmp_path / "step.json"
    step.write_text(json.dumps({"config": {"log": str(log)}}), encoding="utf-8")
    args = ("--step", str(step), "--state", str(state))
    async with platform() as (p, _channel):
        worker = WorkerProcess(p.env("hooked", STARTUP_REQUIRED="true"), *args)
        await worker.ready()
        await stop(worker)
        async with open_store(state) as store:
            assert await store.get("flow-1/startup-data") == {"data": {"subscription": "sub-1"}}
        worker = WorkerProcess(p.env("hooked", HOOK_SHUTDOWN="true"), *args)
        assert await worker.wait() == 0, worker.lines
        again = WorkerProcess(p.env("hooked", HOOK_SHUTDOWN="true"), *args)  # nothing left to shut down
        assert await again.wait() == 2
    assert again.lines == [
        "error: ConfigError: component 'echo', trigger 'hooked', startup data: "
        "no startup data under 'flow-1/startup-data' (did a start with STARTUP_REQUIRED run?)"
    ]
    async with open_store(state) as store:
        assert await store.get("flow-1/startup-data") is None
    assert lines(log) == ["startup", "init", 'shutdown {"subscription": "sub-1"}']


async def test_hooks_run_from_python_too(tmp_path: Path) -> None:
    from skiff.component import load_component
    from skiff.state import MemoryStore
    from skiff.worker import StepData, StoreHooksData, run_worker
    from tests.worker.broker import ECHO

    log = tmp_path / "hooks.log"
    step = StepData(config={"log": str(log)})
    data = StoreHooksData(MemoryStore(), "flow-1")
    async with platform() as (p, _channel):
        go, ready = asyncio.Event(), asyncio.Event()
        settings = p.settings("hooked", startup_required=True)
        task = asyncio.create_task(
            run_worker(settings, component=load_component(ECHO), step=step, stop=go, ready=ready.set, hooks_data=data)
        )
        await asyncio.wait_for(ready.wait(), 30)
        go.set()
        await asyncio.wait_for(task, 30)
        assert await data.retrieve() == {"subscription": "sub-1"}
        shutdown = p.settings("hooked", hook_shutdown=True)
        done = await run_worker(shutdown, component=load_component(ECHO), step=step, hooks_data=data)
        assert done.processed == 0
    assert lines(log) == ["startup", "init", 'shutdown {"subscription": "sub-1"}']


async def test_the_hooks_data_api_is_retried_on_5xx_and_names_a_refusal() -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from skiff.errors import ApiError, AuthError, TransientError
    from skiff.worker import ApiHooksData, WorkerSettings
    from tests.support import serve_asgi

    answers = [503, 200, 400, 401, 500, 500, 500]
    seen: list[int] = []

    async def data(request: Request) -> JSONResponse:
        seen.append(status := answers[len(seen)])
        return JSONResponse({"error": "bad\nrequest"} if status == 400 else {"n": 1}, status)

    app = Starlette(routes=[Route("/sailor-support/hooks/task/{flow}/startup/data", data, methods=["GET"])])
    with serve_asgi(app) as base:
        settings = WorkerSettings("f", "", "", "", "", "", "", "", api_uri=base, flow_id="flow-9", api_key="k")
        hooks = ApiHooksData(settings, delay=0)
        assert await hooks.retrieve() == {"n": 1}  # the 503 was retried
        with pytest.raises(ApiError, match=r"flow-9/startup/data: HTTP 400 \(bad request\)$"):
            await hooks.retrieve()
        with pytest.raises(AuthError, match="HTTP 401"):
            await hooks.retrieve()
        with pytest.raises(TransientError, match=r"HTTP 500$"):  # after 3 tries
            await hooks.retrieve()
    assert seen == answers
