"""The paging registry, and the two styles that follow a URL: RFC 8288 ``Link`` and next-URL-in-body."""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from skiff.errors import ApiError, ConfigError
from skiff.http import HttpClient
from skiff.http.paging import STYLES, parse_link_header
from skiff.specs import HttpSpec, LinkPagination, NextUrlPagination, PaginationSpec, RequestSpec

if TYPE_CHECKING:
    from conftest import LiveServer

ITEMS = [{"id": i} for i in range(1, 8)]


def _page(request: Request) -> tuple[int, int]:
    return int(request.query_params.get("page", "1")), int(request.query_params.get("per_page", "3"))


async def linked(request: Request) -> JSONResponse:
    """GitHub style: the records are the body, the next page is in the Link header (relative here)."""
    page, size = _page(request)
    chunk = ITEMS[(page - 1) * size : page * size]
    headers = {}
    if page * size < len(ITEMS):
        headers["Link"] = f'</linked?page={page + 1}&per_page={size}>; rel="next", </linked?page=3>; rel="last"'
    return JSONResponse({"auth": request.headers.get("x-key"), "items": chunk}, headers=headers)


async def bodied(request: Request) -> JSONResponse:
    """The next page's absolute URL in the body (``links.next``), null on the last page."""
    page, size = _page(request)
    chunk = ITEMS[(page - 1) * size : page * size]
    following = f"{request.base_url}bodied?page={page + 1}&per_page={size}" if page * size < len(ITEMS) else None
    return JSONResponse({"results": chunk, "links": {"next": following}})


async def circular(request: Request) -> JSONResponse:
    return JSONResponse({"results": ITEMS[:2], "next": "/circular?page=1"})


async def elsewhere(request: Request) -> JSONResponse:
    return JSONResponse({"results": ITEMS[:2], "next": "https://elsewhere.example/latest"})


@pytest.fixture
def server(live: Callable[..., LiveServer]) -> LiveServer:
    return live(
        [
            Route("/linked", linked),
            Route("/bodied", bodied),
            Route("/circular", circular),
            Route("/elsewhere", elsewhere),
        ]
    )


async def collect(server: LiveServer, request: RequestSpec, spec: Any, **kw: Any) -> list[Any]:
    async with HttpClient(HttpSpec(baseUrl=server.url)) as client:
        return [page async for page in client.pages(request, spec, **kw)]


async def test_link_header_paging_follows_rel_next_with_the_request_headers(server: LiveServer) -> None:
    spec = LinkPagination(sizeParam="per_page", size=3, recordsPath="items")
    pages = await collect(server, RequestSpec(path="/linked", headers={"X-Key": "k1"}), spec)
    assert [r["id"] for p in pages for r in p.records] == [1, 2, 3, 4, 5, 6, 7]
    assert [p.raw["auth"] for p in pages] == ["k1", "k1", "k1"]  # every followed page keeps the headers
    assert [h.query for h in server.of("/linked")] == ["per_page=3", "page=2&per_page=3", "page=3&per_page=3"]
    assert pages[-1].cursor is None and pages[0].cursor == {"url": f"{server.url}/linked?page=2&per_page=3"}
    # Resuming from a cursor starts at that URL.
    resumed = await collect(server, RequestSpec(path="/linked"), spec, start=pages[0].cursor)
    assert [r["id"] for p in resumed for r in p.records] == [4, 5, 6, 7]


async def test_next_url_in_the_body(server: LiveServer) -> None:
    spec = NextUrlPagination(nextPath="links.next", sizeParam="per_page", size=3, recordsPath="results")
    pages = await collect(server, RequestSpec(path="/bodied"), spec)
    assert [r["id"] for p in pages for r in p.records] == [1, 2, 3, 4, 5, 6, 7]
    assert server.count("/bodied") == 3


async def test_a_next_url_seen_before_is_a_loop(server: LiveServer) -> None:
    with pytest.raises(ApiError, match="pagination loop"):
        await collect(server, RequestSpec(path="/circular"), NextUrlPagination(recordsPath="results"))


async def test_a_next_url_on_another_host_is_refused(server: LiveServer) -> None:
    with pytest.raises(ConfigError, match="not on the base URL's host"):
        await collect(server, RequestSpec(path="/elsewhere"), NextUrlPagination(recordsPath="results"))


def test_link_header_parsing() -> None:
    header = '<https://a.example/x?page=2&q=a,b>; rel="next", <https://a.example/x?page=9>; rel="last first"'
    assert parse_link_header(header) == {
        "next": "https://a.example/x?page=2&q=a,b",
        "last": "https://a.example/x?page=9",
        "first": "https://a.example/x?page=9",
    }
    assert parse_link_header("garbage") == {}


def test_every_pagination_type_has_its_style() -> None:
    union = typing.get_args(typing.get_args(PaginationSpec)[0])
    assert {model.model_fields["type"].default for model in union} == set(STYLES)
    assert {name for name, style in STYLES.items() if style.independent} == {"page", "offset"}
