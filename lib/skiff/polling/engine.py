"""The polling engine: which records to emit, in which order, and when the snapshot may move."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from skiff.dotpath import MISSING, get_path
from skiff.errors import ApiError
from skiff.message import Message, deterministic_id, page_body
from skiff.polling.keys import EPOCH as _EPOCH
from skiff.polling.keys import Key, format_timestamp, id_key, timestamp_key
from skiff.polling.options import PollOptions, Query
from skiff.polling.resume import PageAt, ResumePoint, window_of
from skiff.polling.state import VERSION, Frontier, SeenDigest, seen_hash, snapshot_size

__all__ = ["Commit", "Emit", "FetchPages", "PollResult", "Poller", "poll", "record_version"]

Page = Sequence[Mapping[str, Any]]
FetchPages = Callable[[Query], AsyncIterable[Page | PageAt]]
Emit = Callable[[Message], Awaitable[None]]
Commit = Callable[[dict[str, Any]], Awaitable[None]]

_FALLBACK_CHUNK = 100  # records per commit when order="any" and no page size is known
_REREADS = 2  # verify_listing: reads of a listing that changed while paged, before giving up


@dataclass(slots=True)
class PollResult:
    """What one poll did."""

    emitted: int = 0  # records emitted
    messages: int = 0  # messages emitted (a page counts once with emitPage/fetchAll)
    pages_emitted: int = 0  # emitPage messages so far (their "page" numbers)
    pages: int = 0  # pages read
    requests: int = 0  # calls of fetch_pages (a new query from the cursor)
    dropped: int = 0  # records skipped because they were emitted before
    out_of_order: int = 0  # records behind the cursor within one request (emitted anyway)
    beyond_end: int = 0  # records after endTime, left for later
    commits: int = 0  # snapshots handed to ``commit``
    left_out: int = 0  # seen: records the digest had no room for (emitted again next poll)
    complete: bool = False  # read to the end of the results (False: stopped at the page bound)
    resumed: bool = False  # order any: continued from where an earlier poll stopped
    rereads: int = 0  # verify_listing: passes read again because the listing changed meanwhile
    unsettled: bool = False  # verify_listing: it kept changing; the cursor did not move
    dry_run: bool = False
    snapshot: dict[str, Any] | None = None  # the last committed one (dry run: would-be)


@dataclass(slots=True)
class _Rec:
    body: Mapping[str, Any]
    ckey: Key
    ikey: Key
    raw_cursor: Any
    raw_id: Any
    version: str
    seen: int = 0


def record_version(record: Mapping[str, Any]) -> str:
    """A stable hash of a record's content (the version of a ``seen`` record without versionField)."""
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _records(page: Page | PageAt) -> Page:
    return page.records if isinstance(page, PageAt) else page


async def _aclose(iterable: Any) -> None:
    close = getattr(iterable, "aclose", None)
    if close is not None:
        await close()


