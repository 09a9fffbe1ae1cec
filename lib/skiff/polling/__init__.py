"""Polling triggers that neither lose nor duplicate a record.

The engine is independent of HTTP: it tells the caller where to read from (a :class:`Query`),
takes the pages the caller fetched, emits the new records in ascending (cursor, id) order
with deterministic message ids, and commits a snapshot only at points where every record
before it has been emitted::

    poller = Poller(PollOptions(cursor_field="updatedAt", component="shop", trigger="orders"), snapshot)
    result = await poller.run(fetch_pages, emit, commit)

Guarantees (at-least-once delivery + deterministic ids = effectively exactly once):

- Every record version the API returns is emitted at least once; a crash between ``emit``
  and ``commit`` re-emits the records after the last commit with the same message ids,
  ``deterministic_id(component, trigger, record id, version)``. The version is the cursor
  value (or ``version_field``; for ``seen``, a hash of the record), so an update is a new id.
- ``timestamp`` cursors ask ``>= cursor``, drop what lies before it, and keep the ids emitted
  at the boundary timestamp so equal timestamps neither repeat nor get lost, including records
  updated later within that same timestamp. Ids are stored exactly, runs of consecutive
  integers as ``[first, last]`` (1,000 sequential ids take a few bytes). Only when the ids at
  the newest timestamp exceed the 5 KB budget (about 600 scattered integer or 130 UUID ids) is
  a subset stored; the records left out are emitted again (same ids) on each poll until newer
  records arrive. A poll never stops early (page bound) at such a point, so it cannot livelock.
- ``id`` cursors: ids that only grow (append-only data; updates are not seen).
- ``seen``: for APIs without a filter. Every poll reads everything and remembers 48-bit hashes
  of (id, version), about 630 records in 5 KB. Beyond that the records left out are emitted
  again on every poll (same ids); a hash collision (about n/2^48 per new version) would hide
  a new version. Raise ``max_snapshot_bytes`` where the store allows it (SQLite, Redis, Postgres).

- A change that keeps the cursor value (an update within the same second, with a timestamp
  of one-second precision) is invisible to ``timestamp`` and ``id`` cursors; ``version_field``
  there only names the version in message ids. ``seen`` compares whole records (or
  ``version_field``) and so sees every change, at the cost of reading everything.
- ``emitPage``/``fetchAll`` messages get an id derived from their records' ids: a page emitted
  again with the same records has the same id; after a crash the records may be grouped into
  pages differently, so downstream dedupe per record is only possible with ``emitIndividually``.

What the API must do: filter inclusively by the cursor and return records sorted ascending by
it across pages (ties in any order), and set a record's cursor when the record becomes visible
(a record that appears later with a cursor older than the snapshot is not seen). A record out
of order is still emitted if it comes within the same request (counted as ``out_of_order``,
warned); use ``order="any"`` for APIs that cannot sort (the poll then reads all its pages
before emitting, memory growing with them; or, with ``resume`` and pages that say where the
listing goes on, emits page by page and a failed poll is continued by the next one:
:mod:`skiff.polling.resume`).

Records that change while a poll pages through them: with ``requery`` (the default when a
``cursorParam`` exists) every page that emitted something is followed by a new request from
the new cursor, so an update or delete that shifts offsets cannot skip a record. Only where
a poll reads on by offset, past a page made entirely of records already emitted (equal
timestamps filling a page), can such a shift still skip one; larger pages or finer
timestamps make that rare. Without ``requery`` every poll is one offset scan.
"""

from __future__ import annotations

from skiff.polling.engine import Commit, Emit, FetchPages, Poller, PollResult, poll, record_version
from skiff.polling.keys import parse_timestamp
from skiff.polling.options import SNAPSHOT_LIMIT, CursorKind, PollOptions, Query
from skiff.polling.resume import PageAt
from skiff.polling.state import snapshot_size

__all__ = [
    "SNAPSHOT_LIMIT",
    "Commit",
    "CursorKind",
    "Emit",
    "FetchPages",
    "PageAt",
    "PollOptions",
    "PollResult",
    "Poller",
    "Query",
    "parse_timestamp",
    "poll",
    "record_version",
    "snapshot_size",
]
