"""The studio in a real browser: Debian's Chromium, headless, driven by Playwright's Python API.

No browser is downloaded: Playwright starts the system's ``/usr/bin/chromium`` (``.ci/run``
installs it when missing). Without it, or without the ``playwright`` package, these tests skip
with one line saying so, and fail under ``CI=true``. With ``SKIFF_SCREENSHOTS=docs/screenshots``
they write the README's screenshots.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from skiff.flow import FlowDocument
from skiff.studio import StudioServer

CHROMIUM = Path(os.environ.get("SKIFF_CHROMIUM", "/usr/bin/chromium"))
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "billbee-orders-to-billomat.yaml"


def _require_browser() -> None:
    missing = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = "the playwright package (pip install -e '.[dev]')"
    if missing is None and not CHROMIUM.exists():
        missing = f"{CHROMIUM} (apt-get install -y chromium)"
    if missing:
        message = f"browser tests need {missing}"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),  # a fresh user-data-dir per test
            executable_path=str(CHROMIUM),
            args=FLAGS,
            headless=True,
            viewport={"width": 1280, "height": 800},
        )
        context.set_default_timeout(30_000)
        errors: list[str] = []
        foreign: list[str] = []
        pg = context.new_page()
        pg.on("pageerror", lambda exc: errors.append(str(exc)))
        # Offline: the page loads nothing from anywhere but the studio itself.
        pg.on(
            "request",
            lambda req: None if req.url.startswith(("http://127.0.0.1:", "data:")) else foreign.append(req.url),
        )
        try:
            yield pg
        finally:
            context.close()
        assert errors == [], f"JavaScript errors on the page: {errors}"
        assert foreign == [], f"requests that left the studio: {foreign}"


def _shot(page: Any, name: str) -> None:
    folder = os.environ.get("SKIFF_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def test_catalogue_billbee_credentials_verify_and_try_it(page: Any, studio: StudioServer) -> None:
    page.goto(studio.url)
    page.wait_for_selector(".card[data-component=billomat]")
    assert page.locator(".card").count() >= 5
    _shot(page, "catalogue")

    page.fill("#search", "billbee")
    page.wait_for_function("document.querySelectorAll('.card').length === 1")
    page.click(".card[data-component=billbee]")

    # The Billbee credential form, filled from a sandbox started from the page.
    page.click("#start-sandbox")
    page.wait_for_selector("#status.ok")
    base_url = page.input_value("#f-cfg-baseUrl")
    assert re.match(r"http://127\.0\.0\.1:\d+/api/v1$", base_url)
    assert page.get_attribute("#f-cfg-password", "type") == "password"
    page.fill("#f-cfg-password", "not-the-password")
    page.click("#verify")
    page.wait_for_selector("#cred-result .bad")
    page.fill("#f-cfg-password", "sandbox-password")
    page.click("#verify")
    assert "verified" in page.locator("#cred-result .ok").inner_text()

    page.fill("#cred-name", "billbee")
    page.click("#save-cred")
    page.wait_for_selector("#status.ok:has-text('credentials saved')")
    # The saved secret does not come back: the field is empty with a placeholder.
    assert page.input_value("#f-cfg-password") == ""
    assert "saved" in (page.get_attribute("#f-cfg-password", "placeholder") or "")
    assert "sandbox-password" not in page.content()
    _shot(page, "form")

    # Run orderApiGetList against the sandbox with the saved credentials.
    page.fill("#fn-filter", "orderApiGetList")
    page.click("[data-fn=orderApiGetList]")
    page.wait_for_selector("#run")
    # A select field's options come live from its select model (Billbee's order states).
    states = page.locator(".field[data-field=orderStateId]")
    states.locator("button").click()
    states.locator(".hint:has-text('options')").wait_for()
    assert states.locator("option").count() > 3
    assert "Versendet" in states.locator("select").inner_text()
    page.fill(".field[data-prop=pageSize] input", "5")  # the in-schema as a form: one page of 5
    page.click("#run")
    summary = page.locator("#results .summary").inner_text()
    assert summary.startswith("5 messages"), summary
    assert page.locator("#results .message").count() == 5
    assert "BillBeeOrderId" in page.locator("#results .message").first.inner_text()
    assert "/orders" in (page.locator("#results .reqlog pre").text_content() or "")
    page.evaluate("document.querySelector('#results').scrollIntoView({block: 'start'})")
    _shot(page, "try-it")


def test_errors_show_at_the_field_they_name(page: Any, studio: StudioServer) -> None:
    page.goto(studio.url)
    page.wait_for_selector(".card")
    page.goto(studio.base_url + "/#/component/http/request")
    page.wait_for_selector("#run")
    page.click("#run")
    page.wait_for_selector("#run-error")
    assert "baseUrl" in page.locator("#run-error").inner_text()
    field = page.locator(".field.bad[data-path='cfg.baseUrl']")
    assert "required" in field.locator(".err").inner_text()


def _drag(page: Any, selector: str, x: float, y: float) -> None:
    item = page.locator(selector).first
    item.scroll_into_view_if_needed()
    box = item.bounding_box()
    board = page.locator("#board").bounding_box()
    page.mouse.move(box["x"] + 12, box["y"] + 6)
    page.mouse.down()
    page.mouse.move(board["x"] + x, board["y"] + y, steps=6)
    page.mouse.up()


def _connect(page: Any, source: str, target: str) -> None:
    out = page.locator(f".node[data-step={source}] .port.out").bounding_box()
    to = page.locator(f".node[data-step={target}]").bounding_box()
    page.mouse.move(out["x"] + 7, out["y"] + 7)
    page.mouse.down()
    page.mouse.move(to["x"] + 40, to["y"] + 30, steps=6)
    page.mouse.up()


def _configure(page: Any, step: str, settings: dict[str, Any]) -> None:
    page.click(f".node[data-step={step}] .nid")
    page.wait_for_selector("#step-id")
    if "id" in settings:
        page.fill("#step-id", settings["id"])
    if "credentials" in settings:
        page.select_option("#step-credentials", settings["credentials"])
    if "mapping" in settings:
        page.fill("#step-mapping", settings["mapping"])
    lookup = settings.get("lookup")
    if lookup:
        page.select_option("#lookup-function", lookup["function"])
        if "mapping" in lookup:
            page.fill("#lookup-mapping", lookup["mapping"])
        if "where" in lookup:
            page.fill("#lookup-where", lookup["where"])
    if "every" in settings:
        page.fill("#schedule-every", settings["every"])


def _save_credentials(client: httpx.Client) -> dict[str, str]:
    """Sandboxes started as the page starts them (Billbee with 3 orders: Billomat allows 300
    requests per 15 minutes), their cfg saved under the names example (a) refers to."""
    urls = {}
    for name, options in (("billbee", {"orders": 3}), ("billomat", {})):
        started = client.post(f"/api/sandboxes/{name}", json={"options": options}).json()
        urls[name] = started["url"]
        saved = client.post("/api/credentials", json={"name": name, "component": name, "cfg": started["cfg"]})
        assert saved.status_code == 200
    return urls


def _counts(page: Any, step: str) -> dict[str, int]:
    text = page.locator(f"[data-counts={step}]").inner_text().split()
    return {"done": int(text[1]), "inflight": int(text[3]), "failed": int(text[5]), "doubt": int(text[7])}


def _run_and_wait(page: Any) -> None:
    page.click("#flow-run")
    page.wait_for_selector("#runpanel:has-text('running')", state="attached")
    page.wait_for_selector("#status.ok:has-text('run finished'), #status.bad", timeout=120_000)
    assert page.locator("#status").inner_text() == "run finished"


def test_canvas_builds_example_a_by_drag_and_drop_saves_and_runs_it(
    page: Any, studio: StudioServer, client: httpx.Client
) -> None:
    sandboxes = _save_credentials(client)
    page.set_viewport_size({"width": 1440, "height": 900})
    example = FlowDocument.load(EXAMPLE).to_dict()
    page.goto(studio.url)
    page.wait_for_selector(".card")
    page.click("nav a[data-tab=flows]")
    page.wait_for_selector("#palette .item")
    page.locator("#palette .comp", has_text="Billomat").locator("details summary").click()

    # A staircase: the trigger, then the four Billomat steps, each below and right of the last.
    _drag(page, "#palette .item[data-component=billbee][data-fn=newOrders]", 30, 30)
    functions = [s["function"] for s in example["steps"]]
    for i, fn in enumerate(functions, start=1):
        _drag(page, f"#palette .item[data-component=billomat][data-fn={fn}]", 30 + i * 130, 30 + i * 95)
    previous = "trigger"
    for fn in functions:
        _connect(page, previous, fn)
        previous = fn

    trigger = example["trigger"]
    _configure(page, "trigger", {"id": trigger["id"], "credentials": "billbee", "every": "30s"})
    for step in example["steps"]:
        settings = {"id": step["id"], "credentials": "billomat", "mapping": step["mapping"].rstrip("\n")}
        if "lookup" in step:
            settings["lookup"] = step["lookup"]
        _configure(page, step["function"], settings)

    # The mapping preview: first on a skeleton of the previous step's out-schema, then on real
    # samples: one poll of the trigger, and the client step run on the mapped order.
    page.click(".node[data-step=client] .nid")
    page.wait_for_selector("#mapping-preview:has-text('skeleton')")
    page.click("#get-sample")
    page.wait_for_selector("#mapping-preview:has-text('on the sample output of')")
    client_input = page.locator("#mapping-preview").inner_text()
    assert "first_name" in client_input and "@" in client_input  # a real Billbee address
    page.click(".node[data-step=confirmation] .nid")
    page.click("#get-sample")
    page.wait_for_selector("#mapping-preview:has-text('on the sample output of')")
    preview = page.locator("#mapping-preview").inner_text()
    assert re.search(r"label: \"Billbee order \d+\"", preview), preview
    assert "unit_price" in preview

    page.fill("#flow-path", "orders.yaml")
    page.fill("#flow-name", example["name"])
    page.click("#flow-save")
    page.wait_for_selector("#status.ok:has-text('saved orders.yaml')")
    _shot(page, "canvas")

    saved = FlowDocument.load(studio.settings.flows_dir / "orders.yaml").to_dict()
    assert saved["trigger"] == {
        "component": "billbee",
        "function": "newOrders",
        "schedule": {"every": "30s"},
        "id": "order",
        "credentials": "billbee",
    }
    for built, wanted in zip(saved["steps"], example["steps"], strict=True):
        assert {k: built.get(k) for k in ("id", "component", "function", "credentials", "lookup")} == {
            k: wanted.get(k) for k in ("id", "component", "function", "credentials", "lookup")
        }
        assert built["mapping"].strip() == wanted["mapping"].strip()

    # Reopened, the canvas shows the same chain; saved again unchanged, the file keeps its bytes.
    before = (studio.settings.flows_dir / "orders.yaml").read_bytes()
    page.goto(studio.base_url + "/#/flows/orders.yaml")
    page.wait_for_selector(".node[data-step=pdf]")
    assert page.locator(".node").count() == 5
    page.click("#flow-save")
    page.wait_for_selector("#status.ok:has-text('orders.yaml unchanged')")
    assert (studio.settings.flows_dir / "orders.yaml").read_bytes() == before

    # Run it embedded: every step's counts, live.
    _run_and_wait(page)
    for step in ("order", "client", "confirmation", "complete", "pdf"):
        assert _counts(page, step) == {"done": 3, "inflight": 0, "failed": 0, "doubt": 0}, step
    assert page.locator("#run-counts").count() == 1
    _shot(page, "run")

    # A step that fails: a new order, and a PDF step that asks for a confirmation that is not there.
    seeded = httpx.post(f"{sandboxes['billbee']}/_sandbox/seed", json={"resource": "orders", "count": 1})
    seeded.raise_for_status()
    page.click(".node[data-step=pdf] .nid")
    page.fill("#step-mapping", '{"id": "999999"}')
    page.click("#flow-save")
    page.wait_for_selector("#status.ok:has-text('saved orders.yaml')")
    page.click("#flow-run")
    page.wait_for_selector("#failures .failure", timeout=120_000)
    page.wait_for_selector("#status:has-text('run finished')", timeout=120_000)
    assert _counts(page, "pdf")["failed"] == 1
    failure = page.locator("#failures .failure").first
    assert "999999" in failure.inner_text() or "ApiError" in failure.inner_text()
    failure.locator(".open-failure").click()
    detail = failure.locator(".failure-detail").inner_text()
    assert "999999" in detail and "passthrough" in detail  # the original input, kept

    # Fixed and replayed: it goes through once.
    page.click(".node[data-step=pdf] .nid")
    page.fill("#step-mapping", '{"id": $string($passthrough.confirmation.id)}')
    page.click("#flow-save")
    page.wait_for_selector("#status.ok:has-text('saved orders.yaml')")
    page.locator("#failures .failure .replay").first.click()
    page.wait_for_function(
        "document.querySelector('[data-counts=pdf]').innerText.includes('\u2713 4')", timeout=120_000
    )
    assert _counts(page, "pdf") == {"done": 4, "inflight": 0, "failed": 0, "doubt": 0}
    pdfs = [e for e in httpx.get(f"{sandboxes['billomat']}/_sandbox/requests").json()["requests"]]
    assert sum(1 for e in pdfs if str(e.get("path", "")).endswith("/pdf") and e.get("status") == 200) == 4


def test_a_hand_written_flow_with_an_error_step_opens_and_saves_unchanged(page: Any, studio: StudioServer) -> None:
    text = EXAMPLE.read_text().replace(
        "  - id: pdf\n",
        "  - id: pdf\n    onError: {then: route, route: alert}   # failures go to the error step\n",
    )
    text += (
        "\nerrorSteps:\n"
        "  # Told about every PDF that could not be fetched.\n"
        "  - id: alert\n    component: http\n    function: request\n"
    )
    target = studio.settings.flows_dir / "routed.yaml"
    target.write_text(text)
    page.goto(studio.url)
    page.wait_for_selector(".card")
    page.goto(studio.base_url + "/#/flows/routed.yaml")
    page.wait_for_selector(".node.error-step[data-step=alert]")
    assert page.locator(".node").count() == 6
    page.click("#flow-save")
    page.wait_for_selector("#status.ok:has-text('routed.yaml unchanged')")
    assert target.read_text() == text
    # No longer an error step, it must join the chain before the flow saves.
    page.click(".node[data-step=alert] .nid")
    page.click("#error-step")
    page.click("#flow-save")
    page.wait_for_selector("#status.bad:has-text('not connected: alert')")
    assert target.read_text() == text


def test_a_dragged_node_is_where_it_was_dropped_after_save_and_reload(page: Any, studio: StudioServer) -> None:
    target = studio.settings.flows_dir / "placed.yaml"
    text = EXAMPLE.read_text()
    target.write_text(text)
    page.goto(studio.url)
    page.wait_for_selector(".card")
    page.goto(studio.base_url + "/#/flows/placed.yaml")
    node = page.locator(".node[data-step=confirmation]")
    node.wait_for()
    before = node.bounding_box()
    others = {s: page.locator(f".node[data-step={s}]").bounding_box() for s in ("order", "client", "pdf")}

    page.mouse.move(before["x"] + 60, before["y"] + 12)
    page.mouse.down()
    page.mouse.move(before["x"] + 200, before["y"] + 90, steps=8)
    page.mouse.move(before["x"] + 237, before["y"] + 141, steps=4)
    page.mouse.up()
    dropped = node.bounding_box()
    assert abs(dropped["x"] - (before["x"] + 177)) <= 1 and abs(dropped["y"] - (before["y"] + 129)) <= 1

    page.click("#flow-save")
    page.wait_for_selector("#status.ok:has-text('saved placed.yaml')")
    saved = target.read_text()
    assert saved.startswith(text)  # only the moved node gets a position, in a block at the end
    positions = FlowDocument.load(target).to_dict()["studio"]["positions"]
    assert list(positions) == ["confirmation"]

    page.reload()
    node = page.locator(".node[data-step=confirmation]")
    node.wait_for()
    page.wait_for_selector(".node[data-step=pdf]")
    after = node.bounding_box()
    assert abs(after["x"] - dropped["x"]) <= 2 and abs(after["y"] - dropped["y"]) <= 2, (dropped, after)
    placed = positions["confirmation"]
    assert node.evaluate("n => [n.offsetLeft, n.offsetTop]") == [placed["x"], placed["y"]]
    # The nodes without a position are laid out as before; saved unchanged, the file keeps its bytes.
    for step, box in others.items():
        assert page.locator(f".node[data-step={step}]").bounding_box() == box, step
    page.click("#flow-save")
    page.wait_for_selector("#status.ok:has-text('placed.yaml unchanged')")
    assert target.read_text() == saved
