"""The embedded runner on the real sandboxes: mapping errors, replay after a fix, doubt, policies."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from skiff.flow import FlowDocument, load_flow, resolve_credentials
from skiff.flow.journal import END, Journal, NewMessage
from skiff.flow.runner import FlowRunner
from tests.flow.conftest import EXAMPLE_A, Sandboxes, confirmations_by_order
from tests.support import skiff_cmd

GOOD = '"quantity": Quantity,'
BROKEN = '"quantity": Quantity + Product.Title,'


def write_flow(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "flow.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def runner_for(path: Path, sandboxes: Sandboxes, journal: Path) -> FlowRunner:
    doc = load_flow(path)
    return FlowRunner(doc, credentials=resolve_credentials(doc.flow, environ=sandboxes.env), journal=journal)


async def test_mapping_error_names_step_expression_and_position_and_replay_after_fix_goes_through_once(
    sandboxes: Sandboxes, tmp_path: Path
) -> None:
    text = EXAMPLE_A.read_text(encoding="utf-8")
    assert GOOD in text
    path = write_flow(tmp_path, text.replace(GOOD, BROKEN))
    journal = tmp_path / "j.db"
    async with runner_for(path, sandboxes, journal) as runner:
        await runner.run_once()
    orders = {str(r["BillBeeOrderId"]) for r in sandboxes.billbee.store["orders"]}
    assert confirmations_by_order(sandboxes.billomat) == {}

    errors = subprocess.run(
        skiff_cmd("flow", "errors", str(path), "--journal", str(journal)),
        env=sandboxes.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = errors.stdout.splitlines()
    assert len(lines) == len(orders), errors.stdout
    line = lines[0]
    # The step, the field, the position inside the block scalar, the code, the expression.
    assert "  confirmation  failed  MappingError: step 'confirmation' mapping at line 8, column 26: T2002:" in line
    assert "⟨here⟩+ Product.Title" in line
    assert '"client_id":' not in line.split("input=")[0]
    assert json.loads(line.split("input=", 1)[1])["id"]  # the original input (the client) is kept

    # Fix the file, replay everything: each order gets one confirmation, completed, with its PDF.
    path.write_text(text, encoding="utf-8")
    replay = subprocess.run(
        skiff_cmd("flow", "replay", str(path), "--all", "--journal", str(journal)),
        env=sandboxes.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert replay.returncode == 0, replay.stderr
    assert f"replayed {len(orders)} message(s)" in replay.stderr
    by_order = confirmations_by_order(sandboxes.billomat)
    assert sorted(by_order) == sorted(orders)
    assert all(len(v) == 1 and v[0]["status"] == "OPEN" for v in by_order.values())
    # A second replay finds nothing to do, and running again creates nothing.
    again = subprocess.run(
        skiff_cmd("flow", "replay", str(path), "--all", "--journal", str(journal)),
        env=sandboxes.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 2 and "no failed or in-doubt message" in again.stderr
    async with runner_for(path, sandboxes, journal) as runner:
        await runner.run_once()
    assert sum(len(v) for v in confirmations_by_order(sandboxes.billomat).values()) == len(orders)
    status = subprocess.run(
        skiff_cmd("flow", "status", str(path), "--journal", str(journal)),
        env=sandboxes.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert status.stdout.splitlines()[0].split() == ["step", "done", "in", "flight", "failed", "in", "doubt"]
    assert status.stdout.splitlines()[-1].split() == ["results", str(len(orders))]


def test_recovery_retries_idempotent_steps_and_holds_the_others(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.db", flow="f")
    for i, step in enumerate(["read", "create"]):
        journal.add([NewMessage(id=f"m{i}", root=f"m{i}", parent=None, step=step, body={"n": i}, passthrough={})])
        journal.start(f"m{i}")
    retried, held = journal.recover(lambda step: step == "read")
    assert (retried, held) == (1, 1)
    assert journal.get("m0").status == "pending"  # type: ignore[union-attr]
    doubt = journal.get("m1")
    assert doubt is not None and doubt.status == "doubt" and doubt.body == {"n": 1}
    assert journal.requeue(["m1"]) == ["m1"]
    assert journal.get("m1").status == "pending"  # type: ignore[union-attr]
    journal.close()


def test_a_journal_belongs_to_one_flow(tmp_path: Path) -> None:
    Journal(tmp_path / "j.db", flow="a").close()
    with pytest.raises(Exception, match="journal of flow 'a'"):
        Journal(tmp_path / "j.db", flow="b")


async def test_a_crash_inside_a_creating_step_without_lookup_is_held_not_repeated(
    sandboxes: Sandboxes, tmp_path: Path
) -> None:
    text = EXAMPLE_A.read_text(encoding="utf-8")
    # Without its lookup, creating a confirmation cannot be safely repeated.
    start = text.index("    lookup:\n      function: listConfirmations")
    end = text.index("  # Completing twice")
    path = write_flow(tmp_path, text[:start] + "\n" + text[end:])
    journal_path = tmp_path / "j.db"
    async with runner_for(path, sandboxes, journal_path) as runner:
        await runner.poll()
        # Process up to the confirmation step, then "die" while it runs (marked, never finished).
        while True:
            ready = runner.journal.ready(limit=100, exclude=set())
            todo = [r for r in ready if r.step == "client"]
            if not todo:
                break
            for row in todo:
                await runner._process(row)
        waiting = [r for r in runner.journal.ready(limit=100, exclude=set()) if r.step == "confirmation"]
        assert waiting
        for row in waiting:
            runner.journal.start(row.id)
    async with runner_for(path, sandboxes, journal_path) as runner:
        await runner.run_once()
        assert runner.stats.held == len(waiting)
    assert confirmations_by_order(sandboxes.billomat) == {}  # held, not silently repeated
    errors = subprocess.run(
        skiff_cmd("flow", "errors", str(path), "--json", "--journal", str(journal_path)),
        env=sandboxes.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    held = [json.loads(line) for line in errors.stdout.splitlines()]
    assert {h["status"] for h in held} == {"doubt"} and len(held) == len(waiting)
    # The operator decides: it did not act (the sandbox shows none), so replay them.
    replay = subprocess.run(
        skiff_cmd("flow", "replay", str(path), held[0]["id"][:13], "--journal", str(journal_path)),
        env=sandboxes.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert replay.returncode == 0, replay.stderr
    assert len(confirmations_by_order(sandboxes.billomat)) == 1


async def test_when_split_and_skip(sandboxes: Sandboxes, tmp_path: Path) -> None:
    flow = """\
