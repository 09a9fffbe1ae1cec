"""Paging that follows the URL the server names for the next page (a Link header, a body field)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from .base import Page, PagingRun, key_of

if TYPE_CHECKING:
    from ..client import Response

__all__ = ["follow"]


async def follow(
    run: PagingRun,
    start: dict[str, Any],
    first: dict[str, Any],
    next_of: Any,
) -> AsyncGenerator[Page, None]:
    """Request ``first`` (paging parameters), then each next URL ``next_of(response)`` names.

    A relative next URL is resolved against the URL of the page that named it; the HTTP layer
    refuses one on another host (credentials never leave the API's host).
    """
    url: str | None = start.get("url")
    if url is not None:
        run.guard.check(key_of(url), "")
    while True:
        response, records = await (run.get_url(url) if url is not None else run.get(first))
        run.number += 1
        named: str | None = next_of(response)
        following = _resolve(response, named) if named else None
        last = following is None or not records
        if not last:
            run.guard.check(key_of(following), f"the next URL {following!r} came back twice")
        if records:
            yield Page(records, response.raw, run.number, None if last else {"url": following})
        if last or run.stop_early(last):
            return
        url = following


def _resolve(response: Response, named: str) -> str:
    return urljoin(response.request_url, named) if response.request_url else named
