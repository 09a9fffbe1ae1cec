"""Cursor state and its snapshot form.

A snapshot is a claim about what was emitted, and the engine only writes true claims:

- ``{"kind": "timestamp"|"id", "cursor": C, "ids": [...]}``: every record with a cursor
  before C was emitted, and so was every record at C whose id is listed. Runs of consecutive
  integer ids are stored as ``[first, last]``. When the ids do not all fit the byte budget a
  subset is stored: still true, and the records left out are emitted again (same ids).
- ``{"kind": "seen", "digest": base64}``: 48-bit hashes of (id, version) of the records seen.

Why no ``(timestamp, last id)`` compound cursor: records updated later within the boundary
timestamp keep their old, smaller ids, so "every id up to N" would hide them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

from skiff.errors import ConfigError
from skiff.polling.keys import EPOCH, Key, format_timestamp, id_key, timestamp_key
from skiff.polling.options import PollOptions, Query

__all__ = ["Frontier", "SeenDigest", "decode_ids", "encode_ids", "seen_hash", "snapshot_size"]

VERSION: Final = 1
_HASH_BYTES: Final = 6  # 48 bits: 8 base64 characters per record
_EPOCH_TEXT: Final = "1970-01-01T00:00:00Z"


def snapshot_size(snapshot: Mapping[str, Any]) -> int:
    """Bytes of the compact JSON form (what a store keeps)."""
    return len(json.dumps(snapshot, separators=(",", ":"), ensure_ascii=False).encode())


def _check_kind(snapshot: Mapping[str, Any], options: PollOptions) -> None:
    kind = snapshot.get("kind")
    if kind != options.cursor_kind:
        raise ConfigError(
            f"the snapshot was written for cursorKind {kind!r} but the trigger uses "
            f"{options.cursor_kind!r}; delete the snapshot to start over"
        )


def encode_ids(raw_ids: Iterable[Any]) -> list[Any]:
    """Ids in key order, with runs of consecutive integers as ``[first, last]``."""
    out: list[Any] = []
    first = last = None

    def flush() -> None:
        if first is None or last is None:
            return
        if last - first >= 2:
            out.append([first, last])
        else:
            out.extend(range(first, last + 1))

    for raw in raw_ids:
        if type(raw) is int:
            if last is not None and raw == last + 1:
                last = raw
                continue
            flush()
            first = last = raw
        else:
            flush()
            first = last = None
            out.append(raw)
    flush()
    return out


def decode_ids(items: Iterable[Any]) -> Iterable[Any]:
    for item in items:
        if isinstance(item, list):
            first, last = item
            if type(first) is not int or type(last) is not int or last < first:
                raise ValueError(f"bad id range {item!r}")
            yield from range(first, last + 1)
        else:
            yield item


@dataclass(slots=True)
class Frontier:
    """How far a timestamp or id cursor got: the key, its raw value and the ids emitted at it."""

    kind: str
    unique: bool  # id cursor on the id field itself: one record per cursor value
    key: Key | None = None
    raw: Any = None
    ids: dict[Key, Any] = field(default_factory=dict)  # id key -> raw id, at ``key``
    # Unordered reads: records emitted with a cursor past ``cap``, which the cursor may not
    # pass yet (a change made during the poll could still precede them); (cursor, id) -> raws.
    ahead: dict[tuple[Key, Key], tuple[Any, Any]] = field(default_factory=dict)
    cap: Key | None = field(default=None, compare=False)  # not persisted: how far this poll may move ``key``

    @classmethod
    def load(cls, snapshot: Mapping[str, Any] | None, options: PollOptions) -> Frontier:
        unique = options.cursor_kind == "id" and options.cursor_field == options.id_field
        state = cls(kind=options.cursor_kind, unique=unique)
        if snapshot:
            _check_kind(snapshot, options)
        # Without a cursor (an unsorted poll's resume point before anything moved it): the start.
        if not snapshot or "cursor" not in snapshot:
            if options.cursor_kind == "timestamp":
                start = options.start_key
                state.key = start if start is not None else (0, 0, "")
                state.raw = options.start_time if start is not None else _EPOCH_TEXT
            return state
        try:
            state.raw = snapshot["cursor"]
            state.key = timestamp_key(state.raw) if state.kind == "timestamp" else id_key(state.raw)
            for raw_id in decode_ids(snapshot.get("ids") or ()):
                state.ids[id_key(raw_id)] = raw_id
            for raw_cursor, raw_id in snapshot.get("ahead") or ():
                state.ahead[(state.cursor_key(raw_cursor), id_key(raw_id))] = (raw_cursor, raw_id)
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"the polling snapshot is malformed ({exc}); delete it to start over") from None
        return state

    def cursor_key(self, raw: Any) -> Key:
        return timestamp_key(raw) if self.kind == "timestamp" else id_key(raw)

    def copy(self) -> Frontier:
        return Frontier(self.kind, self.unique, self.key, self.raw, dict(self.ids), dict(self.ahead), self.cap)

    # ------------------------------------------------------------ coverage

    def at_boundary(self, ckey: Key, ikey: Key) -> bool:
        """Was this record (cursor == the frontier's) already emitted?"""
        return ckey == self.key and (self.unique or ikey in self.ids)

    def covers(self, ckey: Key, ikey: Key) -> bool:
        if (ckey, ikey) in self.ahead:
            return True
        return self.key is not None and (ckey < self.key or self.at_boundary(ckey, ikey))

    def advance(self, ckey: Key, ikey: Key, raw_cursor: Any, raw_id: Any) -> bool:
        """Move past an emitted record; False if it lies behind the frontier (out of order)."""
        if self.cap is not None and ckey > self.cap:
            self.ahead[(ckey, ikey)] = (raw_cursor, raw_id)
            return True
        if self.key is None or ckey > self.key:
            self.key, self.raw = ckey, raw_cursor
            self.ids = {} if self.unique else {ikey: raw_id}
            return True
        if ckey == self.key:
            if not self.unique:
                self.ids[ikey] = raw_id
            return True
        return False

    # ------------------------------------------------------------ snapshot and query

    def to_snapshot(self, options: PollOptions) -> tuple[dict[str, Any] | None, bool]:
        """The snapshot (None before anything happened) and whether it lists every boundary id.

        A subset is a true claim too; the ids left out are emitted again next time.
        """
        if self.key is None and not self.ahead:
            return None, True
        snapshot: dict[str, Any] = {"v": VERSION, "kind": self.kind, "cursor": self.raw}
        if self.key is None:  # only records past the cap so far: ask from the start again
            snapshot["cursor"] = _EPOCH_TEXT if self.kind == "timestamp" else None
        ahead = [
            [raw_cursor, raw_id]
            for (ckey, _), (raw_cursor, raw_id) in sorted(self.ahead.items(), key=lambda item: item[0])
            if self.key is None or ckey > self.key
        ]
        ids = dict(self.ids)
        if not self.unique:
            # Records remembered past an earlier cap that the cursor has now reached: at the
            # cursor, they must be listed there (else the next poll emits them again).
            ids.update((ikey, raw_id) for (ckey, ikey), (_, raw_id) in self.ahead.items() if ckey == self.key)
        if (self.unique or not ids) and not ahead:
            return snapshot, True
        items = [] if self.unique else encode_ids(raw for _, raw in sorted(ids.items(), key=lambda item: item[0]))
        room = options.max_snapshot_bytes - snapshot_size({**snapshot, "ids": [], "ahead": []})
        kept, kept_ahead = 0, 0
        for item in items:
            cost = len(json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode()) + 1
            if cost > room:
                break
            room -= cost
            kept += 1
        if kept == len(items):
            # A record left out of ``ahead`` is emitted again next poll (same id): still true.
            for pair in ahead:
                cost = len(json.dumps(pair, separators=(",", ":"), ensure_ascii=False, default=str).encode()) + 1
                if cost > room:
                    break
                room -= cost
                kept_ahead += 1
        snapshot["ids"] = items[:kept]
        if ahead:
            snapshot["ahead"] = ahead[:kept_ahead]
        return snapshot, kept == len(items) and kept_ahead == len(ahead)

    def query(self, options: PollOptions) -> Query:
        since = until = None
        since_iso = until_iso = None
        if self.kind == "timestamp" and self.key is not None:
            since_iso = format_timestamp(self.key)
            since = EPOCH + timedelta(microseconds=self.key[1])
        end = options.end_key
        if end is not None:
            until_iso = format_timestamp(end)
            until = EPOCH + timedelta(microseconds=end[1])
        return Query(
            cursor_kind=options.cursor_kind,
            cursor_value=self.raw,
            since=since,
            since_iso=since_iso,
            until=until,
            until_iso=until_iso,
            page_size=options.page_size,
        )


# ---------------------------------------------------------------- "seen" digests


def seen_hash(ikey: Key, version: str) -> int:
    """48 bits of BLAKE2b over (id, version): what a ``seen`` snapshot remembers per record."""
    data = f"{ikey[0]}\x1f{ikey[1]}\x1f{ikey[2]}\x1f{version}".encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=_HASH_BYTES).digest(), "big")


