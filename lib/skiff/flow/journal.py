"""The durable journal of an embedded flow run: every message between steps, snapshots, failures.

One SQLite file per flow (WAL mode). A row of ``messages`` is one message at one step:

=========  ===============================================================================
status     meaning
=========  ===============================================================================
pending    waiting for its step (``available_at`` delays a retry)
running    its step is being called (``doubt`` after a crash, or ``pending`` again when the
           step is idempotent)
done       the step ran; its outputs are rows at the next step (or at ``$end``)
failed     the step failed for good; body and error kept for ``errors`` and ``replay``
doubt      the step may have acted when the process died: held until ``replay`` decides
filtered   ``when`` was false: the message stops here, deliberately
=========  ===============================================================================

A step's outputs and its own ``done`` are written in one transaction, and output ids are
derived from the input's id, so a message is never lost or doubled between steps; only the
call itself can be in doubt. The trigger's snapshot lives in the same file (the run layer's
SQLite store) and is committed only after the records before it are journaled.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

__all__ = ["END", "SCHEMA_VERSION", "Journal", "NewMessage", "Row", "StepCount", "StepTotals", "lock_journal"]

SCHEMA_VERSION = 1
END = "$end"  # the pseudo step after the last: the flow's results

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    id           TEXT PRIMARY KEY,  -- derived from the parent's id: a re-emit is the same row
    root         TEXT NOT NULL,     -- the trigger record this message descends from
    parent       TEXT,
    step         TEXT NOT NULL,     -- the step it waits at or went through ($end: a result)
    status       TEXT NOT NULL,
    body         TEXT NOT NULL,     -- JSON: the body as it arrived at the step
    passthrough  TEXT NOT NULL,     -- JSON: {step id: body} of the steps before
    item         INTEGER,           -- the index when a split made this message
    attempts     INTEGER NOT NULL DEFAULT 0,
    error_kind   TEXT,
    error        TEXT,
    detail       TEXT,              -- JSON: what the step produced (e.g. routed to, lookup found)
    available_at REAL NOT NULL,
    created_at   REAL NOT NULL,
    updated_at   REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_ready ON messages (status, available_at);
CREATE INDEX IF NOT EXISTS messages_root ON messages (root);
-- The trigger's snapshot: written by the run layer's SQLite store (skiff.state), same file.
CREATE TABLE IF NOT EXISTS snapshots (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS attachments (
    message TEXT NOT NULL,
    name    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    content BLOB NOT NULL,
    PRIMARY KEY (message, name)
);
"""


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


@dataclass(frozen=True, slots=True)
class Row:
    """One message at one step, as the journal holds it."""

    id: str
    root: str
    parent: str | None
    step: str
    status: str
    body: Any
    passthrough: dict[str, Any]
    item: int | None
    attempts: int
    error_kind: str | None
    error: str | None
    detail: Any
    available_at: float
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class StepCount:
    step: str
    status: str
    count: int


@dataclass(frozen=True, slots=True)
class StepTotals:
    """One step's messages as a person counts them (``skiff flow status`` and the studio)."""

    done: int
    in_flight: int
    failed: int
    in_doubt: int
    by_status: dict[str, int]

    DONE = ("done", "filtered", "split")
    IN_FLIGHT = ("pending", "running")
    FAILED = ("failed", "routed", "skipped")

    @classmethod
    def of(cls, by_status: dict[str, int]) -> StepTotals:
        def total(statuses: tuple[str, ...]) -> int:
            return sum(by_status.get(s, 0) for s in statuses)

        return cls(total(cls.DONE), total(cls.IN_FLIGHT), total(cls.FAILED), by_status.get("doubt", 0), dict(by_status))


