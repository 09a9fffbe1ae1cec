"""Paging styles behind one registry: a style is one module here plus one line in ``STYLES``.

``page`` (page + size), ``offset`` (skip + take), ``fromId`` (an inclusive id), ``cursor`` (an
opaque cursor from the body), ``link`` (RFC 8288 ``Link: <...>; rel="next"``) and ``nextUrl``
(the next page's URL in the body). Every style stops on an empty page, guards against a server
that keeps answering the same page, cursor or URL (ApiError "pagination loop"), and stops after
``maxPages`` with a warning. Pages are never collected. Styles whose next request does not
depend on the body (``Style.independent``: page, offset) send up to ``fetchAhead`` requests
ahead while a page is emitted.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Mapping
from typing import Any

from skiff.errors import InputError
from skiff.specs import PaginationSpec

from .base import Fetch, Page, PagingRun, Style, as_int
from .cursor import CursorStyle
from .follow import follow
from .from_id import FromIdStyle
from .link import LinkStyle, parse_link_header
from .next_url import NextUrlStyle
from .offset import OffsetStyle
from .page import PageStyle

__all__ = ["STYLES", "Fetch", "Page", "Style", "paginate", "parse_link_header", "requested_page", "style_for"]

STYLES: dict[str, type[Style]] = {
    cls.type: cls for cls in (PageStyle, OffsetStyle, FromIdStyle, CursorStyle, LinkStyle, NextUrlStyle)
}
"""Every paging style by its spec's ``type`` (the spec model is in :mod:`skiff.specs`)."""

_log = logging.getLogger("skiff.http")
_ = follow  # re-exported for styles written outside this package


def style_for(spec: PaginationSpec) -> Style:
    cls = STYLES.get(spec.type)
    if cls is None:  # pragma: no cover  (specs and STYLES are kept in step by a test)
        raise TypeError(f"no paging style {spec.type!r}")
    return cls(spec)


def requested_page(spec: PaginationSpec, given: Mapping[str, Any]) -> tuple[PaginationSpec, dict[str, Any]] | None:
    """The one page a message asks for with the style's own paging parameters, else None.

    People who page by hand send ``page``/``pageSize``, ``page``/``per_page``, ``skip``/``take``,
    ``from``/``take`` or ``startingAfter``/``size``: then only that page is fetched. Returns the
    spec with the asked page size and the ``start`` for :func:`paginate`; the caller reads the
    first page only.
    """
    position, size_name = style_for(spec).position()
    asked = {k: given[k] for k in [*position, size_name] if k is not None and given.get(k) not in (None, "")}
    if not asked:
        return None
    start: dict[str, Any] = {}
    update: dict[str, Any] = {}
    for name, value in asked.items():
        kind = position[name][1] if name in position else "int"
        number = as_int(value) if kind != "any" else value
        if kind != "any" and (
            number is None or str(number) != str(value).strip() or number < (0 if kind == "int0" else 1)
        ):
            least = 0 if kind == "int0" else 1
            raise InputError(f"body.{name}: {value!r} is not a whole number >= {least}")
        if name in position:
            start[position[name][0]] = number
        else:
            update["size"] = number
    return spec.model_copy(update=update), start


async def paginate(
    fetch: Fetch,
    spec: PaginationSpec,
    *,
    params: Mapping[str, Any] | None = None,
    start: Mapping[str, Any] | None = None,
    where: str = "",
    logger: logging.Logger | None = None,
    fetch_ahead: int | None = None,
) -> AsyncGenerator[Page, None]:
    """Yield the non-empty pages of a list endpoint, as the spec's style asks for them."""
    run = PagingRun(fetch, spec, params=params, where=where, log=logger or _log, fetch_ahead=fetch_ahead)
    pages = style_for(spec).pages(run, dict(start or {}))
    try:
        async for page in pages:
            yield page
    finally:
        await pages.aclose()