@dataclass(slots=True)
class SeenDigest:
    """The (id, version) hashes a ``seen`` cursor remembers."""

    hashes: set[int] = field(default_factory=set)

    @classmethod
    def load(cls, snapshot: Mapping[str, Any] | None, options: PollOptions) -> SeenDigest:
        if not snapshot:
            return cls()
        _check_kind(snapshot, options)
        try:
            data = base64.b64decode(snapshot.get("digest") or "", validate=True)
        except (binascii.Error, TypeError, ValueError) as exc:
            raise ConfigError(f"the polling snapshot is malformed ({exc}); delete it to start over") from None
        if len(data) % _HASH_BYTES:
            raise ConfigError("the polling snapshot is malformed (digest length); delete it to start over")
        return cls({int.from_bytes(data[i : i + _HASH_BYTES], "big") for i in range(0, len(data), _HASH_BYTES)})

    @staticmethod
    def capacity(options: PollOptions) -> int:
        """How many records fit the byte budget (about 630 in 5 KB)."""
        overhead = snapshot_size({"v": VERSION, "kind": "seen", "digest": ""})
        return max(0, (options.max_snapshot_bytes - overhead) // (_HASH_BYTES * 4 // 3))

    @staticmethod
    def to_snapshot(hashes: Iterable[int], options: PollOptions) -> tuple[dict[str, Any], int]:
        """The snapshot of ``hashes`` and how many had to be left out to fit the budget.

        The smallest hashes are kept, so the choice is stable from poll to poll; a record left
        out is emitted again (with the same message id) on the next poll, never lost.
        """
        ordered = sorted(set(hashes))
        cap = SeenDigest.capacity(options)
        left_out = max(0, len(ordered) - cap)
        kept = ordered[:cap]
        digest = base64.b64encode(b"".join(h.to_bytes(_HASH_BYTES, "big") for h in kept)).decode()
        return {"v": VERSION, "kind": "seen", "digest": digest}, left_out
