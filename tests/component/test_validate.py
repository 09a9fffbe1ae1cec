import json
from pathlib import Path
from typing import Any

import pytest

from skiff.component import validate_component
from skiff.component.validate import component_json_schema

REPO = Path(__file__).resolve().parents[2]


def make(tmp_path: Path, data: Any, files: dict[str, str] | None = None, raw: str | None = None) -> Path:
    folder = tmp_path / "comp"
    folder.mkdir()
    (folder / "component.json").write_text(raw if raw is not None else json.dumps(data), encoding="utf-8")
    for name, text in (files or {}).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def lines(folder: Path) -> list[str]:
    return [str(p) for p in validate_component(folder)]


BASE: dict[str, Any] = {
    "title": "T",
    "actions": {"getX": {"title": "Get", "request": {"method": "GET", "path": "/x"}}},
}


def test_valid_minimal(tmp_path: Path) -> None:
    assert lines(make(tmp_path, BASE)) == []


def test_invalid_json_has_line_and_column(tmp_path: Path) -> None:
    out = lines(make(tmp_path, None, raw='{\n  "title": "T",\n  "actions": {,}\n}'))
    assert len(out) == 1
    assert "line 3, column" in out[0] and out[0].startswith(str(tmp_path / "comp" / "component.json"))


def test_unknown_key_and_view_class(tmp_path: Path) -> None:
    data = {
        **BASE,
        "titel": "typo",
        "credentials": {
            "fields": {
                "apiKey": {"label": "K", "viewClass": "FancyView"},
                "user": {"label": "U", "viewClass": "textfield"},
            }
        },
    }
    problems = validate_component(make(tmp_path, data))
    out = [str(p) for p in problems]
    assert any(": /titel: unknown key 'titel' (did you mean 'title'?)" in line for line in out), out
    # A tenant may have its own ...View classes: a warning; anything else is an error.
    fancy = [p for p in problems if p.pointer == "/credentials/fields/apiKey/viewClass"]
    assert [p.severity for p in fancy] == ["warning"] and "unknown viewClass 'FancyView'" in fancy[0].message
    assert any("/credentials/fields/user/viewClass: unknown viewClass 'textfield'" in line for line in out), out


def test_bad_and_duplicate_names(tmp_path: Path) -> None:
    data = {
        "title": "T",
        "triggers": {"getX": {"title": "t", "type": "polling", "main": "./triggers/x.py"}},
        "actions": {
            "getX": {"title": "a", "request": {"path": "/x"}},
            "1bad": {"title": "b", "request": {"path": "/x"}},
        },
    }
    out = lines(make(tmp_path, data, {"triggers/x.py": "async def process(ctx, msg, cfg):\n    return 1\n"}))
    assert any("/actions/getX: duplicate name 'getX'" in line for line in out)
    assert any("/actions/1bad: bad name '1bad'" in line for line in out)


def test_main_missing_or_without_process(tmp_path: Path) -> None:
    data = {
        "title": "T",
        "actions": {
            "a": {"title": "a", "main": "./actions/missing.py"},
            "b": {"title": "b", "main": "./actions/b.py"},
        },
    }
    out = lines(make(tmp_path, data, {"actions/b.py": "def other():\n    pass\n"}))
    assert any("/actions/a/main: main './actions/missing.py': file not found" in line for line in out)
    assert any("/actions/b/main: main './actions/b.py' has no function 'process'" in line for line in out)


def test_metadata_missing_or_invalid_schema(tmp_path: Path) -> None:
    data = {
        "title": "T",
        "actions": {
            "a": {"title": "a", "request": {"path": "/x"}, "metadata": {"in": "./schemas/nope.json"}},
            "b": {"title": "b", "request": {"path": "/x"}, "metadata": {"out": "./schemas/bad.json"}},
        },
    }
    out = lines(make(tmp_path, data, {"schemas/bad.json": json.dumps({"type": "nonsense"})}))
    assert any("/actions/a/metadata/in: ./schemas/nope.json: file not found" in line for line in out)
    assert any("/actions/b/metadata/out: ./schemas/bad.json: not a valid JSON Schema" in line for line in out)


def test_template_syntax_error_in_request(tmp_path: Path) -> None:
    data = {"title": "T", "actions": {"a": {"title": "a", "request": {"path": "/x/{{ body.id "}}}}
    out = lines(make(tmp_path, data))
    assert any("/actions/a/request/path: template syntax error" in line for line in out)


def test_function_without_main_or_request(tmp_path: Path) -> None:
    out = lines(make(tmp_path, {"title": "T", "actions": {"a": {"title": "a"}}}))
    assert any("/actions/a: needs 'main'" in line for line in out)


def test_bad_auth_in_http_block_points_into_the_list(tmp_path: Path) -> None:
    data = {**BASE, "http": {"baseUrl": "https://x", "auth": [{"type": "apiKey", "name": "X"}]}}
    folder = make(tmp_path, data)
    # One line: the template branch of `auth` (a string) is not the user's intent for a list.
    assert lines(folder) == [f"{folder / 'component.json'}: /http/auth/0/value: missing required key 'value'"]


def test_repo_components_are_valid() -> None:
    from skiff.component import find_components

    for name, path in find_components().items():
        assert validate_component(path) == [], name


def test_published_schema_matches_models() -> None:
    published = json.loads((REPO / "schemas" / "component.schema.json").read_text(encoding="utf-8"))
    assert published == component_json_schema(), "run: skiff schema > schemas/component.schema.json"


@pytest.mark.parametrize("path", [*sorted(REPO.glob("components/*/component.json")), REPO / "component.json"])
def test_component_json_validates_against_published_schema(path: Path) -> None:
    import jsonschema

    jsonschema.validate(json.loads(path.read_text(encoding="utf-8")), component_json_schema())
