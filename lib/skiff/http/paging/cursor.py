"""``cursor``: an opaque cursor the body returns, sent back as a query parameter."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, ClassVar

from skiff.dotpath import get_path
from skiff.specs import CursorPagination

from .base import Page, PagingRun, PositionKind, Style, key_of

__all__ = ["CursorStyle"]


class CursorStyle(Style):
    type: ClassVar[str] = "cursor"
    position_kind: ClassVar[PositionKind] = "keyset"
    spec: CursorPagination

    def position(self) -> tuple[dict[str, tuple[str, str]], str | None]:
        return {self.spec.param: ("cursor", "any")}, self.spec.sizeParam

    async def pages(self, run: PagingRun, start: dict[str, Any]) -> AsyncGenerator[Page, None]:
        spec = self.spec
        cursor = start.get("cursor")
        if cursor is not None:
            run.guard.check(key_of(cursor), "")
        while True:
            extra: dict[str, Any] = {}
            if spec.sizeParam:
                extra[spec.sizeParam] = spec.size
            if cursor is not None:
                extra[spec.param] = cursor
            response, records = await run.get(extra)
            run.number += 1
            following = get_path(response.raw, spec.cursorPath)
            last = (
                following is None
                or following == ""
                or not records
                or (spec.sizeParam is not None and len(records) < spec.size)
            )
            if not last:
                run.guard.check(key_of(following), f"the cursor {following!r} came back twice")
            if records:
                yield Page(records, response.raw, run.number, None if last else {"cursor": following})
            if last or run.stop_early(last):
                return
            cursor = following
