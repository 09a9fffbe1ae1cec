"""Dot paths into parsed JSON: the one reader, and the one ``MISSING`` sentinel.

``recordsPath``, ``totalPagesPath``, ``cursorField``, ``idField``, an envelope's ``dataPath`` and
a vendor's error paths all mean the same thing: ``"Paging.TotalPages"``, ``"clients.@total"``,
``"items.0.id"`` (a list index), ``"data.-1"`` (from the end). A key that itself contains dots
(``"meta.updated"`` as one key) is found when it matches the rest of the path exactly; that
exact key wins over nesting.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

__all__ = ["MISSING", "get_path", "has_path"]


class _Missing:
    """Absent (as opposed to ``None``): compare with ``is``; it is neither true nor false."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        raise TypeError("MISSING has no truth value: compare it with 'is MISSING'")


MISSING: Final[Any] = _Missing()


def get_path(obj: Any, path: str | None, default: Any = None) -> Any:
    """The value at ``path`` (None or ``""``: ``obj`` itself), else ``default`` (pass MISSING to tell)."""
    if not path:
        return obj
    current = obj
    parts = path.split(".")
    for i, part in enumerate(parts):
        if isinstance(current, Mapping):
            if i < len(parts) - 1:
                rest = ".".join(parts[i:])
                if rest in current:  # a key with dots in it, matching the rest exactly
                    return current[rest]
            if part in current:
                current = current[part]
                continue
            return default
        if isinstance(current, list) and (part.isdigit() or (part.startswith("-") and part[1:].isdigit())):
            index = int(part)
            if -len(current) <= index < len(current):
                current = current[index]
                continue
        return default
    return current


def has_path(obj: Any, path: str) -> bool:
    return get_path(obj, path, MISSING) is not MISSING
