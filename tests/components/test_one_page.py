"""One page on request, for every vendor: a list action whose message carries the paging style's
own parameters (``page``/``pageSize``, ``page``/``per_page``, ``skip``/``take``, ``take``,
``startingAfter``/``size``) reads that one page with one request, and it is the same slice of
records that reading every page gives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from skiff.component import load_component
from skiff.errors import InputError
from skiff.message import Message
from skiff.run import Event, Executor
from skiff.sandbox import load_sandbox, serve

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Case:
    vendor: str
    action: str
    body: Callable[[list[Any]], dict[str, Any]]  # from every record, the page to ask for
    expected: Callable[[list[Any]], list[Any]]
    path: str  # the list endpoint in the sandbox request log
    sandbox: dict[str, Any]


CASES = {
    "billbee page/pageSize": Case(
        "billbee",
        "orderApiGetList",
        lambda every: {"page": 2, "pageSize": 5},
        lambda every: every[5:10],
        "/api/v1/orders",
        {"rate_limits": False, "orders": 30},
    ),
    "billomat page/per_page": Case(
        "billomat",
        "listClients",
        lambda every: {"page": "3", "per_page": 4, "order_by": "id ASC"},
        lambda every: every[8:12],
        "/api/clients",
        {},
    ),
    "billomat page only": Case(
        "billomat",
        "listClients",
        lambda every: {"page": 1, "order_by": "id ASC"},
        lambda every: every[:250],
        "/api/clients",
        {},
    ),
    "billwerk skip/take": Case(
        "billwerk",
        "getPlans",
        lambda every: {"skip": 1, "take": 2},
        lambda every: every[1:3],
        "/api/v1/plans",
        {"rate_limits": False},
    ),
    "billwerk take from an id": Case(
        "billwerk",
        "getCustomers",
        lambda every: {"fromId": every[2]["Id"], "take": 3},
        lambda every: every[2:5],
        "/api/v1/customers",
        {"rate_limits": False},
    ),
    "plenigo startingAfter/size": Case(
        "plenigo",
        "searchCustomers",
        lambda every: {"startingAfter": every[4]["customerId"], "size": 5},
        lambda every: every[5:10],
        "/api/v3.0/customers",
        {"rate_limits": False},
    ),
}


async def _records(executor: Executor, vendor: str, name: str, cfg: dict[str, Any], body: dict[str, Any]) -> list[Any]:
    out: list[Any] = []

    async def sink(event: Event) -> None:
        if event.kind == "data":
            out.append(event.payload.body)

    component = load_component(ROOT / "components" / vendor)
    result = await executor.run(component, name, cfg, Message(body=body), emit=sink)
    if result.error is not None:
        raise result.error
    return out


@pytest.mark.parametrize("case_name", sorted(CASES))
async def test_a_message_with_paging_parameters_reads_one_page(case_name: str) -> None:
    case = CASES[case_name]
    app = load_sandbox(case.vendor, seed=1, **case.sandbox)
    with serve(app) as server:
        cfg = {**app.default_credentials, "baseUrl": server.url if case.vendor == "billwerk" else server.base_url}
        async with Executor() as executor:
            every = await _records(executor, case.vendor, case.action, cfg, _filters(case))
            assert len(every) >= 10 or case.vendor == "billwerk", len(every)
            app.log.clear()
            body = case.body(every)
            page = await _records(executor, case.vendor, case.action, cfg, {**body, **_filters(case)})
    assert page == case.expected(every) and page
    listed = [e for e in app.log.entries() if e["path"].lower() == case.path.lower()]
    assert len(listed) == 1, [e["query"] for e in listed]  # one request: that page only


def _filters(case: Case) -> dict[str, Any]:
    return {"order_by": "id ASC"} if case.vendor == "billomat" else {}


async def test_a_bad_page_number_is_an_input_error() -> None:
    app = load_sandbox("billbee", seed=1, rate_limits=False)
    with serve(app) as server:
        cfg = {**app.default_credentials, "baseUrl": server.base_url}
        app.log.clear()
        async with Executor() as executor:
            with pytest.raises(InputError, match=r"body\.page: 0 is not a whole number >= 1"):
                await _records(executor, "billbee", "orderApiGetList", cfg, {"page": 0})
    assert app.log.entries() == []
