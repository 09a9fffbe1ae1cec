"""Bad input and broken surroundings end in one ``error: <Kind>: ...`` line, never a traceback."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from skiff.sandbox import SandboxApp, SandboxServer, load_sandbox, serve
from tests.support import SKIFF, skiff_cmd


@pytest.fixture(scope="module")
def billbee() -> Iterator[tuple[SandboxApp, SandboxServer]]:
    app = load_sandbox("billbee", seed=1, orders=600, rate_limits=False)
    with serve(app) as server:
        yield app, server


def billbee_cfg(billbee: tuple[SandboxApp, SandboxServer]) -> dict[str, Any]:
    app, server = billbee
    return {"baseUrl": server.base_url, **app.default_credentials}


def run(*args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SKIFF, *args], capture_output=True, text=True, timeout=60, **kw)


def one_error_line(proc: subprocess.CompletedProcess[str], code: int, kind: str) -> str:
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"error: {kind}: "), lines[0]
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_sandbox_port_in_use_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = run("sandbox", "billomat", "--port", str(port))
    line = one_error_line(proc, 2, "ConfigError")
    assert f"--port {port}" in line and "already in use" in line
    assert "Errno" not in proc.stderr and proc.stdout == ""


@pytest.mark.parametrize("function", ["orderApiGetList", "updatedOrders"])
def test_closed_pipe_ends_quietly_with_0(
    billbee: tuple[SandboxApp, SandboxServer], function: str, tmp_path: Path
) -> None:
    """``skiff run ... | head -1``: the reader goes away after one line."""
    cmd = skiff_cmd("run", "billbee", function, "--state", str(tmp_path / "s.db"), cfg=billbee_cfg(billbee))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    assert "BillBeeOrderId" in json.loads(first)
    proc.stdout.close()  # as head does: 600 orders cannot all fit in the pipe's buffer
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 0, err
    assert err == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "billbee", "x", "--nope"], "No such option '--nope'"),
        (["sandbox", "billbee", "--port", "x"], "Invalid value for '--port'"),
        (["nope"], "No such command 'nope'"),
    ],
)
def test_option_errors_have_the_error_form(args: list[str], message: str) -> None:
    line = one_error_line(run(*args), 2, "UsageError")
    assert message in line and "--help" in line


def test_version_has_a_short_option() -> None:
    for flag in ("-V", "--version"):
        proc = run(flag)
        assert proc.returncode == 0 and "0." in proc.stdout, proc.stderr


def test_malformed_yaml_names_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "cfg.yaml"
    bad.write_text("baseUrl: http://127.0.0.1:1\nverifyPath: a: b\n", encoding="utf-8")
    line = one_error_line(run("run", "http", "request", "--cfg", f"@{bad}"), 2, "ConfigError")
    assert line.endswith(f"{bad}: invalid YAML at line 2, column 14: mapping values are not allowed here")


def test_malformed_json_names_line_and_column() -> None:
    line = one_error_line(run("run", "http", "request", "--cfg", '{"baseUrl":\n  x}'), 2, "ConfigError")
    assert "invalid JSON at line 2, column 3" in line


def test_state_reset_of_an_unknown_key(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    line = one_error_line(run("state", "reset", "default/billbee/nothing", "--state", str(state)), 2, "ConfigError")
    assert "no snapshot 'default/billbee/nothing'" in line


def test_secret_of_any_type_is_never_echoed(billbee: tuple[SandboxApp, SandboxServer], tmp_path: Path) -> None:
    cfg = tmp_path / "cfg.yaml"
    _, server = billbee
    cfg.write_text(
        f"baseUrl: {server.base_url}\napiKey: 98765432123\nusername: u@example.com\npassword: 4711471147\n",
        encoding="utf-8",
    )
    line = one_error_line(run("run", "billbee", "orderApiGetList", "--cfg", f"@{cfg}"), 2, "ConfigError")
    assert line.startswith("error: ConfigError: cfg.apiKey: expected a string")
    assert "98765432123" not in line


def test_unknown_cfg_key_is_an_error_with_did_you_mean(billbee: tuple[SandboxApp, SandboxServer]) -> None:
    cfg = billbee_cfg(billbee)
    cfg["baseURL"] = cfg.pop("baseUrl")
    line = one_error_line(run(*skiff_cmd("run", "billbee", "orderApiGetList", cfg=cfg)[len(SKIFF) :]), 2, "ConfigError")
    assert "cfg.baseURL: unknown field" in line and "did you mean 'baseUrl'" in line
    assert cfg["password"] not in line
