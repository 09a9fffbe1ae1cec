"""The in-memory store of a sandbox: tables of JSON-like records with auto ids and a controllable clock.

Records are plain dicts so handlers can return them as JSON without conversion. ``get`` and
``list`` hand out the *stored* dicts (no copies: a 5,000-order sync must stay fast); change
them through :meth:`Table.update` so modification timestamps move.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["Clock", "Record", "Store", "Table", "iso"]

Record = dict[str, Any]


def iso(dt: datetime) -> str:
    """``2024-05-01T12:00:00.123Z``: UTC, milliseconds, a ``Z`` suffix."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


class Clock:
    """The sandbox's notion of "now": real UTC time plus an offset, or frozen.

    Tests advance it (``clock.advance(3600)``) to make records look old or new without sleeping;
    ``freeze`` gives several changes the same timestamp (polling boundary cases).
    """

    def __init__(self, frozen_at: datetime | None = None) -> None:
        self._offset = timedelta(0)
        self._frozen: datetime | None = frozen_at.astimezone(UTC) if frozen_at else None

    def now(self) -> datetime:
        if self._frozen is not None:
            return self._frozen
        return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> datetime:
        if self._frozen is not None:
            self._frozen += timedelta(seconds=seconds)
        else:
            self._offset += timedelta(seconds=seconds)
        return self.now()

    def freeze(self, at: datetime | None = None) -> datetime:
        self._frozen = (at or self.now()).astimezone(UTC)
        return self._frozen

    def unfreeze(self) -> datetime:
        if self._frozen is not None:
            # Continue from the frozen instant rather than jumping back to wall-clock time.
            self._offset = self._frozen - datetime.now(UTC)
            self._frozen = None
        return self.now()

    def set(self, at: datetime) -> datetime:
        if self._frozen is not None:
            self._frozen = at.astimezone(UTC)
        else:
            self._offset = at.astimezone(UTC) - datetime.now(UTC)
        return self.now()

    @property
    def frozen(self) -> bool:
        return self._frozen is not None

    def reset(self) -> None:
        self._offset = timedelta(0)
        self._frozen = None


class Table:
    """One resource: records keyed by id, kept in insertion order (ascending auto ids)."""

    def __init__(
        self,
        name: str,
        *,
        id_field: str = "id",
        start_id: int = 1,
        created_field: str | None = None,
        modified_field: str | None = None,
        clock: Clock | None = None,
        timestamp: Callable[[datetime], Any] = iso,
    ) -> None:
        self.name = name
        self.id_field = id_field
        self.start_id = start_id
        self.created_field = created_field
        self.modified_field = modified_field
        self.clock = clock or Clock()
        self.timestamp = timestamp
        self._rows: dict[Any, Record] = {}
        self._next = start_id
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[Record]:
        return iter(list(self._rows.values()))

    def __contains__(self, record_id: object) -> bool:
        return self._key(record_id) in self._rows

    @staticmethod
    def _key(record_id: object) -> Any:
        # Ids arrive as strings from paths and as ints from JSON: treat "12" and 12 alike.
        if isinstance(record_id, str) and record_id.lstrip("-").isdigit():
            return int(record_id)
        return record_id

    def next_id(self) -> int:
        with self._lock:
            value = self._next
            self._next += 1
            return value

    def now(self) -> Any:
        return self.timestamp(self.clock.now())

    def insert(self, record: Record) -> Record:
        """Store ``record`` (assigning the next id when it has none) and return it."""
        if record.get(self.id_field) is None:
            record[self.id_field] = self.next_id()
        else:
            key = self._key(record[self.id_field])
            if isinstance(key, int):
                with self._lock:
                    self._next = max(self._next, key + 1)
        stamp = None
        if self.created_field and record.get(self.created_field) is None:
            stamp = self.now()
            record[self.created_field] = stamp
        if self.modified_field and record.get(self.modified_field) is None:
            record[self.modified_field] = stamp if stamp is not None else self.now()
        self._rows[self._key(record[self.id_field])] = record
        return record

    def get(self, record_id: object) -> Record | None:
        return self._rows.get(self._key(record_id))

    def update(self, record_id: object, changes: Record | None = None, **fields: Any) -> Record | None:
        """Merge ``changes`` into the record and bump its modification time; None if unknown."""
        record = self._rows.get(self._key(record_id))
        if record is None:
            return None
        if changes:
            record.update(changes)
        if fields:
            record.update(fields)
        self.touch(record)
        return record

    def touch(self, record: Record) -> Record:
        """Bump the modification timestamp of a record changed in place."""
        if self.modified_field:
            record[self.modified_field] = self.now()
        return record

    def delete(self, record_id: object) -> Record | None:
        return self._rows.pop(self._key(record_id), None)

    def list(
        self,
        where: Callable[[Record], bool] | None = None,
        *,
        order_by: str | Callable[[Record], Any] | None = None,
        reverse: bool = False,
        **equals: Any,
    ) -> list[Record]:
        """Records matching ``where`` and every ``field=value`` in ``equals``, in id order by default."""
        rows: list[Record] = list(self._rows.values())
        if equals:
            rows = [r for r in rows if all(r.get(k) == v for k, v in equals.items())]
        if where is not None:
            rows = [r for r in rows if where(r)]
        if order_by is not None:
            key = order_by if callable(order_by) else (lambda r, f=order_by: r.get(f))
            rows.sort(key=key, reverse=reverse)
        elif reverse:
            rows.reverse()
        return rows

    def first(self, where: Callable[[Record], bool] | None = None, **equals: Any) -> Record | None:
        for row in self._rows.values():
            if all(row.get(k) == v for k, v in equals.items()) and (where is None or where(row)):
                return row
        return None

    def clear(self) -> None:
        self._rows.clear()
        self._next = self.start_id


class Store:
    """Named tables sharing one clock; ``reset`` empties them (the app then seeds again)."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self._tables: dict[str, Table] = {}

    def table(
        self,
        name: str,
        *,
        id_field: str = "id",
        start_id: int = 1,
        created_field: str | None = None,
        modified_field: str | None = None,
        timestamp: Callable[[datetime], Any] = iso,
    ) -> Table:
        """The table ``name``, created with these settings on first use."""
        table = self._tables.get(name)
        if table is None:
            table = Table(
                name,
                id_field=id_field,
                start_id=start_id,
                created_field=created_field,
                modified_field=modified_field,
                clock=self.clock,
                timestamp=timestamp,
            )
            self._tables[name] = table
        return table

    def __getitem__(self, name: str) -> Table:
        return self._tables[name]

    def __contains__(self, name: object) -> bool:
        return name in self._tables

    @property
    def tables(self) -> dict[str, Table]:
        return dict(self._tables)

    def counts(self) -> dict[str, int]:
        return {name: len(table) for name, table in self._tables.items()}

    def reset(self) -> None:
        for table in self._tables.values():
            table.clear()
