"""Genuine elastic.io component.json files load: the ten shapes public components use.

The folders under ``elasticio/`` are written for these tests in the shapes of public
components (REST API V2, Salesforce v2, CSV, SFTP, webhook, petstore, Billomat, flowground's
Billbee connector, a Java JDBC-style component, and the documented OAuth keys). Together they use
every key of elastic.io's vocabulary; each loads, describes and validates with warnings only.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from skiff.component import load_component, validate_component
from skiff.errors import ConfigError
from tests.support import skiff_cmd


def skiff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(skiff_cmd(*args), capture_output=True, text=True, timeout=60, check=False)


HERE = Path(__file__).parent / "elasticio"
KINDS = sorted(p.name for p in HERE.iterdir() if (p / "component.json").is_file())


def test_ten_kinds_present() -> None:
    assert len(KINDS) == 10, KINDS


@pytest.mark.parametrize("kind", KINDS)
def test_genuine_file_validates_with_warnings_only(kind: str) -> None:
    problems = validate_component(HERE / kind)
    errors = [str(p) for p in problems if p.severity == "error"]
    assert errors == []
    data = json.loads((HERE / kind / "component.json").read_text(encoding="utf-8"))
    # One warning per function whose main is JavaScript or Java, naming the function.
    for block in ("actions", "triggers"):
        for name, fn in data.get(block, {}).items():
            warned = [p for p in problems if p.pointer == f"/{block}/{name}/main"]
            assert len(warned) == 1 and warned[0].severity == "warning", (kind, name)
            assert f"{block[:-1]} {name!r} needs a Python handler" in warned[0].message
            assert fn["main"] in warned[0].message


@pytest.mark.parametrize("kind", KINDS)
def test_genuine_file_loads_and_every_schema_resolves(kind: str) -> None:
    comp = load_component(HERE / kind)
    for fn in [*comp.actions.values(), *comp.triggers.values()]:
        for schema in (fn.in_schema, fn.out_schema):
            if schema:
                assert fn.in_validator is not None or fn.out_validator is not None
        with pytest.raises(ConfigError, match=rf"{fn.kind} '{fn.name}' needs a Python handler"):
            fn.handler()


def test_describe_works_on_a_javascript_component() -> None:
    out = skiff("describe", str(HERE / "salesforce"), "--json")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert set(info["actions"]) == {"queryAction", "rawRequest"}
    assert set(info["triggers"]) == {"getUpdatedObjectsPolling", "entry"}
    one = skiff("describe", str(HERE / "salesforce"), "queryAction", "--json")
    assert one.returncode == 0, one.stderr
    assert json.loads(one.stdout)["in"]["required"] == ["query"]


def test_validate_command_exits_zero_with_warnings() -> None:
    out = skiff("validate", *(str(HERE / k) for k in KINDS))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "warning: main './lib/actions/query.js' is a JavaScript module" in out.stdout
    assert "warning: main 'io.example.jdbc.actions.LookupRow' is a Java class" in out.stdout
    assert "ok: 10 component(s) valid" in out.stderr


def test_older_style_required_is_converted() -> None:
    sf = load_component(HERE / "salesforce")
    assert sf.function("rawRequest").in_schema == {
        "type": "object",
        "properties": {
            "method": {"type": "string", "enum": ["GET", "POST"]},
            "path": {"type": "string"},
            "body": {"type": "object"},
        },
        "required": ["method", "path"],
    }
    sftp = load_component(HERE / "sftp").function("upsertFile")
    assert sftp.in_schema is not None and sftp.in_schema["required"] == ["filename"]
    assert sftp.in_validator is not None
    assert not sftp.in_validator.is_valid({"encoding": "utf8"})
    assert sftp.in_validator.is_valid({"filename": "a.csv"})
    out = sftp.out_schema
    assert out is not None and out["required"] == ["result"]
    assert out["properties"]["result"]["properties"]["results"]["items"]["required"] == ["attachment"]
    oauth = load_component(HERE / "oauth").function("orderPizza").in_schema
    assert oauth == {
        "type": "object",
        "properties": {"topping": {"type": "string", "maxLength": 40}},
        "required": ["topping"],
    }


# Every key the issue names, and where it sits.
VOCABULARY = {
    "top": {
        "envVars",
        "url",
        "service",
        "deprecated",
        "authClientTypes",
        "useOAuthClient",
        "useOAuth2",
        "oauth2",
        "language",
        "icon",
        "buildType",
    },
    "credentials": {"verifier", "oauth2", "oauth1"},
    "function": {"order", "deprecated", "help", "dynamicMetadata"},
    "field": {"help", "description", "require", "prompt", "order", "note", "placeholder", "model", "prefix", "suffix"},
}


def _used_keys() -> dict[str, set[str]]:
    used: dict[str, set[str]] = {k: set() for k in VOCABULARY}
    models: set[str] = set()
    trigger_types: set[Any] = set()
    for kind in KINDS:
        data = json.loads((HERE / kind / "component.json").read_text(encoding="utf-8"))
        used["top"] |= set(data)
        creds = data.get("credentials", {})
        used["credentials"] |= set(creds)
        fields = [creds.get("fields", {})]
        for block in ("actions", "triggers"):
            for fn in data.get(block, {}).values():
                used["function"] |= set(fn)
                fields.append(fn.get("fields", {}))
                if block == "triggers":
                    trigger_types.add(fn.get("type"))
        for group in fields:
            for field in group.values():
                used["field"] |= set(field)
                if "model" in field:
                    models.add(type(field["model"]).__name__)
    assert models == {"dict", "list", "str"}  # model as an object, a list and a function name
    assert trigger_types == {"polling", "webhook", None}  # webhook triggers, typed or not
    return used


def test_test_files_cover_the_whole_vocabulary() -> None:
    used = _used_keys()
    for where, keys in VOCABULARY.items():
        assert keys <= used[where], (where, keys - used[where])


def test_keys_outside_the_vocabulary_stay_errors(tmp_path: Path) -> None:
    folder = tmp_path / "typo"
    shutil.copytree(HERE / "salesforce", folder)
    data = json.loads((folder / "component.json").read_text(encoding="utf-8"))
    data["envVar"] = data.pop("envVars")
    data["triggers"]["entry"]["dynamicMetaData"] = True
    data["triggers"]["entry"]["fields"]["sobject"]["palceholder"] = "x"
    data["credentials"]["verfier"] = "x.Y"
    (folder / "component.json").write_text(json.dumps(data), encoding="utf-8")
    errors = {p.pointer: p.message for p in validate_component(folder) if p.severity == "error"}
    assert errors == {
        "/envVar": "unknown key 'envVar' (did you mean 'envVars'?)",
        "/triggers/entry/dynamicMetaData": "unknown key 'dynamicMetaData' (did you mean 'dynamicMetadata'?)",
        "/triggers/entry/fields/sobject/palceholder": "unknown key 'palceholder' (did you mean 'placeholder'?)",
        "/credentials/verfier": "unknown key 'verfier' (did you mean 'verifier'?)",
    }
    with pytest.raises(ConfigError):
        load_component(folder)
