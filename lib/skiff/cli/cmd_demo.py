"""``skiff demo``: a real incremental sync of Billbee orders against the local Billbee sandbox.

It starts the sandbox on a free port, syncs every order through the ``updatedOrders`` trigger at
Billbee's real rate limits, polls again to show that nothing is new, adds a few orders and shows
that only those arrive, and ends with a summary. Snapshots go to a SQLite file, as in production.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

__all__ = ["demo"]


@dataclass
class _Poll:
    records: int = 0
    ids: list[Any] = field(default_factory=list)
    elapsed: float = 0.0


@click.command()
@click.option("--orders", default=2500, show_default=True, help="Orders in the sandbox account.")
@click.option("--new", "new_orders", default=5, show_default=True, help="Orders added before the last poll.")
@click.option("--state", type=click.Path(dir_okay=False), help="SQLite file for the snapshots (default: a temp file).")
def demo(orders: int, new_orders: int, state: str | None) -> None:
    """Sync Billbee orders from the local sandbox: full, then incremental."""
    asyncio.run(_demo(orders, new_orders, state))


async def _demo(orders: int, new_orders: int, state: str | None) -> None:
    import httpx
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from ..component import resolve_component
    from ..executor import Event, Executor
    from ..message import Message
    from ..sandbox import load_sandbox, serve
    from ..state import open_store

    console = Console(stderr=False)
    app = load_sandbox("billbee", seed=1, orders=orders)
    component = resolve_component("billbee")
    trigger = "updatedOrders"
    with tempfile.TemporaryDirectory() as tmp, serve(app) as server:
        cfg = {"baseUrl": server.base_url, **app.default_credentials}
        db = state or str(Path(tmp) / "state.db")
        store = open_store(db)
        key = f"demo/billbee/{trigger}"
        await store.delete(key)
        console.print(f"[bold]Billbee sandbox[/] on {server.base_url} with {orders} orders")
        console.print(f"trigger [bold]billbee.{trigger}[/] · snapshots in {db}\n")

        async def one_poll(executor: Executor, label: str, expected: int | None) -> _Poll:
            result = _Poll()
            snapshot = await store.get(key) or {}
            progress = Progress(
                TextColumn(f"{label:<22}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=False,
            )
            task = progress.add_task(label, total=expected)

            async def emit(event: Event) -> None:
                if event.kind == "data":
                    result.records += 1
                    msg: Message = event.payload
                    result.ids.append(msg.body.get("BillBeeOrderId"))
                    progress.advance(task)
                elif event.kind == "snapshot":
                    await store.put(key, event.payload)  # after the records before it
                elif event.kind == "error":
                    raise event.payload["error"]

            started = time.monotonic()
            with progress:
                run = await executor.run(component, trigger, cfg, Message(body={}), snapshot=snapshot, emit=emit)
                progress.update(task, total=expected if expected else max(result.records, 1))
                if not result.records:
                    progress.update(task, completed=0, total=0)
            result.elapsed = time.monotonic() - started
            if run.error is not None:
                raise run.error
            return result

        async with Executor() as executor:
            full = await one_poll(executor, "1. full sync", orders)
            again = await one_poll(executor, "2. poll again", 0)
            async with httpx.AsyncClient() as admin:
                seeded = await admin.post(
                    f"{server.url}/_sandbox/seed", json={"resource": "orders", "count": new_orders}
                )
                seeded.raise_for_status()
                new_ids = seeded.json().get("ids", [])
                console.print(f"   added {len(new_ids)} orders: {', '.join(str(i) for i in new_ids)}")
                incremental = await one_poll(executor, "3. after new orders", len(new_ids))
                log = (await admin.get(f"{server.url}/_sandbox/requests", params={"limit": 1_000_000})).json()
            stats = executor.http_stats()
        await store.close()

    entries = log.get("requests", log) if isinstance(log, dict) else log
    api_calls = [e for e in entries if "/_sandbox/" not in str(e.get("path", ""))]
    throttled = sum(1 for e in api_calls if e.get("status") == 429)
    requests = len(api_calls)
    # Billbee allows 2 requests per second on one endpoint: the fastest possible sync.
    minimum = max(0.0, (requests - 2) / 2.0)
    elapsed = full.elapsed + again.elapsed + incremental.elapsed
    table = Table(title="summary", show_header=False)
    table.add_row("orders in the account", str(orders + len(new_ids)))
    table.add_row("emitted: full / again / new", f"{full.records} / {again.records} / {incremental.records}")
    table.add_row("only the new orders arrived", "yes" if sorted(incremental.ids) == sorted(new_ids) else "NO")
    table.add_row("distinct orders emitted", str(len(set(full.ids) | set(incremental.ids))))
    table.add_row("API requests", str(requests))
    table.add_row("429 answers", str(throttled))
    table.add_row("retries", str(sum(s.retries for s in stats)))
    table.add_row("elapsed", f"{elapsed:.1f} s (the 2 req/s endpoint limit allows {minimum:.1f} s at best)")
    console.print()
    console.print(table)
