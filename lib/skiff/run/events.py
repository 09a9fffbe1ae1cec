"""Typed events: what one call emits, in the order it emits them.

They map one to one to the elastic.io sailor's events (``data``, ``error``, ``snapshot``,
``updateSnapshot``, ``rebound``, ``updateKeys``, ``httpReply``, ``end``), so a transport
(the CLI, the RabbitMQ worker, the flow runner, the studio) only decides where each one goes.
``event.kind`` names the sailor event; ``event.payload`` is what the sailor would send.
"""

from __future__ import annotations

import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from ..errors import SkiffError
from ..message import Message

__all__ = [
    "Data",
    "Emit",
    "End",
    "Error",
    "Event",
    "EventKind",
    "HttpReply",
    "Rebound",
    "Records",
    "Snapshot",
    "UpdateKeys",
    "UpdateSnapshot",
    "serialise_error",
]

EventKind = Literal["data", "error", "snapshot", "updateSnapshot", "rebound", "updateKeys", "httpReply", "end"]


class Event:
    """Base of the typed events; ``kind`` is the sailor's event name."""

    __slots__ = ()
    kind: ClassVar[EventKind]

    @property
    def payload(self) -> Any:
        """What the elastic.io sailor would publish for this event."""
        raise NotImplementedError


Emit = Callable[[Event], Awaitable[None]]
"""Where a call sends its events (a transport's sink)."""


def serialise_error(error: BaseException) -> dict[str, str]:
    """``{name, message, stack}``, as the sailor serialises an error for the ``error`` event."""
    name = error.kind if isinstance(error, SkiffError) else type(error).__name__
    message = str(error)
    stack = "".join(traceback.format_exception_only(type(error), error)).strip()
    if error.__traceback__ is not None and not isinstance(error, SkiffError):
        # A handler crash: the stack helps its author. SkiffErrors are one line on purpose.
        stack = "".join(traceback.format_exception(type(error), error, error.__traceback__)).strip()
    return {"name": name, "message": message, "stack": stack}


@dataclass(slots=True, frozen=True)
class Data(Event):
    """One outgoing message."""

    kind: ClassVar[EventKind] = "data"
    message: Message

    @property
    def payload(self) -> Message:
        return self.message


@dataclass(slots=True, frozen=True)
class Records(Event):
    """Many outgoing bodies at once, each the server's JSON text of one record, never parsed.

    Only a transport that asked for them (``raw_records``: it writes bodies out and reads
    nothing in them, as ``skiff run`` does) receives these, in place of one ``Data`` per
    record; see :mod:`skiff.http.rawjson`. Each item is a bytes-like buffer holding one line.
    """

    kind: ClassVar[EventKind] = "data"
    records: list[Any]

    @property
    def payload(self) -> list[Any]:
        return self.records


@dataclass(slots=True, frozen=True)
class Error(Event):
    """The call failed; ``input`` is the message that failed (kept, nothing is lost)."""

    kind: ClassVar[EventKind] = "error"
    error: SkiffError
    input: Message

    @property
    def payload(self) -> dict[str, Any]:
        return {"error": self.error, "errorInput": self.input}

    def serialise(self) -> dict[str, str]:
        """``{name, message, stack}`` (secrets were scrubbed before the event was made)."""
        return serialise_error(self.error)


@dataclass(slots=True, frozen=True)
class Snapshot(Event):
    """A trigger's whole new snapshot; commit it once the data before it was delivered."""

    kind: ClassVar[EventKind] = "snapshot"
    snapshot: dict[str, Any]

    @property
    def payload(self) -> dict[str, Any]:
        return self.snapshot


@dataclass(slots=True, frozen=True)
class UpdateSnapshot(Event):
    """Keys to merge into the stored snapshot."""

    kind: ClassVar[EventKind] = "updateSnapshot"
    patch: dict[str, Any]

    @property
    def payload(self) -> dict[str, Any]:
        return self.patch


@dataclass(slots=True, frozen=True)
class Rebound(Event):
    """Process the input message again later (the sailor's exponential rebound delay)."""

    kind: ClassVar[EventKind] = "rebound"
    reason: str
    input: Message = field(default_factory=Message)

    @property
    def payload(self) -> dict[str, Any]:
        return {"error": {"name": "Rebound", "message": self.reason}, "errorInput": self.input}


@dataclass(slots=True, frozen=True)
class UpdateKeys(Event):
    """New credential values (a refreshed token): persist them into the cfg."""

    kind: ClassVar[EventKind] = "updateKeys"
    keys: dict[str, Any]

    @property
    def payload(self) -> dict[str, Any]:
        return self.keys


@dataclass(slots=True, frozen=True)
class HttpReply(Event):
    """A reply to a webhook's HTTP request (``statusCode``, ``body``, ``headers``)."""

    kind: ClassVar[EventKind] = "httpReply"
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def payload(self) -> dict[str, Any]:
        return {"statusCode": self.status, "body": self.body, "headers": self.headers}


@dataclass(slots=True, frozen=True)
class End(Event):
    """The call is over (always the last event)."""

    kind: ClassVar[EventKind] = "end"

    @property
    def payload(self) -> None:
        return None
