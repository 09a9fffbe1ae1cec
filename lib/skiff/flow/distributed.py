"""A flow on RabbitMQ: the exchange, queues and bindings per step, the trigger, and the step workers.

Topology (``ns`` defaults to ``skiff.flow``; one topic exchange per flow, as the platform does):

- exchange ``{ns}.{flow}``; a step's outputs go out with routing key ``{flow}.{step}.data``;
- step queue ``{ns}.{flow}.{step}``, bound to the previous step's data key and to
  ``{flow}.{step}.in`` (its direct input: rebounds and routed errors come back that way);
- rebound queue ``{ns}.{flow}.{step}.rebound``: messages wait there for their per-message
  expiration, then dead-letter to ``{flow}.{step}.in``;
- ``{ns}.{flow}.errors`` (every ``*.error`` key) and ``{ns}.{flow}.results`` (the last step's
  data, and the error steps').

``skiff flow deploy`` declares this and runs the trigger: records are published on a confirm
channel, and the snapshot (in a shared store: SQLite, Redis or PostgreSQL) is committed only
after the broker confirmed the records before it. ``skiff worker --flow FILE --flow-step ID``
runs one step with the sailor protocol worker (:mod:`skiff.worker`), any number per step; with
``--rate-limits redis://...`` all of them share each API's rate-limit windows.
``skiff flow status|errors|replay --amqp URL`` read the queues, list the errors queue and send
failed messages back to their step.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import SkiffError
from ..http.shared_limits import is_shared
from ..message import Message
from .document import FlowDocument
from .model import Flow
from .step import StepLogic, compile_steps, failure_outcome, final_failure, routed_error, step_cfg

__all__ = [
    "DeployedError",
    "FlowStepCall",
    "Topology",
    "declare",
    "delete",
    "publish_trigger",
    "queue_depths",
    "read_errors",
    "run_flow_worker",
    "unshared_lock_warning",
]

log = logging.getLogger("skiff.flow")

RESULTS = "$results"


class InDoubt(SkiffError):
    """A message redelivered to a step that is not idempotent: it may have acted, so it is held."""

    kind = "InDoubt"


@dataclass(frozen=True)
class Topology:
    """The names of one flow's exchange, queues and routing keys."""

    flow: Flow
    namespace: str = "skiff.flow"

    @property
    def exchange(self) -> str:
        return f"{self.namespace}.{self.flow.name}"

    def queue(self, step_id: str) -> str:
        return f"{self.namespace}.{self.flow.name}.{step_id}"

    def rebound_queue(self, step_id: str) -> str:
        return f"{self.queue(step_id)}.rebound"

    @property
    def errors_queue(self) -> str:
        return f"{self.namespace}.{self.flow.name}.errors"

    @property
    def results_queue(self) -> str:
        return f"{self.namespace}.{self.flow.name}.results"

    def data_key(self, step_id: str) -> str:
        return f"{self.flow.name}.{step_id}.data"

    def input_key(self, step_id: str) -> str:
        return f"{self.flow.name}.{step_id}.in"

    def error_key(self, step_id: str) -> str:
        return f"{self.flow.name}.{step_id}.error"

    def rebound_key(self, step_id: str) -> str:
        return f"{self.flow.name}.{step_id}.rebound"

    def snapshot_key(self, step_id: str) -> str:
        return f"{self.flow.name}.{step_id}.snapshot"

    def queues(self) -> list[str]:
        steps = [*self.flow.steps, *self.flow.errorSteps]
        return [
            *(self.queue(s.id) for s in steps),
            *(self.rebound_queue(s.id) for s in steps),
            self.errors_queue,
            self.results_queue,
        ]


