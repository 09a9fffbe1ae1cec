"""``Worker``: consume a step's queue, run one call per message, publish what it emits.

One robust AMQP connection (aio-pika reconnects and re-subscribes after a broker restart),
a consumer channel with the step's prefetch, and a publisher-confirm channel. A delivery is
acked only after every message it caused was confirmed by the broker; if the worker dies
first, the broker redelivers it and the outputs carry the same ``messageId`` again (derived
from the input's), so the next step can drop the repeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..attachments import AttachmentStore, declare_store, store_attachments
from ..component import Component, Function
from ..errors import SkiffError
from ..message import Message, derived_id, with_passthrough
from ..run import serialise_error
from .call import Call, CallEvent
from .crypto import MessageCipher
from .protocol import (
    Decoded,
    Outgoing,
    decode_input,
    error_payload,
    outgoing_data,
    outgoing_headers,
    rebound,
    snapshot_message,
)
from .settings import WorkerSettings
from .step import StepData
from .throttle import Throttle

__all__ = ["Worker", "error_dict"]

log = logging.getLogger("skiff.worker")

# The connection a delivery came on (each delivery runs in its own task): its outputs are
# published on that connection only; after a reconnect the broker redelivers it instead.
_GENERATION: contextvars.ContextVar[int] = contextvars.ContextVar("skiff_worker_generation", default=0)


class ConnectionLost(Exception):
    """The delivery's connection is gone; the broker will redeliver it."""


def error_dict(err: BaseException) -> dict[str, Any]:
    """An error as elastic.io serialises it: ``{name, message, stack}`` (the run layer's form)."""
    return serialise_error(err)


class _Delivery:
    """The state of one message while it is being handled."""

    __slots__ = ("count", "decoded", "errors", "incoming", "start")

    def __init__(self, decoded: Decoded, start: int) -> None:
        self.decoded = decoded
        self.incoming = decoded.headers
        self.start = start
        self.count = 0  # data messages emitted so far (their ids derive from it)
        self.errors = 0


