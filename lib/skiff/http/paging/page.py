"""``page``: page number + page size; stops at total pages, total records, an empty or a short page."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, ClassVar

from skiff.specs import PagePagination

from ..prefetch import FetchAhead
from .base import Page, PagingRun, PositionKind, Style, as_int, int_at

__all__ = ["PageStyle"]


class PageStyle(Style):
    type: ClassVar[str] = "page"
    position_kind: ClassVar[PositionKind] = "index"
    independent: ClassVar[bool] = True  # page n+1 is known before page n arrives
    spec: PagePagination

    def position(self) -> tuple[dict[str, tuple[str, str]], str | None]:
        return {self.spec.pageParam: ("page", "int")}, self.spec.sizeParam

    async def pages(self, run: PagingRun, start: dict[str, Any]) -> AsyncGenerator[Page, None]:
        spec = self.spec
        page = as_int(start.get("page")) or spec.start
        first = page
        per_page = 0  # what the server really sends per full page (it may cap spec.size)
        depth = spec.fetchAhead if run.fetch_ahead is None else run.fetch_ahead
        async with FetchAhead(run.get, depth) as ahead:
            ahead.push({spec.pageParam: page, spec.sizeParam: spec.size})  # nothing known yet: one
            sent = page
            while True:
                _, (response, records) = await ahead.pop()
                run.number += 1
                run.guard.page(records, run.number)
                fetched = page - spec.start + 1  # pages fetched so far, counting from the first
                per_page = max(per_page, len(records))
                total_pages = int_at(response.raw, spec.totalPagesPath)
                total = int_at(response.raw, spec.totalPath)
                end = first + spec.maxPages - 1  # the last page to ask for, as far as we know
                if total_pages is not None:
                    last = fetched >= total_pages
                    end = min(end, spec.start + total_pages - 1)
                elif total is not None:
                    # Count what arrived: a server may cap the page size (1000 where 2000 was
                    # asked), so fetched * size would stop early and silently drop the rest.
                    last = (fetched - 1) * per_page + len(records) >= total
                    if per_page:
                        end = min(end, spec.start + -(-total // per_page) - 1)
                else:
                    last = len(records) < spec.size
                last = last or not records
                if not last:
                    # The next requests depend on no body: on their way before this page is emitted.
                    while ahead.room and sent < end:
                        sent += 1
                        ahead.push({spec.pageParam: sent, spec.sizeParam: spec.size})
                if records:
                    yield Page(records, response.raw, run.number, None if last else {"page": page + 1})
                if last or run.stop_early(last):
                    return
                page += 1
