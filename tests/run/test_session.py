"""The session: snapshot loading and keying, commit after delivery, stop at commit points."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from skiff.component import Component, load_component
from skiff.message import Message
from skiff.run import Data, End, Error, Event, Executor, Session, Snapshot, StopRequested, snapshot_key, transport
from skiff.state import MemoryStore

HANDLER = """
async def process(ctx, msg, cfg):
    await ctx.emit({"n": 1, "loaded": ctx.snapshot})
    await ctx.emit_snapshot({"n": 1})
    await ctx.emit({"n": 2})
    await ctx.update_snapshot({"extra": True})
    await ctx.emit({"n": 3})
    await ctx.emit_snapshot({"n": 3})
    if msg.body.get("fail"):
        raise RuntimeError("boom with " + cfg["apiKey"])
"""


@pytest.fixture
def component(tmp_path: Path) -> Component:
    (tmp_path / "triggers").mkdir()
    (tmp_path / "triggers" / "tick.py").write_text(HANDLER)
    data = {
        "title": "T",
        "credentials": {"fields": {"apiKey": {"label": "Key", "viewClass": "PasswordFieldView", "required": True}}},
        "triggers": {"tick": {"title": "tick", "type": "polling", "main": "./triggers/tick.py"}},
    }
    (tmp_path / "component.json").write_text(json.dumps(data))
    return load_component(tmp_path, name="t")


class LoggingStore(MemoryStore):
    def __init__(self, log: list[Any]) -> None:
        super().__init__()
        self.log = log

    async def put(self, key: str, snapshot: Mapping[str, Any]) -> None:
        self.log.append(("put", dict(snapshot)))
        await super().put(key, snapshot)


CFG = {"apiKey": "sup3r-secret-key"}


async def run(
    component: Component, store: MemoryStore, *, body: Any = None, stop: asyncio.Event | None = None, **kw: Any
) -> tuple[list[Any], Any]:
    log: list[Any] = store.log if isinstance(store, LoggingStore) else []
    durable = 0

    async def deliver(event: Event) -> None:
        log.append(("data", event.message.body["n"]) if isinstance(event, Data) else (event.kind,))

    async def settle() -> None:
        nonlocal durable
        durable = sum(1 for e in log if e[0] == "data")
        log.append(("settled", durable))

    async with Executor() as ex:
        session = Session(ex, component, "tick", dict(CFG), store=store, flow_id="f1", stop=stop, **kw)
        result = await session.run(Message(body=body or {}), transport(deliver, settle))
    return log, result


async def test_each_snapshot_is_stored_after_the_data_before_it_settled(component: Component) -> None:
    log: list[Any] = []
    store = LoggingStore(log)
    await run(component, store)
    assert log == [
        ("data", 1),
        ("settled", 1),
        ("put", {"n": 1}),
        ("snapshot",),
        ("data", 2),
        ("settled", 2),
        ("put", {"n": 1, "extra": True}),  # updateSnapshot merges into what is stored
        ("updateSnapshot",),
        ("data", 3),
        ("settled", 3),
        ("put", {"n": 3}),
        ("snapshot",),
        ("end",),
    ]
    assert await store.get(snapshot_key("t", "tick", "f1")) == {"n": 3}


async def test_the_stored_snapshot_is_loaded_under_flow_component_function(component: Component) -> None:
    store = MemoryStore()
    await store.put("f1/t/tick", {"n": 7})
    await store.put("other/t/tick", {"n": 99})
    seen: list[Any] = []

    async def deliver(event: Event) -> None:
        if isinstance(event, Data) and "loaded" in event.message.body:
            seen.append(event.message.body["loaded"])

    async with Executor() as ex:
        await Session(ex, component, "tick", dict(CFG), store=store, flow_id="f1").run(None, transport(deliver))
    assert seen == [{"n": 7}]


async def test_a_stop_takes_effect_right_after_a_commit(component: Component) -> None:
    log: list[Any] = []
    store = LoggingStore(log)
    stop = asyncio.Event()
    stop.set()
    with pytest.raises(StopRequested):
        await run(component, store, stop=stop)
    assert log[-2:] == [("put", {"n": 1}), ("snapshot",)]  # stopped at the first commit, nothing after
    assert await store.get("f1/t/tick") == {"n": 1}


async def test_a_dry_run_moves_no_snapshot(component: Component) -> None:
    log: list[Any] = []
    store = LoggingStore(log)
    await store.put("f1/t/tick", {"n": 0})
    log.clear()
    await run(component, store, dry_run=True)
    assert [e for e in log if e[0] in ("put", "snapshot", "updateSnapshot")] == []
    assert await store.get("f1/t/tick") == {"n": 0}


async def test_an_error_event_carries_name_message_and_stack_without_secrets(component: Component) -> None:
    events: list[Event] = []

    async def deliver(event: Event) -> None:
        events.append(event)

    async with Executor() as ex:
        session = Session(ex, component, "tick", dict(CFG), store=MemoryStore())
        result = await session.run(Message(body={"fail": True}), transport(deliver))
    error = next(e for e in events if isinstance(e, Error))
    assert isinstance(events[-1], End)
    assert result.exit_code == 1
    wire = error.serialise()
    assert set(wire) == {"name", "message", "stack"}
    assert wire["name"] == "ComponentError" and "RuntimeError: boom with" in wire["message"]
    assert "sup3r-secret-key" not in json.dumps(wire)
    assert error.payload["errorInput"].body == {"fail": True}
    assert isinstance(next(e for e in events if isinstance(e, Snapshot)).payload, dict)