class Worker:
    """Runs one step (a component's action or trigger) on RabbitMQ, as a sailor would.

    ``step`` holds the cfg and the trigger snapshot; ``attachments`` the store that receives the
    bytes of emitted attachments (they leave as ``{url, size, content-type}``).
    """

    def __init__(
        self,
        settings: WorkerSettings,
        component: Component,
        step: StepData,
        *,
        attachments: AttachmentStore | None = None,
        call: Callable[[Component, Function], Any] | None = None,
    ) -> None:
        self.settings = settings
        # What runs per message: the component's call, or a caller's stand-in with the same
        # ``run(cfg, message, snapshot, emit)`` (a flow step adds its mapping around the call).
        self._call_factory: Callable[[Component, Function], Any] = call or (
            lambda c, f: Call(c, f, flow_id=settings.flow_id, snapshot=step.snapshot)
        )
        self.component = component
        self.function: Function = component.function(settings.function)
        self.step = step
        self.attachments = attachments
        # The platform's own hosts (set by the platform, not by a message) serve the attachments
        # of incoming messages, often on a private network: reading from them is declared.
        for platform_url in (settings.api_uri, settings.object_storage_uri):
            if platform_url.startswith(("http://", "https://")):
                declare_store(platform_url)
        self.cipher = MessageCipher(settings.message_crypto_password, settings.message_crypto_iv)
        interval = settings.rate_interval / 1000
        self.throttles = {
            "data": Throttle(settings.data_rate_limit, interval),
            "error": Throttle(settings.error_rate_limit, interval),
            "snapshot": Throttle(settings.snapshot_rate_limit, interval),
        }
        self.processed = 0
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._connection: Any = None
        self._generation = 0  # bumped per connection: a delivery only publishes on its own
        self._exchange: Any = None
        self._call: Any = None

    # ------------------------------------------------------------------ lifecycle

    async def run(self, stop: asyncio.Event, *, ready: Callable[[], None] | None = None) -> None:
        """Consume until ``stop`` is set, then finish the messages in flight and close.

        A connection the broker drops (a restart, a failover, an operator) is opened again with
        backoff; the deliveries it carried are not acked and come back from the broker.
        """
        async with self._call_factory(self.component, self.function) as call:
            self._call = call
            failures = 0
            while not stop.is_set():
                try:
                    connection, lost, queue, tag = await self._connect()
                except Exception as exc:
                    failures += 1
                    if ready is not None and failures > 3:  # never connected: say so and stop
                        from ..errors import TransientError

                        raise TransientError(f"cannot connect to RabbitMQ: {error_dict(exc)['message']}") from None
                    delay = min(0.1 * 2**failures, 5.0)
                    log.warning("RabbitMQ connection failed (%s); retry in %.1f s", error_dict(exc)["message"], delay)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), delay)
                    continue
                failures = 0
                if ready is not None:
                    ready()
                    ready = None
                waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(lost.wait())]
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
                for w in waiters:
                    w.cancel()
                if stop.is_set():
                    log.info("stopping: no new messages; finishing %d in flight", self._in_flight)
                    with contextlib.suppress(Exception):
                        await queue.cancel(tag)
                    await self._idle.wait()
                    with contextlib.suppress(Exception):
                        await connection.close()
                    return
                log.warning("RabbitMQ connection lost; reconnecting (unacked messages will be redelivered)")

    async def _connect(self) -> tuple[Any, asyncio.Event, Any, str]:
        import aio_pika

        s = self.settings
        connection = await aio_pika.connect(
            s.amqp_uri, client_properties={"connection_name": f"skiff-worker {s.step_id or s.function}"}
        )
        lost = asyncio.Event()
        connection.close_callbacks.add(lambda *_: lost.set())
        self._connection = connection
        self._generation += 1
        publish_channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        self._exchange = await publish_channel.get_exchange(s.publish_messages_to, ensure=False)
        consume_channel = await connection.channel(publisher_confirms=False)
        await consume_channel.set_qos(prefetch_count=max(1, s.prefetch))
        queue = await consume_channel.get_queue(s.listen_messages_on, ensure=False)
        tag = await queue.consume(self._on_message, no_ack=False)
        log.info("listening on %s (prefetch %d)", s.listen_messages_on, s.prefetch)
        return connection, lost, queue, tag

    async def _on_message(self, delivery: Any) -> None:
        # aio-pika already runs each delivery in its own task: handle it here, counted, so that
        # a stop can wait for the ones in flight.
        self._in_flight += 1
        self._idle.clear()
        try:
            await self._handle(delivery)
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()

    # ------------------------------------------------------------------ one message

    async def _handle(self, delivery: Any) -> None:
        start = int(time.time() * 1000)
        _GENERATION.set(self._generation)
        try:
            decoded = decode_input(delivery.body, delivery.headers or None, self.cipher)
        except SkiffError as err:
            # The sailor leaves such input unacked (and stalls at prefetch 1): refuse it loudly.
            log.warning("refused message (delivery %s): %s", delivery.delivery_tag, err)
            headers = {**self.settings.headers(), "start": start, "end": int(time.time() * 1000)}
            protocol = 1 if not delivery.headers else int(delivery.headers.get("protocolVersion") or 1)
            body = error_payload(self.cipher, error_dict(err), None, protocol)
            body = self._with_raw_input(body, delivery.body)
            try:
                await self._publish(Outgoing(self.settings.error_routing_key, body, headers, encrypted=False))
            finally:
                await delivery.reject(requeue=False)
            return
        state = _Delivery(decoded, start)
        try:
            await self._run_call(state, delivery)
        except Exception as exc:  # the broker went away mid-message: it will redeliver
            log.warning("message %s not acknowledged: %s", decoded.headers.get("messageId"), error_dict(exc)["message"])
            return
        try:
            if state.errors:
                await delivery.reject(requeue=False)
            else:
                await delivery.ack()
            self.processed += 1
        except Exception as exc:
            log.warning("ack of %s failed (it will be redelivered): %s", decoded.headers.get("messageId"), exc)

    def _with_raw_input(self, error_json: bytes, raw: bytes) -> bytes:
        """Keep an undecodable input as it came (base64), so nothing is lost."""
        import base64

        import orjson

        data = orjson.loads(error_json)
        data["errorInput"] = base64.b64encode(raw).decode("ascii")
        return orjson.dumps(data)

    async def _run_call(self, state: _Delivery, delivery: Any) -> None:
        assert self._call is not None
        msg = state.decoded.message
        if getattr(delivery, "redelivered", False):
            # A worker died with it: the call may have acted. A flow step holds such a message
            # unless its step is idempotent (the plain component call ignores the mark).
            msg.metadata = {**msg.metadata, "redelivered": True}
        rebounds = state.incoming.get("reboundIteration")
        if isinstance(rebounds, int) and not isinstance(rebounds, bool):
            # Which attempt this is: a flow step applies its onError policy after the last one.
            msg.metadata = {**msg.metadata, "rebounds": rebounds}

        async def on_event(event: CallEvent) -> None:
            await self._on_event(state, delivery, event)

        await self._call.run(dict(self.step.config), msg, self.step.snapshot, on_event)

    async def _on_event(self, state: _Delivery, delivery: Any, event: CallEvent) -> None:
        kind, payload = event.kind, event.payload
        incoming = state.incoming
        if kind == "data":
            await self._emit_data(state, payload)
        elif kind == "error":
            err: BaseException = payload
            if isinstance(err, SkiffError) and err.retryable:
                await self._rebound(state, delivery, str(err))
            else:
                await self._emit_error(state, delivery, err)
        elif kind == "rebound":
            await self._rebound(state, delivery, str(payload))
        elif kind in ("snapshot", "updateSnapshot"):
            # Committed by the run layer's session after the data before it was confirmed;
            # the platform keeps it: publish it (a patch for updateSnapshot).
            headers = outgoing_headers(self.settings, incoming, derived_id(str(incoming["messageId"]), -1), state.start)
            await self.throttles["snapshot"].acquire()
            await self._publish(snapshot_message(self.settings, dict(payload), headers, kind))
        elif kind == "updateKeys":
            await self._update_keys(state, delivery, payload)
        elif kind == "httpReply":
            await self._http_reply(state, payload)

    async def _emit_data(self, state: _Delivery, msg: Message) -> None:
        parent = str(state.incoming["messageId"])
        index = state.count
        state.count += 1
        # Actions: ids derived from the input, equal on redelivery. Triggers: the engine's
        # deterministic record ids (component, trigger, record, version).
        message_id = msg.id if self.function.kind == "trigger" else derived_id(parent, index)
        msg.id = message_id
        if self.attachments is not None and msg.attachments:
            await store_attachments(msg, self.attachments)
        step_id = self.settings.step_id if self.step.is_passthrough else None
        with_passthrough(msg, state.decoded.message, step_id)
        headers = outgoing_headers(self.settings, state.incoming, message_id, state.start)
        out = outgoing_data(self.settings, self.cipher, msg, headers)
        if len(out.body) > self.settings.outgoing_message_size_limit:
            from ..errors import ComponentError

            raise ComponentError(
                f"outgoing message size {len(out.body)} exceeds limit of {self.settings.outgoing_message_size_limit}"
            )
        await self.throttles["data"].acquire()
        await self._publish(out)

    async def _emit_error(self, state: _Delivery, delivery: Any, err: BaseException) -> None:
        state.errors += 1
        headers = outgoing_headers(
            self.settings, state.incoming, derived_id(str(state.incoming["messageId"]), -2 - state.errors), state.start
        )
        body = error_payload(self.cipher, error_dict(err), delivery.body, state.decoded.protocol_version)
        await self.throttles["error"].acquire()
        await self._publish(Outgoing(self.settings.error_routing_key, body, headers, encrypted=False))
        reply_to = state.incoming.get("reply_to")
        if reply_to:
            reply = {**headers, "x-eio-error-response": True}
            await self._publish(Outgoing(str(reply_to), self.cipher.encrypt(error_dict(err), 1), reply))

    async def _rebound(self, state: _Delivery, delivery: Any, reason: str) -> None:
        out = rebound(self.settings, delivery.body, state.incoming, reason)
        if out is None:
            from ..errors import TransientError

            # sailor-nodejs' own words for a plain component; a flow step never gets here (its
            # FlowStepCall reports the real failure once its onError retries are used up).
            await self._emit_error(state, delivery, TransientError("Rebound limit exceeded"))
            return
        await self._publish(out)

    async def _http_reply(self, state: _Delivery, reply: Any) -> None:
        reply_to = state.incoming.get("reply_to")
        if not reply_to:
            from ..errors import ComponentError

            raise ComponentError("the component replied (httpReply) but the message has no 'reply_to' header")
        headers = outgoing_headers(
            self.settings, state.incoming, derived_id(str(state.incoming["messageId"]), -100), state.start
        )
        headers["protocolVersion"] = 1
        payload = reply if isinstance(reply, dict) else {"body": reply}
        await self._publish(Outgoing(str(reply_to), self.cipher.encrypt(payload, 1), headers))

    async def _update_keys(self, state: _Delivery, delivery: Any, keys: Any) -> None:
        """New OAuth tokens go to the platform: ``PUT {API_URI}/v1/accounts/{cfg._account}``."""
        import httpx

        account = self.step.config.get("_account")
        s = self.settings
        if not account or not s.api_uri:
            log.warning("updateKeys: no cfg._account or API URI; the new keys are kept for this worker only")
            self.step.config.update(keys if isinstance(keys, dict) else {})
            return
        url = f"{s.api_uri.rstrip('/')}/v1/accounts/{account}"
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                response = await client.put(url, json={"keys": keys}, auth=(s.api_username, s.api_key))
            response.raise_for_status()
        except httpx.HTTPError as exc:
            from ..errors import TransientError

            await self._emit_error(state, delivery, TransientError(f"updateKeys: {url}: {type(exc).__name__}"))

    # ------------------------------------------------------------------ publishing

    async def _publish(self, out: Outgoing) -> None:
        """Publish and wait for the broker's confirm; retry with exponential backoff."""
        import aio_pika

        s = self.settings
        message = aio_pika.Message(
            out.body,
            headers=out.headers,
            content_type="application/json",
            content_encoding="utf8",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT
            if s.amqp_persistent_messages
            else aio_pika.DeliveryMode.NOT_PERSISTENT,
            expiration=out.expiration_ms / 1000 if out.expiration_ms is not None else None,
        )
        attempt = 0
        generation = _GENERATION.get()
        while True:
            if generation and generation != self._generation:
                raise ConnectionLost("the connection this message came on was lost")
            try:
                await self._exchange.publish(message, routing_key=out.routing_key, mandatory=True)
                return
            except Exception as exc:
                attempt += 1
                if attempt >= s.amqp_publish_retry_attempts:
                    raise
                delay = min(s.amqp_publish_retry_delay * 2 ** (attempt - 1), s.amqp_publish_max_retry_delay) / 1000
                log.warning("publish to %s failed (%s); retry %d in %.1f s", out.routing_key, exc, attempt, delay)
                await asyncio.sleep(delay)


Emit = Callable[[CallEvent], Awaitable[None]]
