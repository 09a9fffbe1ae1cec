"""A component reaches nothing outside its folder: handlers, schema files and schema $refs
(issue 11, item 6), and hostile component files are refused with one line (item 9)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from starlette.responses import JSONResponse
from starlette.routing import Route

from skiff.component import load_component, validate_component
from skiff.errors import ConfigError
from skiff.message import Message
from skiff.run import Executor
from skiff.validation import compile_schema
from tests.http.conftest import start_server

EVIL = (
    "import pathlib\n"
    "pathlib.Path(__file__).with_name('imported').write_text('yes')\n"
    "async def process(ctx, msg, cfg):\n"
    "    return {'evil': True}\n"
)


def make(tmp_path: Path, data: dict[str, Any], files: dict[str, str] | None = None) -> Path:
    folder = tmp_path / "comp"
    folder.mkdir()
    (folder / "component.json").write_text(json.dumps(data), encoding="utf-8")
    for name, text in (files or {}).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def action(**kw: Any) -> dict[str, Any]:
    return {"title": "T", "actions": {"go": {"title": "Go", **kw}}}


def run(folder: Path) -> str:
    async def go() -> str:
        async with Executor() as executor:
            result = await executor.run(load_component(folder), "go", {}, Message(body={}))
        assert result.error is not None
        return str(result.error)

    return asyncio.run(go())


@pytest.mark.parametrize("how", ["relative", "absolute"])
def test_a_handler_outside_the_folder_is_never_imported(tmp_path: Path, how: str) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "evil.py").write_text(EVIL, encoding="utf-8")
    main = {"relative": "./actions/../../elsewhere/evil.py", "absolute": str(outside / "evil.py")}
    folder = make(tmp_path, action(main=main[how]))
    problems = [str(p) for p in validate_component(folder)]
    assert any("points outside the component folder" in p for p in problems), problems
    assert "points outside the component folder" in run(folder)
    assert not (outside / "imported").exists()


def test_a_schema_file_outside_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.json").write_text('{"type": "object"}', encoding="utf-8")
    folder = make(tmp_path, action(request={"method": "GET", "path": "/x"}, metadata={"in": "../secret.json"}))
    assert any("points outside" in str(p) for p in validate_component(folder))
    with pytest.raises(ConfigError, match="points outside the component folder"):
        _ = load_component(folder).function("go").in_schema


def test_schema_refs_stay_inside(tmp_path: Path) -> None:
    server = start_server([Route("/schema.json", lambda request: JSONResponse({"type": "string"}))])
    try:
        _check_refs(tmp_path, server)
    finally:
        server.stop()


def _check_refs(tmp_path: Path, server: Any) -> None:
    (tmp_path / "outside.json").write_text('{"type": "string"}', encoding="utf-8")
    folder = tmp_path / "comp"
    (folder / "schemas").mkdir(parents=True)
    (folder / "schemas" / "inside.json").write_text('{"type": "integer"}', encoding="utf-8")
    refs = {
        f"{server.url}/schema.json": "is remote",
        f"file://{tmp_path / 'outside.json'}": "points outside",
        "../outside.json": "points outside",
    }
    for ref, why in refs.items():
        schema = {"type": "object", "properties": {"x": {"$ref": ref}}}
        with pytest.raises(ConfigError, match=why):
            compile_schema(schema, folder).is_valid({"x": "a"})
    assert server.hits == []  # the remote schema was never fetched
    inside = compile_schema({"type": "object", "properties": {"x": {"$ref": "./schemas/inside.json"}}}, folder)
    assert inside.is_valid({"x": 1}) and not inside.is_valid({"x": "a"})


def test_hostile_component_files_are_one_line_errors(tmp_path: Path) -> None:
    deep = tmp_path / "deep"
    deep.mkdir()
    (deep / "component.json").write_text('{"title": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    huge = tmp_path / "huge"
    huge.mkdir()
    with (huge / "component.json").open("wb") as f:
        f.write(b'{"title": "T", "description": "')
        f.truncate(40 * 1024 * 1024)  # sparse: 40 MB without writing them
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_component(deep)
    with pytest.raises(ConfigError, match="more than the 33,554,432 a component file may have"):
        load_component(huge)


def _symlink_component(tmp_path: Path, what: str) -> tuple[Path, Path]:
    """A component whose handler, schema file or schema $ref is a symlink to a file outside."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "evil.py").write_text(EVIL, encoding="utf-8")
    (outside / "secret.json").write_text('{"type": "object", "title": "secret"}', encoding="utf-8")
    if what == "main":
        folder = make(tmp_path, action(main="./actions/go.py"))
        (folder / "actions").mkdir()
        (folder / "actions" / "go.py").symlink_to(outside / "evil.py")
    elif what == "schema":
        folder = make(tmp_path, action(request={"method": "GET", "path": "/x"}, metadata={"in": "./schemas/in.json"}))
        (folder / "schemas").mkdir()
        (folder / "schemas" / "in.json").symlink_to(outside / "secret.json")
    else:  # a folder inside that is a symlink to one outside, reached by a $ref
        schema = {"type": "object", "properties": {"a": {"$ref": "lib/secret.json"}}}
        folder = make(tmp_path, action(request={"method": "GET", "path": "/x"}, metadata={"in": schema}))
        (folder / "lib").symlink_to(outside, target_is_directory=True)
    return folder, outside


@pytest.mark.parametrize("what", ["main", "schema", "ref"])
def test_a_symlink_out_of_the_folder_is_refused(tmp_path: Path, what: str) -> None:
    folder, outside = _symlink_component(tmp_path, what)
    problems = [str(p) for p in validate_component(folder)]
    assert any("points outside the component folder" in p for p in problems), problems
    if what == "main":
        assert "points outside the component folder" in run(folder)
        assert not (outside / "imported").exists()
    elif what == "schema":
        with pytest.raises(ConfigError, match="points outside the component folder"):
            _ = load_component(folder).function("go").in_schema
    else:
        schema = load_component(folder).function("go").in_schema or {}
        with pytest.raises(ConfigError, match="points outside the component folder"):
            compile_schema(schema, folder).is_valid({"a": 1})


def test_a_symlink_within_the_folder_is_followed(tmp_path: Path) -> None:
    folder = make(tmp_path, action(main="./go.py"), {"real/go.py": EVIL.replace("imported", "ran")})
    (folder / "go.py").symlink_to(folder / "real" / "go.py")
    assert not [str(p) for p in validate_component(folder)]
    assert load_component(folder).handler("./go.py", "action") is not None
    assert (folder / "real" / "ran").exists()


def test_a_component_folder_reached_through_a_symlink_loads(tmp_path: Path) -> None:
    folder = make(tmp_path, action(request={"method": "GET", "path": "/x"}, metadata={"in": "./schemas/in.json"}))
    (folder / "schemas").mkdir()
    (folder / "schemas" / "in.json").write_text('{"type": "object"}', encoding="utf-8")
    link = tmp_path / "linked"
    link.symlink_to(folder, target_is_directory=True)
    assert load_component(link).function("go").in_schema is not None