class Poller:
    """Runs one poll of a trigger from a snapshot.

    ``fetch_pages(query)`` requests the records from ``query["cursor_value"]`` on (inclusive,
    ascending) and yields their pages; it may be called more than once per poll (see
    ``PollOptions.requery``) and an iterator may be abandoned after any page. ``emit`` must
    return only once the message is durably handed on; ``commit`` persists the snapshot. A
    crash anywhere re-emits at most the records after the last commit, with the same ids.
    """

    def __init__(self, options: PollOptions, snapshot: Mapping[str, Any] | None = None) -> None:
        self.options = options
        self._snapshot: dict[str, Any] | None = dict(snapshot) if snapshot else None
        self._seen = SeenDigest()
        self._frontier = Frontier(kind=options.cursor_kind, unique=False)
        # Load now so that a malformed or mismatched snapshot fails before any request.
        self._load(self._snapshot)
        self._log = options.log
        self._warned: set[str] = set()

    def _load(self, snapshot: Mapping[str, Any] | None) -> None:
        if self.options.cursor_kind == "seen":
            self._seen = SeenDigest.load(snapshot, self.options)
        else:
            self._frontier = Frontier.load(snapshot, self.options)

    @property
    def snapshot(self) -> dict[str, Any] | None:
        """The last snapshot committed (or, in a dry run, that would have been)."""
        return self._snapshot

    def message_id(self, raw_id: Any, version: str) -> str:
        return deterministic_id(self.options.component, self.options.trigger, raw_id, version)

    async def run(self, fetch_pages: FetchPages, emit: Emit, commit: Commit) -> PollResult:
        result = PollResult(dry_run=self.options.dry_run, snapshot=self._snapshot)
        self._warned.clear()
        try:
            if self.options.cursor_kind == "seen":
                await self._run_seen(fetch_pages, emit, commit, result)
            elif self.options.order == "any" and self.options.resume and self.options.emit_behavior != "fetchAll":
                await self._run_resumable(fetch_pages, emit, commit, result)
            elif self.options.order == "any":
                await self._run_unordered(fetch_pages, emit, commit, result)
            else:
                await self._run_ascending(fetch_pages, emit, commit, result)
        except BaseException:
            # Resume from what was committed: the records after it are emitted again.
            self._load(self._snapshot)
            raise
        result.snapshot = self._snapshot
        return result

    # ------------------------------------------------------------ records

    def _prepare(self, page: Page | PageAt, page_no: int) -> list[_Rec]:
        """Check every record of a page before any is emitted, then sort by (cursor, id)."""
        o = self.options
        if isinstance(page, PageAt):
            page = page.records
        if isinstance(page, Mapping | str | bytes):
            raise ApiError(f"page {page_no} is not a list of records ({type(page).__name__})")
        recs: list[_Rec] = []
        for index, body in enumerate(page):
            where = f"record at index {index} on page {page_no}"
            if not isinstance(body, Mapping):
                raise ApiError(f"{where} is not an object: {_short(body)}")
            raw_id = get_path(body, o.id_field, MISSING)
            if raw_id is MISSING or raw_id is None or raw_id == "":
                raise ApiError(f"{where} has no id field {o.id_field!r}")
            ikey = id_key(raw_id)
            version_raw = MISSING
            if o.version_field:
                version_raw = get_path(body, o.version_field, MISSING)
                if version_raw is MISSING or version_raw is None:
                    raise ApiError(f"{where} (id {_short(raw_id)}) has no version field {o.version_field!r}")
            if o.cursor_kind == "seen":
                version = record_version(body) if version_raw is MISSING else str(version_raw)
                recs.append(_Rec(body, ikey, ikey, None, raw_id, version, seen_hash(ikey, version)))
                continue
            assert o.cursor_field is not None
            raw_cursor = get_path(body, o.cursor_field, MISSING)
            if raw_cursor is MISSING or raw_cursor is None or raw_cursor == "":
                raise ApiError(f"{where} (id {_short(raw_id)}) has no cursor field {o.cursor_field!r}")
            if o.cursor_kind == "timestamp":
                try:
                    ckey = timestamp_key(raw_cursor)
                except (ValueError, OverflowError):
                    raise ApiError(
                        f"{where} (id {_short(raw_id)}): cursor field {o.cursor_field!r} "
                        f"is not a timestamp: {_short(raw_cursor)}"
                    ) from None
                default_version = format_timestamp(ckey)
            else:
                ckey = id_key(raw_cursor)
                default_version = str(raw_cursor)
            version = default_version if version_raw is MISSING else str(version_raw)
            recs.append(_Rec(body, ckey, ikey, raw_cursor, raw_id, version))
        recs.sort(key=lambda r: (r.ckey, r.ikey))
        return recs

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self._log.warning("%s", message)

    # ------------------------------------------------------------ emitting and committing

    async def _emit(self, recs: list[_Rec], emit: Emit, result: PollResult) -> None:
        """One message per record, or one for the whole list (emitPage, fetchAll)."""
        if self.options.emit_behavior == "emitIndividually":
            for rec in recs:
                await emit(Message(body=rec.body, id=self.message_id(rec.raw_id, rec.version)))
                result.emitted += 1
                result.messages += 1
            return
        ids = "\x1e".join(self.message_id(r.raw_id, r.version) for r in recs)
        digest = hashlib.sha256(ids.encode()).hexdigest()
        page_id = deterministic_id(self.options.component, self.options.trigger, "page", digest)
        page = None
        if self.options.emit_behavior == "emitPage":
            result.pages_emitted += 1
            page = result.pages_emitted
        await emit(Message(body=page_body([r.body for r in recs], page), id=page_id))
        result.emitted += len(recs)
        result.messages += 1

    async def _commit(self, snapshot: dict[str, Any] | None, commit: Commit, result: PollResult) -> None:
        """Persist ``snapshot`` unless it is the one already persisted."""
        if snapshot is None or snapshot == self._snapshot:
            return
        if not self.options.dry_run:
            await commit(snapshot)
            result.commits += 1
        self._snapshot = snapshot

    async def _flush(
        self,
        new: list[_Rec],
        frontier: Frontier,
        emit: Emit,
        commit: Commit,
        result: PollResult,
        pending: list[_Rec],
    ) -> bool:
        """Emit the new records of a page, advance ``frontier`` and commit.

        True when the snapshot lists every id at the boundary: only there may a poll stop early
        or ask again from the cursor without emitting the records left out again.
        """
        o = self.options
        if o.emit_behavior == "fetchAll":
            pending.extend(new)
            for rec in new:
                frontier.advance(rec.ckey, rec.ikey, rec.raw_cursor, rec.raw_id)
            return frontier.to_snapshot(o)[1]
        if o.emit_behavior == "emitIndividually" and o.commit_every == "record":
            for rec in new:
                await self._emit([rec], emit, result)
                frontier.advance(rec.ckey, rec.ikey, rec.raw_cursor, rec.raw_id)
                await self._commit(frontier.to_snapshot(o)[0], commit, result)
        else:
            await self._emit(new, emit, result)
            for rec in new:
                frontier.advance(rec.ckey, rec.ikey, rec.raw_cursor, rec.raw_id)
        snapshot, exact = frontier.to_snapshot(o)
        await self._commit(snapshot, commit, result)
        return exact

    def _select(
        self, recs: list[_Rec], asked: Frontier, probe: Frontier, end: Key | None, result: PollResult
    ) -> tuple[list[_Rec], bool]:
        """The records not emitted before, and whether any lies after endTime.

        ``asked`` is the state the request was made from (everything it covers was emitted);
        ``probe`` runs ahead through this request's records to drop repeats at the boundary.
        """
        new: list[_Rec] = []
        beyond = False
        for rec in recs:
            if end is not None and rec.ckey > end:
                result.beyond_end += 1
                beyond = True
                continue
            if asked.covers(rec.ckey, rec.ikey) or probe.at_boundary(rec.ckey, rec.ikey):
                result.dropped += 1
                continue
            if not probe.advance(rec.ckey, rec.ikey, rec.raw_cursor, rec.raw_id):
                # Behind the cursor within one request: emitting it is safe (same id if a
                # repeat); dropping it could lose it.
                result.out_of_order += 1
                self._warn_once(
                    "order",
                    "polling: the API returned records out of cursor order across pages; ask it to "
                    "sort ascending by the cursor, or set order='any'",
                )
            new.append(rec)
        return new, beyond

    def _requery_ok(self, frontier: Frontier, page_len: int) -> bool:
        o = self.options
        # Asking again re-reads the records at the boundary: only worth it while they are few.
        if not o.requery or len(frontier.ids) > (o.page_size or _FALLBACK_CHUNK):
            return False
        # A short page is the last one: the next request would return nothing new.
        return o.page_size is None or page_len >= o.page_size

    async def _finish(
        self, frontier: Frontier, pending: list[_Rec], emit: Emit, commit: Commit, result: PollResult
    ) -> None:
        if pending:
            await self._emit(pending, emit, result)
        if frontier != self._frontier:  # a first run that found nothing writes no snapshot
            snapshot, exact = frontier.to_snapshot(self.options)
            await self._commit(snapshot, commit, result)
            if not exact:
                self._warn_once(
                    "overflow",
                    f"polling: {len(frontier.ids)} records share the cursor value {_short(frontier.raw)}, "
                    f"more ids than fit {self.options.max_snapshot_bytes} bytes; the ones left out are "
                    "emitted again (same message ids) until newer records arrive",
                )
        self._frontier = frontier

    # ------------------------------------------------------------ timestamp and id cursors

    async def _run_ascending(self, fetch_pages: FetchPages, emit: Emit, commit: Commit, result: PollResult) -> None:
        o = self.options
        frontier = self._frontier.copy()
        end, bound = o.end_key, o.page_bound
        points = 0  # pages with new records that ended at a commit point
        pending: list[_Rec] = []
        done = False
        while not done:
            asked = frontier.copy()
            iterator = fetch_pages(asked.query(o))
            result.requests += 1
            requery = False
            try:
                async for page in iterator:
                    result.pages += 1
                    recs = self._prepare(page, result.pages)
                    new, beyond = self._select(recs, asked, frontier.copy(), end, result)
                    if new and await self._flush(new, frontier, emit, commit, result, pending):
                        points += 1
                        last = o.page_size is not None and len(_records(page)) < o.page_size
                        if bound is not None and points >= bound and not beyond and not last:
                            break  # bounded work: the rest waits for the next poll
                        requery = not beyond and self._requery_ok(frontier, len(_records(page)))
                        if requery:
                            break
                    if beyond:  # sorted ascending: everything after is beyond endTime too
                        result.complete = True
                        break
                else:
                    result.complete = True
            finally:
                await _aclose(iterator)
            done = not requery
        await self._finish(frontier, pending, emit, commit, result)

    async def _run_unordered(self, fetch_pages: FetchPages, emit: Emit, commit: Commit, result: PollResult) -> None:
        """Read every page, sort the new records, then emit them in chunks with commits between."""
        o = self.options
        frontier = self._frontier.copy()
        if o.cursor_kind == "timestamp":
            # The pages are read one after another: a record on an early page may change (and
            # move past the cursor) before the last page is read. The cursor may pass only
            # what no later change can precede; the records after that are remembered by id.
            frontier.cap = timestamp_key(o.now() - timedelta(seconds=o.clock_skew))
        asked = frontier.copy()
        end = o.end_key
        query = asked.query(o)
        verify = o.verify_listing and o.cursor_kind == "timestamp" and frontier.cap is not None
        if verify:
            assert frontier.cap is not None
            # Ask only up to the cap: a record enters this listing only by a change, and a change
            # made from now on is past the cap, so while the poll pages records can only leave.
            end = frontier.cap if end is None else min(end, frontier.cap)
            query["until_iso"] = format_timestamp(end)
            query["until"] = _EPOCH + timedelta(microseconds=end[1])
        found: dict[tuple[Key, Key], _Rec] = {}
        chunk = o.page_size
        while True:
            totals: list[int | None] = []
            first_len = 0
            iterator = fetch_pages(query)
            result.requests += 1
            try:
                async for page in iterator:
                    result.pages += 1
                    totals.append(page.total if isinstance(page, PageAt) else None)
                    if len(totals) == 1:
                        first_len = len(_records(page))
                    if chunk is None and len(_records(page)):
                        chunk = len(_records(page))
                    for rec in self._prepare(page, result.pages):
                        if end is not None and rec.ckey > end:
                            result.beyond_end += 1
                        elif asked.covers(rec.ckey, rec.ikey) or (rec.ckey, rec.ikey) in found:
                            result.dropped += 1
                        else:
                            found[(rec.ckey, rec.ikey)] = rec
            finally:
                await _aclose(iterator)
            if not verify or await self._settled(fetch_pages, query, totals, first_len, result):
                break
            if result.rereads >= _REREADS:
                # Still changing: whatever moved is found by the next poll, from the same cursor;
                # what this one emits is remembered by (cursor, id) as far as the snapshot holds.
                result.unsettled = True
                frontier.cap = asked.key
                self._warn_once(
                    "unsettled",
                    f"polling: the listing changed while it was paged ({result.rereads + 1} reads); "
                    "the cursor stays where it was until a read finds it unchanged",
                )
                break
            result.rereads += 1
        recs = [found[k] for k in sorted(found)]
        del found
        size = chunk or _FALLBACK_CHUNK
        pending: list[_Rec] = []
        points, bound = 0, o.page_bound
        result.complete = True
        for start in range(0, len(recs), size):
            new, _ = self._select(recs[start : start + size], asked, frontier.copy(), None, result)
            if new and await self._flush(new, frontier, emit, commit, result, pending):
                points += 1
                if bound is not None and points >= bound and start + size < len(recs):
                    result.complete = False
                    break
        await self._finish(frontier, pending, emit, commit, result)

    async def _settled(
        self, fetch_pages: FetchPages, query: Query, totals: list[int | None], first_len: int, result: PollResult
    ) -> bool:
        """Whether a listing that can only shrink kept its total from the first page read to
        after the last one: then nothing left it, so no record moved onto a page already read.

        The total after the last page comes from one more request (a last page that came back
        empty is never seen, and its total would be the one that changed).
        """
        if not totals or (len(totals) == 1 and totals[0] is not None and first_len >= totals[0]):
            return True  # nothing, or everything in one answer
        if None in totals or len(set(totals)) > 1:
            return False
        iterator = fetch_pages(query)
        result.requests += 1
        after: int | None = 0  # no page at all: the listing is empty now
        try:
            async for page in iterator:
                result.pages += 1
                after = page.total if isinstance(page, PageAt) else None
                break
        finally:
            await _aclose(iterator)
        return after == totals[0]

    def _with_resume(self, base: Frontier, point: ResumePoint) -> tuple[dict[str, Any] | None, bool]:
        """The cursor as it was before the poll, plus ``point`` as far as it fits; and whether
        the point was stored with every record of the page it would read again."""
        o = self.options
        snapshot, _ = base.to_snapshot(o)
        if snapshot is None:
            snapshot = {"v": VERSION, "kind": o.cursor_kind}
        resume, whole = point.to_json(o.max_snapshot_bytes - snapshot_size({**snapshot, "resume": {}}))
        if resume is None:  # the cursor's ids fill the budget: the next poll reads from the start
            return (self._snapshot if self._snapshot and "resume" not in self._snapshot else None), False
        return {**snapshot, "resume": resume}, whole

    async def _run_resumable(self, fetch_pages: FetchPages, emit: Emit, commit: Commit, result: PollResult) -> None:
        """order any, resumable: emit page by page; the cursor moves when the last page is read.

        Until then the snapshot keeps the cursor the poll asked from and a resume point (where to
        read on, what this poll emitted), so a failed poll is continued by the next one.
        """
        o = self.options
        base = self._frontier.copy()
        query = base.query(o)
        window = window_of(query)
        point = ResumePoint.load(self._snapshot, o, window)
        if point is None:
            point = ResumePoint.fresh(window, o.now(), o)
        elif point.at is not None:
            result.resumed = True
            # Counted before asking: a position the API refuses fails a bounded number of polls.
            point.tries += 1
            await self._commit(self._with_resume(base, point)[0], commit, result)
        base.cap = point.cap
        known = point.emitted()
        end = o.end_key
        bound, points = o.page_bound, 0
        query["start"] = point.at
        iterator = fetch_pages(query)
        result.requests += 1
        per_record = o.emit_behavior == "emitIndividually" and o.commit_every == "record"
        try:
            async for page in iterator:
                records, after = (page.records, page.after) if isinstance(page, PageAt) else (page, None)
                last = isinstance(page, PageAt) and after is None
                result.pages += 1
                new: list[_Rec] = []
                for rec in self._prepare(records, result.pages):
                    pair = (rec.ckey, rec.ikey)
                    if end is not None and rec.ckey > end:
                        result.beyond_end += 1
                    elif base.covers(*pair) or pair in known:
                        result.dropped += 1
                    else:
                        known.add(pair)
                        new.append(rec)
                if per_record:
                    for rec in new:
                        await self._emit([rec], emit, result)
                        point.record(rec.ckey, rec.ikey, rec.raw_cursor, rec.raw_id)
                        await self._commit(self._with_resume(base, point)[0], commit, result)
                elif new:
                    await self._emit(new, emit, result)
                    for rec in new:
                        point.record(rec.ckey, rec.ikey, rec.raw_cursor, rec.raw_id)
                if last:
                    continue  # the cursor is committed next
                if isinstance(page, PageAt):
                    point.page_done(after)
                snapshot, whole = self._with_resume(base, point)
                await self._commit(snapshot, commit, result)
                if new:
                    points += 1
                    # Stop early only at a stored position: else the next poll would start over.
                    if bound is not None and points >= bound and whole and isinstance(page, PageAt):
                        break
            else:
                result.complete = True
        finally:
            await _aclose(iterator)
        if not result.complete:
            return
        final = self._frontier.copy()
        final.cap = point.cap
        point.fold_into(final)
        if final != self._frontier or (self._snapshot and "resume" in self._snapshot):
            snapshot, exact = final.to_snapshot(o)
            await self._commit(snapshot or {"v": VERSION, "kind": o.cursor_kind}, commit, result)
            if not exact:
                self._warn_once(
                    "overflow",
                    f"polling: more records at the cursor or past the poll's start than fit "
                    f"{o.max_snapshot_bytes} bytes; the ones left out are emitted again (same message ids)",
                )
        self._frontier = final

    # ------------------------------------------------------------ seen

    async def _run_seen(self, fetch_pages: FetchPages, emit: Emit, commit: Commit, result: PollResult) -> None:
        o = self.options
        old = self._seen.hashes
        run: set[int] = set()  # hashes the digest may hold: emitted, or seen again
        taken: set[int] = set()  # new in this poll (emitted or queued for fetchAll)
        capacity = SeenDigest.capacity(o)
        bound, points = o.page_bound, 0
        pending: list[_Rec] = []
        query = Query(
            cursor_kind="seen",
            cursor_value=None,
            since=None,
            since_iso=None,
            until=None,
            until_iso=None,
            page_size=o.page_size,
        )

        def snapshot(final: bool) -> dict[str, Any]:
            snap, left_out = SeenDigest.to_snapshot(run if final else old | run, o)
            result.left_out = left_out
            return snap

        iterator = fetch_pages(query)
        result.requests += 1
        try:
            async for page in iterator:
                result.pages += 1
                new: list[_Rec] = []
                fresh: set[int] = set()
                for rec in self._prepare(page, result.pages):
                    if rec.seen in old or rec.seen in run or rec.seen in taken:
                        result.dropped += 1
                        if rec.seen in old:
                            run.add(rec.seen)  # still there, emitted before
                    else:
                        new.append(rec)
                        fresh.add(rec.seen)
                        taken.add(rec.seen)
                if not new:
                    continue
                # A hash enters the digest only once its record was emitted.
                if o.emit_behavior == "fetchAll":
                    pending.extend(new)
                elif o.emit_behavior == "emitIndividually" and o.commit_every == "record":
                    for rec in new:
                        await self._emit([rec], emit, result)
                        run.add(rec.seen)
                        await self._commit(snapshot(False), commit, result)
                else:
                    await self._emit(new, emit, result)
                    run |= fresh
                    await self._commit(snapshot(False), commit, result)
                points += 1
                # Stop early only when the digest holds everything emitted: otherwise the next
                # poll would stop at the same left-out record again and never get further.
                if bound is not None and points >= bound and len(old) + len(taken) <= capacity:
                    break
            else:
                result.complete = True
        finally:
            await _aclose(iterator)
        if pending:
            await self._emit(pending, emit, result)
            run.update(rec.seen for rec in pending)
        # A complete read forgets records that are gone; a partial one keeps the old digest too.
        if run or self._snapshot is not None:
            await self._commit(snapshot(result.complete), commit, result)
        if result.left_out:
            self._warn_once(
                "seen",
                f"polling: {result.left_out} records do not fit the {o.max_snapshot_bytes}-byte snapshot; "
                "they are emitted again (same message ids) every poll",
            )
        self._seen = SeenDigest(run if result.complete else old | run)


async def poll(
    options: PollOptions,
    snapshot: Mapping[str, Any] | None,
    fetch_pages: FetchPages,
    emit: Emit,
    commit: Commit,
) -> PollResult:
    """One poll: ``Poller(options, snapshot).run(fetch_pages, emit, commit)``."""
    return await Poller(options, snapshot).run(fetch_pages, emit, commit)