def lock_journal(path: str | Path) -> IO[str]:
    """One runner per journal: an exclusive lock beside it, released by the OS if the process dies.

    Keep the returned handle open for the whole run; closing it releases the lock.
    """
    import fcntl

    from ..errors import ConfigError

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    handle = open(f"{path}.lock", "a+")  # noqa: SIM115  (held for the whole run)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise ConfigError(f"{path}: another skiff flow run is using this journal") from None
    return handle


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to insert: at ``step``, with its body and passthrough."""

    id: str
    root: str
    parent: str | None
    step: str
    body: Any
    passthrough: dict[str, Any]
    item: int | None = None
    status: str = "pending"
    detail: Any = None


_COLUMNS = (
    "id, root, parent, step, status, body, passthrough, item, attempts, error_kind, error, detail,"
    " available_at, created_at, updated_at"
)


def _row(values: Sequence[Any]) -> Row:
    return Row(
        id=values[0],
        root=values[1],
        parent=values[2],
        step=values[3],
        status=values[4],
        body=json.loads(values[5]),
        passthrough=json.loads(values[6]),
        item=values[7],
        attempts=values[8],
        error_kind=values[9],
        error=values[10],
        detail=json.loads(values[11]) if values[11] else None,
        available_at=values[12],
        created_at=values[13],
        updated_at=values[14],
    )


class Journal:
    """The journal file of one flow. Synchronous and short: each call is one small transaction."""

    def __init__(self, path: str | Path, *, flow: str, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        self._db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a killed process (not a power cut), at a fraction of FULL's cost.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        with self._tx():
            found = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
            if not found:
                self._db.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [("schema", str(SCHEMA_VERSION)), ("flow", flow)],
                )
            elif found.get("flow") != flow:
                from ..errors import ConfigError

                raise ConfigError(f"{self.path} is the journal of flow {found.get('flow')!r}, not of {flow!r}")

    def close(self) -> None:
        self._db.close()

    # ------------------------------------------------------------------ transactions

    def _tx(self) -> _Tx:
        return _Tx(self._db)

    # ------------------------------------------------------------------ writing

    def add(self, messages: Iterable[NewMessage]) -> int:
        """Insert new messages in one transaction; a repeated id is ignored. Returns how many were new."""
        now = self.clock()
        added = 0
        with self._tx():
            for m in messages:
                added += self._insert(m, now)
        return added

    def _insert(self, m: NewMessage, now: float) -> int:
        """One message (inside a transaction); 0 when its id is there already (a repeat)."""
        cur = self._db.execute(
            f"INSERT OR IGNORE INTO messages ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,0,NULL,NULL,?,?,?,?)",
            (
                m.id,
                m.root,
                m.parent,
                m.step,
                m.status,
                _dumps(m.body),
                _dumps(m.passthrough),
                m.item,
                _dumps(m.detail) if m.detail is not None else None,
                now,
                now,
                now,
            ),
        )
        return cur.rowcount

    def start(self, message_id: str) -> None:
        """Mark a message running: from here until :meth:`finish` its step may act."""
        now = self.clock()
        with self._tx():
            self._db.execute(
                "UPDATE messages SET status='running', attempts=attempts+1, updated_at=? WHERE id=?",
                (now, message_id),
            )

    def finish(
        self,
        message_id: str,
        *,
        status: str = "done",
        outputs: Iterable[NewMessage] = (),
        detail: Any = None,
        attachments: Iterable[tuple[str, str, str, bytes]] = (),
    ) -> None:
        """The step ran: its outputs and its own new status in one transaction."""
        now = self.clock()
        with self._tx():
            for m in outputs:
                self._insert(m, now)
            for owner, name, content_type, content in attachments:
                self._db.execute(
                    "INSERT OR REPLACE INTO attachments (message, name, content_type, content) VALUES (?,?,?,?)",
                    (owner, name, content_type, content),
                )
            self._db.execute(
                "UPDATE messages SET status=?, error_kind=NULL, error=NULL, detail=?, updated_at=? WHERE id=?",
                (status, _dumps(detail) if detail is not None else None, now, message_id),
            )

    def retry_later(self, message_id: str, *, delay: float, error_kind: str, error: str) -> None:
        now = self.clock()
        with self._tx():
            self._db.execute(
                "UPDATE messages SET status='pending', available_at=?, error_kind=?, error=?, updated_at=? WHERE id=?",
                (now + delay, error_kind, error, now, message_id),
            )

    def fail(
        self,
        message_id: str,
        *,
        error_kind: str,
        error: str,
        status: str = "failed",
        outputs: Iterable[NewMessage] = (),
    ) -> None:
        """The step failed for good (or is in doubt): keep the input and the error, and any routed output."""
        now = self.clock()
        with self._tx():
            for m in outputs:
                self._insert(m, now)
            self._db.execute(
                "UPDATE messages SET status=?, error_kind=?, error=?, updated_at=? WHERE id=?",
                (status, error_kind, error, now, message_id),
            )

    def recover(self, idempotent: Callable[[str], bool]) -> tuple[int, int]:
        """After a crash: running messages of idempotent steps go again; the others are held in doubt."""
        now = self.clock()
        retried = held = 0
        with self._tx():
            rows = self._db.execute("SELECT id, step FROM messages WHERE status='running'").fetchall()
            for message_id, step in rows:
                if idempotent(step):
                    self._db.execute(
                        "UPDATE messages SET status='pending', available_at=?, updated_at=? WHERE id=?",
                        (now, now, message_id),
                    )
                    retried += 1
                else:
                    self._db.execute(
                        "UPDATE messages SET status='doubt', error_kind='InDoubt', updated_at=?,"
                        " error='the process stopped while this step was running; it may have acted'"
                        " WHERE id=?",
                        (now, message_id),
                    )
                    held += 1
        return retried, held

    def requeue(self, ids: Sequence[str] | None = None) -> list[str]:
        """``replay``: failed and in-doubt messages (all, or these ids) become pending again."""
        now = self.clock()
        with self._tx():
            if ids is None:
                rows = self._db.execute("SELECT id FROM messages WHERE status IN ('failed', 'doubt')").fetchall()
            else:
                rows = []
                for message_id in ids:
                    rows += self._db.execute(
                        "SELECT id FROM messages WHERE status IN ('failed', 'doubt') AND (id=? OR id LIKE ?)",
                        (message_id, f"{message_id}%"),
                    ).fetchall()
            found = sorted({r[0] for r in rows})
            for message_id in found:
                self._db.execute(
                    "UPDATE messages SET status='pending', attempts=0, available_at=?, updated_at=? WHERE id=?",
                    (now, now, message_id),
                )
        return found

    # ------------------------------------------------------------------ reading

    def ready(self, *, limit: int, exclude: set[str], now: float | None = None) -> list[Row]:
        """Pending messages whose time has come, later steps first (drain before taking more in)."""
        when = self.clock() if now is None else now
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM messages WHERE status='pending' AND available_at<=?"
            " ORDER BY available_at, created_at LIMIT ?",
            (when, limit + len(exclude)),
        ).fetchall()
        return [r for r in map(_row, rows) if r.id not in exclude][:limit]

    def next_due(self) -> float | None:
        row = self._db.execute("SELECT MIN(available_at) FROM messages WHERE status='pending'").fetchone()
        return float(row[0]) if row and row[0] is not None else None

    def get(self, message_id: str) -> Row | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM messages WHERE id=?", (message_id,)).fetchone()
        if row is None:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM messages WHERE id LIKE ? ORDER BY created_at LIMIT 2", (f"{message_id}%",)
            ).fetchall()
            return _row(row[0]) if len(row) == 1 else None
        return _row(row)

    def path_of(self, root: str) -> list[Row]:
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM messages WHERE root=? ORDER BY created_at, rowid", (root,)
        ).fetchall()
        return [_row(r) for r in rows]

    def counts(self) -> list[StepCount]:
        rows = self._db.execute("SELECT step, status, COUNT(*) FROM messages GROUP BY step, status").fetchall()
        return [StepCount(step, status, count) for step, status, count in rows]

    def totals(self) -> dict[str, StepTotals]:
        """Per step (and :data:`END`), its messages added up as ``skiff flow status`` shows them."""
        by_step: dict[str, dict[str, int]] = {}
        for c in self.counts():
            by_step.setdefault(c.step, {})[c.status] = c.count
        return {step: StepTotals.of(statuses) for step, statuses in by_step.items()}

    def rows(self, *, statuses: Sequence[str] = (), step: str | None = None) -> list[Row]:
        sql = f"SELECT {_COLUMNS} FROM messages WHERE 1=1"
        args: list[Any] = []
        if statuses:
            sql += f" AND status IN ({','.join('?' for _ in statuses)})"
            args += list(statuses)
        if step is not None:
            sql += " AND step=?"
            args.append(step)
        sql += " ORDER BY created_at, rowid"
        return [_row(r) for r in self._db.execute(sql, args).fetchall()]

    def attachment(self, message_id: str, name: str) -> tuple[str, bytes] | None:
        row = self._db.execute(
            "SELECT content_type, content FROM attachments WHERE message=? AND name=?", (message_id, name)
        ).fetchone()
        return (str(row[0]), bytes(row[1])) if row else None


class _Tx:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (or ``ROLLBACK`` on error) on an autocommit connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
