"""Comparable keys for cursors and record ids.

APIs format timestamps in many ways (ISO 8601 with or without offset, epoch seconds or
milliseconds, Microsoft's ``/Date(ms)/``) and ids as numbers or numeric strings. Comparing the
raw values would order ``"9"`` after ``"10"`` and ``"…Z"`` differently from ``"…+01:00"``, so
every value is turned into a key of one shape, ``(kind, number, text)``, that sorts correctly
and survives a JSON round trip of the raw value unchanged.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, Final

__all__ = ["Key", "format_timestamp", "id_key", "parse_timestamp", "timestamp_key"]

# (0, n, text): numbers and timestamps (in microseconds); (1, 0, text): other strings.
Key = tuple[int, int, str]

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_INT = re.compile(r"^-?\d{1,30}$")
# Epoch numbers at or above this are milliseconds (1e11 s is the year 5138).
_MS_THRESHOLD: Final = 100_000_000_000


def parse_timestamp(value: Any) -> datetime:
    """An aware UTC datetime from ISO 8601, epoch seconds/milliseconds or ``/Date(ms)/``.

    Naive values are taken as UTC. Raises ``ValueError`` for anything else.
    """
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, bool):
        raise ValueError(f"not a timestamp: {value!r}")
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) >= _MS_THRESHOLD else value
        return EPOCH + timedelta(seconds=seconds)
    if isinstance(value, str):
        text = value.strip()
        match = _MS_DATE.match(text)
        if match:
            return EPOCH + timedelta(milliseconds=int(match.group(1)))
        if _INT.match(text) and len(text) >= 9:  # epoch as a string; "20240101" is a date below
            return parse_timestamp(int(text))
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not a timestamp: {value!r}") from None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    raise ValueError(f"not a timestamp: {value!r}")


def timestamp_key(value: Any) -> Key:
    """The key of a timestamp: microseconds since the epoch (``ValueError`` if unparsable)."""
    delta = parse_timestamp(value) - EPOCH
    return (0, delta // timedelta(microseconds=1), "")


def format_timestamp(key: Key) -> str:
    """ISO 8601 in UTC with a ``Z`` (microseconds only when present)."""
    moment = EPOCH + timedelta(microseconds=key[1])
    text = moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def id_key(value: Any) -> Key:
    """The key of an id: integers and digit strings compare as numbers, other strings as text.

    The text stays in the key so that ``"007"`` and ``"7"`` remain different ids.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return (0, value, "")
    text = value if isinstance(value, str) else str(value)
    if _INT.match(text) and len(text) <= 19:  # longer digit strings are hex/opaque ids (int64 max)
        return (0, int(text), text)
    return (1, 0, text)
