"""The bench/ scripts still run: tiny sizes, one round each, all of them at once.

Only that they exit 0 and print their ratio line (all.py: its table) is checked, never a
timing: these machines are shared and noisy. The scripts start their own local API on 127.0.0.1.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"

COMMANDS = {
    "paged_sync": [
        "paged_sync.py",
        "--records",
        "500",
        "--repeat",
        "1",
        "--warmup",
        "0",
        "--variants",
        "billbee",
        "--memory-variants",
        "billbee",
    ],
    "call_overhead": ["call_overhead.py", "--calls", "20", "--repeat", "1", "--variants", "billbee"],
    "startup": ["startup.py", "--repeat", "1", "--warmup", "0", "--commands", "skiff-http"],
    "validators": ["validators.py", "--records", "50", "--repeat", "1"],
    "all": ["all.py", "--quick", "--skip", "others"],  # worker.py and flow.py have their own tests
    "flow": ["flow.py", "--orders", "4", "--window", "20", "--seconds", "1"],
}


@pytest.fixture(scope="module")
def outputs() -> dict[str, subprocess.CompletedProcess[str]]:
    # Started together: two cores, and most of each run is waiting on a subprocess.
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs = {
        name: subprocess.Popen(
            [sys.executable, str(BENCH / args[0]), *args[1:]],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=BENCH.parent,
            env=env,
        )
        for name, args in COMMANDS.items()
    }
    done: dict[str, subprocess.CompletedProcess[str]] = {}
    for name, proc in procs.items():
        try:
            out, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        done[name] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    return done


@pytest.mark.parametrize("name", [name for name in COMMANDS if name != "all"])
def test_script_runs_and_prints_a_ratio(outputs: dict[str, subprocess.CompletedProcess[str]], name: str) -> None:
    result = outputs[name]
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ratio" in result.stdout, result.stdout[-2000:]


def test_paged_sync_reports_memory(outputs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    out = outputs["paged_sync"].stdout
    assert "peak RSS growth" in out
    assert "billbee/baseline" in out


def test_all_prints_one_table_with_every_budget(outputs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    result = outputs["all"]
    assert result.returncode == 0, result.stderr[-2000:]
    table = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert table[0] == "| budget | measured | target | verdict |"
    rows = "\n".join(table[1:])
    for what in ("wall time", "CPU time", "peak RSS of `skiff run`", "start-up", "2 × N", "rate-limited"):
        assert what in rows, what
