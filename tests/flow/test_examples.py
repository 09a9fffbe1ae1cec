"""Examples (b) and (c) against their sandboxes: every record arrives once, and a second run adds nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from skiff.flow import load_flow, resolve_credentials
from skiff.flow.runner import FlowRunner
from skiff.sandbox import load_sandbox, serve
from tests.flow.conftest import REPO

EXAMPLES = REPO / "examples"


async def run_once(path: Path, env: dict[str, str], journal: Path) -> FlowRunner:
    doc = load_flow(path)
    runner = FlowRunner(doc, credentials=resolve_credentials(doc.flow, environ=env), journal=journal)
    async with runner:
        await runner.run_once()
        assert runner.journal.rows(statuses=("failed", "doubt", "pending", "running")) == []
    return runner


async def test_b_billwerk_contracts_become_one_billomat_invoice_each(tmp_path: Path) -> None:
    billwerk = load_sandbox("billwerk", seed=2)
    billomat = load_sandbox("billomat", seed=2, window_requests=2000)
    with serve(billwerk) as bw, serve(billomat) as bm:
        env = {
            "BILLWERK_URL": bw.base_url,
            "BILLWERK_CLIENT_ID": billwerk.default_credentials["clientId"],
            "BILLWERK_CLIENT_SECRET": billwerk.default_credentials["clientSecret"],
            "BILLOMAT_URL": bm.base_url,
            "BILLOMAT_ID": "sandbox",
            "BILLOMAT_API_KEY": billomat.default_credentials["apiKey"],
            "BILLOMAT_RATE_LIMIT": "2000",
        }
        path = EXAMPLES / "billwerk-contracts-to-billomat.yaml"
        await run_once(path, env, tmp_path / "j.db")
        second = await run_once(path, env, tmp_path / "j.db")
        assert second.stats.added == 0
    contracts = {c["Id"]: c for c in billwerk.store["contracts"]}
    invoices: dict[str, list[Any]] = {}
    for inv in billomat.store["invoices"]:
        label = str(inv.get("label") or "")
        if label.startswith("Billwerk contract "):
            invoices.setdefault(label.removeprefix("Billwerk contract "), []).append(inv)
    assert contracts and set(invoices) == set(contracts)
    assert all(len(v) == 1 for v in invoices.values())
    items = {i["invoice_id"]: i for i in billomat.store["invoice-items"]}
    variants = {v["Id"]: v for v in billwerk.store["planvariants"]}
    for contract_id, (invoice,) in invoices.items():
        item = items[invoice["id"]]
        variant = variants[contracts[contract_id]["PlanVariantId"]]
        assert float(item["unit_price"]) == float(variant.get("RecurringFee") or 0)


async def test_c_plenigo_customers_become_billbee_customers_once(tmp_path: Path) -> None:
    plenigo = load_sandbox("plenigo", seed=2, customers=6)
    billbee = load_sandbox("billbee", seed=2, orders=1)
    with serve(plenigo) as pl, serve(billbee) as bb:
        c = billbee.default_credentials
        env = {
            "PLENIGO_URL": pl.base_url,
            "PLENIGO_API_TOKEN": plenigo.default_credentials["apiToken"],
            "BILLBEE_URL": bb.base_url,
            "BILLBEE_API_KEY": c["apiKey"],
            "BILLBEE_USERNAME": c["username"],
            "BILLBEE_PASSWORD": c["password"],
        }
        path = EXAMPLES / "plenigo-customers-to-billbee.yaml"
        before = len(list(billbee.store["customers"]))
        first = await run_once(path, env, tmp_path / "j.db")
        await run_once(path, env, tmp_path / "j.db")
    emails = [p["email"] for p in plenigo.store["customers"] if p.get("email")]
    assert first.stats.added == len(list(plenigo.store["customers"]))
    created = [b for b in billbee.store["customers"] if b.get("Email") in emails]
    assert sorted(b["Email"] for b in created) == sorted(emails)  # one Billbee customer per address
    assert len(list(billbee.store["customers"])) == before + len(emails)
