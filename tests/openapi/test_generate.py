"""Writing the folder and the CLI entry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from skiff.openapi import cli_generate, generate, render_component
from tests.openapi.openapi_helpers import oas3, ok

Spec = Callable[..., Path]
SPEC = oas3({"/a": {"get": {"operationId": "getA", "summary": "Get Ä", "responses": ok({"type": "object"})}}})


def test_generate_writes_only_what_changed_and_removes_stale_schemas(write_spec: Spec, tmp_path: Path) -> None:
    spec = write_spec(SPEC)
    out = tmp_path / "comp"
    (out / "schemas").mkdir(parents=True)
    (out / "schemas" / "old.in.json").write_text("{}", encoding="utf-8")
    (out / "actions").mkdir()
    (out / "actions" / "handler.py").write_text("async def process(ctx, msg, cfg): ...\n", encoding="utf-8")
    first = generate(spec, name="comp", out_dir=out)
    assert first.actions == 1 and first.triggers == 0
    assert first.removed == ("schemas/old.in.json",)
    assert set(first.written) == set(first.files)
    assert (out / "actions" / "handler.py").is_file()  # hand-written handlers are never touched
    assert "Get Ä" in (out / "component.json").read_text(encoding="utf-8")
    second = generate(spec, name="comp", out_dir=out)
    assert second.written == () and second.removed == ()
    assert "unchanged" in second.summary()
    on_disk = {rel: (out / rel).read_text(encoding="utf-8") for rel in second.files}
    assert on_disk == render_component(spec, name="comp")


def test_cli_generate(write_spec: Spec, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = write_spec(SPEC)
    assert cli_generate(str(spec), "comp", str(tmp_path / "out"), None) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("generated comp: 1 actions, 0 triggers, ")
    assert "\n" not in line
    assert cli_generate(str(tmp_path / "nope.yaml"), "comp", str(tmp_path / "out"), None) == 2
    assert capsys.readouterr().err.startswith("error: ConfigError: cannot read")
