"""The four paging styles of skiff.specs, streamed page by page as an async iterator.

page + size (Billbee, Billomat), skip + take (Billwerk), an inclusive ``from`` id (Billwerk)
and an opaque cursor from the body (Plenigo). Every style stops on an empty page, guards
against a server that keeps answering the same page or cursor (ApiError "pagination loop"),
and stops after ``maxPages`` with a warning. Pages are never collected, so memory does not
grow with the number of records. Page and offset requests do not depend on the previous
body, so up to ``fetchAhead`` of them (default 2) are on their way while a page is emitted;
from-id and cursor paging wait for each body.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from skiff.errors import ApiError, InputError
from skiff.specs import (
    CursorPagination,
    FromIdPagination,
    OffsetPagination,
    PagePagination,
    PaginationSpec,
)

from .bodies import get_path
from .prefetch import FetchAhead
from .records import select_records

if TYPE_CHECKING:
    from .client import Response

__all__ = ["Fetch", "Page", "paginate", "requested_page"]

Fetch = Callable[[dict[str, Any]], Awaitable["Response"]]
"""Sends one page request with the given query parameters."""

_log = logging.getLogger("skiff.http")


@dataclass(slots=True)
class Page:
    """One page: its records (always a list), the raw parsed body and its 1-based number.

    ``cursor`` is what to pass as ``start=`` to resume *after* this page (``{"page": 3}``,
    ``{"offset": 200}``, ``{"fromId": "..."}``, ``{"cursor": "..."}``); None on the last page.
    """

    records: list[Any]
    raw: Any
    number: int
    cursor: dict[str, Any] | None


def _as_int(value: Any) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _int_at(raw: Any, path: str | None) -> int | None:
    return _as_int(get_path(raw, path)) if path else None


def _key(value: Any) -> bytes:
    # orjson: a page's key holds two whole records, and json.dumps of them costs ~0.3 ms a page.
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
    except (orjson.JSONEncodeError, TypeError):  # beyond 64-bit integers and the like
        return json.dumps(value, sort_keys=True, default=str).encode("utf-8", "surrogatepass")


class _Guard:
    """Remembers pages or cursors; the same one twice means the server is going round in circles."""

    def __init__(self, where: str) -> None:
        self.where = where
        # Digests, not the keys: a key holds two whole records (~2 KB), and a sync of a
        # million records has 4,000 pages; 16 bytes each keep memory flat.
        self.seen: set[bytes] = set()

    def page(self, records: list[Any], number: int) -> None:
        if not records:
            return
        # First and last record identify a page cheaply (no per-record work).
        self.check(_key([len(records), records[0], records[-1]]), f"page {number} repeats an earlier page")

    def check(self, key: bytes, what: str) -> None:
        digest = hashlib.blake2b(key, digest_size=16).digest()
        if digest in self.seen:
            raise ApiError(f"{self.where}: pagination loop: {what}")
        self.seen.add(digest)


def requested_page(spec: PaginationSpec, given: Mapping[str, Any]) -> tuple[PaginationSpec, dict[str, Any]] | None:
    """The one page a message asks for with the style's own paging parameters, else None.

    People who page by hand send ``page``/``pageSize`` (Billbee), ``page``/``per_page``
    (Billomat), ``skip``/``take`` or ``from``/``take`` (Billwerk), ``startingAfter``/``size``
    (Plenigo): then only that page is fetched. Returns the spec with the asked page size and
    the ``start`` for :func:`paginate`; the caller reads the first page only.
    """
    position: dict[str, tuple[str, str]] = {}  # message key -> (start key, kind)
    size_name: str | None
    if isinstance(spec, PagePagination):
        position[spec.pageParam] = ("page", "int")
        size_name = spec.sizeParam
    elif isinstance(spec, OffsetPagination):
        position[spec.offsetParam] = ("offset", "int0")
        size_name = spec.limitParam
    elif isinstance(spec, FromIdPagination):
        position[spec.param] = ("fromId", "any")
        size_name = spec.sizeParam
    else:
        position[spec.param] = ("cursor", "any")
        size_name = spec.sizeParam
    asked = {k: given[k] for k in [*position, size_name] if k is not None and given.get(k) not in (None, "")}
    if not asked:
        return None
    start: dict[str, Any] = {}
    update: dict[str, Any] = {}
    for name, value in asked.items():
        kind = position[name][1] if name in position else "int"
        number = _as_int(value) if kind != "any" else value
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
    """Yield the non-empty pages of a list endpoint, one request per page.

    Page and offset styles send the next requests (up to ``fetch_ahead``, by default the spec's
    ``fetchAhead``) while a page is emitted (skiff.http.prefetch); pages still come in order.
    """
    log = logger or _log
    base = {k: v for k, v in (params or {}).items() if v is not None}
    start = dict(start or {})
    guard = _Guard(where)
    number = 0

    async def get(extra: dict[str, Any]) -> tuple[Response, list[Any]]:
        response = await fetch({**base, **extra})
        return response, select_records(response, spec.recordsPath)

    def stop_early(last: bool) -> bool:
        if not last and number >= spec.maxPages:
            log.warning("%s: stopped after %d pages (maxPages)", where, number)
            return True
        return False

    if isinstance(spec, PagePagination):
        page = _as_int(start.get("page")) or spec.start
        first = page
        per_page = 0  # what the server really sends per full page (it may cap spec.size)
        async with FetchAhead(get, spec.fetchAhead if fetch_ahead is None else fetch_ahead) as ahead:
            ahead.push({spec.pageParam: page, spec.sizeParam: spec.size})  # nothing known yet: one
            sent = page
            while True:
                _, (response, records) = await ahead.pop()
                number += 1
                guard.page(records, number)
                fetched = page - spec.start + 1  # pages fetched so far, counting from the first
                per_page = max(per_page, len(records))
                total_pages = _int_at(response.raw, spec.totalPagesPath)
                total = _int_at(response.raw, spec.totalPath)
                end = first + spec.maxPages - 1  # the last page to ask for, as far as we know
                if total_pages is not None:
                    last = fetched >= total_pages
                    end = min(end, spec.start + total_pages - 1)
                elif total is not None:
                    # Count what arrived: Billomat caps per_page at 1000, so fetched * size would
                    # stop after the first page and silently drop the rest.
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
                    yield Page(records, response.raw, number, None if last else {"page": page + 1})
                if last or stop_early(last):
                    return
                page += 1

    elif isinstance(spec, OffsetPagination):
        offset = _as_int(start.get("offset")) or 0
        end = offset + (spec.maxPages - 1) * spec.size  # the last offset to ask for
        if spec.maxOffset is not None:
            end = min(end, spec.maxOffset)
        async with FetchAhead(get, spec.fetchAhead if fetch_ahead is None else fetch_ahead) as ahead:
            ahead.push({spec.offsetParam: offset, spec.limitParam: spec.size})
            sent = offset
            while True:
                _, (response, records) = await ahead.pop()
                number += 1
                guard.page(records, number)
                last = len(records) < spec.size
                next_offset = offset + len(records)
                if not last and spec.maxOffset is not None and next_offset > spec.maxOffset:
                    log.warning(
                        "%s: stopped at offset %d: the API allows at most %d", where, next_offset, spec.maxOffset
                    )
                    last = True
                if not last:
                    # Full pages so far, so the next offsets are known: on their way already.
                    while ahead.room and sent + spec.size <= end:
                        sent += spec.size
                        ahead.push({spec.offsetParam: sent, spec.limitParam: spec.size})
                if records:
                    yield Page(records, response.raw, number, None if last else {"offset": next_offset})
                if last or stop_early(last):
                    return
                offset = next_offset

    elif isinstance(spec, FromIdPagination):
        cursor: Any = start.get("fromId")
        if cursor is not None:
            guard.check(_key(cursor), "")
        while True:
            extra: dict[str, Any] = {spec.sizeParam: spec.size}
            if cursor is not None:
                extra[spec.param] = cursor
            response, records = await get(extra)
            number += 1
            received = len(records)
            # ``from`` is inclusive: the record we resumed from comes again first.
            if cursor is not None and records and str(get_path(records[0], spec.idField)) == str(cursor):
                records = records[1:]
            following = get_path(records[-1], spec.idField) if records else None
            last = received < spec.size or following is None
            if not last:
                guard.check(_key(following), f"the id {following!r} came back twice")
            if records:
                yield Page(records, response.raw, number, None if last else {"fromId": following})
            if last or stop_early(last):
                return
            cursor = following

    elif isinstance(spec, CursorPagination):
        cursor = start.get("cursor")
        if cursor is not None:
            guard.check(_key(cursor), "")
        while True:
            extra = {}
            if spec.sizeParam:
                extra[spec.sizeParam] = spec.size
            if cursor is not None:
                extra[spec.param] = cursor
            response, records = await get(extra)
            number += 1
            following = get_path(response.raw, spec.cursorPath)
            last = (
                following is None
                or following == ""
                or not records
                or (spec.sizeParam is not None and len(records) < spec.size)
            )
            if not last:
                guard.check(_key(following), f"the cursor {following!r} came back twice")
            if records:
                yield Page(records, response.raw, number, None if last else {"cursor": following})
            if last or stop_early(last):
                return
            cursor = following

    else:  # pragma: no cover  (the union is closed)
        raise TypeError(f"unknown pagination {spec!r}")
