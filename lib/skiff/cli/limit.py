"""``skiff run --limit N``: stop a call once N records are out.

:class:`LimitReached` is raised from inside delivery and is a BaseException, so no handler
catches it and no further page is fetched. A trigger's snapshot then stays at its last commit:
the next run emits the rest of that page again, so nothing is lost.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LimitReached", "RecordLimit"]


class LimitReached(BaseException):
    """The records asked for are out: ends the call from inside delivery."""


class RecordLimit:
    """Counts delivered records and raises :class:`LimitReached` at ``limit`` (None: no limit)."""

    def __init__(self, limit: int | None) -> None:
        if limit is not None and limit < 1:
            raise ValueError("a record limit is at least 1")
        self.limit = limit
        self.count = 0

    def cut(self, records: list[Any]) -> list[Any]:
        """As many of ``records`` as may still go out."""
        return records if self.limit is None else records[: self.limit - self.count]

    def took(self, n: int = 1) -> None:
        """``n`` records were delivered."""
        self.count += n
        if self.limit is not None and self.count >= self.limit:
            raise LimitReached
