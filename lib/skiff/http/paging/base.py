"""What every paging style shares: the page, the loop guard, and the run a style drives."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import orjson

from skiff.dotpath import get_path
from skiff.errors import ApiError

from ..rawjson import RawRecords
from ..records import select_records

if TYPE_CHECKING:
    from skiff.specs import PaginationSpec

    from ..client import Response

__all__ = ["Fetch", "Guard", "Page", "PagingRun", "PositionKind", "Style", "as_int", "int_at", "key_of"]

PositionKind = Literal["keyset", "index", "url"]


Fetch = Callable[[dict[str, Any], "str | None"], Awaitable["Response"]]
"""Sends one page request: the request's own with ``params`` added, or ``url`` whole (a next link)."""


@dataclass(slots=True)
class Page:
    """One page: its records (always a list), the raw parsed body and its 1-based number.

    ``cursor`` is what to pass as ``start=`` to resume *after* this page (``{"page": 3}``,
    ``{"offset": 200}``, ``{"fromId": "..."}``, ``{"cursor": "..."}``, ``{"url": "..."}``);
    None on the last page.
    """

    records: list[Any]
    raw: Any
    number: int
    cursor: dict[str, Any] | None


def as_int(value: Any) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def int_at(raw: Any, path: str | None) -> int | None:
    return as_int(get_path(raw, path)) if path else None


def key_of(value: Any) -> bytes:
    # orjson: a page's key holds two whole records, and json.dumps of them costs ~0.3 ms a page.
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
    except (orjson.JSONEncodeError, TypeError):  # beyond 64-bit integers and the like
        return json.dumps(value, sort_keys=True, default=str).encode("utf-8", "surrogatepass")


class Guard:
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
        if isinstance(records, RawRecords):  # JSON text already: its bytes are the key
            key = b"%d\n%b\n%b" % (len(records), records[0], records[-1])
        else:
            key = key_of([len(records), records[0], records[-1]])
        self.check(key, f"page {number} repeats an earlier page")

    def check(self, key: bytes, what: str) -> None:
        digest = hashlib.blake2b(key, digest_size=16).digest()
        if digest in self.seen:
            raise ApiError(f"{self.where}: pagination loop: {what}")
        self.seen.add(digest)


class PagingRun:
    """One paging of one request: what a style needs besides its spec (fetching, guard, counting)."""

    def __init__(
        self,
        fetch: Fetch,
        spec: PaginationSpec,
        *,
        params: Mapping[str, Any] | None,
        where: str,
        log: logging.Logger,
        fetch_ahead: int | None,
    ) -> None:
        self._fetch = fetch
        self.spec = spec
        self.base = {k: v for k, v in (params or {}).items() if v is not None}
        self.where = where
        self.log = log
        self.fetch_ahead = fetch_ahead
        self.guard = Guard(where)
        self.number = 0  # pages fetched so far

    async def get(self, extra: dict[str, Any]) -> tuple[Response, list[Any]]:
        """One page with ``extra`` paging parameters: the response and its records."""
        response = await self._fetch({**self.base, **extra}, None)
        return response, select_records(response, self.spec.recordsPath)

    async def get_url(self, url: str) -> tuple[Response, list[Any]]:
        """One page at a URL the server gave (it carries its own query)."""
        response = await self._fetch({}, url)
        return response, select_records(response, self.spec.recordsPath)

    def stop_early(self, last: bool) -> bool:
        if not last and self.number >= self.spec.maxPages:
            self.log.warning("%s: stopped after %d pages (maxPages)", self.where, self.number)
            return True
        return False


class Style:
    """A paging style: one module, one class, registered under its spec's ``type``.

    ``independent``: the next request does not depend on the current body (page numbers,
    offsets), so requests may be sent ahead. ``position()`` names the message keys a person
    pages by hand with (``{"page": ("page", "int")}``) and the page size key.
    """

    type: ClassVar[str]
    independent: ClassVar[bool] = False
    # What a position (``Page.cursor``) is, and so whether it holds in a later paging of the
    # same listing: "keyset" (a record's key or a token: what lies after it stays after it),
    # "index" (a count of records before it: holds only while none before it leaves or moves),
    # "url" (a URL the server named: it may carry a session, an expiry or an echoed credential).
    position_kind: ClassVar[PositionKind] = "url"

    def __init__(self, spec: Any) -> None:
        self.spec = spec

    def position(self) -> tuple[dict[str, tuple[str, str]], str | None]:
        raise NotImplementedError

    def pages(self, run: PagingRun, start: dict[str, Any]) -> AsyncGenerator[Page, None]:
        raise NotImplementedError
