"""The npm ``billwerk`` client (2.1.0) against the Billwerk sandbox.

The client is installed with npm into a cache directory outside the repository (never vendored) and
driven by a small node script written into a temp dir. Read its source before changing anything here:
it posts ``grant_type=client_credentials`` with HTTP Basic to ``{host}/oauth/token``, appends
``take=500`` (and ``skip=N``) to every URL including POSTs, pages ``getCustomers`` by ``skip`` until a
short page or a page whose first Id it has already seen, and calls ``res.json()`` on every answer.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from skiff.sandbox import SandboxApp, SandboxServer, load_sandbox, serve

# Pinned: the client and the HTTP/auth libraries it calls (its own ranges are ^2 / ^1 / ^6).
NPM_PACKAGES = ["billwerk@2.1.0", "node-fetch@2.7.0", "basic-auth-header@1.0.1", "qs@6.17.1"]
NPM_DIR = Path(os.environ.get("SKIFF_TEST_NPM_DIR", Path.home() / ".cache" / "skiff-test-npm")) / "billwerk-2.1.0"

DRIVER = r"""
const BillwerkAPI = require(process.env.BILLWERK_MODULE).default;
const [host, scenario, secret] = process.argv.slice(2);
const api = new BillwerkAPI('sandbox-client', secret || 'sandbox-secret', host, '/api/v1', false);

async function attempt(promise) {
  try { return {ok: true, value: await promise}; }
  catch (err) { return {ok: false, error: String(err && err.message || err)}; }
}

const scenarios = {
  async customers() {
    const customers = await api.getCustomers();
    return {count: customers.length, ids: customers.map(c => c.Id)};
  },
  async lifecycle() {
    const out = {};
    out.variants = await api.getPlanVariants();
    out.planGroups = await api.getPlanGroups();
    out.plans = await api.getPlans();
    out.plan = await api.getPlan(out.plans[0].Id);
    out.customer = await api.createCustomer({
      FirstName: 'Jane', LastName: 'Node', EmailAddress: 'jane@example.com',
      Address: {Street: 'Example Street', City: 'Example City', Country: 'DE'}});
    out.customerGot = await api.getCustomer(out.customer.Id);
    out.patched = await api.patchCustomer(out.customer.Id, {CompanyName: 'Node GmbH'});
    const variant = out.variants.find(v => !v.TrialPeriod);
    out.order = await api.createOrder({CustomerId: out.customer.Id, Cart: {PlanVariantId: variant.Id}});
    out.committed = await api.commitOrder(out.order.Id, {});
    out.commitAgain = await api.commitOrder(out.order.Id, {});
    const contractId = out.committed.Id;
    out.contract = await api.getContract(contractId);
    out.customerContracts = await api.getCustomerContracts(out.customer.Id);
    const component = (await api.call('/Components', 'GET')).find(c => c.Type === 'Metered');
    out.usagePosted = await api.postContractUsage(contractId, {ComponentId: component.Id, Quantity: 5});
    out.usage = await api.getContractUsage(contractId);
    out.usageViaDeleteHelper = await api.deleteContractUsage(contractId, out.usagePosted.Id);
    out.componentSubscription = await api.createContractComponentSubscription(
      contractId, {ComponentId: component.Id, Quantity: 2});
    out.componentSubscriptions = await api.getContractComponentSubscriptions(contractId);
    out.subscriptions = await api.getContractSubscriptions(contractId);
    out.selfService = await api.getContractSelfServiceToken(contractId);
    // 2.1.0's build lacks getContractCancellationPreview (its README lists it): use call().
    out.preview = await api.call(`/Contracts/${contractId}/CancellationPreview`, 'GET');
    out.end = await api.endContract(contractId, {EndDate: '2099-01-01T00:00:00Z'});
    out.ratedItem = await api.createContractRatedItem(contractId, {Description: 'x', Quantity: 1,
                                                                   PricePerUnit: 1, TaxPolicyId: 't'});
    out.contracts = await api.getContracts();
    out.allSubscriptions = await api.getSubscriptions();
    out.invoices = await api.getInvoices();
    const invoice = out.invoices.find(i => i.ContractId === contractId);
    out.invoice = await api.getInvoiceById(invoice.Id);
    out.downloadLink = await api.getInvoiceDownloadLink(invoice.Id);
    out.drafts = await api.getInvoiceDrafts();
    out.draft = await api.getInvoiceDraft(out.drafts[0].Id);
    out.sent = await api.sendInvoiceDraft(out.drafts[0].Id);
    const second = await api.createOrder({CustomerId: out.customer.Id, Cart: {PlanVariantId: variant.Id}});
    out.approved = await api.approveOrder(second.Id);
    const third = await api.createOrder({CustomerId: out.customer.Id, Cart: {PlanVariantId: variant.Id}});
    out.declined = await api.declineOrder(third.Id);
    out.hook = await api.createWebhook({Url: 'https://example.com/hook', Events: ['ContractCreated']});
    out.hooksBefore = await api.getWebhooks();
    out.hookDelete = await attempt(api.deleteWebhook(out.hook.Id));
    out.hooksAfter = await api.getWebhooks();
    out.notFound = await api.getCustomer('000000000000000000000000');
    out.invalid = await api.createCustomer({EmailAddress: 'not-an-email'});
    return out;
  },
  async badSecret() {
    return {customers: await attempt(api.getCustomers())};
  },
};

