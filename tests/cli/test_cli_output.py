"""Every JSON output is one document per line (``--pretty`` indents it); describe explains itself."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from skiff.component import resolve_component
from skiff.sandbox import load_sandbox, serve
from skiff.validation import compile_schema
from tests.support import SKIFF


@pytest.fixture(scope="module")
def billbee_cfg() -> Iterator[dict[str, Any]]:
    app = load_sandbox("billbee", seed=1, orders=10, rate_limits=False)
    with serve(app) as server:
        yield {"baseUrl": server.base_url, **app.default_credentials}


def run(*args: str) -> str:
    proc = subprocess.run([*SKIFF, *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def commands(cfg: dict[str, Any]) -> list[list[str]]:
    return [
        ["components", "--json"],
        ["describe", "billbee", "--json"],
        ["describe", "billbee", "orderApiGet", "--json"],
        ["schema"],
        ["select", "billbee", "orderApiUpdateState", "newStateId", "--cfg", json.dumps(cfg)],
    ]


def test_json_outputs_are_one_document_per_line(billbee_cfg: dict[str, Any]) -> None:
    for args in commands(billbee_cfg):
        out = run(*args)
        lines = out.splitlines()
        assert len(lines) == 1, (args, out[:200])
        assert json.loads(lines[0]), args
        pretty = run(*args, "--pretty")
        assert len(pretty.splitlines()) > 1 and json.loads(pretty) == json.loads(lines[0]), args


def test_describe_http_shows_the_auth_formats() -> None:
    out = run("describe", "http")
    assert '{"type": "bearer", "token"}' in out
    assert '{"type": "apiKey", "in": "header"|"query", "name", "value"}' in out


@pytest.mark.parametrize(("component", "function"), [("billbee", "orderApiGet"), ("plenigo", "searchCustomers")])
def test_describe_function_shows_an_example_body_that_passes_the_in_schema(component: str, function: str) -> None:
    out = run("describe", component, function)
    found = re.search(rf"skiff run {component} {function} --cfg @cfg.json --body '(.+)'$", out, re.M)
    assert found, out[-400:]
    body = json.loads(found.group(1))
    fn = resolve_component(component).function(function)
    assert fn.in_schema is not None
    assert compile_schema(fn.in_schema).is_valid(body), body
    assert json.loads(run("describe", component, function, "--json"))["exampleBody"] == body