name: split-items
credentials:
  billbee:
    env: {baseUrl: BILLBEE_URL, apiKey: BILLBEE_API_KEY, username: BILLBEE_USERNAME, password: BILLBEE_PASSWORD}
trigger: {id: order, component: billbee, function: newOrders, credentials: billbee}
steps:
  - id: article
    component: billbee
    function: articleGetArticle
    credentials: billbee
    split: OrderItems
    when: Quantity >= 1 and $passthrough.order.Currency = "EUR"
    mapping: '{"id": Product.Id}'
    onError: {then: skip}
"""
    path = write_flow(tmp_path, flow)
    doc = FlowDocument.load(path)
    assert doc.flow.steps[0].split == "OrderItems"
    async with runner_for(path, sandboxes, tmp_path / "j.db") as runner:
        await runner.run_once()
        items = sum(len(r["OrderItems"]) for r in sandboxes.billbee.store["orders"])
        rows = runner.journal.rows(step="article")
        assert sum(1 for r in rows if r.status == "split") == len(list(sandboxes.billbee.store["orders"]))
        children = [r for r in rows if r.item is not None]
        assert len(children) == items
        assert all(r.status in ("done", "skipped", "filtered") for r in children)
        assert len(runner.journal.rows(step=END)) == sum(1 for r in children if r.status in ("done", "skipped"))


async def test_route_sends_error_and_input_to_the_error_step(sandboxes: Sandboxes, tmp_path: Path) -> None:
    flow = """\
name: routed
credentials:
  billbee:
    env: {baseUrl: BILLBEE_URL, apiKey: BILLBEE_API_KEY, username: BILLBEE_USERNAME, password: BILLBEE_PASSWORD}
trigger: {id: order, component: billbee, function: newOrders, credentials: billbee}
steps:
  - id: article
    component: billbee
    function: articleGetArticle
    credentials: billbee
    mapping: '{"id": 1 / 0 > 1 ? 1 : $number("x")}'
    onError: {then: route, route: report}