scenarios[scenario]().then(
  result => { process.stdout.write(JSON.stringify(result)); },
  err => { process.stderr.write(String(err && err.stack || err)); process.exit(1); },
);
"""


@pytest.fixture(scope="session")
def billwerk_module() -> Path:
    """The npm package, installed once into the cache dir (outside the repo)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm are not installed: cannot run the npm billwerk client")
    module = NPM_DIR / "node_modules" / "billwerk"
    marker = NPM_DIR / ".installed"
    if not marker.exists() or marker.read_text() != " ".join(NPM_PACKAGES):
        NPM_DIR.mkdir(parents=True, exist_ok=True)
        (NPM_DIR / "package.json").write_text('{"name": "skiff-test-billwerk", "private": true}\n')
        result = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", *NPM_PACKAGES],
            cwd=NPM_DIR,
            capture_output=True,
            text=True,
            timeout=180,
        )
        if result.returncode != 0:
            pytest.fail(f"npm install {' '.join(NPM_PACKAGES)} failed:\n{result.stderr[-2000:]}")
        marker.write_text(" ".join(NPM_PACKAGES))
    return module


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("billwerk-driver") / "driver.js"
    path.write_text(DRIVER)
    return path


@pytest.fixture(scope="module")
def app() -> SandboxApp:
    return load_sandbox("billwerk", seed=7)


@pytest.fixture(scope="module")
def server(app: SandboxApp) -> Iterator[SandboxServer]:
    with serve(app) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh(app: SandboxApp) -> None:
    app.reset()


