"""``Context``: what a handler receives as ``ctx``, and the engine of declarative calls.

``ctx.http`` (the component's HTTP client), ``ctx.cfg``, ``ctx.snapshot``, ``ctx.logger``
(redacting), ``ctx.emit``/``emit_snapshot``/``update_snapshot``/``rebound``/``update_keys``/
``http_reply`` (the sailor's events), ``ctx.call`` (a declarative request with paging and emit
behaviour) and ``ctx.poll`` (one poll of a polling spec).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..clock import SYSTEM_CLOCK, Clock
from ..component import Component, Function
from ..errors import ComponentError, ConfigError
from ..http import HttpClient
from ..http.rawjson import RawRecords
from ..http.records import select_records
from ..message import Attachment, Message, page_body
from ..specs import EmitBehavior, PaginationSpec, PollingSpec, RequestSpec
from ..templating import render
from ..validation import SchemaValidator
from .call import Call, response_body
from .events import Data, Emit, HttpReply, Rebound, Records, Snapshot, UpdateKeys, UpdateSnapshot

if TYPE_CHECKING:
    from ..polling import PollResult

__all__ = ["Context"]


class Context:
    """What a handler receives as ``ctx``: ``http``, ``cfg``, ``snapshot``, ``logger``, ``emit``."""

    def __init__(
        self,
        *,
        component: Component,
        function: Function | None,
        cfg: dict[str, Any],
        http: HttpClient | None,
        snapshot: dict[str, Any],
        logger: logging.Logger | logging.LoggerAdapter[logging.Logger],
        emitter: Emit,
        msg: Message,
        dry_run: bool = False,
        validate_output: bool = True,
        raw_records: bool = False,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        """``raw_records``: the transport takes :class:`~skiff.run.events.Records` (it only writes
        bodies out), so records that nothing here reads may stay JSON text. ``clock``: the
        executor's (a poll's "now" comes from it)."""
        self.component = component
        self.function = function
        self.cfg = cfg
        self._http = http
        self.snapshot = snapshot
        self.logger = logger
        self._emitter = emitter
        self.msg = msg
        self.dry_run = dry_run
        self.emitted = 0
        self.raw_records = raw_records
        self.clock = clock
        self._out: SchemaValidator | None = None
        self._item_out: SchemaValidator | None = None
        if function is not None and validate_output:
            # Compiled once per function (cached there): a Context is made for every message.
            self._out = function.out_validator
            self._item_out = function.record_validator

    @property
    def http(self) -> HttpClient:
        if self._http is None:
            raise ConfigError(f"component {self.component.name!r} declares no 'http' block")
        return self._http

    # ------------------------------------------------------------ events

    def _check_output(self, body: Any, *, record: bool) -> None:
        validator = self._item_out if record and self._item_out is not None else self._out
        if validator is None or validator.is_valid(body):
            return
        path, message = validator.errors(body, root="output", limit=1)[0]
        name = self.function.name if self.function else "?"
        raise ComponentError(f"{name}: emitted data does not match the out-schema: {path}: {message}")

    async def emit(self, data: Any, *, record: bool = False, check: bool = True) -> None:
        """Emit one data message (a body, or a whole :class:`Message`).

        ``record``: the body is one record of a list (checked against the out-schema's items);
        ``check=False`` for wrappers such as ``{"results": [...]}`` whose records were checked.
        """
        msg = data if isinstance(data, Message) else Message(body=data)
        if check:
            self._check_output(msg.body, record=record)
        self.emitted += 1
        await self._emitter(Data(msg))

    async def emit_snapshot(self, snapshot: dict[str, Any]) -> None:
        self.snapshot = snapshot
        if not self.dry_run:
            await self._emitter(Snapshot(snapshot))

    async def update_snapshot(self, patch: dict[str, Any]) -> None:
        self.snapshot = {**self.snapshot, **patch}
        if not self.dry_run:
            await self._emitter(UpdateSnapshot(patch))

    async def rebound(self, reason: str) -> None:
        """Ask the transport to process this message again later."""
        await self._emitter(Rebound(reason, self.msg))

    async def update_keys(self, keys: dict[str, Any]) -> None:
        """New credential values (a refreshed token) for the transport to persist."""
        await self._emitter(UpdateKeys(keys))

    async def http_reply(self, status: int = 200, body: Any = None, headers: dict[str, str] | None = None) -> None:
        await self._emitter(HttpReply(status, body, dict(headers or {})))

    async def read_attachment(self, attachment: Attachment | dict[str, Any]) -> bytes:
        """The bytes of an incoming message's attachment, read as :func:`skiff.attachments.read_attachment`
        reads them, with this component's ``allowPrivateNetworks`` and ``maxResponseBytes``."""
        from ..attachments import DEFAULT_MAX_BYTES, declared_sources, read_attachment

        allow, cap = False, DEFAULT_MAX_BYTES
        if self._http is not None:
            flag = self._http.spec.allowPrivateNetworks
            allow = flag.strip().lower() in ("1", "true", "yes", "on") if isinstance(flag, str) else flag
            cap = self._http.spec.maxResponseBytes
        return await read_attachment(attachment, sources=declared_sources(allow_private=allow, max_bytes=cap))

    # ------------------------------------------------------------ requests

    def render(self, value: Any, **extra: Any) -> Any:
        ctx = {"cfg": self.cfg, "body": self.msg.body, "msg": self.msg.to_dict(), "snapshot": self.snapshot}
        ctx.update(extra)
        return render(value, ctx)

    async def call(
        self,
        request: RequestSpec | Mapping[str, Any] | Call,
        *,
        pagination: PaginationSpec | Mapping[str, Any] | None = None,
        records_path: str | None = None,
        emit_behavior: EmitBehavior | None = None,
        max_pages: int | None = None,
        idempotent: bool | None = None,
        endpoint: str | None = None,
        emit: bool = True,
        start: Mapping[str, Any] | None = None,
        one_page: bool = False,
    ) -> Any:
        """Run a declarative request (already rendered) and emit its result by ``emit_behavior``.

        The one engine behind declarative actions and the generic ``http`` component: paging,
        records, binary attachments and emit behaviour live here. With ``emit=False`` nothing
        is emitted and the records (or the body) are returned. ``start`` resumes paging there
        (see :func:`skiff.http.paging.paginate`); ``one_page`` reads that one page only.
        """
        call = (
            request
            if isinstance(request, Call)
            else Call.build(
                request,
                pagination=pagination,
                records_path=records_path,
                emit_behavior=emit_behavior,
                max_pages=max_pages,
                idempotent=idempotent,
                endpoint=endpoint,
                start=start,
                one_page=one_page,
            )
        )
        return await self.perform(call, emit=emit)

    async def perform(self, call: Call, *, emit: bool = True) -> Any:
        """Perform a built :class:`Call`; see :meth:`call`."""
        behavior = call.emit_behavior
        if call.pagination is not None:
            collected: list[Any] = []
            start = call.start
            # Records no schema checks, one message each, to a transport that only writes them
            # out: left unparsed (half the CPU of a plain sync was parsing and re-encoding them).
            raw = (
                self.raw_records
                and emit
                and behavior == "emitIndividually"
                and self._item_out is None
                and self._out is None
            )
            pages = self.http.pages(
                call.request,
                call.pagination,
                idempotent=call.idempotent,
                endpoint=call.endpoint,
                start=start,
                raw_records=raw,
            )
            async with contextlib.aclosing(pages):
                async for page in pages:
                    if emit and behavior != "fetchAll":
                        # A page asked for by number is reported by that number.
                        number = int(start["page"]) if call.one_page and start and "page" in start else page.number
                        if isinstance(page.records, RawRecords):
                            self.emitted += len(page.records)
                            await self._emitter(Records(page.records))
                        else:
                            await self._emit_records(page.records, behavior, number)
                    else:
                        collected.extend(page.records)
                    if call.one_page:
                        break
            if not emit:
                return collected
            if behavior == "fetchAll":
                await self._emit_records(collected, behavior)
            return None
        response = await call.send(self.http)
        body = response_body(response)
        if call.records_path is not None and not isinstance(body, Message):
            records = select_records(response, call.records_path)
            if emit:
                await self._emit_records(records, behavior)
            return records
        if emit:
            # A binary answer is a whole Message (its attachment); a 204 emits {} so flows go on.
            await self.emit(body if body is not None else {}, check=not isinstance(body, Message))
        return body

    async def _emit_records(self, records: list[Any], behavior: EmitBehavior, page: int | None = None) -> None:
        """Records one message each, or checked one by one and wrapped as ``{"results": [...]}``."""
        if behavior == "emitIndividually":
            # emit() per record, unrolled: a sync sends 50,000 of these through here.
            validator = self._item_out if self._item_out is not None else self._out
            emitter = self._emitter
            for rec in records:
                if validator is not None and not validator.is_valid(rec):
                    self._check_output(rec, record=True)  # raises, naming what is wrong
                self.emitted += 1
                await emitter(Data(Message(body=rec)))
            return
        for rec in records:
            self._check_output(rec, record=True)
        # emitPage numbers its pages (an unpaged list is page 1); fetchAll has none.
        number = None if behavior == "fetchAll" else (page or 1)
        await self.emit(page_body(records, number), check=False)

    async def poll(self, spec: PollingSpec | Mapping[str, Any], *, template: bool = True) -> PollResult:
        """Run one poll of a polling spec (see :mod:`skiff.run.polling`).

        ``template=False`` when the spec holds data (cfg values), not the author's templates.
        """
        from .polling import run_poll

        return await run_poll(self, spec, template=template)