errorSteps:
  - id: report
    component: billbee
    function: orderApiGet
    credentials: billbee
    mapping: '{"id": errorInput.BillBeeOrderId}'
"""
    path = write_flow(tmp_path, flow)
    async with runner_for(path, sandboxes, tmp_path / "j.db") as runner:
        await runner.run_once()
        orders = len(list(sandboxes.billbee.store["orders"]))
        routed = runner.journal.rows(step="article")
        assert [r.status for r in routed] == ["routed"] * orders
        assert all(r.error_kind == "MappingError" for r in routed)
        reports = runner.journal.rows(step="report")
        assert len(reports) == orders and all(r.status == "done" for r in reports)
        assert reports[0].body["error"]["name"] == "MappingError"
        assert reports[0].body["errorInput"]["BillBeeOrderId"]
        results = runner.journal.rows(step=END)
        assert {r.body["BillBeeOrderId"] for r in results} == {r.body["BillBeeOrderId"] for r in routed}


def test_sigterm_stops_cleanly_with_nothing_in_doubt(sandboxes: Sandboxes, tmp_path: Path) -> None:
    import signal
    import time

    journal = tmp_path / "j.db"
    sandboxes.add_orders(4)
    proc = subprocess.Popen(
        skiff_cmd("flow", "run", str(EXAMPLE_A), "--every", "0.5s", "--journal", str(journal)),
        env=sandboxes.env,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not confirmations_by_order(sandboxes.billomat) and time.monotonic() < deadline:
        time.sleep(0.05)  # wait until it is busy, then stop it mid-work
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "new message(s)" in err
    done = Journal(journal, flow="billbee-orders-to-billomat")
    assert done.rows(statuses=("running", "doubt", "failed")) == []
    done.close()


async def test_canvas_positions_in_the_file_change_nothing_in_a_run(sandboxes: Sandboxes, tmp_path: Path) -> None:
    text = EXAMPLE_A.read_text(encoding="utf-8") + "studio:\n  positions:\n    order: {x: 20, y: 30}\n"
    path = write_flow(tmp_path, text)
    async with runner_for(path, sandboxes, tmp_path / "j.db") as runner:
        await runner.run_once()
        assert len(runner.journal.rows(step=END)) == len(list(sandboxes.billbee.store["orders"]))
    orders = {str(r["BillBeeOrderId"]) for r in sandboxes.billbee.store["orders"]}
    assert sorted(confirmations_by_order(sandboxes.billomat)) == sorted(orders)


async def test_a_failure_past_its_retries_stops_with_its_own_message(sandboxes: Sandboxes, tmp_path: Path) -> None:
    """Every article request answers 503: the journal keeps that 503, and that it gave up (as on RabbitMQ)."""
    first = min(int(r["BillBeeOrderId"]) for r in sandboxes.billbee.store["orders"])
    flow = f"""\
name: stopped
credentials:
  billbee:
    env: {{baseUrl: BILLBEE_URL, apiKey: BILLBEE_API_KEY, username: BILLBEE_USERNAME, password: BILLBEE_PASSWORD}}
trigger: {{id: order, component: billbee, function: newOrders, credentials: billbee}}
steps:
  - id: article
    component: billbee
    function: articleGetArticle
    credentials: billbee
    when: BillBeeOrderId = {first}  # one order: Billbee allows 2 requests/s, each attempt makes 5
    mapping: '{{"id": OrderItems[0].Product.Id}}'
    onError: {{retries: 1, backoff: 0.01s}}
"""
    faults = {"error_rate": 1.0, "error_statuses": [503], "error_retry_after": 0, "paths": "/products/"}
    httpx.put(f"{sandboxes.billbee_url}/_sandbox/faults", json=faults).raise_for_status()
    path = write_flow(tmp_path, flow)
    async with runner_for(path, sandboxes, tmp_path / "j.db") as runner:
        await runner.run_once()
        [row] = [r for r in runner.journal.rows(step="article") if r.status != "filtered"]
    assert (row.status, row.attempts, row.error_kind) == ("failed", 2, "TransientError"), row
    assert row.error is not None and row.error.startswith("GET /products/"), row.error
    assert "503 Service Unavailable" in row.error and row.error.endswith(" (gave up after 1 rebound)"), row.error
