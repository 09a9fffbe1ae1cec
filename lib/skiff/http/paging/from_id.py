"""``fromId``: a stable id cursor, inclusive of that id: the repeated record is dropped."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, ClassVar

from skiff.dotpath import get_path
from skiff.specs import FromIdPagination

from .base import Page, PagingRun, PositionKind, Style, key_of

__all__ = ["FromIdStyle"]


class FromIdStyle(Style):
    type: ClassVar[str] = "fromId"
    position_kind: ClassVar[PositionKind] = "keyset"
    spec: FromIdPagination

    def position(self) -> tuple[dict[str, tuple[str, str]], str | None]:
        return {self.spec.param: ("fromId", "any")}, self.spec.sizeParam

    async def pages(self, run: PagingRun, start: dict[str, Any]) -> AsyncGenerator[Page, None]:
        spec = self.spec
        cursor: Any = start.get("fromId")
        if cursor is not None:
            run.guard.check(key_of(cursor), "")
        while True:
            extra: dict[str, Any] = {spec.sizeParam: spec.size}
            if cursor is not None:
                extra[spec.param] = cursor
            response, records = await run.get(extra)
            run.number += 1
            received = len(records)
            # ``from`` is inclusive: the record we resumed from comes again first.
            if cursor is not None and records and str(get_path(records[0], spec.idField)) == str(cursor):
                records = records[1:]
            following = get_path(records[-1], spec.idField) if records else None
            last = received < spec.size or following is None
            if not last:
                run.guard.check(key_of(following), f"the id {following!r} came back twice")
            if records:
                yield Page(records, response.raw, run.number, None if last else {"fromId": following})
            if last or run.stop_early(last):
                return
            cursor = following
