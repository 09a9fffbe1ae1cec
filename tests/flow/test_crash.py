"""Example (a) SIGKILLed at random, again and again, while orders keep arriving.

Every Billbee order must end as exactly one completed Billomat confirmation with its PDF:
nothing lost (the journal resumes each message at the step it had reached) and nothing
doubled (a step that may have acted is retried only when it is a lookup-or-create or a read).
Half the kills wait for a random number of Billomat requests, so they land inside steps.
"""

from __future__ import annotations

import random
import signal
import subprocess
import threading
import time
from pathlib import Path

from tests.flow.conftest import EXAMPLE_A, Sandboxes, confirmations_by_order
from tests.support import skiff_cmd

KILLS = 22


def test_sigkill_at_random_loses_and_doubles_nothing(sandboxes: Sandboxes, tmp_path: Path) -> None:
    journal = tmp_path / "journal.db"
    rng = random.Random(14)
    stop = threading.Event()
    added: list[object] = list(str(i) for i in sandboxes.add_orders(2))

    def keep_ordering() -> None:
        while not stop.wait(0.4):
            added.extend(str(i) for i in sandboxes.add_orders(1))

    orders = threading.Thread(target=keep_ordering, daemon=True)
    orders.start()
    run = skiff_cmd("flow", "run", str(EXAMPLE_A), "--every", "0.3s", "--journal", str(journal))
    kills = 0
    try:
        while kills < KILLS:
            proc = subprocess.Popen(run, env=sandboxes.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if kills % 2:
                before = sandboxes.billomat_requests()
                wanted = before + rng.randint(1, 12)
                deadline = time.monotonic() + 10
                while sandboxes.billomat_requests() < wanted and time.monotonic() < deadline and proc.poll() is None:
                    time.sleep(0.01)
            else:
                time.sleep(rng.uniform(0.3, 2.0))
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            kills += 1
    finally:
        stop.set()
        orders.join(5)
    # A last, clean run takes whatever the kills interrupted.
    final = subprocess.run(
        skiff_cmd("flow", "run", str(EXAMPLE_A), "--once", "--journal", str(journal)),
        env=sandboxes.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert final.returncode == 0, final.stderr
    status = subprocess.run(
        skiff_cmd("flow", "status", str(EXAMPLE_A), "--json", "--journal", str(journal)),
        env=sandboxes.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert status.returncode == 0, status.stderr

    every_order = {str(r["BillBeeOrderId"]) for r in sandboxes.billbee.store["orders"]}
    assert set(added) <= every_order
    by_order = confirmations_by_order(sandboxes.billomat)
    assert set(by_order) == every_order, f"missing: {every_order - set(by_order)}"
    doubled = {k: len(v) for k, v in by_order.items() if len(v) != 1}
    assert not doubled, f"orders with more than one confirmation: {doubled}"
    assert all(c[0]["status"] == "OPEN" for c in by_order.values()), "every confirmation completed"
    import json

    steps = {row["step"]: row for row in map(json.loads, status.stdout.splitlines())}
    assert steps["$end"]["done"] == len(every_order), status.stdout  # one PDF per order
    assert all(row.get("failed", 0) == 0 and row.get("inDoubt", 0) == 0 for row in steps.values()), status.stdout
    # Clients are found by e-mail: never two for one address.
    emails = [c["email"] for c in sandboxes.billomat.store["clients"] if c.get("email")]
    assert len(emails) == len(set(emails))
