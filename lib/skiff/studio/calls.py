"""Try-it calls: verify, select options, one action call or one trigger poll, as the page sees them.

Every call goes through the run layer (:mod:`skiff.run`), as ``skiff run``, the worker and the
flow runner do, so the studio checks cfg and input, retries, pages and rate-limits exactly as a
flow would. What the page gets
back is made for people: each emitted message as JSON (attachments kept here for download),
the error in one line plus the field it names, and the request log of this call (method, URL
with secrets masked, status, time), captured from ``skiff.http``'s debug log.
"""

from __future__ import annotations

import contextvars
import logging
import re
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from ..component import Component
from ..errors import SkiffError
from ..http.redact import redact
from ..message import Message
from ..run import Data, Error, Event, Executor, secrets_of

__all__ = ["Attachments", "Calls", "error_view", "field_of"]

_LOG_CAPTURE: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("skiff_studio_log", default=None)
_MAX_MESSAGES = 500  # shown in the page; the count stays exact
_FIELD = re.compile(r"^(?:[\w.]+: )?((?:cfg|body)(?:\.[A-Za-z_][\w-]*|\[\d+\])*)(?::|$)")
_REQUIRED = re.compile(r"'([^']+)' is required")


def field_of(message: str) -> str | None:
    """The field an executor error names (``cfg.apiKey``, ``body.items[2].price``), or None."""
    m = _FIELD.match(message)
    if m is None:
        return None
    path = m.group(1)
    rest = message[m.end() :]
    req = _REQUIRED.search(rest)
    return f"{path}.{req.group(1)}" if req else path


def error_view(err: SkiffError) -> dict[str, Any]:
    return {
        "kind": err.kind,
        "message": str(err),
        "line": err.one_line().removeprefix("error: "),
        "field": field_of(err.message),
    }


class _Capture(logging.Handler):
    """Appends ``skiff.http`` lines to the list of the call running in this context."""

    def emit(self, record: logging.LogRecord) -> None:
        sink = _LOG_CAPTURE.get()
        if sink is not None:
            try:
                sink.append(record.getMessage())
            except Exception:  # a broken log record must not break the call
                return


@dataclass
class _Stored:
    name: str
    content_type: str
    content: bytes


class Attachments:
    """Attachments of recent calls, by random id, for download (a bounded LRU)."""

    def __init__(self, limit: int = 64) -> None:
        self.limit = limit
        self._items: OrderedDict[str, _Stored] = OrderedDict()

    def put(self, name: str, content_type: str, content: bytes) -> str:
        aid = secrets.token_urlsafe(12)
        self._items[aid] = _Stored(name, content_type, content)
        while len(self._items) > self.limit:
            self._items.popitem(last=False)
        return aid

    def get(self, aid: str) -> _Stored | None:
        return self._items.get(aid)


class Calls:
    """One executor for the whole studio: pooled clients and one rate limiter for every try."""

    def __init__(self) -> None:
        self.executor = Executor()
        self.attachments = Attachments()
        self._handler = _Capture(logging.DEBUG)
        http_log = logging.getLogger("skiff.http")
        http_log.addHandler(self._handler)
        if http_log.getEffectiveLevel() > logging.DEBUG:
            http_log.setLevel(logging.DEBUG)

    async def aclose(self) -> None:
        logging.getLogger("skiff.http").removeHandler(self._handler)
        await self.executor.aclose()

    async def verify(self, component: Component, cfg: dict[str, Any]) -> dict[str, Any]:
        log: list[str] = []
        token = _LOG_CAPTURE.set(log)
        try:
            result = await self.executor.verify(component, cfg)
        except SkiffError as err:
            return {"verified": False, "error": error_view(err), "log": self._clean(log, component, cfg)}
        finally:
            _LOG_CAPTURE.reset(token)
        out: dict[str, Any] = {"verified": bool(result.get("verified")), "log": self._clean(log, component, cfg)}
        if result.get("reason"):
            out["reason"] = str(result["reason"])
        return out

    async def select(
        self, component: Component, function: str | None, field: str, cfg: dict[str, Any]
    ) -> dict[str, Any]:
        try:
            return {"options": await self.executor.select(component, function, field, cfg)}
        except SkiffError as err:
            return {"error": error_view(err)}

    async def run(
        self,
        component: Component,
        function: str,
        cfg: dict[str, Any],
        body: Any,
        *,
        snapshot: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One action call, or one poll of a trigger from ``snapshot`` (nothing is stored)."""
        messages: list[dict[str, Any]] = []
        count = 0
        error: dict[str, Any] | None = None
        secret_values = secrets_of(component, cfg)

        async def emit(event: Event) -> None:
            nonlocal count, error
            if isinstance(event, Data):
                count += 1
                if len(messages) < _MAX_MESSAGES:
                    messages.append(self._message_view(event.message))
            elif isinstance(event, Error):
                error = error_view(event.error)

        log: list[str] = []
        token = _LOG_CAPTURE.set(log)
        started = time.monotonic()
        try:
            result = await self.executor.run(
                component, function, cfg, Message(body=body if body is not None else {}), snapshot=snapshot, emit=emit
            )
        finally:
            _LOG_CAPTURE.reset(token)
        out: dict[str, Any] = {
            "count": count,
            "messages": messages,
            "truncated": count > len(messages),
            "elapsed_ms": round((time.monotonic() - started) * 1000),
            "log": self._clean(log, component, cfg),
            "snapshot": result.snapshot,
        }
        if error is not None:
            out["error"] = error
        # Nothing secret leaves, even when a handler put a cfg value into what it emitted.
        scrubbed: dict[str, Any] = _scrub(out, secret_values)
        return scrubbed

    def _message_view(self, msg: Message) -> dict[str, Any]:
        view = msg.to_dict()
        for name, att in msg.attachments.items():
            entry = view["attachments"][name]
            if att.content is not None:
                entry["download"] = f"api/attachments/{self.attachments.put(name, att.content_type, att.content)}"
        return view

    def _clean(self, lines: list[str], component: Component, cfg: dict[str, Any]) -> list[str]:
        hidden = secrets_of(component, cfg)
        return [redact(line, hidden) if hidden else line for line in lines]


def _scrub(value: Any, hidden: list[str]) -> Any:
    if not hidden:
        return value
    if isinstance(value, str):
        return redact(value, hidden)
    if isinstance(value, dict):
        return {k: _scrub(v, hidden) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, hidden) for v in value]
    return value
