"""``offset``: skip + take; stops at a short page or the API's largest offset."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, ClassVar

from skiff.specs import OffsetPagination

from ..prefetch import FetchAhead
from .base import Page, PagingRun, PositionKind, Style, as_int

__all__ = ["OffsetStyle"]


class OffsetStyle(Style):
    type: ClassVar[str] = "offset"
    position_kind: ClassVar[PositionKind] = "index"
    independent: ClassVar[bool] = True  # the next offset is known before the page arrives
    spec: OffsetPagination

    def position(self) -> tuple[dict[str, tuple[str, str]], str | None]:
        return {self.spec.offsetParam: ("offset", "int0")}, self.spec.limitParam

    async def pages(self, run: PagingRun, start: dict[str, Any]) -> AsyncGenerator[Page, None]:
        spec = self.spec
        offset = as_int(start.get("offset")) or 0
        end = offset + (spec.maxPages - 1) * spec.size  # the last offset to ask for
        if spec.maxOffset is not None:
            end = min(end, spec.maxOffset)
        depth = spec.fetchAhead if run.fetch_ahead is None else run.fetch_ahead
        async with FetchAhead(run.get, depth) as ahead:
            ahead.push({spec.offsetParam: offset, spec.limitParam: spec.size})
            sent = offset
            while True:
                _, (response, records) = await ahead.pop()
                run.number += 1
                run.guard.page(records, run.number)
                last = len(records) < spec.size
                next_offset = offset + len(records)
                if not last and spec.maxOffset is not None and next_offset > spec.maxOffset:
                    run.log.warning(
                        "%s: stopped at offset %d: the API allows at most %d", run.where, next_offset, spec.maxOffset
                    )
                    last = True
                if not last:
                    # Full pages so far, so the next offsets are known: on their way already.
                    while ahead.room and sent + spec.size <= end:
                        sent += spec.size
                        ahead.push({spec.offsetParam: sent, spec.limitParam: spec.size})
                if records:
                    yield Page(records, response.raw, run.number, None if last else {"offset": next_offset})
                if last or run.stop_early(last):
                    return
                offset = next_offset
