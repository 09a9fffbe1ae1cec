"""``skiff demo``: example (a) end to end, Billbee orders → Billomat confirmations with their PDF.

It starts the Billbee and Billomat sandboxes on free ports (at the vendors' real rate limits),
runs the flow ``examples/billbee-orders-to-billomat.yaml`` embedded with its journal, adds a few
orders and runs again (only those go through), and ends with a summary checked against the
Billomat sandbox: every order has exactly one completed confirmation, and no request got a 429.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

__all__ = ["DemoSandboxes", "demo", "example_a_path", "example_sandboxes"]

EXAMPLE_A = "billbee-orders-to-billomat.yaml"


def example_a_path() -> Path:
    """Example (a), from the checkout or from the installed wheel."""
    from ..component.loader import repo_root

    root = repo_root()
    if root is None or not (root / "examples" / EXAMPLE_A).is_file():
        from ..errors import ConfigError

        raise ConfigError(f"examples/{EXAMPLE_A} is not installed with skiff")
    return root / "examples" / EXAMPLE_A


@dataclass
class DemoSandboxes:
    """The two sandboxes of example (a) and the environment its credential sets read."""

    billbee: Any
    billomat: Any
    billbee_url: str  # admin API under it
    billomat_url: str
    env: dict[str, str]


@contextmanager
def example_sandboxes(
    *, orders: int, seed: int = 1, billomat_requests: int = 300, billomat_window: float = 900
) -> Iterator[DemoSandboxes]:
    """Billbee with ``orders`` orders and Billomat (300 requests per 15 minutes unless told), served."""
    from ..sandbox import load_sandbox, serve

    billbee = load_sandbox("billbee", seed=seed, orders=orders)
    billomat = load_sandbox("billomat", seed=seed, window_requests=billomat_requests, window_seconds=billomat_window)
    with serve(billbee) as bb, serve(billomat) as bm:
        c1, c2 = billbee.default_credentials, billomat.default_credentials
        env = {
            "BILLBEE_URL": bb.base_url,
            "BILLBEE_API_KEY": c1["apiKey"],
            "BILLBEE_USERNAME": c1["username"],
            "BILLBEE_PASSWORD": c1["password"],
            "BILLOMAT_URL": bm.base_url,
            "BILLOMAT_ID": c2["billomatId"],
            "BILLOMAT_API_KEY": c2["apiKey"],
            "BILLOMAT_RATE_LIMIT": str(billomat_requests),
        }
        yield DemoSandboxes(billbee, billomat, bb.url, bm.url, env)


@click.command()
@click.option("--orders", default=20, show_default=True, help="Orders in the Billbee sandbox account.")
@click.option("--new", "new_orders", default=3, show_default=True, help="Orders added before the second run.")
@click.option("--journal", type=click.Path(dir_okay=False), help="The flow's journal (default: a temp file).")
def demo(orders: int, new_orders: int, journal: str | None) -> None:
    """Run example (a) on the sandboxes: Billbee orders → Billomat client → confirmation → complete → PDF."""
    asyncio.run(_demo(orders, new_orders, journal))


async def _demo(orders: int, new_orders: int, journal: str | None) -> None:
    import httpx
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from ..flow import load_flow, resolve_credentials
    from ..flow.journal import Journal
    from ..flow.runner import FlowRunner

    console = Console(highlight=False)
    path = example_a_path()
    doc = load_flow(path)
    flow = doc.flow
    steps = [s.id for s in flow.steps]
    with tempfile.TemporaryDirectory() as tmp, example_sandboxes(orders=orders) as boxes:
        db = Path(journal) if journal else Path(tmp) / "journal.db"
        console.print(f"[bold]flow[/] {flow.name}  ({path})")
        console.print(f"  trigger {flow.trigger.component}.{flow.trigger.function} → " + " → ".join(steps))
        console.print(f"  Billbee sandbox {boxes.env['BILLBEE_URL']} with {orders} orders (2 requests/s per endpoint)")
        console.print(f"  Billomat sandbox {boxes.env['BILLOMAT_URL']} (300 requests per 15 minutes)")
        console.print(f"  journal {db}\n")
        credentials = resolve_credentials(flow, environ={**os.environ, **boxes.env})

        async def one_run(label: str) -> tuple[int, float]:
            progress = Progress(
                TextColumn("{task.description:<22}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
            )
            tasks: dict[str, Any] = {}

            def changed(step: str, outcome: str, row: Any) -> None:
                if step in tasks and outcome in ("done", "found", "skipped", "filtered"):
                    progress.advance(tasks[step])

            runner = FlowRunner(doc, credentials=credentials, journal=Journal(db, flow=flow.name), on_change=changed)
            started = time.monotonic()
            async with runner:
                runner.recover()
                added = await runner.poll()
                console.print(f"[bold]{label}[/]: {added} new order(s)")
                with progress:
                    for step in steps:
                        tasks[step] = progress.add_task(f"  {step}", total=added)
                    await runner.drain()
            return added, time.monotonic() - started

        first, first_elapsed = await one_run("1. first run")
        async with httpx.AsyncClient() as admin:
            seeded = await admin.post(
                f"{boxes.billbee_url}/_sandbox/seed", json={"resource": "orders", "count": new_orders}
            )
            seeded.raise_for_status()
            console.print(f"\n   {len(seeded.json().get('ids', []))} orders added in Billbee\n")
            second, second_elapsed = await one_run("2. after new orders")
            logs = {}
            for name, url in (("billbee", boxes.billbee_url), ("billomat", boxes.billomat_url)):
                answer = (await admin.get(f"{url}/_sandbox/requests", params={"limit": 1_000_000})).json()
                logs[name] = [e for e in answer.get("requests", []) if "/_sandbox/" not in str(e.get("path", ""))]
        summary = Journal(db, flow=flow.name)
        results = len(summary.rows(statuses=("done",), step="$end"))
        troubled = len(summary.rows(statuses=("failed", "doubt", "pending", "running")))
        summary.close()
        all_orders = {str(r["BillBeeOrderId"]) for r in boxes.billbee.store["orders"]}
        by_order: dict[str, list[dict[str, Any]]] = {}
        for record in boxes.billomat.store["confirmations"]:
            label = str(record.get("label") or "")
            if label.startswith("Billbee order "):
                by_order.setdefault(label.removeprefix("Billbee order "), []).append(record)

    lost = len(all_orders - set(by_order))
    duplicated = sum(len(v) - 1 for v in by_order.values() if len(v) > 1)
    completed = sum(1 for v in by_order.values() for c in v if c.get("status") == "OPEN")
    throttled = sum(1 for entries in logs.values() for e in entries if e.get("status") == 429)
    billomat_requests = len(logs["billomat"])
    table = Table(title="summary", show_header=False)
    table.add_row("orders", str(len(all_orders)))
    table.add_row("confirmations", f"{sum(len(v) for v in by_order.values())} ({completed} completed, {results} PDFs)")
    table.add_row("lost", str(lost))
    table.add_row("duplicated", str(duplicated))
    table.add_row("429 answers", str(throttled))
    table.add_row("runs: new orders", f"{first} then {second}")
    table.add_row("API requests", f"Billbee {len(logs['billbee'])}, Billomat {billomat_requests}")
    table.add_row("failed or in doubt", str(troubled))
    table.add_row("elapsed", f"{first_elapsed + second_elapsed:.1f} s")
    console.print()
    console.print(table)
    console.print(
        f"\n{len(all_orders)} orders, {sum(len(v) for v in by_order.values())} confirmations, {lost} lost,"
        f" {duplicated} duplicated, {throttled} × 429.",
    )
    console.print(
        f"Each order took {billomat_requests / max(1, len(all_orders)):.1f} Billomat requests (look up the client,"
        " create it when missing, look up and create the confirmation, check and complete it, fetch the PDF)."
        " Billomat allows 300 requests per 15 minutes, so this account can confirm about"
        f" {300 / max(1.0, billomat_requests / max(1, len(all_orders))):.0f} orders per quarter hour;"
        " skiff waits before sending rather than collecting 429s.",
    )
    console.print("\n[bold]Try next[/]")
    for command, why in (
        (f"skiff flow validate {path}", "check the flow file: each problem on one line with its position"),
        ("skiff sandbox billbee & skiff sandbox billomat &", "keep the sandboxes running (each prints its cfg)"),
        (f"skiff flow run {path} --once", "with BILLBEE_* and BILLOMAT_* set; then: skiff flow status FILE"),
    ):
        console.print(f"  [cyan]{escape(command)}[/]\n      {why}", soft_wrap=True)
    if lost or duplicated or throttled or troubled:
        raise SystemExit(1)
