"""The one records selector: where the records of a list response are.

A records path is a dot path into the raw parsed body (before the envelope is unwrapped);
without one (None or ``""``), the records are the envelope's data (the whole body when there is no envelope).
Declarative actions, pagination and polling triggers all select records here, so a
``recordsPath`` means the same thing everywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .bodies import get_path, to_records

if TYPE_CHECKING:
    from .client import Response

__all__ = ["select_records"]


def select_records(response: Response, path: str | None) -> list[Any]:
    """The records of ``response``: at ``path`` in the raw body, or the envelope's data."""
    if path:
        return to_records(get_path(response.raw, path))
    return to_records(response.data)
