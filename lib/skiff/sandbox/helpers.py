"""Small helpers vendor sandboxes share: paging, auth checks, query parsing, timestamps, JSON bodies."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar

from starlette.requests import Request

__all__ = [
    "InvalidJson",
    "PageSlice",
    "basic_credentials",
    "check_basic",
    "header_matches",
    "in_range",
    "paginate",
    "parse_bool",
    "parse_datetime",
    "query_list",
    "read_json",
    "secure_equals",
]

T = TypeVar("T")


@dataclass
class PageSlice(Generic[T]):
    items: list[T]
    page: int  # 1-based
    page_size: int
    total_rows: int
    total_pages: int


def paginate(items: Sequence[T], page: int, page_size: int) -> PageSlice[T]:
    """The 1-based ``page`` of ``items``; a page past the end is empty (not an error)."""
    page = max(page, 1)
    page_size = max(page_size, 1)
    total = len(items)
    start = (page - 1) * page_size
    return PageSlice(
        items=list(items[start : start + page_size]),
        page=page,
        page_size=page_size,
        total_rows=total,
        total_pages=math.ceil(total / page_size),
    )


def secure_equals(given: str | None, expected: str) -> bool:
    """Constant-time comparison, so a sandbox never teaches timing attacks by example."""
    if given is None:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """(user, password) from ``Authorization: Basic ...``, or None when absent or malformed."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def check_basic(request: Request, username: str, password: str) -> bool:
    creds = basic_credentials(request)
    if creds is None:
        return False
    # Evaluate both to keep the comparison time independent of which part is wrong.
    ok_user = secure_equals(creds[0], username)
    ok_password = secure_equals(creds[1], password)
    return ok_user and ok_password


def header_matches(request: Request, name: str, expected: str) -> bool:
    return secure_equals(request.headers.get(name), expected)


def query_list(request: Request, name: str) -> list[str]:
    """Values of ``name``, ``name[]`` and ``name[0]``, ``name[1]``... (clients send all three forms)."""
    values: list[str] = []
    lowered = name.lower()
    for key, value in request.query_params.multi_items():
        base, bracket, rest = key.partition("[")
        if base.lower() != lowered:
            continue
        if not bracket or rest == "]" or (rest.endswith("]") and rest[:-1].isdigit()):
            values.append(value)
    return values


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def parse_bool(value: str | None, default: bool | None = None) -> bool | None:
    """``true``/``false``/``1``/``0`` (any case); raises ValueError on anything else."""
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def parse_datetime(value: str | datetime | date) -> datetime:
    """An ISO 8601 date or date-time as an aware UTC datetime; naive values count as UTC."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    else:
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        # Python 3.11 parses fractions of any length, "T" or " ", offsets and plain dates.
        dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def in_range(value: Any, low: Any = None, high: Any = None, *, inclusive_high: bool = True) -> bool:
    """``low <= value <= high`` with None bounds open; a None value is outside any bounded range."""
    if value is None:
        return low is None and high is None
    if low is not None and value < low:
        return False
    if high is not None:
        return bool(value <= high) if inclusive_high else bool(value < high)
    return True


class InvalidJson(ValueError):
    """The request body is not valid JSON."""


async def read_json(request: Request, default: Any = None) -> Any:
    """The JSON body, ``default`` when the body is empty; raises InvalidJson when it does not parse."""
    raw = await request.body()
    if not raw.strip():
        return default
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidJson(f"invalid JSON body: {exc}") from exc
