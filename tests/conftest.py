"""The whole suite's secret-leak scan (issue 11, item 10).

Every test's captured stdout, stderr and log, its failure text, and every snapshot any store
encodes in this process are scanned for the sandboxes' credentials in every derived form
(as typed, percent-encoded, JSON-escaped, base64 at any alignment: a Basic header too). The
counts are printed at the end of the run, and a leak fails the run. Under pytest-xdist the
reports reach the controller and each worker sends its snapshot counts and leaks back to it.

Also here: how many xdist workers ``-n auto`` starts (``pytest_xdist_auto_num_workers``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from skiff.http.redact import Redactor

ROOT = Path(__file__).resolve().parents[1]


def _sandbox_secrets() -> list[str]:
    found: list[str] = []
    for app in sorted(ROOT.glob("components/*/sandbox/app.py")):
        text = app.read_text(encoding="utf-8")
        # The credentials are plain literals in each sandbox; no need to import the servers.
        for name in ("apiKey", "password", "clientSecret", "apiToken", "DEFAULT_TOKEN"):
            for quote in ('"', "'"):
                marker = f"{quote}{name}{quote}: {quote}" if name != "DEFAULT_TOKEN" else f"{name} = {quote}"
                start = text.find(marker)
                if start >= 0:
                    value = text[start + len(marker) :].split(quote, 1)[0]
                    if len(value) >= 8:
                        found.append(value)
    return sorted(set(found))


SECRETS = _sandbox_secrets()
_REDACTOR = Redactor(SECRETS)


class _Scan:
    def __init__(self) -> None:
        self.reports = 0
        self.snapshots = 0
        self.bytes = 0
        self.leaks: list[str] = []

    def check(self, where: str, text: str) -> None:
        self.bytes += len(text)
        if text and _REDACTOR(text) != text and where not in self.leaks:
            self.leaks.append(where)


SCAN = _Scan()


def _scanning_encode(original: Any) -> Any:
    def encode(key: str, snapshot: Any) -> str:
        text: str = original(key, snapshot)
        SCAN.snapshots += 1
        SCAN.check(f"snapshot {key!r}", text)
        return text

    encode.scanned = True  # type: ignore[attr-defined]
    return encode


@pytest.fixture(autouse=True)
def _scan_snapshots() -> None:
    """Every snapshot a store writes passes through ``skiff.state.base.encode``: scan it there
    (stores import it by name, and the network stores load lazily: patched wherever it is)."""
    for name, module in list(sys.modules.items()):
        if name.startswith("skiff.state") and module is not None:
            current = getattr(module, "encode", None)
            if current is not None and not getattr(current, "scanned", False):
                module.encode = _scanning_encode(current)  # type: ignore[attr-defined]


_IN_WORKER = False


@pytest.hookimpl(optionalhook=True)  # optional: the hook exists only with pytest-xdist installed
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: two workers per usable core, at most 16.

    Most tests wait (on subprocesses starting, brokers, sandboxes' latency, real-time crash
    loops), so one worker per core leaves half the CPU idle: on 2 cores the suite ran 4 m with
    4 m of CPU. Tests own their ports, queues and keys, so more workers share nothing.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(2, min(16, 2 * cores))


def pytest_configure(config: pytest.Config) -> None:
    global _IN_WORKER
    _IN_WORKER = hasattr(config, "workerinput")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if _IN_WORKER:
        return  # the controller scans every report a worker sends it
    SCAN.reports += 1
    for name, content in report.sections:
        SCAN.check(f"{report.nodeid} ({name})", content)
    if report.failed:
        SCAN.check(f"{report.nodeid} (failure)", report.longreprtext)


def pytest_testnodedown(node: Any, error: Any) -> None:
    """Under pytest-xdist: add what a worker scanned in its own process (snapshots) to the total."""
    out = getattr(node, "workeroutput", {}).get("skiff_leak_scan")
    if out:
        SCAN.snapshots += out["snapshots"]
        SCAN.bytes += out["bytes"]
        SCAN.leaks.extend(out["leaks"])


def pytest_terminal_summary(terminalreporter: Any) -> None:
    terminalreporter.write_line(
        f"secret-leak scan: secrets {len(SECRETS)}, test reports {SCAN.reports}, snapshots {SCAN.snapshots}, "
        f"bytes {SCAN.bytes:,}, leaks {len(SCAN.leaks)}"
    )
    for where in SCAN.leaks[:20]:
        terminalreporter.write_line(f"  secret leaked in {where}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: its reports reach the controller, its snapshots do not
        workeroutput["skiff_leak_scan"] = {"snapshots": SCAN.snapshots, "bytes": SCAN.bytes, "leaks": SCAN.leaks}
        return
    if SCAN.leaks and exitstatus == 0:
        session.exitstatus = 1
