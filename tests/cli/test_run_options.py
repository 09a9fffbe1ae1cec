"""``skiff run --limit N`` stops after N records; ``--attachments DIR`` writes the PDFs there."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from skiff.sandbox import SandboxApp, SandboxServer, load_sandbox, serve
from tests.support import json_lines, skiff_cmd


@pytest.fixture(scope="module")
def billomat() -> Iterator[tuple[SandboxApp, SandboxServer]]:
    app = load_sandbox("billomat", seed=1, rate_limits=False)
    with serve(app) as server:
        yield app, server


@pytest.fixture
def cfg(billomat: tuple[SandboxApp, SandboxServer]) -> dict[str, Any]:
    app, server = billomat
    return {"baseUrl": server.base_url, **app.default_credentials}


def run(*args: str, cfg: dict[str, Any], body: Any = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(skiff_cmd(*args, cfg=cfg, body=body), capture_output=True, text=True, timeout=60)


def test_limit_stops_after_n_records(cfg: dict[str, Any], billomat: tuple[SandboxApp, SandboxServer]) -> None:
    everything = json_lines(run("run", "billomat", "listClients", cfg=cfg).stdout)
    assert len(everything) > 3
    proc = run("run", "billomat", "listClients", "--limit", "3", cfg=cfg)
    assert proc.returncode == 0, proc.stderr
    assert json_lines(proc.stdout) == everything[:3]


def test_limit_on_a_trigger_loses_nothing(cfg: dict[str, Any], tmp_path: Path) -> None:
    state = str(tmp_path / "state.db")
    first = run("run", "billomat", "newClients", "--state", state, "--limit", "2", cfg=cfg)
    assert first.returncode == 0, first.stderr
    assert len(json_lines(first.stdout)) == 2
    # The page was cut short before its commit: the next run starts where the last commit was.
    rest = json_lines(run("run", "billomat", "newClients", "--state", state, cfg=cfg).stdout)
    assert [r["id"] for r in rest][:2] == [r["id"] for r in json_lines(first.stdout)]


def test_limit_must_be_positive(cfg: dict[str, Any]) -> None:
    proc = run("run", "billomat", "listClients", "--limit", "0", cfg=cfg)
    assert proc.returncode == 2 and proc.stderr.startswith("error: UsageError: Invalid value for '--limit'")


def finished_invoice(cfg: dict[str, Any]) -> str:
    invoices = json_lines(run("run", "billomat", "listInvoices", cfg=cfg).stdout)
    return str(next(i["id"] for i in invoices if i.get("status") != "DRAFT"))


def test_attachments_are_written_to_the_folder(cfg: dict[str, Any], tmp_path: Path) -> None:
    invoice = finished_invoice(cfg)
    folder = tmp_path / "pdfs"
    proc = run("run", "billomat", "getInvoicePdf", "--attachments", str(folder), cfg=cfg, body={"id": invoice})
    assert proc.returncode == 0, proc.stderr
    [body] = json_lines(proc.stdout)
    [(name, path)] = body["attachments"].items()
    assert name == body["filename"] and Path(path).parent == folder.resolve()
    data = Path(path).read_bytes()
    assert data.startswith(b"%PDF") and len(data) == body["size"]
    # Whole messages carry the file's URL, as elastic.io messages carry theirs.
    proc = run(
        "run", "billomat", "getInvoicePdf", "--messages", "--attachments", str(folder), cfg=cfg, body={"id": invoice}
    )
    [message] = json_lines(proc.stdout)
    url = message["attachments"][name]["url"]
    assert url.startswith("file://") and Path(url.removeprefix("file://")).read_bytes() == data


def test_without_a_folder_it_says_the_attachment_was_not_written(cfg: dict[str, Any]) -> None:
    proc = run("run", "billomat", "getInvoicePdf", cfg=cfg, body={"id": finished_invoice(cfg)})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["contentType"] == "application/pdf"
    assert proc.stderr.strip() == "1 attachment(s) not written: --attachments DIR writes them"
