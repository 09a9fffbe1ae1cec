"""One handler signature per kind: ``skiff validate`` and the executor accept and refuse the same."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from skiff.component import load_component, validate_component
from skiff.component.handlers import HOOK_KINDS, SIGNATURES
from skiff.errors import ComponentError, ConfigError
from skiff.run import Executor


def make(
    tmp_path: Path, verify_src: str, select_src: str = "async def process(ctx, cfg):\n    return {'a': 'A'}\n"
) -> Path:
    (tmp_path / "verify.py").write_text(verify_src)
    (tmp_path / "select.py").write_text(select_src)
    (tmp_path / "act.py").write_text(
        "async def process(ctx, msg, cfg):\n    return {}\n"
        "async def getMetaModel(ctx, cfg):\n    return {'in': {}, 'out': {}}\n"
    )
    data: dict[str, Any] = {
        "title": "T",
        "credentials": {
            "fields": {
                "kind": {"label": "Kind", "viewClass": "SelectView", "model": "kinds"},
                "ok": {"label": "OK", "viewClass": "NumberFieldView"},
            }
        },
        "verifyCredentials": {"main": "./verify.py"},
        "selectModels": {"kinds": {"main": "./select.py"}},
        "actions": {"act": {"title": "act", "main": "./act.py", "dynamicMetadata": True}},
    }
    (tmp_path / "component.json").write_text(json.dumps(data))
    return tmp_path


async def test_a_verify_handler_is_verify_for_both(tmp_path: Path) -> None:
    folder = make(tmp_path, "async def verify(ctx, cfg):\n    return {'verified': cfg.get('ok') == 1}\n")
    assert [p for p in validate_component(folder) if p.severity == "error"] == []
    component = load_component(folder, name="t")
    async with Executor() as ex:
        assert await ex.verify(component, {"ok": 1}) == {"verified": True}
        assert await ex.verify(component, {"ok": 2}) == {"verified": False}
        assert await ex.select(component, None, "kind", {}) == {"a": "A"}


async def test_a_process_in_verify_is_refused_by_both_in_the_same_words(tmp_path: Path) -> None:
    folder = make(tmp_path, "async def process(ctx, msg, cfg):\n    return True\n")
    problems = [p for p in validate_component(folder) if p.severity == "error"]
    assert len(problems) == 1 and problems[0].pointer == "/verifyCredentials/main"
    expected = SIGNATURES["verify"].missing("./verify.py")
    assert problems[0].message == expected
    component = load_component(folder, name="t")
    async with Executor() as ex:
        with pytest.raises(ConfigError) as caught:
            await ex.verify(component, {})
    assert caught.value.message == expected


async def test_a_wrong_parameter_count_is_refused_by_both(tmp_path: Path) -> None:
    folder = make(
        tmp_path,
        "async def verify(ctx, cfg):\n    return True\n",
        select_src="async def process(ctx, msg, cfg):\n    return {}\n",  # the action signature, not select's
    )
    problems = [p for p in validate_component(folder) if p.severity == "error"]
    assert [p.pointer for p in problems] == ["/selectModels/kinds/main"]
    assert "process() takes 3 positional parameters" in problems[0].message
    component = load_component(folder, name="t")
    async with Executor() as ex:
        with pytest.raises(ConfigError) as caught:
            await ex.select(component, None, "kind", {})
    assert caught.value.message == problems[0].message


def test_every_kind_has_one_signature() -> None:
    assert {k: (s.name, s.params) for k, s in SIGNATURES.items()} == {
        "action": ("process", ("ctx", "msg", "cfg")),
        "trigger": ("process", ("ctx", "msg", "cfg")),
        "verify": ("verify", ("ctx", "cfg")),
        "select": ("process", ("ctx", "cfg")),
        "metadata": ("getMetaModel", ("ctx", "cfg")),
        "init": ("init", ("ctx", "cfg")),
        "startup": ("startup", ("ctx", "cfg")),
        "shutdown": ("shutdown", ("ctx", "cfg", "startup_data")),
    }
    assert [k for k, s in SIGNATURES.items() if s.optional] == list(HOOK_KINDS)


def hooked(tmp_path: Path, source: str) -> Path:
    (tmp_path / "act.py").write_text("async def process(ctx, msg, cfg):\n    return {}\n" + source)
    data = {"title": "T", "actions": {"act": {"title": "act", "main": "./act.py"}}}
    (tmp_path / "component.json").write_text(json.dumps(data))
    return tmp_path


async def test_hooks_are_optional_and_called_sync_or_async(tmp_path: Path) -> None:
    folder = hooked(
        tmp_path,
        "def init(ctx, cfg):\n    return ('init', cfg['n'], ctx.cfg['n'])\n"
        "async def startup(ctx, cfg):\n    return {'n': cfg['n']}\n"
        "async def shutdown(ctx, cfg, startup_data):\n    return ('shutdown', startup_data)\n",
    )
    assert validate_component(folder) == []
    component = load_component(folder, name="t")
    fn = component.function("act")
    async with Executor() as ex:
        assert await ex.hook(component, fn, "init", {"n": 1}) == ("init", 1, 1)
        assert await ex.hook(component, fn, "startup", {"n": 2}) == {"n": 2}
        assert await ex.hook(component, fn, "shutdown", {}, {"n": 2}) == ("shutdown", {"n": 2})
    (tmp_path / "bare").mkdir()
    bare = load_component(hooked(tmp_path / "bare", ""))
    assert [bare.function("act").hook(k) for k in HOOK_KINDS] == [None, None, None]


async def test_a_hook_with_wrong_parameters_is_refused_by_both_in_the_same_words(tmp_path: Path) -> None:
    folder = hooked(tmp_path, "async def shutdown(ctx, cfg):\n    pass\n")  # startup_data is missing
    problems = [p for p in validate_component(folder) if p.severity == "error"]
    assert [p.pointer for p in problems] == ["/actions/act/main"]
    assert problems[0].message == (
        "main './act.py': shutdown() takes 2 positional parameters; "
        "a shutdown hook is `async def shutdown(ctx, cfg, startup_data)`"
    )
    component = load_component(folder, name="t")
    async with Executor() as ex:
        with pytest.raises(ConfigError) as caught:
            await ex.hook(component, component.function("act"), "shutdown", {}, None)
    assert caught.value.message == problems[0].message


async def test_a_crashing_hook_is_a_component_error_without_the_secret(tmp_path: Path) -> None:
    folder = hooked(tmp_path, "def init(ctx, cfg):\n    raise ValueError('bad key ' + cfg['apiKey'])\n")
    data = json.loads((folder / "component.json").read_text())
    data["credentials"] = {"fields": {"apiKey": {"label": "Key", "viewClass": "PasswordFieldView"}}}
    (folder / "component.json").write_text(json.dumps(data))
    component = load_component(folder, name="t")
    async with Executor() as ex:
        with pytest.raises(ComponentError) as caught:
            await ex.hook(component, component.function("act"), "init", {"apiKey": "s3cr3t-value"})
    assert "ValueError: bad key" in str(caught.value) and "s3cr3t-value" not in str(caught.value)


def test_a_javascript_main_names_the_hooks_skiff_does_not_run(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "hook.js").write_text(
        "exports.process = processTrigger;\nexports.startup = async function (cfg) { return {}; };\n"
        "async function shutdown(cfg, data) {}\nmodule.exports.shutdown = shutdown;\n"
    )
    (tmp_path / "lib" / "plain.js").write_text("exports.process = async function (msg) {};\n")
    data = {
        "title": "T",
        "triggers": {
            "hook": {"title": "h", "main": "./lib/hook.js"},
            "plain": {"title": "p", "main": "./lib/plain.js"},
        },
    }
    (tmp_path / "component.json").write_text(json.dumps(data))
    warnings = {p.pointer: p.message for p in validate_component(tmp_path) if p.severity == "warning"}
    assert warnings["/triggers/hook/main"].endswith("; its hooks startup, shutdown are not run either")
    assert "hooks" not in warnings["/triggers/plain/main"]
    component = load_component(tmp_path)
    assert component.function("hook").hook("startup") is None  # nothing skiff could run
