"""An in-memory paged API whose data changes between (or during) polls, and a harness that
polls it the way a flow would: emit, then persist the snapshot, with crashes on demand."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from skiff.message import Message, deterministic_id
from skiff.polling import PageAt, Poller, PollOptions, PollResult, Query, parse_timestamp, record_version
from skiff.polling.state import snapshot_size

BASE = datetime(2024, 1, 1, tzinfo=UTC)
COMPONENT, TRIGGER = "shop", "orders"


def ts(seconds: int) -> str:
    return (BASE + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


class Crash(Exception):
    """The process died between emit and commit."""


def scramble(rid: int) -> float:
    return random.Random(rid * 7919).random()  # a fixed place per id


class FakeApi:
    """Records ``{id, updatedAt, name}``; ``>= since`` filter; live offset paging.

    ``order``: "asc" sorts by (updatedAt, id); "asc-desc-ties" sorts ties by id descending;
    "asc-hash-ties" sorts ties in a fixed pseudo-random order; "shuffled" returns a fixed
    pseudo-random order (no sort at all). ``filtered``: False ignores the cursor (no filter).
    ``positions`` (with "shuffled"): keyset paging instead of offsets: each page is a
    ``PageAt`` naming the place of its last record, and ``query["start"]`` reads on after it
    (a place that stays valid whatever is inserted, changed or deleted).
    """

    def __init__(
        self,
        *,
        page_size: int = 100,
        order: Literal["asc", "asc-desc-ties", "asc-hash-ties", "shuffled"] = "asc",
        filtered: bool = True,
        id_stride: int = 1,
        positions: bool = False,
        bounded: bool = False,
    ) -> None:
        assert not positions or order == "shuffled", "keyset places need a fixed order"
        self.positions = positions
        # bounded: the listing honours query["until"] and each page tells its total (as an API
        # with a modified-at-most filter and a total count does): PageAt(page, None, total).
        self.bounded = bounded
        self.starts: list[Any] = []  # every page request's start (None: the first page)
        self.fail: Callable[[Any], bool] | None = None  # True: that page request fails
        self.rows: dict[int, dict[str, Any]] = {}
        self.next_id = 1
        self.id_stride = id_stride  # > 1: ids with gaps (no runs to compress)
        self.page_size = page_size
        self.order = order
        self.filtered = filtered
        self.queries: list[Query] = []
        self.pages_served = 0
        self.before_page: Callable[[int], None] | None = None  # mutate while paging
        self._cache: tuple[tuple[int, str], list[dict[str, Any]]] | None = None
        self._generation = 0

    # ------------------------------------------------------------ data
    def insert(self, second: int, n: int = 1) -> list[int]:
        self.touch()
        ids = []
        for _ in range(n):
            rid = self.next_id * self.id_stride
            self.next_id += 1
            self.rows[rid] = {"id": rid, "updatedAt": ts(second), "name": f"r{rid}@{second}"}
            ids.append(rid)
        return ids

    def update(self, rid: int, second: int) -> None:
        self.touch()
        self.rows[rid] = {**self.rows[rid], "updatedAt": ts(second), "name": f"r{rid}@{second}"}

    def delete(self, rid: int) -> None:
        self.touch()
        del self.rows[rid]

    def versions(self) -> set[tuple[int, str]]:
        return {(r["id"], r["updatedAt"]) for r in self.rows.values()}

    # ------------------------------------------------------------ serving
    def _sorted(self, since: Any, until: Any = None) -> list[dict[str, Any]]:
        # Cached per (data, since, until): requests repeat while the data stays the same.
        key = (self.generation(), f"{since}..{until}")
        if self._cache is None or self._cache[0] != key:
            rows = self._compute(since)
            if until is not None:
                ceiling = ts(int((until - BASE).total_seconds()))
                rows = [r for r in rows if r["updatedAt"] <= ceiling]
            self._cache = (key, rows)
        return self._cache[1]

    def generation(self) -> int:
        return self._generation

    def touch(self) -> None:
        """Call after changing ``rows`` directly."""
        self._generation += 1

    def _compute(self, since: Any) -> list[dict[str, Any]]:
        rows = list(self.rows.values())
        if self.filtered and since is not None:
            floor = ts(int((parse_timestamp(since) - BASE).total_seconds()))
            # One fixed format, so text order is time order; broken stamps are served anyway.
            rows = [r for r in rows if not isinstance(r.get("updatedAt"), str) or r["updatedAt"] >= floor]

        def stamp(r: dict[str, Any]) -> str:
            return str(r.get("updatedAt", ""))

        def rid(r: dict[str, Any]) -> int:
            return int(r.get("id") or 0)

        if self.order == "asc":
            rows.sort(key=lambda r: (stamp(r), rid(r)))
        elif self.order == "asc-desc-ties":
            rows.sort(key=lambda r: (stamp(r), -rid(r)))
        elif self.order == "asc-hash-ties":
            rows.sort(key=lambda r: (stamp(r), scramble(rid(r))))
        else:
            rows.sort(key=lambda r: (scramble(rid(r)), rid(r)))
        return rows

    async def fetch_pages(self, query: Query) -> AsyncIterator[list[dict[str, Any]] | PageAt]:
        self.queries.append(query)
        size = query["page_size"] or self.page_size
        if self.positions:
            start = query.get("start")
            while True:
                self.starts.append(start)
                if self.fail is not None and self.fail(start):
                    raise Crash(f"page request from {start} failed")
                if self.before_page is not None:
                    self.before_page(self.pages_served)
                place = tuple(start["after"]) if start else None
                listing = self._sorted(query["cursor_value"])
                rows = [r for r in listing if place is None or (scramble(r["id"]), r["id"]) > place]
                page = [copy.deepcopy(r) for r in rows[:size]]
                self.pages_served += 1
                last = len(page) < size
                start = None if last else {"after": [scramble(page[-1]["id"]), page[-1]["id"]]}
                if page:
                    yield PageAt(page, start)
                if last:
                    return
        offset = 0
        until = query["until"] if self.bounded else None
        while True:
            if self.before_page is not None:
                self.before_page(self.pages_served)
            listing = self._sorted(query["cursor_value"], until)
            page = [copy.deepcopy(r) for r in listing[offset : offset + size]]
            self.pages_served += 1
            if page:
                yield PageAt(page, None, len(listing)) if self.bounded else page
            if len(page) < size:
                return
            offset += size


def record_message_ids(message: Message, options: PollOptions) -> list[tuple[Any, str, str]]:
    """(record id, updatedAt, expected record message id) for every record in a message."""
    bodies = message.body.get("results", [message.body])
    out = []
    for body in bodies:
        version = record_version(body) if options.cursor_kind == "seen" else body["updatedAt"]
        out.append((body["id"], body["updatedAt"], deterministic_id(COMPONENT, TRIGGER, body["id"], version)))
    return out


class Harness:
    """Polls like a flow: emit (hand-off), then commit the snapshot (JSON round trip)."""

    def __init__(self, api: FakeApi, **options: Any) -> None:
        self.api = api
        options.setdefault("cursor_field", "updatedAt")
        options.setdefault("page_size", api.page_size)
        self.options = PollOptions(component=COMPONENT, trigger=TRIGGER, **options)
        self.snapshot: dict[str, Any] | None = None
        self.messages: list[Message] = []
        self.per_poll: list[list[Message]] = []
        self.commits = 0
        self.max_snapshot = 0

    async def poll(self, crash_after: int | None = None) -> PollResult | None:
        poller = Poller(self.options, self.snapshot)
        emitted: list[Message] = []
        self.per_poll.append(emitted)

        async def emit(message: Message) -> None:
            if crash_after is not None and len(emitted) >= crash_after:
                raise Crash
            emitted.append(message)
            self.messages.append(message)

        async def commit(snapshot: dict[str, Any]) -> None:
            size = snapshot_size(snapshot)
            assert size <= 5120, size
            self.max_snapshot = max(self.max_snapshot, size)
            self.snapshot = json.loads(json.dumps(snapshot))
            self.commits += 1

        try:
            return await poller.run(self.api.fetch_pages, emit, commit)
        except Crash:
            return None

    def record_versions(self) -> list[tuple[Any, str]]:
        return [(rid, v) for m in self.messages for rid, v, _ in record_message_ids(m, self.options)]
