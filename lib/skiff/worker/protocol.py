"""The sailor wire protocol: AMQP deliveries to skiff messages and back.

Pure functions over bodies and header tables, so that they are tested without a broker. The
shapes follow sailor-nodejs 2.7.8 (``lib/amqp.js``, ``lib/sailor.js``):

- data: the message's JSON, encrypted, with the step's identity headers, ``messageId``,
  ``parentMessageId``, ``threadId``, ``x-eio-meta-*``, ``reply_to``, ``start``, ``end`` and the
  worker's own ``protocolVersion``; ``x-eio-routing-key`` in the message's headers overrides the
  routing key and is removed.
- error: ``{"error": <encrypted {name, message, stack}, base64>, "errorInput": <the input>}``
  as plain JSON, whatever the protocol (as the sailor does).
- rebound: the original bytes and properties, ``expiration = 2^(n-1) * initial`` ms (at most
  ``REBOUND_MAX_EXPIRATION`` when set: a skiff addition, which flow steps use for ``maxBackoff``),
  ``reboundIteration`` and ``reboundReason``.
- snapshot: plain JSON with ``snapshotEvent: snapshot | updateSnapshot``.

skiff is strict where the sailor is fragile: an input without a header table or a
``messageId`` is refused with a clear error rather than left unacked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ..clock import backoff_delay
from ..errors import InputError
from ..message import Message, child_headers
from .crypto import DecodeError, MessageCipher
from .settings import WorkerSettings

__all__ = [
    "ROUTING_KEY_HEADER",
    "Decoded",
    "Outgoing",
    "decode_input",
    "error_payload",
    "outgoing_data",
    "outgoing_headers",
    "rebound",
    "snapshot_message",
]

ROUTING_KEY_HEADER = "x-eio-routing-key"


@dataclass(slots=True)
class Decoded:
    message: Message
    headers: dict[str, Any]  # the AMQP headers as they came
    protocol_version: int


@dataclass(slots=True)
class Outgoing:
    """One message to publish: body bytes, routing key, AMQP headers and properties."""

    routing_key: str
    body: bytes
    headers: dict[str, Any]
    expiration_ms: int | None = None
    encrypted: bool = True


def _protocol(headers: dict[str, Any]) -> int:
    try:
        return int(headers.get("protocolVersion") or 1)
    except (TypeError, ValueError):
        return 1


def decode_input(body: bytes, headers: dict[str, Any] | None, cipher: MessageCipher) -> Decoded:
    """The skiff message of a delivery; InputError/DecodeError say why it cannot be one."""
    if headers is None:
        raise InputError("message has no AMQP headers table (the platform always sends one)")
    if not headers.get("messageId"):
        raise InputError("message has no 'messageId' header: it cannot be acknowledged or deduplicated")
    protocol = _protocol(headers)
    payload = cipher.decrypt(body, protocol)
    if not isinstance(payload, dict):
        raise DecodeError(f"message payload is a JSON {type(payload).__name__}, not an object")
    if "body" not in payload:
        payload = {**payload, "body": {}}
    known = {k: payload[k] for k in ("id", "body", "attachments", "headers", "metadata", "passthrough") if k in payload}
    message = Message.from_dict(known)
    message.headers = dict(message.headers)
    if headers.get("reply_to"):
        message.headers["reply_to"] = headers["reply_to"]
    return Decoded(message=message, headers=dict(headers), protocol_version=protocol)


def outgoing_headers(
    settings: WorkerSettings, incoming: dict[str, Any], message_id: str, start_ms: int
) -> dict[str, Any]:
    """The AMQP headers of an output of the message that came with ``incoming`` headers."""
    out = child_headers(incoming, message_id)
    out.update(settings.headers())
    out["start"] = start_ms
    out["end"] = int(time.time() * 1000)
    out["protocolVersion"] = settings.protocol_version
    return out


def outgoing_data(
    settings: WorkerSettings, cipher: MessageCipher, message: Message, headers: dict[str, Any]
) -> Outgoing:
    """An emitted data message, encrypted in the worker's protocol version."""
    payload = message.to_dict()
    own = dict(payload.get("headers") or {})
    routing_key = settings.data_routing_key
    for key in list(own):
        if key.lower() == ROUTING_KEY_HEADER:
            routing_key = str(own.pop(key))
    payload["headers"] = own
    return Outgoing(routing_key, cipher.encrypt(payload, settings.protocol_version), headers)


def error_payload(cipher: MessageCipher, error: dict[str, Any], original: bytes | None, protocol: int) -> bytes:
    """``{"error": ..., "errorInput": ...}``: both parts encrypted and base64, as the sailor does."""
    import orjson

    out: dict[str, Any] = {"error": cipher.encrypt(error, 1).decode("ascii")}
    if original:
        if protocol >= 2:
            out["errorInput"] = cipher.encrypt(cipher.decrypt(original, protocol), 1).decode("ascii")
        else:
            out["errorInput"] = original.decode("utf-8", "replace")
    return orjson.dumps(out)


def rebound(
    settings: WorkerSettings, original_body: bytes, original_headers: dict[str, Any], reason: str
) -> Outgoing | None:
    """The rebound of a delivery, or None when the rebound limit is reached (then: an error)."""
    previous = original_headers.get("reboundIteration")
    iteration = previous + 1 if isinstance(previous, int) and not isinstance(previous, bool) else 1
    if iteration > settings.rebound_limit:
        return None
    headers = {
        **original_headers,
        "end": int(time.time() * 1000),
        "reboundReason": reason,
        "reboundIteration": iteration,
    }
    expiration = round(backoff_delay(settings.rebound_initial_expiration, iteration, settings.rebound_max_expiration))
    return Outgoing(settings.rebound_routing_key, original_body, headers, expiration_ms=expiration)


def snapshot_message(
    settings: WorkerSettings, snapshot: dict[str, Any], headers: dict[str, Any], event: str
) -> Outgoing:
    """A snapshot (``snapshot``: replace) or a patch (``updateSnapshot``: shallow merge), plain JSON."""
    import orjson

    return Outgoing(
        settings.snapshot_routing_key,
        orjson.dumps(snapshot),
        {**headers, "snapshotEvent": event},
        encrypted=False,
    )
