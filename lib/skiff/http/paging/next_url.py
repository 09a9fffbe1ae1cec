"""``nextUrl``: the next page's URL in the body (``{"next": "https://...?page=2", "results": [...]}``)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any, ClassVar

from skiff.dotpath import get_path
from skiff.specs import NextUrlPagination

from .base import Page, PagingRun, Style
from .follow import follow

if TYPE_CHECKING:
    from ..client import Response

__all__ = ["NextUrlStyle"]


class NextUrlStyle(Style):
    type: ClassVar[str] = "nextUrl"
    spec: NextUrlPagination

    def position(self) -> tuple[dict[str, tuple[str, str]], str | None]:
        return {}, self.spec.sizeParam

    def pages(self, run: PagingRun, start: dict[str, Any]) -> AsyncGenerator[Page, None]:
        first = {self.spec.sizeParam: self.spec.size} if self.spec.sizeParam else {}
        path = self.spec.nextPath

        def next_of(response: Response) -> str | None:
            value = get_path(response.raw, path)
            return value if isinstance(value, str) and value else None

        return follow(run, start, first, next_of)
