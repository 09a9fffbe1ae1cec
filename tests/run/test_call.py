"""The declarative call: a paged request sends exactly what the unpaged one sends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from skiff.component import resolve_component
from skiff.errors import ConfigError
from skiff.message import Message
from skiff.run import Call, Data, Event, Executor
from skiff.run.call import clean_request
from tests.support import serve_asgi

KEY = "k3y-in-a-header"
ITEMS = [{"id": i, "updatedAt": f"2024-01-0{i}T00:00:00Z"} for i in range(1, 8)]


@pytest.fixture
def api() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Lists ITEMS by page, but only to a caller that sends the key header (and logs every request)."""
    seen: list[dict[str, Any]] = []

    async def items(request: Request) -> JSONResponse:
        body = (await request.body()).decode()
        seen.append({"headers": dict(request.headers), "query": dict(request.query_params), "body": body})
        if request.headers.get("x-billbee-api-key") != KEY:
            return JSONResponse({"message": "no key"}, 401)
        page = int(request.query_params.get("page", "1"))
        size = int(request.query_params.get("pageSize", "50"))
        return JSONResponse({"items": ITEMS[(page - 1) * size : page * size], "totalPages": -(-len(ITEMS) // size)})

    app = Starlette(routes=[Route("/items", items, methods=["GET", "POST"])])
    with serve_asgi(app) as url:
        yield url, seen


async def run_request(url: str, body: dict[str, Any]) -> tuple[list[Any], Any]:
    out: list[Any] = []

    async def sink(event: Event) -> None:
        if isinstance(event, Data):
            out.append(event.message.body)

    async with Executor() as ex:
        result = await ex.run(resolve_component("http"), "request", {"baseUrl": url}, Message(body=body), emit=sink)
    return out, result.error


async def test_paged_request_sends_its_headers(api: tuple[str, list[dict[str, Any]]]) -> None:
    url, seen = api
    body = {
        "path": "/items",
        "headers": {"X-Billbee-Api-Key": KEY},
        "recordsPath": "items",
        "pagination": {"type": "page", "size": 3, "totalPagesPath": "totalPages"},
    }
    records, error = await run_request(url, body)
    assert error is None, error
    assert [r["id"] for r in records] == [1, 2, 3, 4, 5, 6, 7]
    assert len(seen) == 3 and all(s["headers"]["x-billbee-api-key"] == KEY for s in seen)


async def test_paged_post_sends_its_body_on_every_page(api: tuple[str, list[dict[str, Any]]]) -> None:
    url, seen = api
    body = {
        "method": "POST",
        "path": "/items",
        "headers": {"X-Billbee-Api-Key": KEY},
        "body": {"filter": "all"},
        "recordsPath": "items",
        "pagination": {"type": "page", "size": 4, "totalPagesPath": "totalPages"},
    }
    records, error = await run_request(url, body)
    assert error is None, error
    assert len(records) == 7
    assert [s["body"] for s in seen] == ['{"filter":"all"}'] * 2
    assert [s["query"]["page"] for s in seen] == ["1", "2"]


async def test_paged_and_unpaged_requests_send_the_same(api: tuple[str, list[dict[str, Any]]]) -> None:
    url, seen = api
    request = {"method": "GET", "path": "/items", "headers": {"X-Billbee-Api-Key": KEY}, "query": {"q": "x"}}
    await run_request(url, {**request, "recordsPath": "items"})
    await run_request(url, {**request, "pagination": {"type": "page", "size": 10}, "recordsPath": "items"})
    unpaged, paged = seen
    assert paged["headers"]["x-billbee-api-key"] == unpaged["headers"]["x-billbee-api-key"] == KEY
    assert {k: v for k, v in paged["query"].items() if k not in ("page", "pageSize")} == unpaged["query"]


async def test_polling_request_sends_its_headers(api: tuple[str, list[dict[str, Any]]]) -> None:
    """A declarative polling trigger whose request carries a header, paged: every page has it."""
    url, seen = api
    spec = {
        "request": {"path": "/items", "headers": {"X-Billbee-Api-Key": "{{ cfg.key }}"}},
        "recordsPath": "items",
        "cursorField": "updatedAt",
        "pagination": {"type": "page", "size": 3, "totalPagesPath": "totalPages"},
        "order": "any",
    }
    out: list[Any] = []

    async def sink(event: Event) -> None:
        if isinstance(event, Data):
            out.append(event.message.body["id"])

    component = resolve_component("http")
    async with Executor() as ex:
        ctx = ex.context(component, None, {"baseUrl": url, "key": KEY}, emit=sink)
        await ctx.poll(spec)
    assert out == [1, 2, 3, 4, 5, 6, 7]
    assert seen and all(s["headers"].get("x-billbee-api-key") == KEY for s in seen)


def test_call_build_cleans_once() -> None:
    call = Call.build(
        {"path": "/x", "query": {"a": None, "b": "", "c": True, "d": 1}, "headers": {"H": "", "K": "v"}},
        pagination={"type": "cursor"},
        records_path="items",
        max_pages=3,
    )
    assert call.request.query == {"c": "true", "d": 1}
    assert call.request.headers == {"K": "v"}
    assert call.pagination is not None and call.pagination.recordsPath == "items" and call.pagination.maxPages == 3
    assert call.records_path == "items"


def test_one_page_asked_for_fetches_nothing_ahead() -> None:
    paged = {"type": "page", "size": 10}
    assert Call.build({"path": "/x"}, pagination=paged).pagination.fetchAhead == 2  # type: ignore[union-attr]
    one = Call.build({"path": "/x"}, pagination=paged, one_page=True)
    assert one.pagination.fetchAhead == 0  # type: ignore[union-attr]
    cursor = Call.build({"path": "/x"}, pagination={"type": "cursor", "cursorPath": "next"}, one_page=True)
    assert not hasattr(cursor.pagination, "fetchAhead")  # body-dependent styles never fetch ahead


def test_a_query_name_ending_in_a_star_spreads_an_object() -> None:
    request = {"method": "GET", "path": "/clients", "query": {"property*": {"18280": "x", "7": None}, "name": ""}}
    assert clean_request(request).query == {"property18280": "x"}
    assert clean_request({"path": "/c", "query": {"property*": None}}).query == {}
    with pytest.raises(ConfigError, match="'property\\*' must render to an object"):
        clean_request({"path": "/c", "query": {"property*": "x"}})
