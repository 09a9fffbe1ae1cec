"""The executor's pipeline with handler components written into a temp folder (no HTTP)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from skiff.component import load_component
from skiff.errors import ComponentError, ConfigError, InputError
from skiff.message import Message
from skiff.run import Event, Executor

HANDLERS = {
    "actions/ret.py": "async def process(ctx, msg, cfg):\n    return {'echo': msg.body['n']}\n",
    "actions/gen.py": (
        "async def process(ctx, msg, cfg):\n    for i in range(msg.body['n']):\n        yield {'echo': i}\n"
    ),
    "actions/emit.py": (
        "async def process(ctx, msg, cfg):\n"
        "    ctx.logger.info('using key %s', cfg['apiKey'])\n"
        "    await ctx.emit({'echo': 1})\n"
        "    await ctx.emit(Message(body={'echo': 2}, id='fixed'))\n"
        "    await ctx.update_snapshot({'seen': 2})\n"
        "from skiff.message import Message\n"
    ),
    "actions/bad_out.py": "async def process(ctx, msg, cfg):\n    return {'echo': 'not a number'}\n",
    "actions/crash.py": "async def process(ctx, msg, cfg):\n    raise RuntimeError('boom with ' + cfg['apiKey'])\n",
}

OUT = {"type": "object", "required": ["echo"], "properties": {"echo": {"type": "integer"}}}
IN = {
    "type": "object",
    "required": ["n"],
    "properties": {"n": {"type": "integer", "minimum": 0}, "items": {"type": "array", "items": {"type": "object"}}},
}


@pytest.fixture
def component(tmp_path: Path) -> Any:
    for name, text in HANDLERS.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    actions = {
        Path(name).stem: {"title": Path(name).stem, "main": f"./{name}", "metadata": {"in": IN, "out": OUT}}
        for name in HANDLERS
    }
    data = {
        "title": "T",
        "credentials": {
            "fields": {
                "apiKey": {"label": "Key", "viewClass": "PasswordFieldView", "required": True},
                "limit": {"label": "Limit", "viewClass": "TextFieldView", "type": "integer"},
            }
        },
        "actions": actions,
    }
    (tmp_path / "component.json").write_text(json.dumps(data))
    return load_component(tmp_path, name="t")


CFG = {"apiKey": "sup3r-secret-key"}


async def run(component: Any, name: str, body: Any, cfg: dict[str, Any] | None = None) -> tuple[Any, list[Event]]:
    events: list[Event] = []

    async def emit(event: Event) -> None:
        events.append(event)

    async with Executor() as ex:
        result = await ex.run(component, name, cfg or CFG, Message(body=body), emit=emit)
    return result, events


def data(events: list[Event]) -> list[Any]:
    return [e.payload.body for e in events if e.kind == "data"]


async def test_returned_value_is_emitted(component: Any) -> None:
    result, events = await run(component, "ret", {"n": 3})
    assert result.error is None and data(events) == [{"echo": 3}]
    assert events[-1].kind == "end"


async def test_async_generator_items_are_emitted(component: Any) -> None:
    result, events = await run(component, "gen", {"n": 4})
    assert result.data == 4 and data(events) == [{"echo": i} for i in range(4)]


async def test_ctx_emit_and_snapshot_events(component: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    result, events = await run(component, "emit", {"n": 1})
    assert data(events) == [{"echo": 1}, {"echo": 2}]
    assert [e.payload.id for e in events if e.kind == "data"][1] == "fixed"
    assert result.snapshot == {"seen": 2}
    assert "sup3r-secret-key" not in caplog.text
    assert "using key" in caplog.text


async def test_input_error_names_the_field_and_keeps_the_message(component: Any) -> None:
    result, events = await run(component, "ret", {"n": -1})
    assert isinstance(result.error, InputError)
    assert "body.n" in str(result.error) and result.error.exit_code == 2
    error = next(e for e in events if e.kind == "error")
    assert error.payload["errorInput"].body == {"n": -1}
    assert data(events) == []


async def test_missing_input_field(component: Any) -> None:
    result, _ = await run(component, "ret", {})
    assert isinstance(result.error, InputError)
    assert "'n' is required" in str(result.error)


async def test_cfg_errors(component: Any) -> None:
    result, _ = await run(component, "ret", {"n": 1}, cfg={"limit": 1})
    assert isinstance(result.error, ConfigError) and "apiKey" in str(result.error)
    result, _ = await run(component, "ret", {"n": 1}, cfg={**CFG, "limit": "ten"})
    assert isinstance(result.error, ConfigError) and "cfg.limit" in str(result.error)


async def test_output_is_checked_against_the_out_schema(component: Any) -> None:
    result, events = await run(component, "bad_out", {"n": 1})
    assert isinstance(result.error, ComponentError)
    assert "out-schema" in str(result.error) and "output.echo" in str(result.error)
    assert data(events) == []


async def test_crash_is_a_component_error_without_secrets(component: Any) -> None:
    result, _ = await run(component, "crash", {"n": 1})
    assert isinstance(result.error, ComponentError)
    assert "boom" in str(result.error)
    assert "sup3r-secret-key" not in str(result.error)


async def test_unknown_function_suggests_a_name(component: Any) -> None:
    result, _ = await run(component, "gne", {"n": 1})
    assert isinstance(result.error, ConfigError) and "did you mean 'gen'" in str(result.error)


async def test_raise_errors_option(component: Any) -> None:
    async with Executor() as ex:
        with pytest.raises(InputError):
            await ex.run(component, "ret", CFG, Message(body={}), raise_errors=True)
