"""A lean start: `skiff run` of a plain component loads neither the demo, rich, Jinja2 nor jsonschema-rs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH_COMPONENT = Path(__file__).resolve().parents[2] / "bench" / "paged"

_PROBE = """
import json, sys
from skiff.cli import _register_optional, cli
from skiff.cli.lazy import import_httpx
_register_optional()
import_httpx()
from skiff.cli.runner import run_call
from skiff.component import resolve_component
from skiff.run import Executor
component = resolve_component(sys.argv[1])
cfg = {"baseUrl": "http://127.0.0.1:1/api", "apiKey": "k", "username": "u", "password": "p"}
ex = Executor()
ex.check_cfg(component, component.function("orders"), cfg)
ex.client(component, cfg)  # renders the http block: plain {{ cfg.x }} templates only
loaded = {m: m in sys.modules for m in ("rich", "pygments", "jinja2", "jsonschema_rs", "skiff.cli.cmd_demo")}
import httpx, rich.console  # still importable afterwards
loaded["httpx.main is a stub"] = httpx.main.__module__ == "httpx"
print(json.dumps(loaded))
"""


def test_run_path_imports_only_what_it_needs() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(BENCH_COMPONENT)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert loaded == {
        "rich": False,
        "pygments": False,
        "jinja2": False,
        "jsonschema_rs": False,
        "skiff.cli.cmd_demo": False,
        "httpx.main is a stub": True,
    }


def test_lazy_commands_load_when_used() -> None:
    from click.testing import CliRunner

    from skiff.cli import _register_optional, cli

    _register_optional()
    assert {"demo", "poll", "state", "generate", "sandbox"} <= set(cli.list_commands(None))  # type: ignore[arg-type]
    result = CliRunner().invoke(cli, ["demo", "--help"])
    assert result.exit_code == 0, result.output
    assert "Run example (a)" in result.output
