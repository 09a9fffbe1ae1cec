"""Every throttle Billbee documents: declared in component.json, listed in the README, kept by
the client (it waits or refuses before it sends, so the sandbox never answers 429), enforced by
the sandbox with the same numbers, and waited for by ``skiff poll``.

The sandbox's limiters and the client's read one ManualClock here, so windows pass only when
a test says so (or the client waits, at once) and nothing depends on real timing; the client's
long windows (a minute to an hour) are refused because they exceed the retry budget.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from skiff.clock import ManualClock
from skiff.component import Component, load_component
from skiff.errors import RateLimited
from skiff.http.ratelimit import limits_for
from skiff.message import Message
from skiff.openapi.readme import throttle_rows
from skiff.run import Event, Executor, RunResult
from skiff.sandbox import SandboxApp, SandboxServer, load_sandbox, serve
from skiff.specs import HttpSpec
from skiff.templating import render
from tests.services import ServiceUnavailable, ensure_redis
from tests.support import skiff_cmd

ROOT = Path(__file__).resolve().parents[3]
COMPONENT_DIR = ROOT / "components" / "billbee"
COMPONENT_JSON = json.loads((COMPONENT_DIR / "component.json").read_text(encoding="utf-8"))
DECLARED = {limit["name"]: limit for limit in COMPONENT_JSON["http"]["rateLimits"]}
KEY, USER, PASSWORD = "sandbox-api-key", "sandbox@example.com", "sandbox-password"
PERIODS = {1: "Second", 60: "Minute", 300: "5 Minutes", 3600: "Hour"}


@dataclass
class Case:
    """One documented extra limit: the action it binds, a body, and a body counted separately."""

    action: str
    method: str
    path: Callable[[dict[str, Any]], str]  # the sandbox path for the ids in a body
    body: Callable[[Any], dict[str, Any]]
    other: Callable[[Any], dict[str, Any]]
    query: dict[str, Any]


def _order_ids(app: SandboxApp) -> list[int]:
    orders = app.options["billbee"].data.orders.list()
    return [int(o["BillBeeOrderId"]) for o in orders if o["State"] not in (6, 8)][:2]


EXTRA = {
    "events per page": Case(
        "eventApiGetList",
        "GET",
        lambda b: "/events",
        lambda ids: {"page": 1, "pageSize": 50},
        lambda ids: {"page": 2, "pageSize": 50},
        {"page": 1},
    ),
    "order per minute": Case(
        "orderApiGet",
        "GET",
        lambda b: f"/orders/{b['id']}",
        lambda ids: {"id": ids[0]},
        lambda ids: {"id": ids[1]},
        {},
    ),
    "invoices per page and date": Case(
        "orderApiGetInvoiceList",
        "GET",
        lambda b: "/orders/invoices",
        lambda ids: {"minInvoiceDate": "2020-01-01T00:00:00", "page": 1},
        lambda ids: {"minInvoiceDate": "2021-01-01T00:00:00", "page": 1},
        {"minInvoiceDate": "2020-01-01T00:00:00", "page": 1},
    ),
    "delivery note per order": Case(
        "orderApiCreateDeliveryNote",
        "POST",
        lambda b: f"/orders/CreateDeliveryNote/{b['id']}",
        lambda ids: {"id": ids[0]},
        lambda ids: {"id": ids[1]},
        {},
    ),
    "invoice per order": Case(
        "orderApiCreateInvoice",
        "POST",
        lambda b: f"/orders/CreateInvoice/{b['id']}",
        lambda ids: {"id": ids[0]},
        lambda ids: {"id": ids[1]},
        {},
    ),
}
GENERAL = {"per API key", "per API key and user", "per endpoint"}


def test_every_declared_limit_has_a_test_and_every_documented_one_is_declared() -> None:
    assert set(DECLARED) == GENERAL | set(EXTRA)
    swagger_summaries = {
        "EventApi_GetList": "2 calls per page per hour",
        "OrderApi_Get": "6 calls per order in one minute",
        "OrderApi_GetInvoiceList": "1 per 1 minute for same page and minInvoiceDate",
        "OrderApi_CreateDeliveryNote": "1 per 5 minutes",
        "OrderApi_CreateInvoice": "1 per 5 minutes",
    }
    notes = " ".join(str(limit.get("note")) for limit in DECLARED.values())
    for operation, words in swagger_summaries.items():
        assert operation in notes and words in notes, operation


def test_readme_table_matches_the_declarations() -> None:
    readme = (COMPONENT_DIR / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Throttles", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| Limit")]
    cells = [[c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows]
    assert cells == throttle_rows(COMPONENT_JSON["http"]["rateLimits"])
    assert [c[0] for c in cells] == list(DECLARED)
    allowed = {c[0]: c[1] for c in cells}
    assert allowed["events per page"] == "2 per 1 hour" and allowed["order per minute"] == "6 per 1 minute"
    assert allowed["invoice per order"] == allowed["delivery note per order"] == "1 per 5 minutes"


def test_general_limits_are_keyed_as_documented() -> None:
    """50/s per API key spans users, 10/s is per key + user, 2/s per endpoint per key + user."""
    rendered = HttpSpec.model_validate(
        render(COMPONENT_JSON["http"], {"cfg": {"apiKey": KEY, "username": USER, "password": PASSWORD}})
    )
    general = [lim for lim in rendered.rateLimits if not isinstance(lim, str) and lim.name in GENERAL]

    def keys(user: str, endpoint: str) -> dict[str, tuple[str, ...]]:
        limits = limits_for(
            general, credential_key=user, endpoint=endpoint, credentials={"apiKey": KEY, "username": user}
        )
        return {limit.name: limit.key for limit in limits}

    ada, bob, ada_other = keys("ada", "GET /orders"), keys("bob", "GET /orders"), keys("ada", "GET /layouts")
    assert ada["per API key"] == bob["per API key"] == ada_other["per API key"]
    assert ada["per API key and user"] != bob["per API key and user"]
    assert ada["per API key and user"] == ada_other["per API key and user"]
    assert ada["per endpoint"] != ada_other["per endpoint"] and ada["per endpoint"] != bob["per endpoint"]
    limits = {lim.name: (lim.requests, lim.perSeconds) for lim in general}
    assert limits == {"per API key": (50, 1.0), "per API key and user": (10, 1.0), "per endpoint": (2, 1.0)}


# ---------------------------------------------------------------- the sandbox enforces the same numbers


@pytest.fixture
def frozen() -> Iterator[tuple[SandboxApp, SandboxServer, ManualClock]]:
    """A rate-limited sandbox whose limiters read a clock that moves only when told."""
    app = load_sandbox("billbee", rate_limits=True, orders=20)
    clock = ManualClock()
    for window in app.limiters:
        window.now = clock.monotonic
    with serve(app) as server:
        yield app, server, clock


@pytest.mark.parametrize("name", sorted(EXTRA))
def test_sandbox_enforces_the_declared_limit(name: str, frozen: tuple[SandboxApp, SandboxServer, ManualClock]) -> None:
    app, server, clock = frozen
    case, declared = EXTRA[name], DECLARED[name]
    ids = _order_ids(app)
    body = case.body(ids)
    with httpx.Client(base_url=server.base_url, auth=(USER, PASSWORD), headers={"X-Billbee-Api-Key": KEY}) as c:

        def send() -> httpx.Response:
            clock.advance(1.5)  # past the per-second limits, far inside the declared window
            return c.request(case.method, case.path(body), params=case.query)

        for _ in range(declared["requests"]):
            assert send().status_code == 200
        refused = send()
        assert refused.status_code == 429
        period = PERIODS[declared["perSeconds"]]
        assert refused.json() == f"API calls quota exceeded! maximum admitted {declared['requests']} per {period}."
        assert declared["perSeconds"] - 20 <= int(refused.headers["Retry-After"]) <= declared["perSeconds"]
        clock.advance(declared["perSeconds"])
        assert send().status_code == 200  # the window has passed


# ---------------------------------------------------------------- the client keeps them


@pytest.fixture
def component() -> Component:
    component = load_component(COMPONENT_DIR)
    assert component.http is not None
    # A small budget so the minute-long windows are refused at once, not waited through.
    component.http.retry.maxWait = 5
    return component


async def _run(executor: Executor, component: Component, cfg: dict[str, Any], name: str, body: Any) -> RunResult:
    async def sink(event: Event) -> None:
        return None

    return await executor.run(component, name, cfg, Message(body=body), emit=sink)


@pytest.mark.parametrize("name", sorted(EXTRA))
async def test_client_refuses_before_the_server_would_answer_429(
    name: str, component: Component, frozen: tuple[SandboxApp, SandboxServer, ManualClock]
) -> None:
    app, server, clock = frozen
    case, declared = EXTRA[name], DECLARED[name]
    ids = _order_ids(app)
    cfg = {**app.default_credentials, "baseUrl": server.base_url}
    app.log.clear()
    async with Executor(clock=clock) as executor:
        for _ in range(declared["requests"]):
            clock.advance(1.5)  # the per-second windows pass; the declared one does not
            result = await _run(executor, component, cfg, case.action, case.body(ids))
            assert result.error is None, result.error
        refused = await _run(executor, component, cfg, case.action, case.body(ids))
        assert isinstance(refused.error, RateLimited)
        message = str(refused.error)
        assert f"rate limit '{name}' ({declared['requests']} per" in message
        assert refused.error.retry_after is not None and refused.error.retry_after > 5
        clock.advance(1.5)
        other = await _run(executor, component, cfg, case.action, case.other(ids))
        assert other.error is None, other.error  # another order, page or date has its own window
    entries = app.log.entries()
    assert 429 not in [e["status"] for e in entries]

    def asked(body: dict[str, Any], query: dict[str, Any]) -> int:
        path = ("/api/v1" + case.path(body)).lower()
        return sum(
            1
            for e in entries
            if (e["method"], e["path"].lower()) == (case.method, path)
            and all(e["query"].get(k) == str(v) for k, v in query.items())
        )

    # The refused call never left the client: the sandbox saw exactly the allowed ones.
    assert asked(case.body(ids), case.query) == declared["requests"]


# ---------------------------------------------------------------- skiff poll waits and says so


def test_poll_waits_for_the_events_limit_instead_of_drawing_429(tmp_path: Path) -> None:
    app = load_sandbox("billbee", rate_limits=True, orders=20)
    with serve(app) as server:
        cfg = {**app.default_credentials, "baseUrl": server.base_url}
        proc = subprocess.Popen(
            skiff_cmd("poll", "billbee", "newEvents", "--every", "1s", "--state", str(tmp_path / "s.db"), cfg=cfg),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines: queue.Queue[str] = queue.Queue()
        assert proc.stderr is not None and proc.stdout is not None
        threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True).start()
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        try:
            said = lines.get(timeout=60)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
        events = [e for e in app.log.entries() if e["path"] == "/api/v1/events"]
    assert said.startswith("newEvents: rate limit 'events per page' (2 per 1 h): the next slot is")
    assert re.search(r"next poll in (59 min|1 h)", said), said
    assert [e["status"] for e in events] == [200, 200]  # two polls, then a wait: no 429
    assert all(e["query"]["page"] == "1" for e in events)


def test_separate_runs_share_the_limit_through_redis(tmp_path: Path) -> None:
    """``--rate-limits redis://``: three ``skiff run`` processes, and the third waits its turn."""
    try:
        redis_url = ensure_redis()
    except ServiceUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    key = f"test-key-{uuid.uuid4().hex}"  # windows of its own in the shared Redis
    app = load_sandbox("billbee", rate_limits=True, orders=20, api_key=key)
    with serve(app) as server:
        cfg = {**app.default_credentials, "apiKey": key, "baseUrl": server.base_url}
        runs = [
            subprocess.run(
                [
                    *skiff_cmd("run", "billbee", "eventApiGetList", cfg=cfg, body={"page": 1}),
                    "--rate-limits",
                    redis_url,
                ],
                capture_output=True,
                text=True,
                timeout=60,
            )
            for _ in range(3)
        ]
        events = [e for e in app.log.entries() if e["path"] == "/api/v1/events"]
    assert [r.returncode for r in runs] == [0, 0, 5], [r.stderr for r in runs]
    assert runs[2].stderr.startswith("error: RateLimited: rate limit 'events per page' (2 per 1 h)")
    assert key not in runs[2].stderr
    assert [e["status"] for e in events] == [200, 200]  # the third process never sent
