"""One handler signature per kind: ``skiff validate`` and the executor accept and refuse the same."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from skiff.component import load_component, validate_component
from skiff.component.handlers import SIGNATURES
from skiff.errors import ConfigError
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
    }
