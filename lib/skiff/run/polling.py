"""Declarative polling triggers on the run layer: a :class:`PollingSpec` becomes requests, the polling
engine decides what to emit, and each snapshot is committed as a ``snapshot`` event only after
the records before it were emitted.

The request of a polling spec is a template over ``cfg``, ``body``, ``snapshot`` and ``poll``;
``poll`` carries ``cursor`` (the value to ask from, formatted as the API sent it), ``since`` and
``until`` (ISO 8601) and ``pageSize``. When ``cursorParam`` is set the cursor is put into that
query parameter automatically, so most triggers need no template at all.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..http.paging import style_for
from ..http.paging.base import int_at
from ..http.records import select_records
from ..message import Message
from ..polling import PageAt, PollOptions, PollResult, Query, poll
from ..specs import PaginationSpec, PollingSpec
from .call import Call

if TYPE_CHECKING:
    from .context import Context

__all__ = ["run_poll"]


def _cursor_param_value(query: Query, start_time: Any) -> Any:
    value = query["cursor_value"]
    # On a first run the cursor is startTime as the user typed it ("2024-01-01"); APIs want
    # the full RFC 3339 form. Later cursors are sent exactly as the API formatted them.
    if query["cursor_kind"] == "timestamp" and (value is None or value == start_time):
        value = query["since_iso"]
    return value


def _resumable(polling: PollingSpec, pagination: PaginationSpec | None) -> bool:
    """Whether a failed ``order: any`` poll may be continued from its paging position later."""
    if polling.order != "any" or pagination is None or polling.resume == "never":
        return False
    kind = style_for(pagination).position_kind
    return kind == "keyset" or (kind == "index" and polling.resume == "always")


def _verifiable(polling: PollingSpec, pagination: PaginationSpec | None, resume: bool) -> bool:
    """Whether an ``order: any`` poll that pages by position can prove nothing shifted past it.

    Page numbers and offsets are positions: a record that leaves the listing while the poll pages
    moves every later one a place back, onto a page already read. With the listing bounded above
    (``untilParam``) only leaving is possible, and an unchanged total (``totalPath``) proves none did.
    """
    if polling.order != "any" or polling.cursorKind != "timestamp" or resume or pagination is None:
        return False
    total = getattr(pagination, "totalPath", None)
    return style_for(pagination).position_kind == "index" and bool(polling.untilParam) and bool(total)


async def run_poll(
    ctx: Context, spec: PollingSpec | Mapping[str, Any], *, trigger: str | None = None, template: bool = True
) -> PollResult:
    """One poll of ``spec`` with the snapshot in ``ctx``; emits records and snapshots on ``ctx``.

    ``template=False``: the request is data (built from cfg by a handler), sent as it is: a
    ``{{ cfg.auth.token }}`` typed into a path must not render the token into the URL.
    """
    polling = spec if isinstance(spec, PollingSpec) else PollingSpec.model_validate(spec)
    name = trigger or (ctx.function.name if ctx.function else "poll")
    resume = _resumable(polling, polling.pagination)
    options = PollOptions.from_config(
        ctx.cfg,
        polling,
        component=ctx.component.name,
        trigger=name,
        dry_run=ctx.dry_run,
        logger=ctx.logger.logger if isinstance(ctx.logger, logging.LoggerAdapter) else ctx.logger,
        order=polling.order,
        resume=resume,
        verify_listing=_verifiable(polling, polling.pagination, resume),
        now=ctx.clock.now,  # the executor's clock: the poll's start, its untilParam cap, a resume point
    )
    records_path = polling.recordsPath  # None: the envelope's data (skiff.http.records)
    pagination = polling.pagination
    if pagination is not None:
        updates: dict[str, Any] = {}
        if options.page_size:
            updates["size"] = options.page_size
        if not pagination.recordsPath and records_path:
            updates["recordsPath"] = records_path
        pagination = pagination.model_copy(update=updates)
    request_template = polling.request.model_dump(by_alias=True, exclude_none=True)

    async def fetch_pages(query: Query) -> AsyncIterator[Sequence[Mapping[str, Any]] | PageAt]:
        poll_vars = {
            "cursor": _cursor_param_value(query, options.start_time),
            "since": query["since_iso"],
            "until": query["until_iso"],
            "pageSize": query["page_size"],
        }
        rendered = ctx.render(request_template, poll=poll_vars) if template else request_template
        cursor = poll_vars["cursor"]
        if polling.cursorParam and cursor is not None:
            rendered = {**rendered, "query": {**(rendered.get("query") or {}), polling.cursorParam: cursor}}
        if polling.untilParam and query["until_iso"] is not None:
            rendered = {**rendered, "query": {**(rendered.get("query") or {}), polling.untilParam: query["until_iso"]}}
        # Built once and sent whole: headers, body and form go with every page.
        call = Call.build(rendered, pagination=pagination, records_path=records_path)
        if call.pagination is not None:
            pages = ctx.http.pages(call.request, call.pagination, start=query.get("start"))
            total_path = getattr(call.pagination, "totalPath", None)
            async for page in pages:
                # With resume, each page says where the listing goes on (kept in the snapshot).
                if options.resume:
                    yield PageAt(page.records, page.cursor)
                elif options.verify_listing:
                    yield PageAt(page.records, page.cursor, int_at(page.raw, total_path))
                else:
                    yield page.records
            return
        yield select_records(await call.send(ctx.http), records_path)

    individually = options.emit_behavior == "emitIndividually"

    async def emit(message: Message) -> None:
        # Pages ({"results": [...]}) are wrappers: their records are not re-checked one by one.
        await ctx.emit(message, record=True, check=individually)

    async def commit(snapshot: dict[str, Any]) -> None:
        await ctx.emit_snapshot(snapshot)

    if polling.cursorKind == "timestamp" and not polling.cursorField:
        raise ConfigError(f"trigger {name!r}: a timestamp cursor needs cursorField")
    return await poll(options, ctx.snapshot or None, fetch_pages, emit, commit)
