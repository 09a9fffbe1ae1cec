"""``Message``: the unit that travels between flow steps, with elastic.io's semantics.

Shape: ``{id, body, attachments, headers, metadata, passthrough}``; attachments map a name to
``{url, size, "content-type"}`` (the bytes live in an attachment store, see
:mod:`skiff.attachments`). Semantics, as elastic.io's sailor keeps them:

- ``passthrough``: a step's output carries the earlier steps' messages by step id
  (:func:`with_passthrough`); a message that arrives with one keeps it.
- headers: an output's ``parentMessageId`` is the input's ``messageId``, ``threadId`` is kept
  (or started), every ``x-eio-meta-*`` header is copied in lower case (:func:`child_headers`).
- ids: an output's ``messageId`` is derived from the input's and its position
  (:func:`derived_id`), so a redelivered input yields outputs with the same ids and the next
  step can drop the repeat.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import uuid
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "META_PREFIX",
    "Attachment",
    "Message",
    "child_headers",
    "derived_id",
    "deterministic_id",
    "meta_headers",
    "new_id",
    "page_body",
    "page_records",
    "with_passthrough",
]

META_PREFIX = "x-eio-meta-"

# A fixed namespace so that ids derived from the same parts are equal on every machine.
_NAMESPACE = uuid.UUID("7b1e6c3e-5f0a-4c55-9a51-8d2f1f6b0a11")

# Message ids: a random 80-bit prefix per process plus a counter, shaped like a uuid. Unique
# like uuid4 for every practical purpose, at a tenth of its cost (a sync emits 50,000 of them).
_PREFIX = uuid.uuid4().hex[:20]
_COUNTER = itertools.count()


def _reseed() -> None:
    """A forked worker must not repeat its parent's ids (steps drop repeated ids)."""
    global _PREFIX, _COUNTER
    _PREFIX = uuid.uuid4().hex[:20]
    _COUNTER = itertools.count()


os.register_at_fork(after_in_child=_reseed)


def new_id() -> str:
    n = next(_COUNTER) & 0xFFFFFFFFFFFF
    p = _PREFIX
    return f"{p[:8]}-{p[8:12]}-{p[12:16]}-{p[16:20]}-{n:012x}"


@dataclass(slots=True)
class Attachment:
    """A binary payload kept beside the body (elastic.io: ``{url, size, content-type}``)."""

    content_type: str
    size: int
    url: str | None = None
    content: bytes | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"size": self.size, "content-type": self.content_type}
        if self.url is not None:
            out["url"] = self.url
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Attachment:
        if not isinstance(data, dict):
            return cls(content_type="application/octet-stream", size=0, url=str(data))
        try:
            size = int(data.get("size") or 0)
        except (TypeError, ValueError):
            size = 0
        return cls(
            content_type=str(data.get("content-type") or data.get("contentType") or "application/octet-stream"),
            size=size,
            url=data.get("url"),
        )


_FIELDS = frozenset({"id", "body", "attachments", "headers", "metadata", "passthrough"})


@dataclass(slots=True)
class Message:
    """``{id, body, attachments, headers, metadata, passthrough}``; only ``body`` is required."""

    body: Any = field(default_factory=dict)
    id: str = field(default_factory=new_id)
    attachments: dict[str, Attachment] = field(default_factory=dict)
    headers: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    passthrough: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "id": self.id,
            "body": self.body,
            "attachments": {name: a.to_dict() for name, a in self.attachments.items()},
            "headers": self.headers,
            "metadata": self.metadata,
        }
        if self.passthrough:
            out["passthrough"] = self.passthrough
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Message:
        """Accept a whole message (has ``body``) or a bare body."""
        if isinstance(data, dict) and "body" in data and set(data) <= _FIELDS:
            attachments = {name: Attachment.from_dict(a) for name, a in (data.get("attachments") or {}).items()}
            return cls(
                body=data["body"],
                id=str(data.get("id") or uuid.uuid4()),
                attachments=attachments,
                headers=dict(data.get("headers") or {}),
                metadata=dict(data.get("metadata") or {}),
                passthrough=dict(data.get("passthrough") or {}),
            )
        return cls(body=data)


def meta_headers(headers: dict[str, Any]) -> dict[str, Any]:
    """The ``x-eio-meta-*`` headers, names in lower case (as the sailor copies them)."""
    return {k.lower(): v for k, v in headers.items() if k.lower().startswith(META_PREFIX)}


def child_headers(incoming: dict[str, Any], message_id: str) -> dict[str, Any]:
    """The propagated headers of an output of a message with ``incoming`` headers.

    ``threadId`` is kept (or taken from ``x-eio-meta-trace-id``, or started), ``parentMessageId``
    is the input's ``messageId``, meta headers and ``reply_to`` travel on; nothing else does.
    """
    meta = meta_headers(incoming)
    thread = incoming.get("threadId") or meta.get("x-eio-meta-trace-id") or str(uuid.uuid4())
    out: dict[str, Any] = {**meta, "threadId": thread, "messageId": message_id}
    if incoming.get("messageId") is not None:
        out["parentMessageId"] = incoming["messageId"]
    if incoming.get("reply_to"):
        out["reply_to"] = incoming["reply_to"]
    return out


def derived_id(parent_id: str, index: int) -> str:
    """The id of the ``index``-th output of message ``parent_id``: equal on every redelivery."""
    return str(uuid.uuid5(_NAMESPACE, f"{parent_id}\x1f{index}"))


def with_passthrough(output: Message, incoming: Message, step_id: str | None) -> Message:
    """``output`` carrying the incoming passthrough plus itself under ``step_id``.

    A step keeps what arrived; with a ``step_id`` it adds its own output (without the nested
    passthrough), so later steps can read every earlier step's body by step id.
    """
    carried = dict(incoming.passthrough)
    if step_id:
        own = output.to_dict()
        own.pop("passthrough", None)
        carried[step_id] = own
    output.passthrough = carried
    return output


def deterministic_id(*parts: object) -> str:
    """A uuid5 from the parts, e.g. (component, trigger, record id, version).

    A record emitted again after a crash gets the same id, so the next step can drop it.
    """
    key = "\x1f".join(str(p) for p in parts)
    return str(uuid.uuid5(_NAMESPACE, hashlib.sha256(key.encode()).hexdigest()))


def page_body(records: list[Any], page: int | None = None) -> dict[str, Any]:
    """The body of a message carrying many records, for actions and triggers alike.

    ``emitPage``: ``{"results": [...], "page": n}`` (n counts from 1); ``fetchAll``:
    ``{"results": [...]}``.
    """
    return {"results": records} if page is None else {"results": records, "page": page}


def page_records(body: Any) -> list[Any] | None:
    """The records of a :func:`page_body`, or None when ``body`` is not one."""
    if isinstance(body, dict) and set(body) <= {"results", "page"} and isinstance(body.get("results"), list):
        return body["results"]  # type: ignore[no-any-return]
    return None
