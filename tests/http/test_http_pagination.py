"""skiff.http.pagination: the four paging styles against a real server, with their quirks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
import xmltodict
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from skiff.errors import ApiError, InputError
from skiff.http import HttpClient, Page
from skiff.http.paging import requested_page
from skiff.specs import (
    CursorPagination,
    EnvelopeSpec,
    FromIdPagination,
    HttpSpec,
    OffsetPagination,
    PagePagination,
    RequestSpec,
)

if TYPE_CHECKING:
    from conftest import LiveServer

ORDERS = [{"BillBeeOrderId": i} for i in range(1, 24)]  # 23 orders
CLIENTS = [{"id": str(i), "name": f"client {i}"} for i in range(1, 8)]  # 7 clients
BILLWERK = [{"Id": f"{i:024x}"} for i in range(1, 8)]
PLENIGO = [{"customerId": f"C{i:03d}"} for i in range(1, 8)]


def arg(request: Request, name: str, default: int) -> int:
    return int(request.query_params.get(name, default))


async def billbee_orders(request: Request) -> JSONResponse:
    page, size = arg(request, "page", 1), arg(request, "pageSize", 50)
    data = ORDERS[(page - 1) * size : page * size]
    total_pages = -(-len(ORDERS) // size)
    paging = {"Page": page, "TotalPages": total_pages, "TotalRows": len(ORDERS), "PageSize": size}
    return JSONResponse({"Paging": paging, "ErrorMessage": None, "ErrorCode": 0, "Data": data})


def billomat_body(request: Request) -> dict[str, Any]:
    page, size = arg(request, "page", 1), arg(request, "per_page", 100)
    rows = [] if request.query_params.get("name") == "nobody" else CLIENTS
    chunk = rows[(page - 1) * size : page * size]
    inner: dict[str, Any] = {"@page": str(page), "@per_page": str(size), "@total": str(len(rows))}
    if len(chunk) == 1:
        inner["client"] = chunk[0]  # Billomat: a single item is an object, not a list
    elif chunk:
        inner["client"] = chunk
    return {"clients": inner}  # and an empty result has no "client" key at all


async def billomat_clients(request: Request) -> Response:
    body = billomat_body(request)
    if "xml" in request.headers.get("accept", ""):
        return Response(xmltodict.unparse(body), media_type="application/xml")
    return JSONResponse(body)


async def billwerk_customers(request: Request) -> JSONResponse:
    skip, take = arg(request, "skip", 0), arg(request, "take", 100)
    return JSONResponse(BILLWERK[skip : skip + take])


async def billwerk_contracts(request: Request) -> JSONResponse:
    take = arg(request, "take", 100)
    start = request.query_params.get("from")
    index = next(i for i, r in enumerate(BILLWERK) if r["Id"] == start) if start else 0
    return JSONResponse(BILLWERK[index : index + take])  # inclusive of "from"


async def plenigo_customers(request: Request) -> JSONResponse:
    size = arg(request, "size", 5)
    after = request.query_params.get("startingAfter")
    index = next(i for i, r in enumerate(PLENIGO) if r["customerId"] == after) + 1 if after else 0
    items = PLENIGO[index : index + size]
    body: dict[str, Any] = {"items": items}
    if index + size < len(PLENIGO):
        body["startingAfterId"] = items[-1]["customerId"]
    return JSONResponse(body)


async def stuck_page(request: Request) -> JSONResponse:
    return JSONResponse([{"id": 1}, {"id": 2}])  # ignores the page parameter


async def stuck_cursor(request: Request) -> JSONResponse:
    return JSONResponse({"items": [{"id": 1}, {"id": 2}], "startingAfterId": "same"})


ROUTES = [
    Route("/orders", billbee_orders),
    Route("/clients", billomat_clients),
    Route("/customers", billwerk_customers),
    Route("/contracts", billwerk_contracts),
    Route("/plenigo/customers", plenigo_customers),
    Route("/stuck", stuck_page),
    Route("/stuck-cursor", stuck_cursor),
]


@pytest.fixture
def server(live: Callable[..., LiveServer]) -> LiveServer:
    return live(ROUTES)


async def collect(
    client: HttpClient, path: str, pagination: Any, *, params: dict[str, Any] | None = None, **kw: Any
) -> list[Page]:
    request = RequestSpec(path=path, query=params or {})
    return [page async for page in client.pages(request, pagination, **kw)]


def flat(pages: list[Page]) -> list[Any]:
    return [r for p in pages for r in p.records]


async def test_page_with_total_pages_and_envelope(server: LiveServer) -> None:
    envelope = EnvelopeSpec(dataPath="Data", errorCodePath="ErrorCode", errorMessagePath="ErrorMessage")
    spec = PagePagination(size=5, totalPagesPath="Paging.TotalPages")
    async with HttpClient(HttpSpec(baseUrl=server.url, envelope=envelope)) as client:
        pages = await collect(client, "/orders", spec, params={"minOrderDate": "2024-01-01"})
    assert flat(pages) == ORDERS
    assert [p.number for p in pages] == [1, 2, 3, 4, 5]
    assert [p.cursor for p in pages] == [{"page": 2}, {"page": 3}, {"page": 4}, {"page": 5}, None]
    assert pages[0].raw["Paging"]["TotalPages"] == 5
    assert server.count("/orders") == 5  # the last page is known from TotalPages: no extra request
    assert "minOrderDate=2024-01-01" in server.hits[0].query


async def test_page_resume_and_max_pages(server: LiveServer, caplog: pytest.LogCaptureFixture) -> None:
    spec = PagePagination(size=5, totalPagesPath="Paging.TotalPages", recordsPath="Data", maxPages=2)
    async with HttpClient(HttpSpec(baseUrl=server.url)) as client:
        with caplog.at_level(logging.WARNING, logger="skiff.http"):
            pages = await collect(client, "/orders", spec, start={"page": 3})
    assert flat(pages) == ORDERS[10:20]
    assert pages[-1].cursor == {"page": 5}
    assert "stopped after 2 pages (maxPages)" in caplog.text


@pytest.mark.parametrize("accept", ["json", "xml"])
async def test_billomat_total_single_object_and_empty(server: LiveServer, accept: str) -> None:
    spec = PagePagination(
        pageParam="page",
        sizeParam="per_page",
        size=3,
        recordsPath="clients.client",
        totalPath="clients.@total",
    )
    async with HttpClient(HttpSpec(baseUrl=server.url, accept=accept)) as client:  # type: ignore[arg-type]
        pages = await collect(client, "/clients", spec)
        assert [len(p.records) for p in pages] == [3, 3, 1]
        assert flat(pages) == CLIENTS  # the last page's single object became a one-item list
        assert await collect(client, "/clients", spec, params={"name": "nobody"}) == []
    assert server.count("/clients") == 4


async def test_offset_skip_take_and_max_offset(server: LiveServer, caplog: pytest.LogCaptureFixture) -> None:
    async with HttpClient(HttpSpec(baseUrl=server.url)) as client:
        pages = await collect(client, "/customers", OffsetPagination(size=3))
        assert flat(pages) == BILLWERK
        assert [p.cursor for p in pages] == [{"offset": 3}, {"offset": 6}, None]
        with caplog.at_level(logging.WARNING, logger="skiff.http"):
            capped = await collect(client, "/customers", OffsetPagination(size=3, maxOffset=3))
        assert flat(capped) == BILLWERK[:6]
        assert "the API allows at most 3" in caplog.text


async def test_from_id_drops_the_repeated_record(server: LiveServer) -> None:
    async with HttpClient(HttpSpec(baseUrl=server.url)) as client:
        pages = await collect(client, "/contracts", FromIdPagination(size=3))
        assert flat(pages) == BILLWERK
        assert [p.cursor for p in pages][:2] == [{"fromId": BILLWERK[2]["Id"]}, {"fromId": BILLWERK[4]["Id"]}]
        resumed = await collect(client, "/contracts", FromIdPagination(size=3), start=pages[0].cursor)
        assert flat(resumed) == BILLWERK[3:]
    first_queries = [h.query for h in server.hits[:2]]
    assert first_queries[0] == "take=3"
    assert f"from={BILLWERK[2]['Id']}" in first_queries[1]


async def test_cursor_plenigo(server: LiveServer) -> None:
    spec = CursorPagination(size=3, recordsPath="items")
    async with HttpClient(HttpSpec(baseUrl=server.url)) as client:
        pages = await collect(client, "/plenigo/customers", spec)
    assert flat(pages) == PLENIGO
    assert [p.cursor for p in pages] == [{"cursor": "C003"}, {"cursor": "C006"}, None]
    assert "startingAfter=C003" in server.hits[1].query


@pytest.mark.parametrize("ahead", [0, 2])
async def test_loop_guard_page(server: LiveServer, ahead: int) -> None:
    async with HttpClient(HttpSpec(baseUrl=server.url)) as client:
        seen: list[Page] = []
        with pytest.raises(ApiError, match=r"^GET /stuck: pagination loop: page 2 repeats an earlier page$"):
            async for page in client.pages(RequestSpec(path="/stuck"), PagePagination(size=2, fetchAhead=ahead)):
                seen.append(page)
    assert len(seen) == 1
    # One request at a time: page 2 is the last asked for. Fetching two ahead, page 3 may have
    # gone out too (it was cancelled when page 2 failed the guard), never a fourth.
    assert server.count("/stuck") == 2 if ahead == 0 else 2 <= server.count("/stuck") <= 3


async def test_loop_guard_cursor(server: LiveServer) -> None:
    async with HttpClient(HttpSpec(baseUrl=server.url)) as client:
        with pytest.raises(ApiError, match="pagination loop: the cursor 'same' came back twice"):
            await collect(client, "/stuck-cursor", CursorPagination(size=2, recordsPath="items"))
    assert server.count("/stuck-cursor") == 2


async def test_max_pages_stops_a_runaway_api(server: LiveServer, caplog: pytest.LogCaptureFixture) -> None:
    async with HttpClient(HttpSpec(baseUrl=server.url)) as client:
        with caplog.at_level(logging.WARNING, logger="skiff.http"):
            pages = await collect(client, "/customers", OffsetPagination(size=1, maxPages=3))
    assert flat(pages) == BILLWERK[:3]
    assert "maxPages" in caplog.text


# ---------------------------------------------------------------- one page on request


@pytest.mark.parametrize(
    ("spec", "given", "start", "size"),
    [
        (PagePagination(sizeParam="pageSize", size=250), {"page": 3, "pageSize": 20}, {"page": 3}, 20),
        (PagePagination(sizeParam="per_page", size=250), {"page": "2"}, {"page": 2}, 250),
        (PagePagination(sizeParam="per_page", size=250), {"per_page": 10}, {}, 10),
        (OffsetPagination(size=100), {"skip": 0, "take": 5}, {"offset": 0}, 5),
        (FromIdPagination(size=500), {"take": 3}, {}, 3),
        (FromIdPagination(size=500), {"from": "a" * 24}, {"fromId": "a" * 24}, 500),
        (CursorPagination(size=100), {"startingAfter": "C004", "size": 5}, {"cursor": "C004"}, 5),
    ],
)
def test_requested_page(spec: Any, given: dict[str, Any], start: dict[str, Any], size: int) -> None:
    asked = requested_page(spec, given)
    assert asked is not None
    assert asked[1] == start and asked[0].size == size and type(asked[0]) is type(spec)


def test_no_paging_parameters_means_every_page() -> None:
    assert requested_page(PagePagination(), {"page": None, "pageSize": "", "other": 1}) is None
    assert requested_page(OffsetPagination(), {}) is None


@pytest.mark.parametrize("given", [{"page": 0}, {"page": "x"}, {"pageSize": 2.5}, {"page": True}])
def test_a_bad_page_is_an_input_error(given: dict[str, Any]) -> None:
    with pytest.raises(InputError, match=r"^body\.(page|pageSize): .* is not a whole number >= 1"):
        requested_page(PagePagination(), given)
    with pytest.raises(InputError, match="skip"):
        requested_page(OffsetPagination(), {"skip": -1})


def test_loop_guard_memory_does_not_grow_with_record_size() -> None:
    """4,000 pages of 1 KB records: the guard keeps a 16-byte digest per page, not the records."""
    from skiff.http.paging.base import Guard as _Guard

    guard = _Guard("GET /orders")
    big = "x" * 1000
    for number in range(1, 4001):
        guard.page([{"id": number, "pad": big}, {"id": -number, "pad": big}], number)
    assert len(guard.seen) == 4000
    assert {len(digest) for digest in guard.seen} == {16}
    with pytest.raises(ApiError, match="page 4001 repeats an earlier page"):
        guard.page([{"id": 7, "pad": big}, {"id": -7, "pad": big}], 4001)