def run_node(module: Path, driver: Path, server: SandboxServer, scenario: str, *extra: str) -> Any:
    host = f"127.0.0.1:{server.port}"
    result = subprocess.run(
        ["node", str(driver), host, scenario, *extra],
        env={**os.environ, "BILLWERK_MODULE": str(module)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def api_requests(app: SandboxApp) -> list[dict[str, Any]]:
    return [e for e in app.log.entries() if e["path"].lower().startswith("/api/v1")]


def test_get_customers_pages_with_take_500_and_skip(
    billwerk_module: Path, driver: Path, server: SandboxServer, app: SandboxApp
) -> None:
    app.seed_resource("customers", 1200 - len(app.store.table("customers")))
    app.log.clear()
    result = run_node(billwerk_module, driver, server, "customers")
    assert result["count"] == 1200
    assert len(set(result["ids"])) == 1200
    assert result["ids"] == sorted(result["ids"])  # ascending Id order, no gaps or repeats
    pages = [e["query"] for e in api_requests(app)]
    assert pages == [{"take": "500"}, {"skip": "500", "take": "500"}, {"skip": "1000", "take": "500"}]
    token_calls = [e for e in app.log.entries() if e["path"] == "/oauth/token"]
    assert len(token_calls) == 1
    assert token_calls[0]["headers"]["authorization"] == "Basic ***"  # logged, but masked


def test_skip_cap_stops_the_client_at_1500(
    billwerk_module: Path, driver: Path, server: SandboxServer, app: SandboxApp
) -> None:
    # skip is capped at 1000: skip=1500 answers the skip=1000 page again, and the client stops
    # when it sees a first Id it already has. Large lists need `from` paging instead.
    app.seed_resource("customers", 1700 - len(app.store.table("customers")))
    result = run_node(billwerk_module, driver, server, "customers")
    assert result["count"] == 1500
    assert len(set(result["ids"])) == 1500


def test_client_lifecycle(billwerk_module: Path, driver: Path, server: SandboxServer, app: SandboxApp) -> None:
    out = run_node(billwerk_module, driver, server, "lifecycle")
    assert {"Id", "PlanId", "FeePeriod"} <= set(out["variants"][0])
    assert out["plan"]["Id"] == out["plans"][0]["Id"]
    assert out["planGroups"] and out["planGroups"][0]["Id"] == out["plans"][0]["PlanGroupId"]

    customer = out["customer"]
    assert customer["CustomerName"] == "Jane Node"
    assert out["customerGot"] == customer
    assert out["patched"]["CompanyName"] == "Node GmbH" and out["patched"]["FirstName"] == "Jane"

    order, contract = out["order"], out["committed"]
    assert order["Status"] == "InProgress" and order["CustomerId"] == customer["Id"]
    assert contract["Id"] == order["ContractId"] and contract["LifecycleStatus"] == "Active"
    assert out["commitAgain"]["Message"].startswith(f"Order {order['Id']} cannot be processed")
    assert out["contract"]["Id"] == contract["Id"]
    assert [c["Id"] for c in out["customerContracts"]] == [contract["Id"]]

    assert out["usagePosted"]["Quantity"] == 5 and out["usagePosted"]["ContractId"] == contract["Id"]
    assert [u["Id"] for u in out["usage"]] == [out["usagePosted"]["Id"]]
    # The client's deleteContractUsage sends GET (a client bug): the usage is read, not deleted.
    assert out["usageViaDeleteHelper"]["Id"] == out["usagePosted"]["Id"]
    assert app.store.table("usage").get(out["usagePosted"]["Id"]) is not None

    assert out["componentSubscription"]["Quantity"] == 2
    assert [s["Id"] for s in out["componentSubscriptions"]] == [out["componentSubscription"]["Id"]]
    assert [s["Type"] for s in out["subscriptions"]] == ["PlanVariant", "Component"]
    assert set(out["selfService"]) == {"Expiry", "Token", "Purpose", "Url"}
    assert out["preview"]["ContractAfter"]["Phases"][-1]["Type"] == "Inactive"

    # endContract and createContractRatedItem call /Contract/{id}/... (singular): the real API has
    # no such route, so the sandbox answers 404 and the client hands back the error body.
    assert "No HTTP resource" in out["end"]["Message"]
    assert "No HTTP resource" in out["ratedItem"]["Message"]

    assert contract["Id"] in {c["Id"] for c in out["contracts"]}
    assert {"Contract", "Customer"} <= set(out["allSubscriptions"][0])
    assert out["invoice"]["ContractId"] == contract["Id"]
    assert out["invoice"]["TotalNet"] == f"{order['Total']:.2f}"
    pdf = httpx.get(out["downloadLink"]["Url"])
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert out["draft"]["Id"] == out["drafts"][0]["Id"]
    assert out["sent"]["InvoiceNumber"] and out["sent"]["ContractId"] == out["draft"]["ContractId"]
    assert app.store.table("invoicedrafts").get(out["draft"]["Id"]) is None

    assert out["approved"]["Status"] == "Completed"
    assert out["declined"]["Status"] == "Declined"

    assert out["hook"]["Events"] == ["ContractCreated"]
    assert out["hook"]["Id"] in {h["Id"] for h in out["hooksBefore"]}
    # DELETE answers 204 without a body; the client always calls res.json() and rejects,
    # although the webhook is gone.
    assert out["hookDelete"]["ok"] is False
    assert out["hook"]["Id"] not in {h["Id"] for h in out["hooksAfter"]}

    assert out["notFound"]["Message"].startswith("Customer with id")
    assert out["invalid"]["Message"] == "The request is invalid."
    assert "EmailAddress" in out["invalid"]["ModelState"]

    posts = [e for e in api_requests(app) if e["method"] == "POST"]
    assert posts and all(e["query"] == {"take": "500"} for e in posts)  # the client's quirk is accepted
    authorized = [e for e in api_requests(app) if "/files/download/" not in e["path"]]
    assert all(e["headers"]["authorization"] == "Bearer ***" for e in authorized)


def test_bad_secret_gets_401_bodies(billwerk_module: Path, driver: Path, server: SandboxServer) -> None:
    out = run_node(billwerk_module, driver, server, "badSecret", "wrong-secret")
    # The client ignores the token endpoint's 401 and then calls with "Bearer undefined".
    assert out["customers"]["ok"] is True
    assert out["customers"]["value"] == {"Message": "Authorization has been denied for this request."}