async def declare(topology: Topology, amqp_url: str) -> None:
    """Declare the flow's exchange, queues and bindings (idempotent: run it again after a change)."""
    import aio_pika

    flow = topology.flow
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(topology.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        previous = flow.trigger.id
        for step in flow.steps:
            queue = await channel.declare_queue(topology.queue(step.id), durable=True)
            await queue.bind(exchange, topology.data_key(previous))
            await queue.bind(exchange, topology.input_key(step.id))
            previous = step.id
        for step in flow.errorSteps:
            queue = await channel.declare_queue(topology.queue(step.id), durable=True)
            await queue.bind(exchange, topology.input_key(step.id))
        for step in [*flow.steps, *flow.errorSteps]:
            rebound = await channel.declare_queue(
                topology.rebound_queue(step.id),
                durable=True,
                arguments={
                    "x-dead-letter-exchange": topology.exchange,
                    "x-dead-letter-routing-key": topology.input_key(step.id),
                },
            )
            await rebound.bind(exchange, topology.rebound_key(step.id))
        errors = await channel.declare_queue(topology.errors_queue, durable=True)
        await errors.bind(exchange, f"{flow.name}.*.error")
        results = await channel.declare_queue(topology.results_queue, durable=True)
        await results.bind(exchange, topology.data_key(flow.steps[-1].id))
        for step in flow.errorSteps:  # as embedded, an error step's outputs end the run
            await results.bind(exchange, topology.data_key(step.id))


async def queue_depths(topology: Topology, amqp_url: str) -> dict[str, tuple[int, int]]:
    """Per queue of a deployed flow: messages waiting and consumers (workers), in topology order."""
    import aio_pika

    out: dict[str, tuple[int, int]] = {}
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        for name in topology.queues():
            channel = await connection.channel()  # a missing queue closes its channel
            try:
                queue = await channel.declare_queue(name, durable=True, passive=True)
            except Exception:
                from ..errors import ConfigError

                raise ConfigError(f"queue {name} does not exist: deploy the flow first (skiff flow deploy)") from None
            result = queue.declaration_result
            out[name] = (int(result.message_count or 0), int(result.consumer_count or 0))
            await channel.close()
    return out


async def delete(topology: Topology, amqp_url: str) -> None:
    """Remove what :func:`declare` made (tests, and ``skiff flow deploy --delete``)."""
    import aio_pika

    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        for name in topology.queues():
            with contextlib.suppress(Exception):
                await channel.queue_delete(name)
        with contextlib.suppress(Exception):
            await channel.exchange_delete(topology.exchange)


# ---------------------------------------------------------------------- the trigger


async def publish_trigger(
    doc: FlowDocument,
    topology: Topology,
    amqp_url: str,
    credentials: Mapping[str, Mapping[str, Any]],
    store: Any,
    *,
    executor: Any,
    crypto_password: str | None = None,
    crypto_iv: str | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    """One poll of the trigger through the run layer's :class:`~skiff.run.Session`.

    Each record is published on a confirm channel (``deliver`` returns once the broker confirmed
    it), so when the session commits a snapshot to ``store`` every record before it is safe.
    """
    import aio_pika

    from ..run import Data, Error, Session, StopRequested, transport
    from ..worker import MessageCipher
    from .check import resolve_step_component

    flow = doc.flow
    trigger = flow.trigger
    base = Path(doc.source).parent if not doc.source.startswith("<") else None
    component = resolve_step_component(trigger.component, base)
    cipher = MessageCipher(crypto_password, crypto_iv)
    published = 0
    failure: list[SkiffError] = []
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(topology.exchange, ensure=False)

        async def deliver(event: Any) -> None:
            nonlocal published
            if isinstance(event, Data):
                msg = event.message
                now = int(time.time() * 1000)
                msg.passthrough = {trigger.id: {"id": msg.id, "body": msg.body}}
                headers: dict[str, Any] = {
                    "messageId": msg.id,
                    "threadId": msg.id,
                    "taskId": flow.name,
                    "stepId": trigger.id,
                    "function": trigger.function,
                    "start": now,
                    "end": now,
                    "protocolVersion": 1,
                }
                await exchange.publish(
                    aio_pika.Message(
                        cipher.encrypt(msg.to_dict(), 1),
                        headers=headers,
                        content_type="application/json",
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        message_id=msg.id,
                    ),
                    routing_key=topology.data_key(trigger.id),
                    mandatory=True,
                )  # returns once the broker confirmed it
                published += 1
            elif isinstance(event, Error):
                failure.append(event.error)

        session = Session(
            executor,
            component,
            trigger.function,
            step_cfg(trigger, component, credentials),
            store=store,
            flow_id=f"{topology.namespace}/{flow.name}",
            stop=stop,
        )
        with contextlib.suppress(StopRequested):
            await session.run(Message(body=dict(trigger.body)), transport(deliver))
    if failure:
        raise failure[0]
    return published


# ---------------------------------------------------------------------- failures


@dataclass
class DeployedError:
    """One message of a deployed flow's errors queue: which input failed where, and why."""

    message_id: str  # the failed input's messageId
    step: str
    name: str
    message: str
    input: Any  # the failed message's body
    raw_input: bytes  # the input as it travelled, to replay it unchanged
    headers: dict[str, Any]


def _parse_error(body: bytes, headers: dict[str, Any], cipher: Any) -> DeployedError:
    import orjson

    data = orjson.loads(body)
    try:
        error = cipher.decrypt(str(data.get("error", "")).encode(), 1)
    except SkiffError:
        error = {"name": "Undecodable", "message": "the error part could not be decrypted"}
    raw = str(data.get("errorInput") or "").encode()
    try:
        payload = cipher.decrypt(raw, 1) if raw else {}
    except SkiffError:
        payload = {}
    return DeployedError(
        message_id=str(headers.get("parentMessageId") or headers.get("messageId") or ""),
        step=str(headers.get("stepId") or ""),
        name=str(error.get("name", "")) if isinstance(error, dict) else "",
        message=str(error.get("message", "")) if isinstance(error, dict) else "",
        input=payload.get("body") if isinstance(payload, dict) else payload,
        raw_input=raw,
        headers=dict(headers),
    )


async def read_errors(
    topology: Topology, amqp_url: str, *, replay: Callable[[DeployedError], bool] | None = None, cipher: Any = None
) -> list[DeployedError]:
    """The errors queue's messages, left in place; with ``replay``, those it accepts go back to their step.

    A replayed message is published to its step's input key (confirmed) before its error is
    acknowledged, so a crash in between repeats the replay rather than losing it.
    """
    import aio_pika

    from ..worker import MessageCipher

    cipher = cipher or MessageCipher(None, None)
    out: list[DeployedError] = []
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(topology.exchange, ensure=False)
        queue = await channel.get_queue(topology.errors_queue, ensure=False)
        held = []
        while True:
            incoming = await queue.get(no_ack=False, fail=False)
            if incoming is None:
                break
            held.append(incoming)
        for incoming in held:
            failed = _parse_error(incoming.body, dict(incoming.headers or {}), cipher)
            if replay is not None and failed.raw_input and failed.step and replay(failed):
                headers = {
                    "messageId": failed.message_id,
                    "threadId": failed.headers.get("threadId") or failed.message_id,
                    "protocolVersion": 1,
                    **{k: v for k, v in failed.headers.items() if str(k).lower().startswith("x-eio-meta-")},
                }
                await exchange.publish(
                    aio_pika.Message(
                        failed.raw_input,
                        headers=headers,
                        content_type="application/json",
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                    routing_key=topology.input_key(failed.step),
                    mandatory=True,
                )
                await incoming.ack()
            else:
                await incoming.nack(requeue=True)
            out.append(failed)
    return out


# ---------------------------------------------------------------------- the steps


class FlowStepCall:
    """What :class:`skiff.worker.Worker` runs per message for a flow step: split → when → mapping → call.

    It stands in for the worker's plain component call. Failures follow the step's ``onError``
    as embedded (:func:`~skiff.flow.step.failure_outcome`): retryable ones go back to the worker,
    which rebounds them (``retries``, ``backoff`` doubling up to ``maxBackoff``); others, and a
    retryable one on its last rebound (then reported as :func:`~skiff.flow.step.final_failure`
    says), stop (to the errors queue), skip (the input goes on) or are routed to an error step.
    """

    def __init__(self, logic: StepLogic, topology: Topology, executor: Any) -> None:
        self.logic = logic
        self.topology = topology
        self.executor = executor

    async def __aenter__(self) -> FlowStepCall:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.executor.aclose()

    async def run(
        self,
        cfg: dict[str, Any],
        message: Message,
        snapshot: dict[str, Any],
        emit: Callable[[Any], Awaitable[None]],
    ) -> None:
        from ..worker.call import CallEvent

        logic = self.logic
        if message.metadata.get("redelivered") and not logic.idempotent:
            # The broker redelivers what a dead worker held: it may have acted. Hold it (the
            # errors queue keeps it with its input) rather than repeat a non-idempotent call.
            await emit(CallEvent("error", InDoubt(f"step {logic.step.id!r}: redelivered after a worker stopped")))
            return
        # On the wire the passthrough holds whole messages; expressions see their bodies.
        passthrough = {
            k: v.get("body") if isinstance(v, dict) and "body" in v else v for k, v in message.passthrough.items()
        }
        try:
            items = logic.split_items(message.body, passthrough) if logic.split is not None else [message.body]
            for item in items:
                if not logic.admits(item, passthrough):
                    continue
                body = logic.input_for(item, passthrough)
                outputs, _found = await logic.call(self.executor, body, passthrough)
                for out in outputs:
                    await emit(CallEvent("data", out))
        except SkiffError as err:
            # The same rule as the embedded runner: this delivery is attempt rebounds + 1.
            policy = logic.step.onError
            rebounds = message.metadata.get("rebounds")
            attempts = rebounds + 1 if isinstance(rebounds, int) and not isinstance(rebounds, bool) else 1
            outcome = failure_outcome(policy, err, attempts)
            if outcome == "retry":
                await emit(CallEvent("error", err))  # retryable: the worker rebounds it
                return
            # Decided here, not by the worker's rebound limit (whose error is the sailor's bare
            # "Rebound limit exceeded"): the real failure, saying it gave up, as embedded.
            final = final_failure(policy, err, attempts)
            if outcome == "stop":
                await emit(CallEvent("error", final))  # not retryable now: to the errors queue
            elif outcome == "skip":
                await emit(CallEvent("data", Message(body=message.body)))
            elif policy.route:
                routed = Message(
                    body=routed_error(final, message.body),
                    headers={"x-eio-routing-key": self.topology.input_key(policy.route)},
                )
                await emit(CallEvent("data", routed))


def unshared_lock_warning(flow: Flow, step_id: str, rate_limits: str | None) -> str | None:
    """One line for a lookup-or-create step whose workers would not share its lock, else None.

    Without a shared Redis each process locks its own keys only: two workers of the step may
    both miss the lookup and both create (two clients for one new customer).
    """
    if is_shared(rate_limits):
        return None
    step = next((s for s in [*flow.steps, *flow.errorSteps] if s.id == step_id), None)
    if step is None or step.lookup is None:
        return None
    return (
        f"worker: warning: step {step_id!r} looks up or creates per key; without --rate-limits redis://... "
        "its lock holds in this process only: run one worker for this step, or share a Redis"
    )


async def run_flow_worker(
    doc: FlowDocument,
    step_id: str,
    *,
    amqp_url: str,
    credentials: Mapping[str, Mapping[str, Any]],
    namespace: str = "skiff.flow",
    rate_limits: str | None = None,
    prefetch: int = 1,
    stop: asyncio.Event | None = None,
    ready: Callable[[], None] | None = None,
    crypto_password: str | None = None,
    crypto_iv: str | None = None,
) -> Any:
    """Run one step of a deployed flow with the sailor-protocol worker until ``stop``."""
    from ..errors import ConfigError
    from ..http import RateLimiter
    from ..run import Executor
    from ..worker import StepData, Worker, WorkerSettings
    from .journal import END

    flow = doc.flow
    base = Path(doc.source).parent if not doc.source.startswith("<") else None
    steps = compile_steps(flow, credentials, base, end=END)
    if step_id not in steps:
        known = ", ".join(steps)
        raise ConfigError(f"flow {flow.name!r} has no step {step_id!r}; its steps: {known}")
    logic = steps[step_id]
    topology = Topology(flow, namespace)
    policy = logic.step.onError
    from .model import parse_duration

    settings = WorkerSettings(
        function=logic.step.function,
        amqp_uri=amqp_url,
        listen_messages_on=topology.queue(step_id),
        publish_messages_to=topology.exchange,
        data_routing_key=topology.data_key(step_id),
        error_routing_key=topology.error_key(step_id),
        rebound_routing_key=topology.rebound_key(step_id),
        snapshot_routing_key=topology.snapshot_key(step_id),
        message_crypto_password=crypto_password,
        message_crypto_iv=crypto_iv,
        flow_id=flow.name,
        step_id=step_id,
        comp_id=logic.step.component,
        rebound_limit=policy.retries,
        rebound_initial_expiration=int(parse_duration(policy.backoff) * 1000),
        rebound_max_expiration=int(parse_duration(policy.maxBackoff) * 1000),  # as ErrorPolicy.delay
        rabbitmq_prefetch_sailor=prefetch,
        amqp_persistent_messages=True,
        data_rate_limit=1000,  # the APIs' own limits pace a flow, not the sailor's emit cap
    )
    limiter = RateLimiter(storage_uri=rate_limits) if rate_limits else None
    if is_shared(rate_limits):
        # Workers sharing a Redis also share each lookup-or-create's lock per lookup key.
        from .locks import RedisLocks

        logic.locks = RedisLocks(rate_limits, prefix=f"skiff:lock:{topology.exchange}.{step_id}:")
    executor = Executor(limiter=limiter)
    worker = Worker(
        settings,
        logic.component,
        StepData(config=dict(logic.cfg), is_passthrough=True),
        call=lambda component, function: FlowStepCall(logic, topology, executor),
    )
    try:
        await worker.run(stop or asyncio.Event(), ready=ready)
    finally:
        await logic.locks.aclose()
    return worker
