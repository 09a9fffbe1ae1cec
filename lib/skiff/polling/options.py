"""What a polling trigger is configured with, and what the engine asks the API for."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Literal, NotRequired, TypedDict

from skiff.clock import SYSTEM_CLOCK
from skiff.errors import ConfigError
from skiff.polling.keys import Key, timestamp_key
from skiff.specs import EMIT_BEHAVIORS, EmitBehavior
from skiff.state.base import SNAPSHOT_LIMIT

if TYPE_CHECKING:
    from skiff.specs import PollingSpec

__all__ = ["CFG_OPTIONS", "SNAPSHOT_LIMIT", "CursorKind", "PollEmitBehavior", "PollOptions", "Query"]

# The cfg keys every polling trigger takes, declared as fields or not (elastic.io's names).
CFG_OPTIONS: Final = frozenset({"startTime", "endTime", "pageSize", "emitBehavior", "singlePagePerInterval"})

CursorKind = Literal["timestamp", "id", "seen"]
PollEmitBehavior = EmitBehavior  # one definition: skiff.specs


class Query(TypedDict):
    """What the caller puts into the request that fetches the pages.

    ``cursor_value`` is the cursor exactly as the API formatted it (or ``startTime`` as
    configured on a first run, or the last id); the request filters *inclusively*
    (``>= cursor_value``; ``>`` is fine too for id cursors) and sorts ascending by the cursor.
    """

    cursor_kind: CursorKind
    cursor_value: Any
    since: datetime | None  # timestamp cursors: the same instant, parsed, UTC
    since_iso: str | None  # ... as ISO 8601 with "Z"
    until: datetime | None  # endTime, if set (inclusive)
    until_iso: str | None
    page_size: int | None
    # order="any" with ``PollOptions.resume``: where to read on (a paging style's ``start``,
    # from ``PageAt.after``); None or absent: the first page.
    start: NotRequired[Mapping[str, Any] | None]


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


@dataclass(slots=True)
class PollOptions:
    """The trigger's settings; field names follow elastic.io's where one exists.

    ``order``: ``"ascending"`` (the API returns records sorted ascending by the cursor across
    pages; records are streamed page by page) or ``"any"`` (the engine reads every page of a
    poll, then sorts: memory grows with the poll's result).
    ``requery``: after each page that emitted something, start a new request from the new
    cursor instead of reading the next offset page, so records that move while paging (an
    update or delete shifts offsets) are not skipped (except past a page made entirely of
    records already emitted). Needs a request that filters by the cursor: False without one.
    ``max_snapshot_bytes``: the snapshot budget (elastic.io: 5 KB); raise it for skiff's own
    stores when many records share one timestamp or a ``seen`` API has many records.
    """

    cursor_kind: CursorKind = "timestamp"
    cursor_field: str | None = None  # required for "timestamp"; "id" defaults to id_field
    id_field: str = "id"
    version_field: str | None = None  # default: the cursor (timestamp/id), a hash of the record (seen)
    start_time: Any = None  # first run only; default the epoch
    end_time: Any = None  # inclusive; records after it are left for later
    page_size: int | None = None
    emit_behavior: PollEmitBehavior = "emitIndividually"
    single_page_per_interval: bool = False
    max_pages: int | None = None  # pages with new records per poll (single_page_per_interval: 1)
    dry_run: bool = False  # emit but never commit (manual test runs)
    order: Literal["ascending", "any"] = "ascending"
    requery: bool = True
    commit_every: Literal["page", "record"] = "page"
    max_snapshot_bytes: int = SNAPSHOT_LIMIT
    # order="any" with a timestamp cursor: the cursor moves at most to the poll's start less
    # this margin (seconds the API's clock may run behind ours), as a record on a page read
    # early may change (and so get a newer timestamp) before the last page is read.
    clock_skew: float = 5.0
    # order="any": ``fetch_pages`` yields ``PageAt`` pages whose positions stay valid in a later
    # poll and reads from ``query["start"]``; records are then emitted page by page and a
    # failed poll is continued by the next one (skiff.polling.resume) instead of read again.
    resume: bool = False
    # order="any", timestamp cursor, pages by position (page number or offset): a record that
    # leaves the listing while the poll pages shifts the later ones onto pages already read.
    # True when ``fetch_pages`` bounds the listing above by ``query["until"]`` and yields
    # ``PageAt`` pages with the listing's ``total``: the engine bounds each poll at its cap (so
    # no record can enter the listing during the poll, only leave it) and reads it again when
    # the total changed while paging (see ``Poller._run_unordered``).
    verify_listing: bool = False
    # The poll's start (order="any": its cap, a resume point's ``started``); run_poll passes the
    # executor's clock, so a test on a ManualClock decides it.
    now: Callable[[], datetime] = field(default=SYSTEM_CLOCK.now, repr=False, compare=False)
    component: str = ""  # both name the messages: deterministic_id(component, trigger, id, version)
    trigger: str = ""
    logger: logging.Logger | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.cursor_kind not in ("timestamp", "id", "seen"):
            raise ConfigError(f"unknown cursorKind {self.cursor_kind!r} (timestamp, id or seen)")
        if self.cursor_kind == "timestamp" and not self.cursor_field:
            raise ConfigError("a timestamp cursor needs cursorField (the record's modification time)")
        if self.cursor_kind == "id" and not self.cursor_field:
            self.cursor_field = self.id_field
        if self.emit_behavior not in EMIT_BEHAVIORS:
            raise ConfigError(f"unknown emitBehavior {self.emit_behavior!r}")
        if self.page_size is not None and self.page_size < 1:
            raise ConfigError(f"pageSize must be at least 1, got {self.page_size}")
        if self.max_pages is not None and self.max_pages < 1:
            raise ConfigError(f"maxPages must be at least 1, got {self.max_pages}")
        if self.clock_skew < 0:
            raise ConfigError(f"clockSkew must not be negative, got {self.clock_skew}")
        if self.max_snapshot_bytes < 256:
            raise ConfigError("max_snapshot_bytes must be at least 256")
        start, end = self.start_key, self.end_key
        if start is not None and end is not None and end < start:
            raise ConfigError(f"endTime {self.end_time!r} is before startTime {self.start_time!r}")

    # ------------------------------------------------------------ derived values

    @property
    def start_key(self) -> Key | None:
        """startTime as a key (timestamp cursors only; id and seen cursors start at the beginning)."""
        if self.cursor_kind != "timestamp":
            return None
        return _time_option("startTime", self.start_time)

    @property
    def end_key(self) -> Key | None:
        if self.cursor_kind != "timestamp":
            return None
        return _time_option("endTime", self.end_time)

    @property
    def page_bound(self) -> int | None:
        """How many pages with new records one poll emits at most (None: no bound)."""
        return 1 if self.single_page_per_interval else self.max_pages

    @property
    def log(self) -> logging.Logger:
        return self.logger or logging.getLogger("skiff.polling")

    @classmethod
    def from_config(
        cls,
        cfg: Mapping[str, Any],
        spec: PollingSpec | None = None,
        *,
        component: str = "",
        trigger: str = "",
        dry_run: bool = False,
        **overrides: Any,
    ) -> PollOptions:
        """Options from a trigger's cfg (elastic.io field names) and its ``polling`` spec."""
        kw: dict[str, Any] = {"component": component, "trigger": trigger, "dry_run": dry_run}
        if spec is not None:
            kw.update(
                cursor_kind=spec.cursorKind,
                cursor_field=spec.cursorField,
                id_field=spec.idField,
                version_field=spec.versionField,
                requery=spec.cursorParam is not None,
                clock_skew=spec.clockSkew,
            )
            if spec.pagination is not None:
                kw["page_size"] = spec.pagination.size
        if cfg.get("startTime") not in (None, ""):
            kw["start_time"] = cfg["startTime"]
        if cfg.get("endTime") not in (None, ""):
            kw["end_time"] = cfg["endTime"]
        if cfg.get("pageSize") not in (None, ""):
            try:
                kw["page_size"] = int(cfg["pageSize"])
            except (TypeError, ValueError):
                raise ConfigError(f"pageSize must be a whole number, got {cfg['pageSize']!r}") from None
        if cfg.get("emitBehavior") not in (None, ""):
            kw["emit_behavior"] = cfg["emitBehavior"]
        if "singlePagePerInterval" in cfg:
            kw["single_page_per_interval"] = _bool(cfg["singlePagePerInterval"])
        kw.update(overrides)
        return cls(**kw)


def _time_option(name: str, value: Any) -> Key | None:
    if value is None or value == "":
        return None
    try:
        return timestamp_key(value)
    except ValueError:
        raise ConfigError(f"{name} is not a timestamp (ISO 8601 or epoch): {value!r}") from None
