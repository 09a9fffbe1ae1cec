"""Where an unsorted (``order: any``) poll that stopped midway continues: its resume point.

An unsorted poll may move its cursor only once it has read every page (and then at most to
its start less ``clockSkew``), so a poll that fails on page 3 of 5 used to read pages 1 to 5
again. Where the caller's paging positions stay valid from one poll to the next (a keyset:
``fromId``, a cursor token), the snapshot keeps, beside the cursor (unchanged until the poll
completes), a resume point:

``{"window": digest, "started": ISO, "at": position, "tries": n, "done": [[cursor, id], ...],
"cursor": C, "ids": [...], "ahead": [[cursor, id], ...]}``

- ``window``: a digest of the query the poll asked with (cursor, endTime, page size); a
  resume point is used only by a poll that asks the same, so its positions mean the same.
- ``started``: the poll's start; a resumed poll keeps its cap (start less ``clockSkew``).
- ``at``: where to read on (a paging style's ``start``: ``{"fromId": 812}``); None: the first page.
- ``done``: records emitted from ``at`` on (a page committed record by record), skipped when
  that page is read again.
- ``cursor``/``ids``/``ahead``: what this poll emitted, as a cursor frontier: folded into the
  cursor when the poll completes. A subset is a true claim too (the rest is emitted again).
- ``tries``: resumed polls that did not get a page further; after ``MAX_TRIES`` the point is
  dropped (a position the API no longer accepts, such as an expired cursor token, must not
  fail every poll) and the poll reads from the first page.

Every part is a claim about records already emitted, so dropping any of it only re-emits
(with the same message ids); nothing is lost.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from skiff.errors import ConfigError
from skiff.polling.keys import Key, format_timestamp, id_key, parse_timestamp, timestamp_key
from skiff.polling.options import PollOptions, Query
from skiff.polling.state import Frontier, decode_ids, encode_ids, snapshot_size

__all__ = ["MAX_TRIES", "PageAt", "ResumePoint", "window_of"]

MAX_TRIES: Final = 3


@dataclass(frozen=True, slots=True)
class PageAt:
    """A page and where the listing continues after it.

    ``after`` is what the caller accepts as ``query["start"]`` to read the pages after this
    one, in this poll or a later one (None: the last page). A ``fetch_pages`` yields these
    only when its positions stay valid between polls.
    """

    records: Sequence[Mapping[str, Any]]
    after: Mapping[str, Any] | None
    # How many records the whole listing held when this page was served (the API's total
    # count), for ``PollOptions.verify_listing``; None: not known.
    total: int | None = None


def window_of(query: Query) -> str:
    """A digest of what a poll asks for (its start position aside)."""
    asked = {k: v for k, v in query.items() if k != "start"}
    text = json.dumps(asked, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _cost(item: Any) -> int:
    return len(json.dumps(item, separators=(",", ":"), ensure_ascii=False, default=str).encode()) + 1


def _fit(items: Sequence[Any], room: int) -> tuple[int, int]:
    """How many of ``items`` fit ``room`` bytes (in order), and the room left."""
    kept = 0
    for item in items:
        cost = _cost(item)
        if cost > room:
            break
        room -= cost
        kept += 1
    return kept, room


@dataclass(slots=True)
class ResumePoint:
    """The resume point of one unsorted poll (see the module docstring)."""

    window: str
    started: datetime
    progress: Frontier  # records this poll emitted: key/ids up to the cap, ``ahead`` past it
    at: Mapping[str, Any] | None = None
    done: dict[tuple[Key, Key], tuple[Any, Any]] = field(default_factory=dict)
    tries: int = 0

    @classmethod
    def fresh(cls, window: str, started: datetime, options: PollOptions) -> ResumePoint:
        return cls(window, started, cls._progress(started, options))

    @staticmethod
    def _progress(started: datetime, options: PollOptions) -> Frontier:
        progress = Frontier(kind=options.cursor_kind, unique=False)
        if options.cursor_kind == "timestamp":
            progress.cap = timestamp_key(started - timedelta(seconds=options.clock_skew))
        return progress

    @property
    def cap(self) -> Key | None:
        return self.progress.cap

    @classmethod
    def load(cls, snapshot: Mapping[str, Any] | None, options: PollOptions, window: str) -> ResumePoint | None:
        """The snapshot's resume point, if it belongs to a poll asking for ``window`` and has tries left."""
        data = (snapshot or {}).get("resume")
        if not isinstance(data, Mapping) or data.get("window") != window:
            return None
        try:
            tries = int(data.get("tries") or 0)
            started = parse_timestamp(data["started"])
            at = data.get("at")
            if at is not None and not isinstance(at, Mapping):
                raise ValueError(f"bad position {at!r}")
            point = cls(window, started, cls._progress(started, options), dict(at) if at else None, tries=tries)
            point._load_done(data)
            point._load_progress(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"the polling snapshot's resume point is malformed ({exc}); delete it to start over"
            ) from None
        if tries >= MAX_TRIES and point.at is not None:
            options.log.warning(
                "polling: %d polls could not read on from where a failed poll stopped; reading from "
                "the first page (what was emitted is not emitted again)",
                tries,
            )
            point.at, point.tries = None, 0
        return point

    def _pair(self, raw_cursor: Any, raw_id: Any) -> tuple[Key, Key]:
        return self.progress.cursor_key(raw_cursor), id_key(raw_id)

    def _load_done(self, data: Mapping[str, Any]) -> None:
        for raw_cursor, raw_id in data.get("done") or ():
            self.done[self._pair(raw_cursor, raw_id)] = (raw_cursor, raw_id)

    def _load_progress(self, data: Mapping[str, Any]) -> None:
        progress = self.progress
        if data.get("cursor") is not None:
            progress.raw = data["cursor"]
            progress.key = progress.cursor_key(progress.raw)
            for raw_id in decode_ids(data.get("ids") or ()):
                progress.ids[id_key(raw_id)] = raw_id
        for raw_cursor, raw_id in data.get("ahead") or ():
            progress.ahead[self._pair(raw_cursor, raw_id)] = (raw_cursor, raw_id)

    # ------------------------------------------------------------ what it remembers

    def emitted(self) -> set[tuple[Key, Key]]:
        """(cursor, id) of records it knows were emitted: skipped when read again."""
        known = set(self.done) | set(self.progress.ahead)
        if self.progress.key is not None:
            known.update((self.progress.key, ikey) for ikey in self.progress.ids)
        return known

    def record(self, ckey: Key, ikey: Key, raw_cursor: Any, raw_id: Any) -> None:
        """A record was emitted (before the page it is on is done)."""
        self.progress.advance(ckey, ikey, raw_cursor, raw_id)
        self.done[(ckey, ikey)] = (raw_cursor, raw_id)

    def page_done(self, after: Mapping[str, Any] | None) -> None:
        """Every record of a page was emitted: read on after it from now on."""
        self.at = dict(after) if after is not None else None
        self.done.clear()
        self.tries = 0

    def fold_into(self, frontier: Frontier) -> None:
        """Move ``frontier`` (the cursor, capped) past everything this poll emitted."""
        if self.progress.key is not None:
            for ikey, raw_id in sorted(self.progress.ids.items()):
                frontier.advance(self.progress.key, ikey, self.progress.raw, raw_id)
        for (ckey, ikey), (raw_cursor, raw_id) in sorted(self.progress.ahead.items()):
            frontier.advance(ckey, ikey, raw_cursor, raw_id)

    # ------------------------------------------------------------ snapshot form

    def to_json(self, room: int) -> tuple[dict[str, Any] | None, bool]:
        """The point in at most ``room`` bytes (None if even its position does not fit) and
        whether ``done`` fits whole (only then may a poll stop early at it)."""
        out: dict[str, Any] = {
            "window": self.window,
            "started": format_timestamp(timestamp_key(self.started)),
            "at": self.at,
            "tries": self.tries,
            "done": [],
        }
        if self.progress.key is not None:
            out["cursor"] = self.progress.raw
            out["ids"] = []
        out["ahead"] = []
        room -= snapshot_size(out)
        if room < 0:
            return None, False
        done = [list(pair) for _, pair in sorted(self.done.items())]
        kept, room = _fit(done, room)
        out["done"] = done[:kept]
        whole = kept == len(done)
        if whole and self.progress.key is not None:
            ids = encode_ids(raw for _, raw in sorted(self.progress.ids.items()))
            kept_ids, room = _fit(ids, room)
            out["ids"] = ids[:kept_ids]
        if whole:
            ahead = [list(pair) for _, pair in sorted(self.progress.ahead.items())]
            kept_ahead, room = _fit(ahead, room)
            out["ahead"] = ahead[:kept_ahead]
        return out, whole
