"""``link``: RFC 8288 ``Link: <https://api.example.com/items?page=2>; rel="next"`` headers (GitHub style)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any, ClassVar

from skiff.specs import LinkPagination

from .base import Page, PagingRun, Style
from .follow import follow

if TYPE_CHECKING:
    from ..client import Response

__all__ = ["LinkStyle", "parse_link_header"]


def parse_link_header(value: str) -> dict[str, str]:
    """``{rel: url}`` from a Link header; a link with several rels (``rel="next last"``) counts for each."""
    links: dict[str, str] = {}
    for part in _split(value):
        part = part.strip()
        if not part.startswith("<") or ">" not in part:
            continue
        target, _, params = part[1:].partition(">")
        for param in params.split(";"):
            name, _, raw = param.strip().partition("=")
            if name.strip().lower() == "rel":
                for rel in raw.strip().strip('"').split():
                    links.setdefault(rel.lower(), target.strip())
    return links


def _split(value: str) -> list[str]:
    """Split at commas outside ``<...>`` and quotes (URLs may hold commas)."""
    parts: list[str] = []
    depth, quoted = 0, False
    current: list[str] = []
    for ch in value:
        if ch == '"' and depth == 0:
            quoted = not quoted
        elif ch == "<" and not quoted:
            depth += 1
        elif ch == ">" and not quoted:
            depth = max(0, depth - 1)
        if ch == "," and depth == 0 and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


class LinkStyle(Style):
    type: ClassVar[str] = "link"
    spec: LinkPagination

    def position(self) -> tuple[dict[str, tuple[str, str]], str | None]:
        return {}, self.spec.sizeParam

    def pages(self, run: PagingRun, start: dict[str, Any]) -> AsyncGenerator[Page, None]:
        first = {self.spec.sizeParam: self.spec.size} if self.spec.sizeParam else {}
        rel = self.spec.rel.lower()

        def next_of(response: Response) -> str | None:
            header = response.headers.get("link")
            return parse_link_header(header).get(rel) if header else None

        return follow(run, start, first, next_of)
